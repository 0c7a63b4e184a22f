"""Parameter sweeps: a sweep file → validated design points → runs in a batch folder.

A sweep file (``scenarios/sweeps/*.yaml``) names a base scenario, fixed overrides, a design,
the swept parameters, the seeds run at every point and the KPIs to analyse::

    name: crash_sobol
    base: ../eth_crash_liq2.yaml             # relative to the sweep file
    overrides: {clock.duration: 1d}          # applied to the base first
    design: {kind: sobol, n: 256, second_order: false, seed: 0}
    parameters:
      ilks.ETH-A.liquidation.buf: {range: [1.05, 1.5]}                 # a scenario path
      ilks.ETH-A.liquidation.tail: {range: [20m, 4h]}                  # durations: seconds
      keepers.0.dai: {range: [1.0e6, 2.0e7], dist: loguniform}         # list items by index
      debt_scale: {scale: [borrowers.0.debt, ilks.ETH-A.line], range: [0.5, 2]}
    seeds: 4                                 # or [1, 5, 9]; none: the base scenario's seed
    kpis: [bad_debt_max, liquidated_debt]

Designs (:mod:`sim.experiments.designs`): ``grid`` (every combination of each parameter's
``values``, or of ``levels`` evenly spaced levels of its ``range``), ``random`` and ``lhs``
(``n`` points), ``sobol`` (Saltelli's design of ``n`` base samples, a power of two: ``n·(D+2)``
points, ``n·(2D+2)`` with ``second_order``) and ``morris`` (``n`` trajectories of ``D + 1``
points on ``levels`` levels). A parameter is a scenario path (``values`` or a ``range`` with a
``dist``, ``uniform`` or ``loguniform``), or a named ``scale`` that multiplies the base value of
every path it lists. Integer fields get the value rounded; durations are written with a unit and
held in seconds in the tables.

Validation is the scenario files': safe YAML with limits and line numbers, every problem at once
as ``file:line: field: message``, in the user's field names (never pydantic's internal labels)
and each once. It goes in layers, each checking what the layers before found valid, and raises
everything together: the file's own fields (a field that fails is left out, so that the rest is
still checked), the base and the fixed overrides (one whose value the scenario refuses is left
out of the base), every parameter path in the base scenario and its fit to the design, each
parameter's values (a grid's values, a range's ends) on their own; then, when all that is
right, every design point: all before any run. Each point is validated and dropped, so that
validation's memory does not grow with the design (a sweep holds its design table; a point's
scenario is built again when its run is handed to a worker: :class:`PointScenarios`,
:class:`SweepSpecs`); at most :data:`MAX_RUNS` runs. A scenario file given as a sweep file is
told so (:data:`SCENARIO_FILE_MESSAGE`), decided on the top-level keys as every command does
(:func:`sim.files.is_sweep_data`).

Runs: every design point runs with the same seeds (common random numbers: a difference between
points is the parameters', not the luck of the draw) through the batch layer
(:func:`sim.experiments.batch.execute_all`: any executor, one atomic run folder per run,
``--resume``, failures kept as rows). The run of point ``k`` with seed ``s`` is
``<name>-p<k>-seed<s>``; its manifest's ``batch.parameters`` holds ``point`` and the parameter
values, so ``runs.parquet`` has a ``point`` column and one column per parameter. Then
``points.parquet`` (:mod:`sim.experiments.points`) and, for Sobol and Morris designs,
``sensitivity.parquet`` (:mod:`sim.experiments.sweep_analysis`) are written, and
``batch.json``'s ``sweep`` section gets ``"complete": true``. An interrupted sweep stays
``"complete": false`` with ``points.parquet`` of the runs done (``n_missing`` per point) and no
indices, until ``--resume`` finishes it.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from sim.experiments import designs, sweep_analysis
from sim.experiments.batch import (
    BatchInputError,
    Input,
    Keep,
    Progress,
    RunSpec,
    batch_manifest,
    derive_seeds,
    run_in_folder,
)
from sim.experiments.points import COUNT_COLUMNS, points_table
from sim.experiments.store import (
    RUN_COLUMNS,
    BatchFolder,
    SweepFolder,
    recorded_path,
    sha256_file,
    sha256_text,
)
from sim.files import file_problem, is_sweep_data
from sim.metrics import ENSEMBLE_QUANTILES, KPI_BY_NAME, RISK_STATS
from sim.scenario import (
    MAX_ERRORS,
    ErrorItem,
    OverrideError,
    Scenario,
    ScenarioError,
    apply_override,
    validate_data,
)
from sim.scenario.schema import NAME_MAX_CHARS, SEED_MAX
from sim.scenario.yamlfile import DataPath, read_yaml
from sim.units import format_duration, parse_duration

#: Most runs (design points × seeds) in one sweep: a million runs of a minute each is two
#: years of CPU time; a larger design is a typo (a grid of too many values).
MAX_RUNS = 1_000_000
#: Most values of one grid parameter, and most levels a range is split into.
MAX_VALUES = 10_000
#: Most swept parameters (Sobol designs grow with them: N·(D+2) points).
MAX_PARAMETERS = 100
#: Most bootstrap resamples of the confidence intervals of sensitivity indices.
MAX_RESAMPLES = 100_000
#: KPIs analysed when the sweep file names none.
DEFAULT_KPIS = ("bad_debt_max", "liquidated_debt")
#: Default bootstrap resamples and confidence level of sensitivity indices.
DEFAULT_RESAMPLES, DEFAULT_CONF_LEVEL = 100, 0.95
#: Default number of Morris grid levels (even, as Morris's design asks).
DEFAULT_MORRIS_LEVELS = 4
#: Longest value quoted in a message [characters].
SHOWN_VALUE_CHARS = 40
#: Data path of "this problem is the design's" in messages.
_DESIGN: DataPath = ("design",)
#: Filename given to point validation, to tell its messages apart.
_POINT = "<sweep point>"
_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_\-]*$")


# ---------------------------------------------------------------------------------------- schema


def _bound(value: Any) -> Any:
    """A range end: a number (also written ``1e6``), or a duration with a unit (``30m``)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(
            f"a range end is a number or a duration such as '30m' (got {_shown(value)})"
        )
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            parse_duration(value)  # raises with the duration's own message
            return value
    if not math.isfinite(value):
        raise ValueError(f"a range end must be finite (got {value})")
    return float(value)


Bound = Annotated[float | str, BeforeValidator(_bound)]


def _seeds_value(value: Any) -> Any:
    """``seeds``: a count of seeds (derived from ``master_seed``) or a list of distinct seeds."""
    if value is None:
        return value
    if isinstance(value, list):
        if not 1 <= len(value) <= MAX_RUNS:
            raise ValueError(f"a seed list holds 1 to {MAX_RUNS:,} seeds (got {len(value)})")
        for seed in value:
            if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= SEED_MAX:
                raise ValueError(f"a seed is an integer from 0 to {SEED_MAX} (got {_shown(seed)})")
        if len(set(value)) != len(value):
            raise ValueError("the seed list repeats a seed")
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(
            f"give a number of seeds or a list of seeds such as [1, 5, 9] (got {_shown(value)})"
        )
    if not 1 <= value <= MAX_RUNS:
        raise ValueError(
            f"the number of seeds every point runs with is 1 to {MAX_RUNS:,} (got {value})"
        )
    return value


