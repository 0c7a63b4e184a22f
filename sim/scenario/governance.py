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

Spells that call actions (``cage``, stopping an OSM, circuit breakers) and conditional
governors are not modelled.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from sim.scenario.checks import cross_check, parameter_checks
from sim.scenario.messages import message
from sim.scenario.overrides import OverrideError, apply_override, override_path, parse_override
from sim.scenario.paths import data_path, field_path
from sim.scenario.schema import Scenario
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
    """

    index: int
    name: str
    effect_s: float
    tick: int
    scenario: Scenario
    changes: tuple[Change, ...]


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
        after = _apply(data, gov.spells[i].set, here, problems)
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
            SpellStep(i, gov.label(i), effect, gov.tick(i, scenario.clock), new, tuple(changes))
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
    """Every problem of a valid scenario's spells (none without a ``governance`` section).

    Returns:
        ``(data path, message)`` pairs: a ``set`` entry that names no field, gives a bad value,
        makes the scenario fail its checks or changes a field fixed for the run is blamed on
        its entry (``governance.spells.<i>.set.<path>``); a spell taking effect before the run's
        start on its ``at``.
    """
    return _walk(scenario)[1]


def timeline(scenario: Scenario) -> Timeline:
    """The scenarios in force during a run of a validated scenario.

    Raises:
        ValueError: the scenario's spells have problems (a scenario from
            :func:`~sim.scenario.load_scenario` never has).
    """
    found, problems = _walk(scenario)
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
