"""Checks across sections, run after the schema accepted each section on its own.

Each check returns ``(path, message)`` problems, ``path`` being the data path to blame. The
order: the run's size first (:mod:`sim.scenario.resources`), then names that refer to other
sections, cohorts, keepers, markets and ceilings, and last the exogenous processes, which are
built once (reading replayed data) so that what they reject, and data that do not cover the
run, are reported here rather than when a run starts.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np

from sim.formatting import kpi_amount
from sim.market.prices import YEAR, DataError, Replay, correlated_normals
from sim.scenario.agent_specs import (
    CloseStrategy,
    LeverageStrategy,
    LowballStrategy,
    TargetCrStrategy,
)
from sim.scenario.books import check_books, unread_rows
from sim.scenario.resources import check_resources
from sim.scenario.schema import (
    BridgePrice,
    ClipLiquidation,
    FlipLiquidation,
    GbmPrice,
    JumpDiffusionPrice,
    ReplayGasSpec,
    ReplayPrice,
    Scenario,
    ScriptedPrice,
    correlation_matrix,
)
from sim.scenario.yamlfile import DataPath
from sim.units import format_duration

Problems = list[tuple[DataPath, str]]

#: Largest log-price move a process may make over the run (e³⁰⁰ ≈ 10¹³⁰): beyond it prices
#: times amounts leave float64's range.
LOG_MOVE_MAX = 300.0
#: Standard deviations of the random part counted in that move (10σ never happens).
SIGMAS = 10.0


def cross_check(s: Scenario) -> Problems:
    """Every check involving several sections, in the order of the module docstring."""
    clock = check_resources(s) or _check_clock(s)
    if clock:
        # The run's length is unusable: the checks below would compute with it.
        return clock
    problems = [
        *_check_names(s),
        *_check_cohorts(s),
        *check_books(s),
        *_check_keepers(s),
        *_check_market_sections(s),
        *_check_capacity(s),
        *_check_price_ranges(s),
        *_check_shutdown_dai(s),
    ]
    reported = {path for path, _ in problems}
    return problems + _check_processes(s, reported)


def parameter_checks(s: Scenario) -> Problems:
    """The cross-checks that hold at any time of a run, not only at its start.

    What the scenario a spell puts in force during a run must pass (the checks of the book as it
    opens — CRs above ``mat``, debts above ``dust``, cohorts under the ceilings — concern the
    start only: a spell may raise ``mat`` or ``dust`` or lower a ceiling below the debt, as
    governance can).
    """
    return [*_check_names(s), *_check_market_sections(s)]


def advisories(s: Scenario) -> list[str]:
    """Things a valid scenario does that are probably not what its author meant.

    Unlike :func:`cross_check`, nothing here stops a run; the CLI prints each as a warning.

    Returns:
        Messages, each starting with the field it is about.
    """
    out = []
    for i, keeper in enumerate(s.keepers):
        if (keeper.gas_bid_gwei is not None or keeper.gas is not None) and s.network is None:
            field = "gas" if keeper.gas is not None else "gas_bid_gwei"
            out.append(
                f"keepers.{i}.{field}: without a network section there are no gas prices to "
                "bid against: the bid is ignored and transactions cost nothing"
            )
    for name, ilk in s.ilks.items():
        liq = ilk.liquidation
        if isinstance(liq, ClipLiquidation) and s.clock.tick > liq.tail:
            out.append(
                f"clock.tick: a tick of {format_duration(s.clock.tick)} is longer than "
                f"ilks.{name}.liquidation.tail {format_duration(liq.tail)}: keepers act once per "
                "tick, so every Dutch auction needs a reset (redo, paying tip + chip) before any "
                "keeper sees its price fall; use a tick no longer than tail"
            )
    out.extend(unread_rows(s))
    gov = s.governance
    for i in range(len(gov.spells) if gov is not None else 0):
        if gov.tick(i, s.clock) > s.n_ticks:
            out.append(
                f"governance.spells.{i}: {gov.label(i)} takes effect "
                f"{format_duration(gov.effect_s(i, s.clock.start))} after the start, after the "
                f"run's end ({format_duration(s.n_ticks * s.clock.tick)}): it never takes effect"
            )
    return out


def run_end(s: Scenario) -> dt.datetime:
    """The time the run ends: ``clock.start + n_ticks·tick`` (UTC).

    Raises:
        OverflowError: when that is after the year 9999.
    """
    return s.clock.start + dt.timedelta(seconds=s.n_ticks * s.clock.tick)


def _shutdown_entries(s: Scenario) -> list[DataPath]:
    """The ``do`` entries of spells and governors that can shut the system down."""
    gov = s.governance
    if gov is None:
        return []
    out: list[DataPath] = []
    for kind, rules in (("spells", gov.spells), ("governors", gov.governors)):
        for i, rule in enumerate(rules):
            for j, action in enumerate(rule.do):
                if action.action in ("cage", "esm"):
                    out.append(("governance", kind, i, "do", j))
    return out


def _check_shutdown_dai(s: Scenario) -> Problems:
    """A scenario that can shut down gives agents no more Dai from outside than it draws.

    Settlement (:mod:`sim.shutdown`) pays every Dai holder, the Dai outside the Vat's accounts
    being the Dai drawn less the Dai the agents hold; agents given Dai from outside the model
    (keepers', MKR bidders' ``dai``, ``system.dsr_deposits``) beyond the Dai the book draws at
    the start would leave that negative.
    """
    where = _shutdown_entries(s)
    if not where:
        return []
    given = {
        "keepers": sum(k.count * k.dai for k in s.keepers),
        "MKR bidders": s.mkr.bidders * s.mkr.dai if s.mkr is not None else 0.0,
        "DSR deposits": s.system.dsr_deposits,
    }
    drawn = sum(c.debt for c in s.borrowers) + (
        s.system.psm.start if s.system.psm is not None else 0.0
    )
    total = sum(given.values())
    if total <= drawn:
        return []
    parts = ", ".join(f"{name} {kpi_amount(v, 'Dai')}" for name, v in given.items() if v > 0)
    return [
        (
            where[0],
            f"a shutdown settles every Dai holder, but the agents start with "
            f"{kpi_amount(total, 'Dai')} from outside ({parts}) and the book draws only "
            f"{kpi_amount(drawn, 'Dai')}: give them less Dai or draw more",
        )
    ]


def _check_clock(s: Scenario) -> Problems:
    problems: Problems = []
    if s.clock.tick > s.clock.duration:
        problems.append((("clock", "tick"), "the tick is longer than the duration"))
    try:
        run_end(s)
    except OverflowError:
        problems.append((("clock", "duration"), "the run would end after the year 9999"))
    return problems


def _check_names(s: Scenario) -> Problems:
    problems: Problems = []
    for name, ilk in s.ilks.items():
        if ilk.collateral not in s.collateral:
            problems.append(
                (
                    ("ilks", name, "collateral"),
                    f"unknown collateral {ilk.collateral!r} (defined: {', '.join(s.collateral)})",
                )
            )
    if s.mkr is not None and "MKR" in s.collateral:
        problems.append((("collateral", "MKR"), "the name MKR is taken by the mkr section"))
    for name, coll in s.collateral.items():
        price = coll.price
        if isinstance(price, ScriptedPrice):
            if (price.crash is None) == (price.points is None):
                problems.append(
                    (("collateral", name, "price"), "scripted needs exactly one of crash or points")
                )
            elif price.crash is not None and price.start is None:
                problems.append((("collateral", name, "price", "start"), "required with crash"))
    return problems


def _check_cohorts(s: Scenario) -> Problems:
    problems: Problems = []
    seen: set[str] = set()
    for i, cohort in enumerate(s.borrowers):
        if cohort.name in seen:
            problems.append((("borrowers", i, "name"), f"duplicate cohort name {cohort.name!r}"))
        seen.add(cohort.name)
        ilk = s.ilks.get(cohort.ilk)
        if ilk is None:
            problems.append(
                (
                    ("borrowers", i, "ilk"),
                    f"unknown ilk {cohort.ilk!r} (defined: {', '.join(s.ilks)})",
                )
            )
            continue
        if cohort.book is not None:  # its vaults are checked row by row (check_books)
            problems.extend(_check_strategy(i, cohort.strategy, ilk.mat))
            continue
        cr = cohort.cr
        floor = cr.min if cr.min is not None else (cr.median if cr.dist == "fixed" else None)
        if cr.dist in ("fixed", "lognormal") and cr.median is None:
            problems.append((("borrowers", i, "cr", "median"), f"required for dist {cr.dist!r}"))
        if cr.dist == "uniform" and (cr.min is None or cr.max is None):
            problems.append((("borrowers", i, "cr"), "uniform needs min and max"))
        if cr.min is not None and cr.max is not None and cr.max < cr.min:
            problems.append((("borrowers", i, "cr", "max"), "max is below min"))
        if floor is None:
            problems.append(
                (("borrowers", i, "cr", "min"), f"set a minimum CR above the ilk's mat {ilk.mat}")
            )
        elif floor <= ilk.mat:
            field = "min" if cr.min is not None else "median"
            problems.append(
                (
                    ("borrowers", i, "cr", field),
                    f"{floor} is not above the ilk's mat {ilk.mat}: vaults would open unsafe",
                )
            )
        problems.extend(_check_strategy(i, cohort.strategy, ilk.mat))
        per_vault = cohort.debt / cohort.vaults
        if ilk.dust > 0 and per_vault < ilk.dust:
            problems.append(
                (
                    ("borrowers", i, "debt"),
                    f"{per_vault:g} Dai per vault is below the ilk's dust {ilk.dust:g}",
                )
            )
    return problems


def _check_strategy(i: int, st: Any, mat: float) -> Problems:
    problems: Problems = []
    if isinstance(st, LeverageStrategy) and not mat < st.target < st.up:
        problems.append(
            (
                ("borrowers", i, "strategy"),
                f"leverage needs mat ({mat}) < target ({st.target}) < up ({st.up})",
            )
        )
    if isinstance(st, CloseStrategy) and st.panic <= mat:
        problems.append(
            (
                ("borrowers", i, "strategy", "panic"),
                f"panic {st.panic} is not above the ilk's mat {mat}",
            )
        )
    if isinstance(st, TargetCrStrategy):
        if st.target <= st.trigger:
            problems.append(
                (("borrowers", i, "strategy", "target"), "target must be above trigger")
            )
        if st.trigger <= mat:
            problems.append(
                (
                    ("borrowers", i, "strategy", "trigger"),
                    f"trigger {st.trigger} is not above the ilk's mat {mat}",
                )
            )
    return problems


def _check_keepers(s: Scenario) -> Problems:
    problems: Problems = []
    names: set[str] = set()
    has_flip = any(isinstance(i.liquidation, FlipLiquidation) for i in s.ilks.values())
    for i, keeper in enumerate(s.keepers):
        if keeper.name in names:
            problems.append((("keepers", i, "name"), f"duplicate keeper name {keeper.name!r}"))
        names.add(keeper.name)
        if isinstance(keeper.strategy, LowballStrategy) and not has_flip:
            problems.append(
                (
                    ("keepers", i, "strategy", "kind"),
                    "lowball keepers bid in English auctions; no ilk uses engine: flip",
                )
            )
        if keeper.gas_bid_gwei is not None and keeper.gas is not None:
            problems.append(
                (("keepers", i, "gas"), "give gas_bid_gwei (a fixed bid) or gas, not both")
            )
    return problems


def _check_market_sections(s: Scenario) -> Problems:
    """Market depth, correlations, network, PSM and Vow checks."""
    problems: Problems = []
    for name, coll in s.collateral.items():
        m = coll.market
        if m is not None and (m.depth_usd_2pct is None) == (m.pool_usd is None):
            problems.append(
                (("collateral", name, "market"), "give exactly one of depth_usd_2pct or pool_usd")
            )
    assets = [*s.collateral, *(["MKR"] if s.mkr is not None else [])]
    corr_problems: Problems = []
    for a, row in s.correlation.items():
        if a not in assets:
            corr_problems.append(
                (("correlation", a), f"unknown asset (defined: {', '.join(assets)})")
            )
            continue
        for b, rho in row.items():
            if b not in assets:
                corr_problems.append(
                    (("correlation", a, b), f"unknown asset (defined: {', '.join(assets)})")
                )
            elif a == b and rho != 1:
                corr_problems.append((("correlation", a, b), "an asset's own correlation is 1"))
            elif b in s.correlation and a in s.correlation[b] and s.correlation[b][a] != rho:
                corr_problems.append((("correlation", a, b), f"conflicts with correlation.{b}.{a}"))
    if s.correlation and not corr_problems:
        try:
            correlated_normals(correlation_matrix(s), 1, np.random.default_rng(0))
        except ValueError as exc:
            corr_problems.append((("correlation",), str(exc)))
    problems.extend(corr_problems)
    if s.network is not None and s.network.eth not in s.collateral:
        problems.append(
            (("network", "eth"), f"unknown collateral {s.network.eth!r} to price gas with")
        )
    if s.system.psm is not None and f"PSM-{s.system.psm.gem}-A" in s.ilks:
        problems.append((("system", "psm", "gem"), f"PSM-{s.system.psm.gem}-A is already an ilk"))
    vow = s.system.vow
    if vow.lid < vow.bump:
        problems.append(
            (
                ("system", "vow", "lid"),
                f"lid {vow.lid:.6g} is below bump {vow.bump:.6g}: no surplus auction could start",
            )
        )
    return problems


def _check_capacity(s: Scenario) -> Problems:
    """The vaults must fit under the debt ceilings when they open."""
    problems: Problems = []
    per_ilk: dict[str, float] = {}
    for cohort in s.borrowers:
        per_ilk[cohort.ilk] = per_ilk.get(cohort.ilk, 0.0) + cohort.debt
    for name, total in per_ilk.items():
        ilk = s.ilks.get(name)
        if ilk is not None and total > ilk.line:
            problems.append(
                (
                    ("ilks", name, "line"),
                    f"the cohorts of {name} start with {total:.6g} Dai, above its line {ilk.line:.6g}",
                )
            )
    for name, ilk in s.ilks.items():
        if ilk.autoline is not None and s.system.Line is not None and s.system.Line < ilk.line:
            problems.append(
                (("ilks", name, "autoline"), "system Line is below the ilk's line: exec reverts")
            )
    total = sum(per_ilk.values())
    psm = s.system.psm
    if psm is not None:
        if psm.start > psm.line:
            problems.append((("system", "psm", "start"), f"above the PSM line {psm.line:.6g}"))
        total += psm.start
    if s.system.Line is not None and total > s.system.Line:
        problems.append(
            (
                ("system", "Line"),
                f"the vaults (and PSM) start with {total:.6g} Dai, above Line {s.system.Line:.6g}",
            )
        )
    return problems


def _price_specs(s: Scenario) -> list[tuple[DataPath, Any]]:
    specs: list[tuple[DataPath, Any]] = [
        (("collateral", name, "price"), coll.price) for name, coll in s.collateral.items()
    ]
    if s.mkr is not None:
        specs.append((("mkr", "price"), s.mkr.price))
    psm = s.system.psm
    if psm is not None and psm.price is not None:
        specs.append((("system", "psm", "price"), psm.price))
    return specs


def log_move(spec: Any, years: float) -> float:
    """Largest log-price move of a price process over ``years`` (drift plus 10σ of noise).

    Args:
        spec: a price spec.
        years: the run's length [yr].

    Returns:
        The bound (0 for processes without randomness or drift).
    """
    vol = getattr(spec, "vol", 0.0)
    drift = getattr(spec, "drift", 0.0)
    move = abs(drift - 0.5 * vol**2) * years + SIGMAS * vol * math.sqrt(years)
    if isinstance(spec, JumpDiffusionPrice):
        jumps = spec.jump_rate * years
        jumps += SIGMAS * math.sqrt(jumps)
        compensator = math.expm1(min(spec.jump_mean + 0.5 * spec.jump_std**2, LOG_MOVE_MAX))
        move += spec.jump_rate * abs(compensator) * years
        move += jumps * abs(spec.jump_mean) + SIGMAS * spec.jump_std * math.sqrt(jumps)
    if isinstance(spec, BridgePrice):
        move += abs(math.log(spec.target / spec.start))
    return move


def _check_price_ranges(s: Scenario) -> Problems:
    """Drift and volatility must not carry a price out of float64's range within the run."""
    problems: Problems = []
    years = s.n_ticks * s.clock.tick / YEAR
    for path, spec in _price_specs(s):
        if not isinstance(spec, GbmPrice | JumpDiffusionPrice | BridgePrice | ScriptedPrice):
            continue
        move = log_move(spec, years)
        if move > LOG_MOVE_MAX:
            problems.append(
                (
                    path,
                    f"over {years:.3g} years this process can move the log price by {move:.3g} "
                    f"(limit {LOG_MOVE_MAX:g}): its path would leave float64's range; lower "
                    "vol, drift or the jumps, or shorten the run",
                )
            )
    return problems