Seed = Annotated[int, Field(ge=0, le=SEED_MAX)]
Count = Annotated[int, Field(ge=1, le=MAX_RUNS)]
Resamples = Annotated[int, Field(ge=1, le=MAX_RESAMPLES)]
ConfLevel = Annotated[float, Field(gt=0, lt=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class GridDesign(_Strict):
    """Every combination of the parameters' values."""

    kind: Literal["grid"]
    levels: Annotated[int, Field(ge=2, le=MAX_VALUES)] | None = Field(
        None, description="levels a range parameter is split into (evenly, in log for loguniform)"
    )


class RandomDesign(_Strict):
    """``n`` independent random points."""

    kind: Literal["random"]
    n: Count
    seed: Seed = 0


class LhsDesign(_Strict):
    """A Latin hypercube of ``n`` points."""

    kind: Literal["lhs"]
    n: Annotated[int, Field(ge=2, le=MAX_RUNS)]
    seed: Seed = 0


class SobolDesign(_Strict):
    """Saltelli's design for Sobol' indices: ``n`` base samples, a power of two."""

    kind: Literal["sobol"]
    n: Annotated[int, Field(ge=2, le=MAX_RUNS)]
    second_order: bool = False
    seed: Seed = 0
    resamples: Resamples = DEFAULT_RESAMPLES
    conf_level: ConfLevel = DEFAULT_CONF_LEVEL

    @field_validator("n")
    @classmethod
    def _power_of_two(cls, n: int) -> int:
        if not designs.is_power_of_two(n):
            below = 1 << (n.bit_length() - 1)
            raise ValueError(
                f"n must be a power of two for a Sobol design (got {n}; try {below} or {below * 2})"
            )
        return n


class MorrisDesign(_Strict):
    """Morris screening: ``n`` trajectories on a grid of ``levels`` levels."""

    kind: Literal["morris"]
    n: Annotated[int, Field(ge=2, le=MAX_RUNS)]
    levels: Annotated[int, Field(ge=2, le=MAX_VALUES)] = DEFAULT_MORRIS_LEVELS
    seed: Seed = 0
    resamples: Resamples = DEFAULT_RESAMPLES
    conf_level: ConfLevel = DEFAULT_CONF_LEVEL

    @field_validator("levels")
    @classmethod
    def _even(cls, levels: int) -> int:
        if levels % 2:
            raise ValueError(f"Morris levels must be even (got {levels})")
        return levels


DesignSpec = Annotated[
    GridDesign | RandomDesign | LhsDesign | SobolDesign | MorrisDesign,
    Field(discriminator="kind"),
]


class ParameterSpec(_Strict):
    """One swept parameter: a scenario path (the key) or a named ``scale`` of several paths."""

    range: Annotated[list[Bound], Field(min_length=2, max_length=2)] | None = None
    values: Annotated[list[Any], Field(min_length=1, max_length=MAX_VALUES)] | None = None
    dist: Literal["uniform", "loguniform"] | None = None
    scale: Annotated[list[str], Field(min_length=1, max_length=MAX_VALUES)] | None = None

    @field_validator("values")
    @classmethod
    def _scalars(cls, values: list[Any] | None) -> list[Any] | None:
        if values is None:
            return values
        for v in values:
            if isinstance(v, dict | list) or v is None:
                raise ValueError(f"values are numbers, strings or booleans (got {_shown(v)})")
            if isinstance(v, float) and not math.isfinite(v):
                raise ValueError(f"values must be finite (got {v})")
        keys = [(type(v).__name__, v) for v in values]
        if len(set(keys)) != len(keys):
            raise ValueError("values repeat a value")
        return values

    @field_validator("scale")
    @classmethod
    def _paths(cls, paths: list[str] | None) -> list[str] | None:
        if paths is not None and len(set(paths)) != len(paths):
            raise ValueError("scale lists a path twice")
        return paths

    @model_validator(mode="after")
    def _one_kind(self) -> ParameterSpec:
        if (self.range is None) == (self.values is None):
            raise ValueError("give range: [low, high] or values: [...], exactly one of them")
        if self.range is not None:
            low, high = self.range
            if isinstance(low, str) != isinstance(high, str):
                raise ValueError("range: both ends are numbers, or both durations (e.g. 20m, 4h)")
            a, b = (
                (parse_duration(low), parse_duration(high)) if isinstance(low, str) else (low, high)
            )
            if not a < b:
                raise ValueError(
                    f"range: the low end must be below the high end (got {low}, {high})"
                )
            if self.dist == "loguniform" and a <= 0:
                raise ValueError(f"range: a loguniform range must be above zero (got {low})")
            if self.scale is not None and isinstance(low, str):
                raise ValueError("range: a scale parameter's range holds multipliers (numbers)")
        elif self.dist is not None:
            raise ValueError("dist applies to a range, not to values")
        return self


class SweepFile(_Strict):
    """A sweep file, as written."""

    name: Annotated[str, Field(min_length=1, max_length=NAME_MAX_CHARS, pattern=_NAME_RE.pattern)]
    description: str = ""
    base: Annotated[str, Field(min_length=1)]
    overrides: dict[str, Any] = Field(default_factory=dict)
    design: DesignSpec
    parameters: Annotated[dict[str, ParameterSpec], Field(min_length=1, max_length=MAX_PARAMETERS)]
    seeds: Annotated[int | list[int] | None, BeforeValidator(_seeds_value)] = None
    master_seed: Seed = 0
    kpis: Annotated[list[str], Field(min_length=1)] = Field(
        default_factory=lambda: list(DEFAULT_KPIS)
    )

    @field_validator("kpis")
    @classmethod
    def _known(cls, kpis: list[str]) -> list[str]:
        for kpi in kpis:
            if kpi not in KPI_BY_NAME:
                raise ValueError(f"unknown KPI {kpi!r}; expected one of {', '.join(KPI_BY_NAME)}")
        if len(set(kpis)) != len(kpis):
            raise ValueError("kpis repeats a KPI")
        return kpis


#: Top-level keys of a scenario file that a sweep file does not have (to tell them apart).
_SCENARIO_ONLY = (
    frozenset(Scenario.model_fields) - frozenset(SweepFile.model_fields) - {"base_dir", "data_dirs"}
)
#: What a scenario file given as a sweep file is told.
SCENARIO_FILE_MESSAGE = (
    "this is a scenario file; cdpsim sweep takes a sweep file (base, design, parameters) — run "
    "it with cdpsim run, or see scenarios/sweeps/"
)


def _shown(value: Any) -> str:
    """A value as quoted in messages (lists and mappings by their size only)."""
    if isinstance(value, dict):
        return f"a mapping of {len(value)} keys"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)} items"
    if isinstance(value, float | np.floating):
        return f"{float(value):.6g}"
    text = repr(value)
    return text if len(text) <= SHOWN_VALUE_CHARS else text[: SHOWN_VALUE_CHARS - 1] + "…"


