"""Robustness check: perturbed versions of every shipped scenario must run to their end.

Each case scales groups of a scenario's fields by factors between 0.1 and 10 — the cohorts'
debts (with the debt ceilings, so the vaults still fit), the vault counts (kept above ``dust``),
the collateral and MKR prices, the keepers' capital, the liquidation limits ``hole``/``Hole``,
and the Vow's ``hump``, ``bump`` (with the Flapper's ``lid``) and ``sump`` — and runs the
result, optionally on a coarser tick (same duration, at most ``max_ticks`` ticks). A case ends
in one of three ways:

- ``ok``: the run reached its end;
- ``refused``: the perturbed scenario is invalid (a ``ScenarioError`` before anything ran);
- ``failed``: the run stopped with an error (a protocol or invariant error, a bug) — what this
  check exists to find.

Usage (from the repository root)::

    .venv/bin/python scripts/robustness.py --random 20 --max-ticks 0    # full clocks
    .venv/bin/python scripts/robustness.py --random 3 --max-ticks 240   # what CI runs

The test suite runs a small version (``tests/test_robustness.py``).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import traceback
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from sim.model import ProtocolModel  # noqa: E402
from sim.scenario import (  # noqa: E402
    ClipLiquidation,
    ReplayPrice,
    Scenario,
    ScenarioError,
    ScriptedPrice,
    load_scenario,
    with_overrides,
)
from sim.units import format_duration  # noqa: E402

SCENARIOS = ROOT / "scenarios"
#: Smallest and largest factor a group is scaled by.
FACTOR_RANGE = (0.1, 10.0)

Overrides = list[str]


def _debt(s: Scenario, f: float, factors: dict[str, float]) -> Overrides:
    """Cohort debts × f; ceilings grow with them (never shrink), so the book still opens.

    A cohort read from a vault book keeps the file's debts; a resampled one scales its drawn
    total (``book.resample.debt``).
    """
    out = []
    for i, c in enumerate(s.borrowers):
        if c.book is None:
            out.append(f"borrowers.{i}.debt={c.debt * f!r}")
        elif c.book.resample is not None:
            out.append(f"borrowers.{i}.book.resample.debt={c.debt * f!r}")
    if f > 1:
        out += [f"ilks.{name}.line={ilk.line * f!r}" for name, ilk in s.ilks.items()]
        if s.system.Line is not None:
            out.append(f"system.Line={s.system.Line * f!r}")
    return out


def _vaults(s: Scenario, f: float, factors: dict[str, float]) -> Overrides:
    """Vault counts × f, at least 1 and at most what keeps each vault's debt above dust."""
    debt_f = factors.get("debt", 1.0)
    out = []
    for i, c in enumerate(s.borrowers):
        dust = s.ilks[c.ilk].dust
        most = math.floor(c.debt * debt_f / dust) if dust > 0 else c.vaults * 100
        count = max(1, min(round(c.vaults * f), most))
        if c.book is None:
            out.append(f"borrowers.{i}.vaults={count}")
        elif c.book.resample is not None:  # a book's own rows are what they are
            out.append(f"borrowers.{i}.book.resample.vaults={count}")
    return out


def _price_overrides(path: str, spec: object, f: float) -> Overrides:
    out = []
    for name in ("start", "target"):
        value = getattr(spec, name, None)
        if value is not None:
            out.append(f"{path}.{name}={value * f!r}")
    if isinstance(spec, ScriptedPrice) and spec.points is not None:
        points = ", ".join(f"[{format_duration(t)}, {p * f!r}]" for t, p in spec.points)
        out.append(f"{path}.points=[{points}]")
    return out


def _prices(s: Scenario, f: float, factors: dict[str, float]) -> Overrides:
    """Every simulated price (collateral and MKR) × f; replayed data is left as recorded.

    So is the price of a collateral some cohort reads from a vault book: the book's collateral
    and debt are fixed, so a scaled price would open its vaults at other CRs (unsafe ones at
    × 0.1), which is not a perturbation of the same book.
    """
    booked = {s.ilks[c.ilk].collateral for c in s.borrowers if c.book is not None}
    out = []
    for name, coll in s.collateral.items():
        if not isinstance(coll.price, ReplayPrice) and name not in booked:
            out += _price_overrides(f"collateral.{name}.price", coll.price, f)
    if s.mkr is not None:
        out += _price_overrides("mkr.price", s.mkr.price, f)
    return out


def _keeper_dai(s: Scenario, f: float, factors: dict[str, float]) -> Overrides:
    return [f"keepers.{i}.dai={k.dai * f!r}" for i, k in enumerate(s.keepers)]


def _hole(s: Scenario, f: float, factors: dict[str, float]) -> Overrides:
    out = [f"system.Hole={s.system.Hole * f!r}"]
    for name, ilk in s.ilks.items():
        if isinstance(ilk.liquidation, ClipLiquidation):
            out.append(f"ilks.{name}.liquidation.hole={ilk.liquidation.hole * f!r}")
    return out


def _vow(field_name: str) -> Callable[[Scenario, float, dict[str, float]], Overrides]:
    def scale(s: Scenario, f: float, factors: dict[str, float]) -> Overrides:
        return [f"system.vow.{field_name}={getattr(s.system.vow, field_name) * f!r}"]

    scale.__doc__ = f"The Vow's {field_name} × f."
    return scale