def _check_processes(s: Scenario, reported: set[DataPath]) -> Problems:
    """Build every price and gas process once, so that what they reject is reported here.

    A process with a problem already reported (at ``path`` or below it) is not built.
    """
    # Imported here: the builders import the schema, whose package imports this module.
    from sim.scenario.build import build_gas_process, build_price_process

    problems: Problems = []
    specs = [(path, spec, build_price_process) for path, spec in _price_specs(s)]
    if s.network is not None:
        specs.append((("network", "gas"), s.network.gas, build_gas_process))
    for path, spec, build in specs:
        if any(p[: len(path)] == path for p in reported):
            continue
        try:
            process = build(spec, s)
        except DataError as exc:
            problems.append(((*path, "file"), str(exc)))
            continue
        except (ValueError, TypeError) as exc:
            problems.append((path, str(exc)))
            continue
        if isinstance(spec, ReplayPrice | ReplayGasSpec) and isinstance(process, Replay):
            problems.extend(_check_coverage(s, path, spec, process))
    return problems


def _check_coverage(
    s: Scenario, path: DataPath, spec: ReplayPrice | ReplayGasSpec, replay: Replay
) -> Problems:
    """Replayed data must cover the run, unless the spec says ``beyond: hold``."""
    if spec.after is not None and spec.beyond != "hold":
        return [((*path, "after"), "after is the value beyond the data: it needs beyond: hold")]
    end = s.n_ticks * s.clock.tick
    if spec.beyond == "hold" or replay.covers(end):
        return []
    start = s.clock.start

    def iso(seconds: float) -> str:
        return (start + dt.timedelta(seconds=float(seconds))).strftime("%Y-%m-%dT%H:%M:%SZ")

    return [
        (
            (*path, "file"),
            f"{spec.file}: column {spec.column!r} covers {iso(replay.times[0])} to "
            f"{iso(replay.times[-1])}, but the run needs {iso(0)} to {iso(end)}; extend the "
            "data, change the clock, or set beyond: hold (the first value before the data, "
            "the last after)",
        )
    ]