# ---------------------------------------------------------------------------------------- errors

#: pydantic's labels of union members and validator wrappers in an error's location
#: (``list[int]``, ``constrained-int``, ``function-after[…]``, ``int``), not the user's keys.
_LOC_LABEL = re.compile(
    r"[\[\]]|^(int|float|str|bool|list|dict|tuple|none|nullable|union|chain|default)$"
    r"|^(constrained|function|lax|json|tagged|is|typed|model|dataclass|definition)-[a-z-]+$"
)


class _Errors:
    """Problems of one sweep file, located by their data path's line."""

    def __init__(self, filename: str, lines: Mapping[DataPath, int]):
        self.filename = filename
        self.lines = lines
        self.items: list[ErrorItem] = []
        self.omitted = 0

    def line(self, path: DataPath) -> int | None:
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path)

    def add(self, path: DataPath, message: str, field: str | None = None) -> None:
        shown = field if field is not None else ".".join(str(p) for p in path)
        self.items.append(ErrorItem(self.filename, self.line(path), shown, message))

    def extend(self, items: Sequence[ErrorItem], omitted: int = 0) -> None:
        self.items.extend(items)
        self.omitted += omitted

    def raise_any(self) -> None:
        """Raise every problem found so far (each once), the sweep file's in line order."""
        if self.items:
            unique = list(dict.fromkeys(self.items))
            ordered = sorted(
                unique,
                key=lambda e: (e.file != self.filename, e.line if e.line is not None else 0),
            )
            raise ScenarioError(ordered, self.omitted)


def _schema_errors(exc: ValidationError, data: Any, errors: _Errors) -> None:
    """Word and locate the sweep schema's errors."""
    seen = set()
    for err in exc.errors(include_url=False):
        loc, path = _user_location(err["loc"], data)
        message = _schema_message(err, loc)
        field = ".".join(str(p) for p in loc)
        if (field, message) in seen:
            continue
        seen.add((field, message))
        errors.add(tuple(path), message, field)


def _user_location(raw: Sequence[Any], data: Any) -> tuple[list[Any], DataPath]:
    """An error's location in the user's field names, and its longest prefix in the data.

    pydantic's location mixes the data's keys with its own labels (union members such as
    ``constrained-int`` or ``list[int]``, the design's ``kind`` tag): a part that is a key of the
    data stays; a part that is not is a label, unless it is a plain field name (a missing field).
    """
    loc: list[Any] = []
    path: list[Any] = []
    node: Any = data
    inside = True  # every part so far is in the data
    for k, part in enumerate(raw):
        if inside and isinstance(node, dict) and part in node:
            loc.append(part)
            path.append(part)
            node = node[part]
            continue
        if inside and isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            loc.append(part)
            path.append(part)
            node = node[part]
            continue
        if isinstance(part, str) and _LOC_LABEL.search(part):
            continue
        if k == 1 and raw[0] == "design" and part in designs.KINDS:
            continue  # the discriminator's tag
        loc.append(part)
        inside = False
    return loc, tuple(path)


def _schema_message(err: Mapping[str, Any], loc: Sequence[Any]) -> str:
    kind = err.get("type", "")
    msg = str(err.get("msg", ""))
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1], err)
        allowed = ", ".join(model.model_fields) if model is not None else ""
        return f"unknown field (allowed: {allowed})" if allowed else "unknown field"
    if kind == "missing":
        return "required field is missing"
    if kind == "union_tag_invalid":
        ctx = err.get("ctx", {})
        return f"unknown kind {_shown(ctx.get('tag'))}; expected one of {ctx.get('expected_tags')}"
    if kind == "union_tag_not_found":
        return f"missing kind; expected one of {', '.join(designs.KINDS)}"
    msg = msg.removeprefix("Value error, ")
    if kind.endswith("_type") or kind.startswith(("greater_than", "less_than", "literal_error")):
        return f"{msg} (got {_shown(err.get('input'))})"
    return msg


def _model_at(loc: Sequence[Any], err: Mapping[str, Any]) -> type[BaseModel] | None:
    """The schema section at a location (for the fields an unknown key could have been)."""
    if not loc:
        return SweepFile
    if loc[0] == "parameters" and len(loc) == 2:
        return ParameterSpec
    if loc[0] == "design" and len(loc) == 1:
        raw = err.get("loc", ())
        kind = raw[1] if len(raw) > 2 else None
        by_kind = {
            "grid": GridDesign,
            "random": RandomDesign,
            "lhs": LhsDesign,
            "sobol": SobolDesign,
            "morris": MorrisDesign,
        }
        return by_kind.get(kind)
    return None


# ---------------------------------------------------------------------------------------- model


@dataclass(frozen=True)
class SweepParameter:
    """A swept parameter, resolved against the base scenario.

    Attributes:
        name: its key in the sweep file and its column in the tables.
        kind: ``value`` (the key is a scenario path) or ``scale`` (multiplies ``paths``).
        paths: the scenario paths it sets.
        range: ``(low, high)`` (seconds for durations), or ``None``.
        values: the grid values (seconds for durations), or ``None``.
        dist: ``uniform`` or ``loguniform`` for a range, else ``None``.
        duration: the values are durations (written with a unit, held in seconds).
        base_values: the base scenario's value at each path (what a scale multiplies).
        typed_paths: the data paths (list indices as ``int``).
    """

    name: str
    kind: Literal["value", "scale"]
    paths: tuple[str, ...]
    range: tuple[float, float] | None
    values: tuple[Any, ...] | None
    dist: str | None
    duration: bool
    base_values: tuple[Any, ...]
    typed_paths: tuple[DataPath, ...]

    def grid_values(self, levels: int | None) -> list[Any]:
        """The values a grid takes: ``values``, or ``levels`` levels of the range."""
        if self.values is not None:
            return list(self.values)
        assert self.range is not None and levels is not None
        return designs.levels(self.range[0], self.range[1], levels, self.dist or "uniform")

    def assignments(self, value: Any) -> list[tuple[DataPath, str, Any]]:
        """What the parameter at ``value`` sets: (data path, dotted path, scenario value)."""
        out = []
        for typed, path, base in zip(self.typed_paths, self.paths, self.base_values, strict=True):
            if self.kind == "scale":
                out.append((typed, path, _scaled(base, value)))
            else:
                out.append((typed, path, _as_field(base, value, self.duration)))
        return out

    def record(self, levels: int | None = None) -> dict[str, Any]:
        """How ``batch.json`` describes it."""
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "paths": list(self.paths)}
        if self.range is not None:
            out["range"] = [float(self.range[0]), float(self.range[1])]
            if levels is not None:
                out["levels"] = levels
        else:
            out["values"] = [_plain(v) for v in self.values or ()]
        out["dist"] = self.dist
        out["unit"] = "s" if self.duration else None
        return out