def _bump(s: Scenario, f: float, factors: dict[str, float]) -> Overrides:
    """The surplus auction lot ``bump`` × f, with the Flapper's ``lid`` (as many auctions fit)."""
    vow = s.system.vow
    return [f"system.vow.bump={vow.bump * f!r}", f"system.vow.lid={vow.lid * f!r}"]


#: Perturbation groups: name → overrides for a factor (given all the case's factors).
GROUPS: dict[str, Callable[[Scenario, float, dict[str, float]], Overrides]] = {
    "debt": _debt,
    "vaults": _vaults,
    "prices": _prices,
    "keeper_dai": _keeper_dai,
    "hole": _hole,
    "hump": _vow("hump"),
    "bump": _bump,
    "sump": _vow("sump"),
}


@dataclass
class Case:
    """One perturbation of one scenario."""

    scenario: Path
    label: str
    factors: dict[str, float]


@dataclass
class Outcome:
    """How a case ended: ``ok``, ``refused`` or ``failed``, with the ticks run and the reason."""

    case: Case
    status: str
    ticks: int = 0
    n_ticks: int = 0
    seconds: float = 0.0
    message: str = ""
    overrides: Overrides = field(default_factory=list)


def scenario_files() -> list[Path]:
    """The shipped scenario files."""
    return sorted(SCENARIOS.glob("*.yaml"))


def cases(files: list[Path], n_random: int, seed: int) -> Iterator[Case]:
    """The cases of each file: all groups at 0.1× and at 10×, then ``n_random`` random draws.

    A random draw scales each group by an independent log-uniform factor in
    :data:`FACTOR_RANGE`. Each file draws from its own stream (``seed`` and the file's name), so
    adding a scenario leaves the other files' cases as they were.
    """
    lo, hi = np.log(FACTOR_RANGE[0]), np.log(FACTOR_RANGE[1])
    for path in files:
        rng = np.random.default_rng([seed, zlib.crc32(path.stem.encode())])
        for corner in FACTOR_RANGE:
            yield Case(path, f"all×{corner:g}", dict.fromkeys(GROUPS, corner))
        for k in range(n_random):
            factors = {g: float(np.exp(rng.uniform(lo, hi))) for g in GROUPS}
            yield Case(path, f"random-{k + 1}", factors)


def perturbed(case: Case, max_ticks: int | None) -> tuple[Scenario, Overrides]:
    """The case's scenario (validated), on a coarser tick when it has more than ``max_ticks``.

    Raises:
        ScenarioError: when the perturbed scenario is invalid.
    """
    base = load_scenario(case.scenario)
    overrides: Overrides = []
    for group, f in case.factors.items():
        overrides += GROUPS[group](base, f, case.factors)
    if max_ticks and base.n_ticks > max_ticks:
        tick = base.clock.tick * math.ceil(base.n_ticks / max_ticks)
        overrides.append(f"clock.tick={format_duration(tick)}")
    return with_overrides(base, overrides), overrides


def run_case(case: Case, max_ticks: int | None = None) -> Outcome:
    """Run one case to its end (or to its first error)."""
    started = time.perf_counter()
    try:
        scenario, overrides = perturbed(case, max_ticks)
    except ScenarioError as exc:
        return Outcome(case, "refused", message=str(exc).splitlines()[0])
    model = None
    try:
        model = ProtocolModel(scenario)
        while not model.finished:
            model.step()
    except Exception as exc:  # what this check looks for: report, don't raise
        ticks = model.tick if model is not None else 0
        last = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{Path(last.filename).name}:{last.lineno}"
        return Outcome(
            case,
            "failed",
            ticks=ticks,
            n_ticks=scenario.n_ticks,
            seconds=time.perf_counter() - started,
            message=f"tick {ticks}: {type(exc).__name__}: {exc} ({where})",
            overrides=overrides,
        )
    return Outcome(
        case,
        "ok",
        ticks=model.tick,
        n_ticks=scenario.n_ticks,
        seconds=time.perf_counter() - started,
        overrides=overrides,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the check and print one line per case and a summary; exit 1 if any case failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--random", type=int, default=10, help="random cases per scenario")
    parser.add_argument("--max-ticks", type=int, default=0, help="coarsen longer clocks (0: no)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the factor draws")
    parser.add_argument("files", nargs="*", type=Path, help="scenario files (default: all)")
    args = parser.parse_args(argv)
    files = args.files or scenario_files()
    counts = {"ok": 0, "refused": 0, "failed": 0}
    started = time.perf_counter()
    for case in cases(files, args.random, args.seed):
        out = run_case(case, args.max_ticks or None)
        counts[out.status] += 1
        factors = " ".join(f"{g}={f:.3g}" for g, f in case.factors.items())
        print(
            f"{out.status:8s} {case.scenario.stem:22s} {case.label:10s} "
            f"{out.ticks:>6d}/{out.n_ticks:<6d} {out.seconds:6.2f}s  {factors}"
        )
        if out.message:
            print(f"         {out.message}")
    total = sum(counts.values())
    print(
        f"\n{total} cases in {time.perf_counter() - started:.0f} s: "
        + ", ".join(f"{n} {k}" for k, n in counts.items())
    )
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
