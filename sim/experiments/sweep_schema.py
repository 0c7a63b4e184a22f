"""The sweep file's schema: its pydantic models, bounds and defaults, as written by users.

A sweep file (``scenarios/sweeps/*.yaml``, see :mod:`sim.experiments.sweep`) names a base
scenario, fixed ``overrides``, a ``design`` (:class:`GridDesign`, :class:`RandomDesign`,
:class:`LhsDesign`, :class:`SobolDesign`, :class:`MorrisDesign`, picked by ``kind``), the swept
``parameters`` (:class:`ParameterSpec`), the ``seeds`` and the ``kpis``: :class:`SweepFile`.
Each field is checked here on its own (types, bounds, a range's ends, a Sobol ``n`` a power of
two); what needs the base scenario (the parameters' paths, the design points) is checked in
:mod:`sim.experiments.sweep_checks`. The models' errors are worded by
:func:`sim.scenario.messages.schema_errors`, as a scenario file's are.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from sim.experiments import designs
from sim.metrics import KPI_BY_NAME
from sim.scenario.fields import NAME_MAX_CHARS, SEED_MAX
from sim.scenario.messages import shown
from sim.scenario.schema import Scenario
from sim.units import parse_duration

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
#: Longest value quoted in a sweep's own messages [characters].
SHOWN_VALUE_CHARS = 40
#: A sweep's name, and a ``scale`` parameter's: letters, digits, ``_`` and ``-``.
NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_\-]*$")


def _bound(value: Any) -> Any:
    """A range end: a number (also written ``1e6``), or a duration with a unit (``30m``)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(
            f"a range end is a number or a duration such as '30m' (got {quoted(value)})"
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
                raise ValueError(f"a seed is an integer from 0 to {SEED_MAX} (got {quoted(seed)})")
        if len(set(value)) != len(value):
            raise ValueError("the seed list repeats a seed")
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(
            f"give a number of seeds or a list of seeds such as [1, 5, 9] (got {quoted(value)})"
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
                raise ValueError(f"values are numbers, strings or booleans (got {quoted(v)})")
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

    name: Annotated[str, Field(min_length=1, max_length=NAME_MAX_CHARS, pattern=NAME_RE.pattern)]
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
SCENARIO_ONLY = (
    frozenset(Scenario.model_fields) - frozenset(SweepFile.model_fields) - {"base_dir", "data_dirs"}
)
#: What a scenario file given as a sweep file is told.
SCENARIO_FILE_MESSAGE = (
    "this is a scenario file; cdpsim sweep takes a sweep file (base, design, parameters) — run "
    "it with cdpsim run, or see scenarios/sweeps/"
)


def quoted(value: Any) -> str:
    """A value as quoted in a sweep's messages: floats to 6 digits, lists and mappings by size."""
    return shown(value, SHOWN_VALUE_CHARS, digits=6)