def _plain(value: Any) -> Any:
    """A JSON-ready scalar (numpy numbers become Python ones)."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.number) and not isinstance(value, bool)


def _is_duration_text(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parse_duration(value)
    except ValueError:
        return False
    return True


def _as_field(base: Any, value: Any, duration: bool) -> Any:
    """A parameter value as the scenario field takes it."""
    value = _plain(value)
    if duration and _is_number(value):
        return format_duration(float(value))
    if isinstance(base, int) and not isinstance(base, bool) and isinstance(value, float):
        return round(value)
    return value


def _scaled(base: Any, factor: Any) -> Any:
    """``base`` multiplied by ``factor`` (durations stay durations, integers integers)."""
    factor = float(_plain(factor))
    if isinstance(base, str):
        return format_duration(parse_duration(base) * factor)
    if isinstance(base, int) and not isinstance(base, bool):
        return round(base * factor)
    return float(base) * factor


def _get(data: Any, path: DataPath) -> Any:
    """The value at a data path, or ``None`` where the path does not exist yet."""
    node = data
    for key in path:
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
        else:
            return None
    return node


def _override_text(path: str, value: Any) -> str:
    """``path=value`` as recorded in the runs table."""
    if isinstance(value, float):
        return f"{path}={value!r}"
    if isinstance(value, dict | list):
        return f"{path}={json.dumps(value)}"
    return f"{path}={value}"


@dataclass(frozen=True, eq=False)
class Sweep:
    """A validated sweep: its base scenario, parameters, design points and their scenarios.

    Attributes:
        name: the sweep's name (run ids and the default folder ``runs/sweep-<name>``).
        description: free text.
        file: the sweep file as given (``<sweep>`` for one built from data).
        base_file: the base scenario file.
        base_sha256: hash of the base file's text (``--resume`` refuses another base).
        base: the base scenario with the fixed overrides.
        overrides: the fixed overrides as ``path=value``.
        design: the design as written, with defaults (``kind``, ``n``, ``seed``, …).
        parameters: the swept parameters, in file order.
        seeds: the seeds every point runs with.
        master_seed: the seed ``seeds: N`` derives them from.
        kpis: the KPIs analysed.
        points: ``point`` and one column per parameter (durations in seconds).
        scenarios: each point's validated scenario, built when indexed
            (:class:`PointScenarios`: a sweep holds its design, not a scenario per point).
        point_overrides: each point's ``path=value`` settings, made when indexed.
    """

    name: str
    description: str
    file: str
    base_file: Path
    base_sha256: str
    base: Scenario
    overrides: tuple[str, ...]
    design: dict[str, Any]
    parameters: tuple[SweepParameter, ...]
    seeds: tuple[int, ...]
    master_seed: int
    kpis: tuple[str, ...]
    points: pd.DataFrame
    scenarios: Sequence[Scenario]
    point_overrides: Sequence[tuple[str, ...]]

    @property
    def n_runs(self) -> int:
        """Design points × seeds."""
        return len(self.points) * len(self.seeds)

    def run_id(self, point: int, seed: int) -> str:
        """``<name>-p<point>-seed<seed>``, the point zero-padded to the design's width."""
        width = len(str(max(len(self.points) - 1, 0)))
        return f"{self.name}-p{point:0{width}d}-seed{seed}"

    def parameter_names(self) -> list[str]:
        """The parameters' names (table columns), in file order."""
        return [p.name for p in self.parameters]

    def specs(self, out: Path, keep: Keep = "summary") -> SweepSpecs:
        """The runs, point by point, each point with every seed, built as they are taken."""
        return SweepSpecs(self, out, keep)

    def section(self, out: Path | None = None) -> dict[str, Any]:
        """The ``sweep`` section of ``batch.json`` (files relative to the sweep folder ``out``)."""
        levels = self.design.get("levels") if self.design["kind"] == "grid" else None
        return {
            "name": self.name,
            "description": self.description,
            "file": self.file if out is None else recorded_path(self.file, out),
            "base": str(self.base_file) if out is None else recorded_path(self.base_file, out),
            "overrides": list(self.overrides),
            "design": {**self.design, "points": len(self.points)},
            "parameters": [p.record(levels) for p in self.parameters],
            "kpis": list(self.kpis),
            "seeds": list(self.seeds),
            "master_seed": self.master_seed,
            "points": len(self.points),
            "runs": self.n_runs,
        }

    def identity(self) -> dict[str, Any]:
        """What must not change for ``--resume`` to continue a sweep: design and parameters."""
        section = self.section()
        return {"design": section["design"], "parameters": section["parameters"]}


# ---------------------------------------------------------------------------------------- loading


def load_sweep(path: str | Path, data_dirs: Sequence[str | Path] = ()) -> Sweep:
    """Load and validate a sweep file, its base scenario and every design point.

    Args:
        path: the sweep file.
        data_dirs: folders besides the base scenario's own that its data files may come from.

    Returns:
        The sweep, every point's scenario validated.

    Raises:
        ScenarioError: every problem, as ``file:line: field: message``, before any run.
    """
    path = Path(path)
    data, lines = read_yaml(path)
    return sweep_from_data(
        data, filename=str(path), base_dir=path.parent, lines=lines, data_dirs=data_dirs
    )


def sweep_from_data(
    data: Any,
    *,
    filename: str = "<sweep>",
    base_dir: str | Path = ".",
    lines: Mapping[DataPath, int] | None = None,
    data_dirs: Sequence[str | Path] = (),
) -> Sweep:
    """Validate sweep data (a sweep file's YAML as Python data).

    Args:
        data: the sweep as a mapping.
        filename: name used in messages.
        base_dir: the folder ``base`` is relative to.
        lines: the YAML line of each data path (for messages).
        data_dirs: extra data folders of the base scenario.

    Returns:
        The validated sweep.

    Raises:
        ScenarioError: every problem, before any run.
    """
    errors = _Errors(filename, lines or {})
    if not isinstance(data, dict):
        errors.add((), "a sweep file is a mapping (name, base, design, parameters, …)")
        errors.raise_any()
    if not is_sweep_data(data) and _SCENARIO_ONLY & set(data):
        errors.add((), SCENARIO_FILE_MESSAGE)
        errors.raise_any()
    # Layer by layer, each on what the layers before found valid, all problems raised together:
    # the file's own fields; the base and the fixed overrides; each parameter's path; each
    # parameter's values alone; then (only when all that is right) every design point.
    parsed = _parse_file(data, errors)
    if parsed is None:
        errors.raise_any()
    assert parsed is not None
    spec = parsed.spec
    base_file = Path(base_dir) / spec.base
    problem = file_problem(base_file)
    if problem is not None:
        errors.add(("base",), f"the base scenario {base_file}: {problem}")
        errors.raise_any()
    base, overrides, dropped = _load_base(spec, base_file, errors, data_dirs)
    resolved = base.to_dict()
    parameters = _resolve_parameters(
        spec, resolved, errors, parsed.kind, design_ok=parsed.design_ok, dropped=dropped
    )
    seeds = _seeds(spec, base)
    if not parsed.design_ok or _check_size(spec, parameters, len(seeds), errors):
        _check_ends(spec, parameters, base, resolved, errors, parsed.kind)  # with the others
    errors.raise_any()
    points = _design_points(spec, parameters)
    _check_points(parameters, points, base, resolved, errors)
    errors.raise_any()
    scenarios = PointScenarios(parameters, points, base, resolved)
    return Sweep(
        name=spec.name,
        description=spec.description,
        file=filename,
        base_file=base_file,
        base_sha256=sha256_text(base_file.read_text(encoding="utf-8")),
        base=base,
        overrides=overrides,
        design=spec.design.model_dump(),
        parameters=tuple(parameters),
        seeds=tuple(seeds),
        master_seed=spec.master_seed,
        kpis=tuple(spec.kpis),
        points=points,
        scenarios=scenarios,
        point_overrides=PointOverrides(scenarios),
    )


