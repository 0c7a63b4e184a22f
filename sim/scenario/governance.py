"""Governance spells: the scenarios in force during a run, each checked before the run.

A spell (``governance.spells``) changes scenario fields at a time: its ``set`` holds ``--set``
paths and values, applied with :func:`~sim.scenario.overrides.apply_override` to the scenario
in force before it. Spells take effect in the order of their effect times (ties in file order);
each one's scenario (the base with every spell up to it applied) is validated as a whole
scenario is at start-up (the schema; the cross-checks: all of them for a spell at the start,
which the model is built with, else those that hold at any time,
:func:`~sim.scenario.checks.parameter_checks`), and then compared with the scenario before it: every field that differs must be one a spell may change (:data:`CHANGEABLE`: protocol
parameters the contracts let governance ``file``), else the spell is refused ("… cannot change
during a run").

A spell taking effect at the run's start is folded into the scenario the model is built from
(:attr:`Timeline.start`), so it is exactly a run with the value in the file; a spell taking
effect after the last tick never takes effect (:func:`~sim.scenario.checks.advisories` warns).

A spell may also call actions (``do``: stop, void or start an OSM, set a Clipper's breaker,
turn the Vow's surplus or debt auctions off or on; the registry is
:data:`sim.scenario.actions.ACTIONS`), in list order after its ``set`` at the same tick; a
spell needs a ``set`` or a ``do``. Each action's asset or ilk is checked before the run.

**Governors** (``governance.governors``) are bounded, conditional rules — a "risk oracle" with
its hands tied: each reads one recorded quantity (:data:`SYSTEM_QUANTITIES`, an ilk's
:data:`ILK_QUANTITIES` as ``FIELD[ILK]``, the timeseries' columns) at the end of every tick
(:class:`Governors`). When the quantity has been below (or above) its threshold at the end of
every tick for ``when.hold`` (measured from the first tick it held; 0: at once), the governor
fires, unless it fired less than ``cooldown`` before or its last firing has not taken effect
yet. A firing moves each ``set`` field by its ``by`` from its value (the one in force, or the
value a firing still waiting set), clamped to ``[min, max]``; a governor whose fields all sit at
their bounds does not fire (one with only ``do`` fires whenever its trigger allows). The new
values are validated as a spell's are (:func:`rebase`: the schema, the checks that hold at any
time, :data:`CHANGEABLE`); a firing they fail is refused (and logged). The firing takes effect
``delay`` later (the governor's own, else ``governance.delay``), at the start of the first tick
that starts at or after that time (with no delay: the next tick), after the spells of that tick: its values are set on the scenario then in force, and its ``do`` actions
called. Before the run each governor is checked: its quantity known, one of ``below`` /
``above``, each ``set`` path a number a spell may change, with a bound in the direction of
``by`` (``max`` for a rise), the scenario valid with the field at ``min`` and at ``max``, each
action's asset or ilk known. Governors draw no random numbers: a run whose governors never
fire is the run without them.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from sim.scenario.actions import action_problems
from sim.scenario.checks import cross_check, parameter_checks
from sim.scenario.messages import message
from sim.scenario.overrides import OverrideError, apply_override, override_path, parse_override
from sim.scenario.paths import data_path, field_path, value_at
from sim.scenario.schema import Governance, Governor, Scenario
from sim.scenario.yamlfile import DataPath
from sim.units import format_duration

#: Scenario fields a spell may change during a run (``*``: any ilk; a pattern matches the fields
#: below it too). Everything else — the book, cohorts, keepers, prices, the clock, the market,
#: the network, an ilk's collateral or liquidation engine, the PSM's existence, ``par``, the
#: Clipper's circuit breaker ``stopped`` (an action, not a parameter) — is fixed for the run.
CHANGEABLE: tuple[tuple[str, ...], ...] = (
    ("ilks", "*", "mat"),
    ("ilks", "*", "stability_fee"),
    ("ilks", "*", "line"),
    ("ilks", "*", "dust"),
    *(
        ("ilks", "*", "liquidation", name)
        for name in (
            "chop",
            "hole",
            "buf",
            "tail",
            "cusp",
            "chip",
            "tip",
            "curve",
            "lump",
            "dunk",
            "beg",
            "ttl",
            "tau",
        )
    ),
    ("system", "Line"),
    ("system", "Hole"),
    ("system", "box"),
    ("system", "base_fee"),
    ("system", "dsr"),
    ("system", "oracle", "hop"),
    *(
        ("system", "vow", name)
        for name in ("wait", "sump", "dump", "bump", "hump", "pad", "lid", "flop", "flap")
    ),
    ("system", "psm", "tin"),
    ("system", "psm", "tout"),
    ("system", "psm", "line"),
    ("system", "psm", "autoline"),
)

#: A problem: the data path to blame and the message.
Problem = tuple[DataPath, str]


@dataclass(frozen=True)
class Change:
    """One field a spell changed: its data path and its values before and after.

    Values as in :meth:`Scenario.to_dict` (durations as unit strings).
    """

    path: tuple[str | int, ...]
    old: Any
    new: Any

    @property
    def field(self) -> str:
        """The path, dotted (``ilks.ETH-A.liquidation.tip``)."""
        return ".".join(str(p) for p in self.path)


@dataclass(frozen=True)
class SpellStep:
    """A spell in the run's timeline.

    Attributes:
        index: its position in ``governance.spells``.
        name: its name (``spell-<index>`` when it has none).
        effect_s: when it takes effect [s since the run's start].
        tick: the tick at whose start it takes effect, ``ceil(effect_s / tick)``.
        scenario: the scenario in force from then on.
        changes: the fields it changed, in path order.
        actions: its ``do`` actions, called in order after the changes.
        sets: its ``set`` entries as given (to apply them again on another scenario).
    """

    index: int
    name: str
    effect_s: float
    tick: int
    scenario: Scenario
    changes: tuple[Change, ...]
    actions: tuple[Any, ...] = ()
    sets: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Timeline:
    """The scenarios in force during a run.

    Attributes:
        start: the scenario the model is built from (spells taking effect at the start applied).
        at_start: the spells folded into ``start``.
        later: the spells taking effect during the run, in order (those after its last tick
            left out).
    """

    start: Scenario
    at_start: tuple[SpellStep, ...]
    later: tuple[SpellStep, ...]


def changeable(path: tuple[str | int, ...]) -> bool:
    """Whether a spell may change the field at ``path`` during a run (:data:`CHANGEABLE`)."""
    for pattern in CHANGEABLE:
        if len(path) >= len(pattern) and all(
            p == "*" or p == part for p, part in zip(pattern, path, strict=False)
        ):
            return True
    return False


def differences(old: Any, new: Any, path: tuple[str | int, ...] = ()) -> list[Change]:
    """The leaves where two scenarios' data differ (a section added or removed is one change)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[Change] = []
        for key in dict.fromkeys([*old, *new]):
            out += differences(old.get(key), new.get(key), (*path, key))
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        out = []
        for k, (a, b) in enumerate(zip(old, new, strict=True)):
            out += differences(a, b, (*path, k))
        return out
    return [] if old == new else [Change(path, old, new)]


def _order(scenario: Scenario) -> list[tuple[float, int]]:
    gov = scenario.governance
    if gov is None:
        return []
    start = scenario.clock.start
    return sorted((gov.effect_s(i, start), i) for i in range(len(gov.spells)))


def _validated(data: dict[str, Any], scenario: Scenario) -> Scenario:
    payload = {**data, "base_dir": scenario.base_dir, "data_dirs": scenario.data_dirs}
    context = {"base_dir": scenario.base_dir, "data_dirs": scenario.data_dirs}
    return Scenario.model_validate(payload, context=context)


def _walk(scenario: Scenario) -> tuple[Timeline, list[Problem]]:
    """The timeline of a valid scenario and the problems of its spells."""
    order = _order(scenario)
    if not order:
        return Timeline(scenario, (), ()), []
    gov = scenario.governance
    assert gov is not None
    problems: list[Problem] = []
    data = scenario.to_dict()
    before = _validated(data, scenario)
    steps: list[SpellStep] = []
    for effect, i in order:
        here: DataPath = ("governance", "spells", i)
        if effect < 0:
            problems.append(
                (
                    (*here, "at"),
                    f"takes effect {format_duration(-effect)} before the run's start "
                    f"({scenario.clock.start:%Y-%m-%dT%H:%M:%SZ}): a spell must take effect at "
                    "or after it",
                )
            )
            continue
        spell = gov.spells[i]
        if not spell.set and not spell.do:
            problems.append((here, "a spell needs a set (fields to change) or a do (actions)"))
            continue
        found_do = action_problems(scenario, spell.do)
        if found_do:
            problems += [((*here, "do", *where), msg) for where, msg in found_do]
            continue
        after = _apply(data, spell.set, here, problems)
        if after is None:
            continue
        try:
            new = _validated(after, scenario)
        except ValidationError as exc:
            problems += _schema_problems(exc, after, gov.spells[i].set, here)
            continue
        # A spell at the start is part of the scenario the model is built from: every check.
        found = cross_check(new) if gov.tick(i, scenario.clock) <= 0 else parameter_checks(new)
        if found:
            keys = _set_paths(after, gov.spells[i].set)
            for path, msg in found:
                where = _blame(path, keys, here)
                problems.append((where, _inner(path, msg, where)))
            continue
        changes = differences(before.to_dict(), new.to_dict())
        keys = _set_paths(after, gov.spells[i].set)
        fixed = [c for c in changes if not changeable(c.path)]
        if fixed:
            problems += [
                (_blame(c.path, keys, here), f"{c.field} cannot change during a run") for c in fixed
            ]
            continue
        steps.append(
            SpellStep(
                i,
                gov.label(i),
                effect,
                gov.tick(i, scenario.clock),
                new,
                tuple(changes),
                tuple(spell.do),
                dict(spell.set),
            )
        )
        data, before = after, new
    at_start = tuple(s for s in steps if s.tick == 0)
    later = tuple(s for s in steps if 0 < s.tick <= scenario.n_ticks)
    start = at_start[-1].scenario if at_start else scenario
    return Timeline(start, at_start, later), problems


def _apply(
    data: dict[str, Any], sets: Mapping[str, Any], here: DataPath, problems: list[Problem]
) -> dict[str, Any] | None:
    """A copy of ``data`` with a spell's ``set`` applied; ``None`` (and problems) if it cannot."""
    out = copy.deepcopy(data)
    ok = True
    for key, value in sets.items():
        try:
            parts, _ = parse_override(f"{key}=")
            apply_override(out, parts, value)
        except OverrideError as exc:
            problems.append(((*here, "set", key), exc.message))
            ok = False
        except ValueError as exc:
            problems.append(((*here, "set", key), str(exc)))
            ok = False
    return out if ok else None


def _set_paths(data: dict[str, Any], sets: Mapping[str, Any]) -> dict[DataPath, str]:
    """The data path each of a spell's ``set`` keys sets."""
    out: dict[DataPath, str] = {}
    for key in sets:
        parts, _ = parse_override(f"{key}=")
        out[override_path(data, parts)] = key
    return out


def _blame(path: tuple[Any, ...], keys: Mapping[DataPath, str], here: DataPath) -> DataPath:
    """The ``set`` entry a problem at ``path`` is blamed on (the spell when none set it).

    The entry whose path shares the most leading parts with ``path`` (all of the shorter one, or
    at least a section and an entry: ``ilks.ETH-A``), so that a field left wrong by an entry that
    changed its neighbour (a new ``engine``) is blamed on that entry.
    """
    best: tuple[bool, int] = (False, 1)
    blamed = here
    for set_path, key in keys.items():
        n = 0
        for a, b in zip(set_path, path, strict=False):
            if a != b:
                break
            n += 1
        score = (n == min(len(set_path), len(path)), n)
        if score > best:
            best, blamed = score, (*here, "set", key)
    return blamed


def _inner(path: tuple[Any, ...] | str, msg: str, where: DataPath) -> str:
    """A problem inside the spell's scenario: ``field: message``.

    The field is left out when it is the ``set`` entry blamed (``where``).
    """
    dotted = path if isinstance(path, str) else ".".join(str(p) for p in path)
    if not dotted or where[3:] == ("set", dotted):
        return msg
    return f"{dotted}: {msg}"


def _schema_problems(
    exc: ValidationError, data: dict[str, Any], sets: Mapping[str, Any], here: DataPath
) -> list[Problem]:
    keys = _set_paths(data, sets)
    out: list[Problem] = []
    for err in exc.errors(include_url=False, include_context=True):
        loc = tuple(err["loc"])
        where = _blame(data_path(loc, data), keys, here)
        problem = (where, _inner(field_path(loc, data), message(err), where))
        if problem not in out:
            out.append(problem)
    return out


def spell_problems(scenario: Scenario) -> list[Problem]:
    """Every problem of a valid scenario's spells and governors (none without ``governance``).

    Returns:
        ``(data path, message)`` pairs: a ``set`` entry that names no field, gives a bad value,
        makes the scenario fail its checks or changes a field fixed for the run is blamed on
        its entry (``governance.spells.<i>.set.<path>``); a ``do`` entry naming an unknown asset
        or ilk on its field (``governance.spells.<i>.do.<j>.asset``); a spell taking effect
        before the run's start on its ``at``; a governor's on its field
        (:func:`governor_problems`).
    """
    return _walk(scenario)[1] + governor_problems(scenario)


def timeline(scenario: Scenario) -> Timeline:
    """The scenarios in force during a run of a validated scenario.

    Raises:
        ValueError: the scenario's spells have problems (a scenario from
            :func:`~sim.scenario.load_scenario` never has).
    """
    found, problems = _walk(scenario)
    problems += governor_problems(scenario)
    if problems:
        raise ValueError("; ".join(f"{'.'.join(map(str, p))}: {m}" for p, m in problems))
    return found


def spell_marks(scenario: Mapping[str, Any]) -> list[tuple[str, float]]:
    """The spells a run put in force, for the figures: ``(name, seconds since the start)``.

    Each spell at the time of the tick it took effect in (``tick · clock.tick``); spells after
    the run's last tick are left out.

    Args:
        scenario: a resolved scenario as data (``manifest["scenario"]``).

    Returns:
        The marks in effect order; none when the scenario has no spells or its ``clock`` or
        ``governance`` section cannot be read.
    """
    from sim.scenario.schema import Clock, Governance

    gov_data, clock_data = scenario.get("governance"), scenario.get("clock")
    if not gov_data or not isinstance(clock_data, Mapping):
        return []
    try:
        gov = Governance.model_validate(gov_data)
        clock = Clock.model_validate(clock_data)
    except ValidationError:
        return []
    n_ticks = max(1, math.ceil(clock.duration / clock.tick - 1e-9))
    marks = []
    for i in range(len(gov.spells)):
        tick = gov.tick(i, clock)
        if 0 <= tick <= n_ticks:
            marks.append((gov.effect_s(i, clock.start), i, gov.label(i), tick * clock.tick))
    return [(name, at) for _, _, name, at in sorted(marks)]


# ---------------------------------------------------------------------------------------- governors

#: System quantities a governor's trigger may read: timeseries columns (sim/record.py) [their
#: units: Dai, USD/Dai for ``dai_price``, USD/MKR for ``mkr_price``, gwei for ``gas_price_gwei``].
SYSTEM_QUANTITIES = (
    "dai_price",
    "surplus",
    "bad_debt",
    "auction_debt",
    "insolvent_debt",
    "dai_supply",
    "psm_debt",
    "savings",
    "mkr_price",
    "gas_price_gwei",
)
#: Per-ilk quantities, read as ``FIELD[ILK]`` (``price[ETH-A]``: the ilk's collateral's market
#: price [USD/token]; ``osm_price`` [USD/token]; ``debt``, ``unsafe_debt`` (before the keepers
#: act), ``unsafe_debt_after`` [Dai]; ``collateral_value`` [USD]; ``auctions_active``,
#: ``liquidations`` [count]).
ILK_QUANTITIES = (
    "price",
    "osm_price",
    "debt",
    "collateral_value",
    "unsafe_debt",
    "unsafe_debt_after",
    "auctions_active",
    "liquidations",
)
#: Slack of time comparisons [s] (tick times are multiples of the tick, as floats).
_TIME_SLACK = 1e-6


def quantity_problem(scenario: Scenario, quantity: str) -> str | None:
    """What is wrong with a trigger's quantity in a scenario (None: it is recorded)."""
    if quantity in SYSTEM_QUANTITIES:
        if quantity == "mkr_price" and scenario.mkr is None:
            return "mkr_price needs an mkr section (without one it is not recorded)"
        if quantity == "psm_debt" and scenario.system.psm is None:
            return "psm_debt needs a system.psm section (without a PSM it is always 0)"
        return None
    field_, bracket, rest = quantity.partition("[")
    if bracket and rest.endswith("]") and field_ in ILK_QUANTITIES:
        ilk = rest[:-1]
        if ilk in scenario.ilks:
            return None
        return f"unknown ilk {ilk!r} in {quantity} (defined: {', '.join(scenario.ilks)})"
    return (
        f"unknown quantity {quantity!r}: one of {', '.join(SYSTEM_QUANTITIES)}, or FIELD[ILK] "
        f"with FIELD one of {', '.join(ILK_QUANTITIES)}"
    )


def rebase(scenario: Scenario, sets: Mapping[str, Any]) -> tuple[Scenario, tuple[Change, ...]]:
    """``scenario`` with ``set`` entries applied, checked as a spell's scenario during a run.

    The schema, the checks that hold at any time (:func:`~sim.scenario.checks.parameter_checks`)
    and :data:`CHANGEABLE`, as :func:`timeline` checks a spell after the start.

    Returns:
        The new scenario and the fields that changed, in path order.

    Raises:
        ValueError: the first problem, as ``field: message``.
    """
    data = scenario.to_dict()
    problems: list[Problem] = []
    after = _apply(data, sets, (), problems)
    if after is None:
        raise ValueError(f"{problems[0][0][-1]}: {problems[0][1]}")
    try:
        new = _validated(after, scenario)
    except ValidationError as exc:
        err = exc.errors(include_url=False, include_context=True)[0]
        raise ValueError(f"{field_path(tuple(err['loc']), after)}: {message(err)}") from None
    found = parameter_checks(new)
    if found:
        path, msg = found[0]
        dotted = path if isinstance(path, str) else ".".join(map(str, path))
        raise ValueError(f"{dotted}: {msg}")
    changes = differences(data, new.to_dict())
    for change in changes:
        if not changeable(change.path):
            raise ValueError(f"{change.field}: cannot change during a run")
    return new, tuple(changes)


def _step_problems(
    scenario: Scenario, data: dict[str, Any], key: str, step: Any, at: DataPath
) -> list[Problem]:
    """The problems of one ``set`` entry of a governor (``at`` its data path)."""
    out: list[Problem] = []
    if step.by == 0:
        out.append(((*at, "by"), "by is 0: the governor would never change the field"))
    elif step.by > 0 and step.max is None:
        out.append((at, "a step up (by > 0) needs a max"))
    elif step.by < 0 and step.min is None:
        out.append((at, "a step down (by < 0) needs a min"))
    if step.min is not None and step.max is not None and step.min > step.max:
        out.append((at, f"min {step.min:g} is above max {step.max:g}"))
    try:
        parts, _ = parse_override(f"{key}=")
        path = override_path(data, parts)
    except OverrideError as exc:
        return [*out, (at, exc.message)]
    except ValueError as exc:
        return [*out, (at, str(exc))]
    dotted = ".".join(map(str, path))
    if not changeable(path):
        return [*out, (at, f"{dotted} cannot change during a run")]
    old = value_at(data, path)
    if isinstance(old, bool) or not isinstance(old, int | float):
        return [*out, (at, f"a governor steps numbers; {dotted} is {old!r}")]
    for bound in ("min", "max"):
        value = getattr(step, bound)
        if value is None:
            continue
        try:
            rebase(scenario, {key: value})
        except ValueError as exc:
            out.append(((*at, bound), f"{bound} {value:g}: {exc}"))
    return out


def governor_problems(scenario: Scenario) -> list[Problem]:
    """Every problem of a valid scenario's governors found before the run.

    Returns:
        ``(data path, message)`` pairs, each on the governor's field it is about
        (``governance.governors.<i>.when.quantity``, ``….set.<path>.max``, ``….do.<j>.ilk``).
    """
    gov = scenario.governance
    if gov is None or not gov.governors:
        return []
    data = scenario.to_dict()
    out: list[Problem] = []
    names = [g.name for g in gov.governors]
    for i, g in enumerate(gov.governors):
        here: DataPath = ("governance", "governors", i)
        if names.index(g.name) != i:
            out.append(((*here, "name"), f"governor name {g.name!r} is used twice"))
        found = quantity_problem(scenario, g.when.quantity)
        if found is not None:
            out.append(((*here, "when", "quantity"), found))
        if (g.when.below is None) == (g.when.above is None):
            out.append(((*here, "when"), "give one of below or above"))
        if not g.set and not g.do:
            out.append((here, "a governor needs a set (fields to step) or a do (actions)"))
        for key, step in g.set.items():
            out += _step_problems(scenario, data, key, step, (*here, "set", key))
        out += [((*here, "do", *where), msg) for where, msg in action_problems(scenario, g.do)]
    return out


@dataclass(frozen=True)
class Firing:
    """A governor's firing, waiting for its effect.

    Attributes:
        index: the governor's position in ``governance.governors``.
        name: its name.
        fired: the tick at whose end it fired.
        tick: the tick at whose start it takes effect.
        values: the new value of each ``set`` entry that moves (its key as given).
        actions: its ``do`` actions.
    """

    index: int
    name: str
    fired: int
    tick: int
    values: Mapping[str, float]
    actions: tuple[Any, ...]


class Governors:
    """The governors of a run: which triggers hold, and the firings waiting for their effect.

    Deterministic and drawing nothing: the model shows it each tick's recorded quantities
    (:meth:`observe`) and applies the firings due at the start of a tick (:meth:`due`).
    """

    def __init__(self, governance: Governance, tick: float) -> None:
        """The governors of ``governance`` on a clock of ``tick`` seconds."""
        self.rules: list[Governor] = list(governance.governors)
        self.default_delay = governance.delay
        self.dt = tick
        #: Per governor, when its trigger started to hold [s since the start] (None: it does not).
        self.since: list[float | None] = [None] * len(self.rules)
        #: Per governor, when it last fired [s since the start].
        self.last: list[float | None] = [None] * len(self.rules)
        #: Firings not yet in effect, in effect order (ties in firing order).
        self.pending: list[Firing] = []

    def due(self, tick: int) -> list[Firing]:
        """The firings taking effect at the start of ``tick`` (removed from :attr:`pending`)."""
        out = [f for f in self.pending if f.tick <= tick]
        if out:
            self.pending = [f for f in self.pending if f.tick > tick]
        return out

    def effect_tick(self, rule: Governor, tick: int) -> int:
        """The tick a firing at the end of ``tick`` takes effect in.

        The first tick that starts at or after ``delay`` has elapsed (tick ``k`` starts at
        ``(k − 1)·dt``; without a delay: the next tick).
        """
        delay = self.default_delay if rule.delay is None else rule.delay
        return math.ceil((tick * self.dt + delay) / self.dt - 1e-9) + 1

    def observe(
        self, tick: int, read: Any, scenario: Scenario
    ) -> tuple[list[Firing], list[tuple[str, str]]]:
        """Read the quantities at the end of ``tick``; fire the governors whose time has come.

        Args:
            tick: the tick just recorded.
            read: ``read(quantity)`` → its value at the end of the tick.
            scenario: the scenario in force.

        Returns:
            The new firings (also added to :attr:`pending`) and the refused ones as
            ``(governor name, reason)``.
        """
        now = tick * self.dt
        fired: list[Firing] = []
        refused: list[tuple[str, str]] = []
        data: dict[str, Any] | None = None
        for i, rule in enumerate(self.rules):
            when = rule.when
            value = float(read(when.quantity))
            holds = (when.below is not None and value < when.below) or (
                when.above is not None and value > when.above
            )
            if not holds:
                self.since[i] = None
                continue
            if self.since[i] is None:
                self.since[i] = now
            since, last = self.since[i], self.last[i]
            if now - since < when.hold - _TIME_SLACK:
                continue
            if last is not None and now - last < rule.cooldown - _TIME_SLACK:
                continue
            if any(f.index == i for f in self.pending):
                continue
            if data is None:
                data = scenario.to_dict()
            try:
                values = self._step(rule, data)
            except (TypeError, ValueError, KeyError, OverrideError):
                # A spell removed (or nulled) a field the rule steps: refused, not a crash.
                self.last[i] = now
                refused.append((rule.name, "a field it steps is no longer set"))
                continue
            if rule.set and not values:
                continue  # every field at its bound
            if values:
                try:
                    rebase(scenario, values)
                except ValueError as exc:
                    self.last[i] = now
                    refused.append((rule.name, str(exc)))
                    continue
            firing = Firing(
                i, rule.name, tick, self.effect_tick(rule, tick), values, tuple(rule.do)
            )
            self.last[i] = now
            fired.append(firing)
            self.pending.append(firing)
        self.pending.sort(key=lambda f: f.tick)  # stable: firing order within a tick
        return fired, refused

    def _step(self, rule: Governor, data: dict[str, Any]) -> dict[str, float]:
        """The new value of each of the rule's fields that moves (from the planned value).

        A step moves only in the direction of ``by``: ``old + by`` clamped to the bound, and a
        value already beyond the bound (a spell set it there) stays where it is.

        Raises:
            TypeError: a field is no longer set (a spell removed its section).
        """
        out: dict[str, float] = {}
        for key, step in rule.set.items():
            old = self._planned(key, data)
            new = old + step.by
            if step.max is not None:
                new = min(new, step.max)
            if step.min is not None:
                new = max(new, step.min)
            new = max(new, old) if step.by > 0 else min(new, old)
            if new != old:
                out[key] = float(new)
        return out

    def _planned(self, key: str, data: dict[str, Any]) -> float:
        """A field's value once the firings waiting have taken effect."""
        for firing in reversed(self.pending):
            if key in firing.values:
                return float(firing.values[key])
        parts, _ = parse_override(f"{key}=")
        return float(value_at(data, override_path(data, parts)))