@dataclass(frozen=True)
class _Parsed:
    """The sweep file's fields that passed the schema (the others reported, then left out).

    Attributes:
        spec: the file with every invalid optional field at its default, every invalid
            parameter left out, and an invalid design replaced by the smallest of its kind.
        design_ok: the design as written is valid (else the checks that need it are skipped).
        kind: the design's kind as written, when it is one (else ``None``).
    """

    spec: SweepFile
    design_ok: bool
    kind: str | None


#: The smallest valid design of each kind (standing in for an invalid design as written).
_STAND_IN_DESIGNS: dict[str, dict[str, Any]] = {
    "grid": {"kind": "grid"},
    "random": {"kind": "random", "n": 1},
    "lhs": {"kind": "lhs", "n": 2},
    "sobol": {"kind": "sobol", "n": 2},
    "morris": {"kind": "morris", "n": 2},
}


def _parse_file(data: dict[str, Any], errors: _Errors) -> _Parsed | None:
    """The sweep file's own fields, every schema problem reported; ``None`` without a base.

    A field that fails its schema is reported and left out (its default taken, a placeholder
    name, a stand-in design of the same kind), so that the layers after it still check the rest.
    """
    try:
        spec = SweepFile.model_validate(data)
    except ValidationError as exc:
        _schema_errors(exc, data, errors)
        failed = {err["loc"][0] for err in exc.errors() if err["loc"]}
    else:
        return _Parsed(spec, design_ok=True, kind=spec.design.kind)
    fields = SweepFile.model_fields
    kept = {k: v for k, v in data.items() if k in fields and k not in failed}
    if "base" not in kept:
        return None
    kept.setdefault("name", "sweep")
    design_ok = "design" not in failed and "design" in kept
    raw_design = data.get("design")
    kind = raw_design.get("kind") if isinstance(raw_design, dict) else None
    kind = kind if isinstance(kind, str) and kind in _STAND_IN_DESIGNS else None
    if not design_ok:
        kept["design"] = _STAND_IN_DESIGNS[kind or "random"]
    kept["parameters"] = {"stand-in": {"values": [0]}}  # replaced below
    try:
        spec = SweepFile.model_validate(kept)
    except ValidationError:  # not expected: every field left is valid or a stand-in
        return None
    parameters: dict[str, ParameterSpec] = {}
    raw = data.get("parameters")
    for name, value in raw.items() if isinstance(raw, dict) else ():
        if isinstance(name, str):
            try:
                parameters[name] = ParameterSpec.model_validate(value)
            except ValidationError:
                continue  # reported above
    return _Parsed(spec.model_copy(update={"parameters": parameters}), design_ok, kind)


def _load_base(
    spec: SweepFile, base_file: Path, errors: _Errors, data_dirs: Sequence[str | Path]
) -> tuple[Scenario, tuple[str, ...], tuple[str, ...]]:
    """The base scenario with the fixed overrides, problems blamed on the sweep's lines.

    An override whose value the scenario refuses is reported and left out, and the base built
    without it, so that the parameters are checked too; a base whose own file has problems
    stops the validation there (they are the base file's, with its lines).

    Returns:
        The base scenario, the overrides applied as ``path=value``, and the keys of the
        overrides left out because the scenario refused their value.
    """
    refused: set[str] = set()
    while True:
        base, texts, blamed = _try_base(spec, base_file, errors, data_dirs, refused)
        if base is not None:
            return base, texts, tuple(k for k in spec.overrides if k in refused)
        if not blamed or blamed <= refused:
            errors.raise_any()
        refused |= blamed


def _try_base(
    spec: SweepFile,
    base_file: Path,
    errors: _Errors,
    data_dirs: Sequence[str | Path],
    refused: set[str],
) -> tuple[Scenario | None, tuple[str, ...], set[str]]:
    """The base with the overrides but ``refused``; else the overrides its errors blame.

    Returns:
        ``(base, texts, set())`` when it validates; ``(None, (), keys)`` when every problem is
        blamed on overrides (``keys``; reported), ``(None, (), set())`` when the base file
        itself has problems (reported).
    """
    base_data, base_lines = read_yaml(base_file)  # the base file's own problems are its own
    overridden: dict[DataPath, str] = {}
    texts = []
    report = not refused  # the override-path problems, once
    for key, value in spec.overrides.items():
        if key in refused:
            continue
        parts = tuple(p.strip() for p in key.split("."))
        if not isinstance(base_data, dict):
            break  # validation below reports it
        try:
            created: list[DataPath] = []
            overridden[apply_override(base_data, parts, value, created)] = key
            for path in created:
                overridden.setdefault(path, key)
        except OverrideError as exc:
            if report:
                errors.add(("overrides", key), exc.message, f"overrides.{key}")
            continue
        texts.append(_override_text(key, value))
    try:  # without the overrides refused above, so that the parameters are checked too
        base = validate_data(
            base_data,
            filename=str(base_file),
            base_dir=base_file.parent,
            lines=base_lines,
            overridden=overridden,
            data_dirs=data_dirs,
        )
    except ScenarioError as exc:
        blamed = {f"{base_file} (--set {key})": key for key in spec.overrides}
        items = []
        keys: set[str] = set()
        own = False
        for item in exc.errors:
            key = blamed.get(item.file)
            if key is None:
                items.append(item)
                own = True
                continue
            keys.add(key)
            where = f"{item.path}: " if item.path and item.path != key else ""
            items.append(
                ErrorItem(
                    errors.filename,
                    errors.line(("overrides", key)),
                    f"overrides.{key}",
                    f"{where}{item.message}",
                )
            )
        errors.extend(items, exc.omitted if report else 0)
        return None, (), set() if own else keys
    return base, tuple(texts), set()


def _resolve_path(resolved: dict[str, Any], dotted: str) -> tuple[DataPath | None, Any, str | None]:
    """A scenario path's data path and base value, or the reason it is not a path."""
    parts = tuple(p.strip() for p in dotted.split("."))
    if not dotted or any(not p for p in parts):
        return None, None, "a scenario path such as ilks.ETH-A.mat (no empty parts)"
    try:
        typed = apply_override(copy.deepcopy(resolved), parts, 0)
    except OverrideError as exc:
        return None, None, exc.message
    return typed, _get(resolved, typed), None


def _resolve_parameters(
    spec: SweepFile,
    resolved: dict[str, Any],
    errors: _Errors,
    kind: str | None,
    *,
    design_ok: bool = True,
    dropped: Sequence[str] = (),
) -> list[SweepParameter]:
    """Resolve every parameter's paths in the base scenario and check it fits the design.

    Args:
        spec: the sweep file (its valid fields).
        resolved: the base scenario with the fixed overrides, as data.
        errors: where problems go.
        kind: the design's kind (``None``: unknown, so not checked against the parameters).
        design_ok: the design as written is valid (else a grid's ``levels`` are not checked
            against ranges).
        dropped: overrides left out of the base (the scenario refused their value): a parameter
            below one of them is not checked against a base that lacks it.
    """
    levels = spec.design.levels if isinstance(spec.design, GridDesign) else None
    reserved = _reserved_columns(spec.kpis)
    out = []
    for name, p in spec.parameters.items():
        where = ("parameters", name)
        if name in reserved:
            errors.add(where, f"{name!r} is a column of the tables already; choose another name")
            continue
        paths = p.scale if p.scale is not None else [name]
        if any(_below(path, key) for path in paths for key in dropped):
            continue
        if kind is not None and kind != "grid" and p.range is None:
            errors.add(
                (*where, "values"), f"a {kind} design samples ranges: give range: [low, high]"
            )
        if kind == "grid" and p.range is not None and levels is None and design_ok:
            errors.add(
                (*where, "range"),
                "a grid takes values: [...]; or set design.levels to split ranges into levels",
            )
        if p.scale is None:
            typed, base_value, problem = _resolve_path(resolved, name)
            if problem is not None:
                errors.add(where, problem)
                continue
            paths, typed_paths, base_values = (name,), (typed,), (base_value,)
        else:
            if not _NAME_RE.match(name):
                errors.add(where, "a scale parameter's name is a plain name (letters, digits, _ -)")
                continue
            paths, typed_list, base_list = [], [], []
            for i, dotted in enumerate(p.scale):
                typed, base_value, problem = _resolve_path(resolved, dotted)
                if problem is None and not (
                    _is_number(base_value) or _is_duration_text(base_value)
                ):
                    problem = (
                        f"the base scenario has {_shown(base_value)} there; a scale multiplies "
                        "a number or a duration"
                    )
                if problem is not None:
                    errors.add(
                        (*where, "scale", i), f"{dotted}: {problem}", f"parameters.{name}.scale"
                    )
                    continue
                paths.append(dotted)
                typed_list.append(typed)
                base_list.append(base_value)
            if len(paths) != len(p.scale):
                continue
            if p.values is not None and not all(_is_number(v) for v in p.values):
                errors.add(
                    (*where, "values"), "a scale parameter's values are multipliers (numbers)"
                )
                continue
            paths, typed_paths, base_values = tuple(paths), tuple(typed_list), tuple(base_list)
        duration = False
        value_range = None
        values = None
        if p.range is not None:
            low, high = p.range
            duration = isinstance(low, str)
            value_range = (
                (parse_duration(low), parse_duration(high))
                if duration
                else (float(low), float(high))
            )
        else:
            assert p.values is not None
            duration = p.scale is None and all(_is_duration_text(v) for v in p.values)
            values = tuple(parse_duration(v) for v in p.values) if duration else tuple(p.values)
        out.append(
            SweepParameter(
                name=name,
                kind="value" if p.scale is None else "scale",
                paths=paths,
                range=value_range,
                values=values,
                dist=(p.dist or "uniform") if p.range is not None else None,
                duration=duration,
                base_values=base_values,
                typed_paths=typed_paths,
            )
        )
    return out


def _below(path: str, key: str) -> bool:
    """Whether the dotted ``path`` is ``key`` or inside it (or ``key`` inside ``path``)."""
    a = [p.strip() for p in path.split(".")]
    b = [p.strip() for p in key.split(".")]
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def _reserved_columns(kpis: Sequence[str]) -> set[str]:
    """Column names of the runs and points tables that a parameter may not take."""
    names = {
        *RUN_COLUMNS,
        *COUNT_COLUMNS,
        "point",
        *KPI_BY_NAME,
        *(k.name for k in RISK_STATS),
    }
    for kpi in kpis:
        names |= {f"{kpi}_mean", f"{kpi}_std", *(f"{kpi}_{s}" for s, _ in ENSEMBLE_QUANTILES)}
    return names


def _validate_point(
    resolved: dict[str, Any],
    base: Scenario,
    settings: Sequence[tuple[SweepParameter, Any]],
) -> tuple[Scenario | None, list[ErrorItem], list[str]]:
    """The scenario with ``settings`` applied, or the problems (blamed on each parameter)."""
    data = copy.deepcopy(resolved)
    overridden: dict[DataPath, str] = {}
    texts = []
    for parameter, value in settings:
        for typed, path, field_value in parameter.assignments(value):
            apply_override(data, _parts(typed), field_value)
            overridden[typed] = parameter.name
            texts.append(_override_text(path, field_value))
    try:
        scenario = validate_data(
            data,
            filename=_POINT,
            base_dir=base.base_dir,
            overridden=overridden,
            data_dirs=base.data_dirs,
        )
    except ScenarioError as exc:
        return None, list(exc.errors), texts
    return scenario, [], texts


def _parts(typed: DataPath) -> tuple[str, ...]:
    """A data path as the parts of a dotted path."""
    return tuple(str(p) for p in typed)


def _check_ends(
    spec: SweepFile,
    parameters: Sequence[SweepParameter],
    base: Scenario,
    resolved: dict[str, Any],
    errors: _Errors,
    kind: str | None,
) -> None:
    """Each parameter alone at each of its values or levels, or at both ends of its range.

    ``kind`` is the design's kind (``None`` when the design as written has none that exists:
    then each parameter is probed as written).
    """
    levels = spec.design.levels if isinstance(spec.design, GridDesign) else None
    for parameter in parameters:
        if parameter.values is not None:
            if kind not in (None, "grid"):
                continue  # refused already: sampling designs need ranges
            probes = list(parameter.values)
        elif kind == "grid" and levels is not None:
            probes = parameter.grid_values(levels)
        else:
            assert parameter.range is not None
            probes = list(parameter.range)
        for value in probes:
            _, items, _ = _validate_point(resolved, base, [(parameter, value)])
            shown = format_duration(value) if parameter.duration else _shown(value)
            for item in items[:MAX_ERRORS]:
                field = f"{item.path}: " if item.path and item.path != parameter.name else ""
                errors.add(
                    ("parameters", parameter.name),
                    f"value {shown}: {field}{item.message}",
                    f"parameters.{parameter.name}",
                )


def _seeds(spec: SweepFile, base: Scenario) -> list[int]:
    """The seeds every point runs with."""
    if spec.seeds is None:
        return [base.seed]
    if isinstance(spec.seeds, int):
        return derive_seeds(spec.seeds, spec.master_seed)
    return list(spec.seeds)


def _check_size(
    spec: SweepFile, parameters: Sequence[SweepParameter], n_seeds: int, errors: _Errors
) -> bool:
    """Whether the design's runs (points × seeds) are within :data:`MAX_RUNS` (else an error)."""
    design = spec.design
    if isinstance(design, GridDesign):
        sizes = [
            len(p.values) if p.values is not None else (design.levels or 1) for p in parameters
        ]
        count = math.prod(sizes)
    else:
        second = isinstance(design, SobolDesign) and design.second_order
        count = designs.point_count(design.kind, design.n, len(parameters), second_order=second)
    if count * n_seeds <= MAX_RUNS:
        return True
    errors.add(
        _DESIGN,
        f"{count:,} points × {n_seeds} seeds = {count * n_seeds:,} runs, above the limit of "
        f"{MAX_RUNS:,} runs per sweep",
    )
    return False


def _design_points(spec: SweepFile, parameters: Sequence[SweepParameter]) -> pd.DataFrame:
    """The design: ``point`` and each parameter's value (durations in seconds)."""
    design = spec.design
    names = [p.name for p in parameters]
    d = len(parameters)
    if isinstance(design, GridDesign):
        rows = designs.grid([p.grid_values(design.levels) for p in parameters])
        table = pd.DataFrame(rows, columns=names)
    else:
        unit = designs.unit_design(
            design.kind,
            design.n,
            d,
            design.seed,
            second_order=isinstance(design, SobolDesign) and design.second_order,
            num_levels=design.levels if isinstance(design, MorrisDesign) else 4,
        )
        table = pd.DataFrame(
            {
                p.name: designs.from_unit(unit[:, j], *p.range, p.dist or "uniform")  # type: ignore[misc]
                for j, p in enumerate(parameters)
            }
        )
    table.insert(0, "point", np.arange(len(table), dtype=np.int64))
    return table


def _point_settings(
    parameters: Sequence[SweepParameter], row: Sequence[Any]
) -> list[tuple[SweepParameter, Any]]:
    """A design row as (parameter, value) pairs."""
    return list(zip(parameters, row, strict=True))


def _check_points(
    parameters: Sequence[SweepParameter],
    points: pd.DataFrame,
    base: Scenario,
    resolved: dict[str, Any],
    errors: _Errors,
) -> None:
    """Validate every design point, one at a time, keeping none of their scenarios.

    Memory does not grow with the number of points: each point's scenario is built, checked
    and dropped (it is built again when its run is handed to a worker, see
    :class:`PointScenarios`). The first :data:`~sim.scenario.MAX_ERRORS` failing points are
    listed; the others are counted.
    """
    names = [p.name for p in parameters]
    listed = 0
    for k, row in enumerate(points[names].itertuples(index=False, name=None)):
        _, items, _ = _validate_point(resolved, base, _point_settings(parameters, row))
        if not items:  # valid: its scenario is dropped here
            continue
        if listed >= MAX_ERRORS:
            errors.extend([], omitted=len(items))
            continue
        listed += 1
        where = ", ".join(
            f"{p.name}={format_duration(v) if p.duration else _shown(v)}"
            for p, v in zip(parameters, row, strict=True)
        )
        for item in items:
            field = f"{item.path}: " if item.path else ""
            errors.add(_DESIGN, f"point {k} ({where}): {field}{item.message}", "design")


class PointScenarios(Sequence[Scenario]):
    """Each design point's scenario, built when asked for (and the last one kept).

    A sweep validates every point once (:func:`_check_points`) and keeps none of their
    scenarios: ``scenarios[k]`` builds point ``k``'s again from the base and the design row, the
    same way, so that a sweep of a million points holds its design table, not a million
    scenarios. The scenario of the point asked for last is kept, so that a point's seeds share
    one.
    """

    def __init__(
        self,
        parameters: Sequence[SweepParameter],
        points: pd.DataFrame,
        base: Scenario,
        resolved: dict[str, Any],
    ) -> None:
        self._parameters = tuple(parameters)
        self._rows = points[[p.name for p in parameters]]
        self._base = base
        self._resolved = resolved
        self._last: tuple[int, Scenario] | None = None

    def __len__(self) -> int:
        return len(self._rows)

    def row(self, k: int) -> tuple[Any, ...]:
        """Point ``k``'s design row (one value per parameter, durations in seconds).

        Taken column by column (each value of its column's type, as the whole table's rows
        give them), never as a row Series, which would turn a grid's integers into floats.
        """
        return next(self._rows.iloc[k : k + 1].itertuples(index=False, name=None))

    def settings(self, k: int) -> tuple[str, ...]:
        """Point ``k``'s settings as ``path=value`` texts (as recorded in the runs table)."""
        texts = []
        for parameter, value in _point_settings(self._parameters, self.row(k)):
            for _typed, path, field_value in parameter.assignments(value):
                texts.append(_override_text(path, field_value))
        return tuple(texts)

    def __getitem__(self, k: int) -> Scenario:  # type: ignore[override]
        if not isinstance(k, int | np.integer):
            raise TypeError("a point is selected by its number")
        k = int(k)
        if k < 0:
            k += len(self)
        if not 0 <= k < len(self):
            raise IndexError(f"point {k} of {len(self)}")
        if self._last is not None and self._last[0] == k:
            return self._last[1]
        settings = _point_settings(self._parameters, self.row(k))
        scenario, items, _ = _validate_point(self._resolved, self._base, settings)
        if scenario is None:  # validated when the sweep was loaded: not expected
            raise ScenarioError(items)
        self._last = (k, scenario)
        return scenario


class PointOverrides(Sequence[tuple[str, ...]]):
    """Each design point's settings as ``path=value`` texts, made when asked for."""

    def __init__(self, scenarios: PointScenarios) -> None:
        self._scenarios = scenarios

    def __len__(self) -> int:
        return len(self._scenarios)

    def __getitem__(self, k: int) -> tuple[str, ...]:  # type: ignore[override]
        if not 0 <= int(k) < len(self):
            raise IndexError(f"point {k} of {len(self)}")
        return self._scenarios.settings(int(k))


class SweepSpecs(Sequence[RunSpec]):
    """The runs of a sweep, point by point, each point with every seed; built when asked for.

    :attr:`run_ids` are known without building anything; ``specs[i]`` builds run ``i``'s
    :class:`~sim.experiments.batch.RunSpec`, with its point's scenario, only then — so the
    executor, which takes runs as workers free up, holds a few at a time.
    """

    def __init__(self, sweep: Sweep, out: Path, keep: Keep) -> None:
        self._sweep = sweep
        self._folder = BatchFolder(out)
        self._keep = keep
        self._names = sweep.parameter_names()
        self._n_seeds = len(sweep.seeds)

    def __len__(self) -> int:
        return len(self._sweep.points) * self._n_seeds

    @property
    def run_ids(self) -> list[str]:
        """Every run's id, in order."""
        sweep = self._sweep
        return [sweep.run_id(k, seed) for k in range(len(sweep.points)) for seed in sweep.seeds]

    def __getitem__(self, i: int) -> RunSpec:  # type: ignore[override]
        i = int(i)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"run {i} of {len(self)}")
        sweep = self._sweep
        k, j = divmod(i, self._n_seeds)
        seed = sweep.seeds[j]
        # one row as the whole table's records give it: each value of its column's type
        row = sweep.points[self._names].iloc[k : k + 1].to_dict("records")[0]
        parameters = {"point": k, **{n: _plain(row[n]) for n in self._names}}
        run_id = sweep.run_id(k, seed)
        return RunSpec(
            run_id=run_id,
            scenario=sweep.scenarios[k],
            scenario_file=str(sweep.base_file),
            overrides=sweep.overrides + tuple(sweep.point_overrides[k]),
            seed=int(seed),
            folder=str(self._folder.run_folder(run_id)),
            keep=self._keep,
            parameters=parameters,
        )


# ---------------------------------------------------------------------------------------- running


@dataclass(frozen=True, eq=False)
class SweepResult:
    """A finished (or resumed) sweep.

    Attributes:
        folder: the sweep folder.
        sweep: the sweep.
        runs: the runs table (``runs.parquet``).
        points: the points table (``points.parquet``).
        sensitivity: the indices (``sensitivity.parquet``) of a Sobol or Morris design.
    """

    folder: Path
    sweep: Sweep
    runs: pd.DataFrame
    points: pd.DataFrame
    sensitivity: pd.DataFrame | None


def default_out(sweep: Sweep) -> Path:
    """``runs/sweep-<name>``: the same folder every time, so that ``--resume`` finds it."""
    return Path("runs") / f"sweep-{sweep.name}"


def _tables(out: Path, sweep: Sweep, runs: pd.DataFrame) -> pd.DataFrame:
    """Write ``points.parquet`` from the runs table and return it."""
    points = points_table(runs, sweep.points, sweep.kpis, len(sweep.seeds))
    SweepFolder(out).write_points(points)
    return points


def run_sweep(
    path_or_spec: str | Path | Sweep | Mapping[str, Any],
    *,
    workers: int | None = None,
    backend: str = "local",
    scheduler: str | None = None,
    out: str | Path | None = None,
    resume: bool = False,
    keep: Keep = "summary",
    progress: Callable[[Progress], None] | None = None,
    runner: Callable[[RunSpec], dict[str, Any]] | None = None,
    data_dirs: Sequence[str | Path] = (),
    command: str | None = None,
    retry_failed: bool = False,
    force: bool = False,
    oversubscribe: bool = False,
) -> SweepResult:
    """Run a sweep into a sweep folder and analyse it.

    Args:
        path_or_spec: a sweep file, a loaded :class:`Sweep`, or sweep data (a mapping; ``base``
            relative to the current folder).
        workers: worker processes (``None``: every core; 0 or 1: in this process); at most
            the cores and the runs to do, as :func:`sim.run_batch`'s.
        backend: ``local`` (process pool) or ``dask``.
        scheduler: a Dask scheduler address; none starts a local cluster.
        out: the sweep folder (default ``runs/sweep-<name>``).
        resume: continue the sweep in ``out``: run only what is missing.
        keep: ``summary`` (each run's manifest and KPIs: all a sweep's analysis reads) or
            ``full`` (also its Parquet files).
        progress: called after each run with a :class:`~sim.experiments.batch.Progress`.
        runner: the per-run function (default :func:`sim.experiments.batch.execute`); a
            stand-in model for tests.
        data_dirs: extra data folders of the base scenario.
        command: the command line, recorded in ``batch.json``.
        retry_failed: with ``resume``, run the ``failed`` runs again too.
        force: with ``resume``, continue although the base scenario, a data file it reads or
            the cdpsim or numpy version changed since the sweep started.
        oversubscribe: start ``workers`` local workers even beyond the cores.

    Returns:
        The :class:`SweepResult`; ``OUT`` holds ``batch.json`` (``"complete": true`` when
        every run is ok), ``runs/``, ``runs.parquet``, ``points.parquet`` and, for Sobol and
        Morris designs, ``sensitivity.parquet`` (computed again on every resume).

    Raises:
        ScenarioError: an invalid sweep (nothing ran).
        BatchInputError: an invalid argument (nothing ran).
        StoreError: ``out`` cannot hold this sweep, or its inputs changed (nothing ran).
        LockError: another process is writing ``out`` (nothing ran).
        ExecutorError: the executor cannot start (a new folder is removed again).
        BatchInterrupted: Ctrl-C; the finished runs are kept, ``batch.json`` says
            ``"complete": false`` and ``points.parquet`` is written for the runs done
            (``n_missing`` per point); no indices. ``resume=True`` runs the rest and rewrites
            both.
        BatchStopped: the worker processes kept dying; kept and written as on Ctrl-C.
        OSError: a table could not be written (the runs are kept; ``resume=True`` writes it).
    """
    if isinstance(path_or_spec, Sweep):
        sweep = path_or_spec
    elif isinstance(path_or_spec, Mapping):
        sweep = sweep_from_data(dict(path_or_spec), data_dirs=data_dirs)
    else:
        sweep = load_sweep(path_or_spec, data_dirs=data_dirs)
    if keep not in ("full", "summary"):
        raise BatchInputError([f"keep must be 'full' or 'summary', not {keep!r}"])
    out = Path(out) if out is not None else default_out(sweep)
    specs = sweep.specs(out, keep)
    manifest = batch_manifest(
        [Input(str(sweep.base_file), sweep.base, sweep.base_sha256, sweep_data(sweep))],
        specs,
        out=out,
        seeds_record=list(sweep.seeds),
        master_seed=sweep.master_seed,
        overrides=sweep.overrides,
        keep=keep,
        command=command,
        parameters=sweep.identity(),
        extra={"sweep": sweep.section(out)},
    )

    def stopped() -> None:
        # What is done, marked as such: complete false in batch.json, n_missing per point; no
        # indices (they need every point). --resume rewrites both once it is complete.
        with contextlib.suppress(OSError):  # the interruption is the news, not a full disk
            BatchFolder(out).set_complete(False)
            _tables(out, sweep, SweepFolder(out).read_runs())

    def finish(runs: pd.DataFrame) -> SweepResult:
        points = _tables(out, sweep, runs)
        indices = None
        if sweep.design["kind"] in designs.SENSITIVITY_KINDS:
            indices = sweep_analysis.sensitivity(out, require_complete=False)
        return SweepResult(out, sweep, runs, points, indices)

    return run_in_folder(
        specs,
        out,
        manifest,
        resume=resume,
        force=force,
        finish=finish,
        on_stop=stopped,
        workers=workers,
        backend=backend,
        scheduler=scheduler,
        progress=progress,
        runner=runner,
        retry_failed=retry_failed,
        oversubscribe=oversubscribe,
    )


def sweep_data(sweep: Sweep) -> tuple[tuple[str, str], ...]:
    """The data files the sweep's base scenario reads, with the SHA-256 of each."""
    return tuple((str(p.resolve()), sha256_file(p)) for p in sweep.base.data_files())


__all__ = [
    "MAX_RUNS",
    "SCENARIO_FILE_MESSAGE",
    "Sweep",
    "SweepParameter",
    "SweepResult",
    "default_out",
    "load_sweep",
    "run_sweep",
    "sweep_from_data",
]
