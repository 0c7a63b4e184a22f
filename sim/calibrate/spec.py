"""Calibration files and targets: what is fitted, to what, and how.

A calibration file (``scenarios/calibrations/*.yaml``) names a base scenario, the free
parameters with their priors (scenario paths with a ``range`` and a ``dist``, exactly as a
sweep's parameters), the targets (statistics of a run, each with the record's value, the band
its uncertainty allows and the source), and the method::

    name: black_thursday_2020
    base: ../black_thursday_2020.yaml
    parameters:
      keepers.0.gas.median: {range: [30, 400], dist: loguniform}
    targets:
      zero_bid_share: {value: 0.36, band: [0.30, 0.42], source: "…"}
    method: {population: 40, generations: 5}

A target is matched when the run's statistic lies in its ``band``. Its distance
(:func:`target_distance`) is signed and scaled by the band: 0 at the record's value, ±1 at the
band's edges, so that "every target within its band" is "every distance within ±1". Case files
(:mod:`sim.calibrate.cases`) use the same targets.

Bad files are refused whole, each problem as ``file:line: field: message`` (a
:class:`~sim.scenario.ScenarioError`), before any run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.calibrate.statistics import STATISTICS, compute
from sim.experiments.sweep_checks import (
    Checked,
    PointScenarios,
    Problems,
    SweepParameter,
    check_sweep,
)
from sim.experiments.sweep_schema import NAME_MAX_CHARS, NAME_RE, ParameterSpec
from sim.scenario import Scenario, ScenarioError
from sim.scenario.messages import schema_errors
from sim.scenario.yamlfile import DataPath, read_yaml

#: The distance given to a statistic that is undefined in a run (NaN: e.g. the hour of the first
#: zero-bid auction in a run without one) and the largest any one target contributes.
MAX_DISTANCE = 100.0

#: The statistics a target may limit to its first hours (``within_h``).
_WITHIN = ("dai_peak", "dai_peak_hour", "dai_low", "dai_low_hour")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TargetSpec(_Strict):
    """One figure of the record that runs are compared with."""

    statistic: str | None = None  #: a name of STATISTICS (default: the target's key)
    ilks: Annotated[list[str], Field(min_length=1)] | None = None
    within_h: Annotated[float, Field(gt=0)] | None = None
    value: float
    band: Annotated[list[float], Field(min_length=2, max_length=2)]
    source: Annotated[str, Field(min_length=1)]
    note: str = ""

    @model_validator(mode="after")
    def _band(self) -> TargetSpec:
        low, high = self.band
        if not all(math.isfinite(v) for v in (low, high, self.value)):
            raise ValueError("value and band must be finite numbers")
        if not low <= high:
            raise ValueError(
                f"band: the low end must not be above the high end (got {low}, {high})"
            )
        if not low <= self.value <= high:
            raise ValueError(f"value {self.value:g} lies outside its band [{low:g}, {high:g}]")
        return self


class MethodSpec(_Strict):
    """How the posterior is found: ABC-SMC (pyabc) with a fixed budget."""

    kind: Literal["abc-smc"] = "abc-smc"
    #: particles per generation
    population: Annotated[int, Field(ge=4, le=100_000)] = 30
    #: generations (populations) at most
    generations: Annotated[int, Field(ge=1, le=100)] = 4
    #: simulations at most, over all generations (the budget)
    max_simulations: Annotated[int, Field(ge=1)] = 600
    #: stop when the tolerance ε falls to this
    min_epsilon: Annotated[float, Field(ge=0)] = 0.0
    #: how the targets' distances combine: root mean square, or the largest
    distance: Literal["rms", "max"] = "rms"
    #: each generation's ε is this quantile of the last generation's distances
    epsilon_quantile: Annotated[float, Field(gt=0, lt=1)] = 0.5
    #: posterior-predictive runs: one posterior draw and one seed each
    predictive: Annotated[int, Field(ge=0, le=100_000)] = 40
    #: runs at the posterior median with different seeds (the event's own randomness)
    fixed_seeds: Annotated[int, Field(ge=0, le=100_000)] = 20
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0


class CalibrationFile(_Strict):
    """A calibration file, as written."""

    name: Annotated[str, Field(min_length=1, max_length=NAME_MAX_CHARS, pattern=NAME_RE.pattern)]
    description: str = ""
    base: Annotated[str, Field(min_length=1)]
    overrides: dict[str, Any] = Field(default_factory=dict)
    parameters: Annotated[dict[str, ParameterSpec], Field(min_length=1, max_length=20)]
    targets: Annotated[dict[str, TargetSpec], Field(min_length=1, max_length=50)]
    method: MethodSpec = Field(default_factory=MethodSpec)


# ---------------------------------------------------------------------------------------- targets


def target_distance(target: TargetSpec, value: float) -> float:
    """How far a run's statistic is from the record, in units of the band (signed).

    0 at the record's value; +1 at the band's high end and −1 at its low end (the band may be
    asymmetric; a value at an end of its band is scaled by the whole band on that side);
    clipped to ±:data:`MAX_DISTANCE`; NaN (undefined in the run) is :data:`MAX_DISTANCE`. A
    band of zero width (an exact figure, e.g. no zero-bid auction at all) gives 0 on the value
    and ±:data:`MAX_DISTANCE` off it.
    """
    if not math.isfinite(value):
        return MAX_DISTANCE
    low, high = target.band
    if low == high:
        return 0.0 if value == target.value else math.copysign(MAX_DISTANCE, value - target.value)
    if value >= target.value:
        scale = high - target.value or high - low
    else:
        scale = target.value - low or high - low
    return float(np.clip((value - target.value) / scale, -MAX_DISTANCE, MAX_DISTANCE))


def target_values(run: Any, targets: Mapping[str, TargetSpec]) -> dict[str, float]:
    """Every target's statistic in one run (:func:`sim.calibrate.statistics.compute`)."""
    return {
        name: compute(run, t.statistic or name, ilks=t.ilks, within_h=t.within_h)
        for name, t in targets.items()
    }


def combined(distances: Sequence[float], how: str) -> float:
    """The targets' distances as one number: ``rms`` or ``max`` of their magnitudes."""
    d = np.abs(np.asarray(distances, dtype=np.float64))
    return float(d.max() if how == "max" else np.sqrt(np.mean(d**2)))


def check_targets(
    targets: Mapping[str, TargetSpec], scenario: Scenario, errors: Problems, key: str = "targets"
) -> None:
    """Each target's statistic exists and its ilks are the scenario's."""
    for name, target in targets.items():
        stat = target.statistic or name
        if stat not in STATISTICS:
            field = "statistic" if target.statistic else None
            path: DataPath = (key, name, field) if field else (key, name)
            errors.add(
                path,
                f"unknown statistic {stat!r}; expected one of {', '.join(STATISTICS)}",
            )
            continue
        if target.ilks is not None:
            if not STATISTICS[stat].by_ilk and set(target.ilks) != set(scenario.ilks):
                errors.add(
                    (key, name, "ilks"),
                    f"{stat} is counted over the whole system, not per ilk: list every ilk of "
                    f"the scenario ({', '.join(scenario.ilks)}) or none",
                )
            for ilk in target.ilks:
                if ilk not in scenario.ilks:
                    errors.add(
                        (key, name, "ilks"),
                        f"no ilk {ilk!r} in the scenario; it has {', '.join(scenario.ilks)}",
                    )
        if target.within_h is not None and stat not in _WITHIN:
            errors.add(
                (key, name, "within_h"), "within_h applies to dai_peak(_hour), dai_low(_hour)"
            )


# ---------------------------------------------------------------------------------------- problem


@dataclass(frozen=True)
class Calibration:
    """A validated calibration file.

    Attributes:
        name: its name.
        description: one line.
        file: the calibration file.
        spec: the file, validated.
        checked: the base scenario and the parameters, resolved against it (as a sweep's).
        targets: the targets, by name.
        method: the method's settings.
    """

    name: str
    description: str
    file: Path
    spec: CalibrationFile
    checked: Checked
    targets: dict[str, TargetSpec]
    method: MethodSpec

    @property
    def parameters(self) -> tuple[SweepParameter, ...]:
        """The free parameters, in file order."""
        return self.checked.parameters

    @property
    def parameter_names(self) -> list[str]:
        """The free parameters' names (their scenario paths)."""
        return [p.name for p in self.parameters]

    def scenario_at(self, values: Mapping[str, float]) -> Scenario:
        """The base scenario with the free parameters set to ``values`` (by name)."""
        names = self.parameter_names
        row = pd.DataFrame([[values[n] for n in names]], columns=names)
        return PointScenarios(self.parameters, row, self.checked.base, self.checked.base.to_dict())[
            0
        ]

    def with_method(self, **changes: Any) -> Calibration:
        """The same calibration with some method settings changed (``None`` keeps one)."""
        given = {k: v for k, v in changes.items() if v is not None}
        if not given:
            return self
        try:
            method = MethodSpec(**{**self.method.model_dump(), **given})
        except ValidationError as exc:
            raise ValueError(str(exc).splitlines()[-1]) from exc
        return Calibration(
            self.name, self.description, self.file, self.spec, self.checked, self.targets, method
        )


def read_validated[M: BaseModel](
    path: Path, model: type[M], what: str
) -> tuple[M, Problems, dict[DataPath, int]]:
    """A YAML file validated against ``model``; the problems collector and the YAML lines.

    Args:
        path: the file.
        model: its schema.
        what: what the file is, for the message when it is not a mapping.

    Raises:
        ScenarioError: the file is not a mapping, or fails the schema (``file:line: field``).
    """
    data, lines = read_yaml(path)
    errors = Problems(str(path), lines)
    if not isinstance(data, dict):
        errors.add((), f"{what} is a mapping")
        errors.raise_any()
    try:
        return model.model_validate(data), errors, lines
    except ValidationError as exc:
        errors.extend(*schema_errors(exc, data, errors.locate, model))
        errors.raise_any()
        raise AssertionError("unreachable") from exc


def posterior_draws(posterior: pd.DataFrame, n: int, seed: int, stream: int) -> pd.DataFrame:
    """``n`` rows drawn by weight (``weight`` column) from a posterior table, seeded.

    ``stream`` keeps the draws of different uses apart (posterior-predictive runs, case runs).
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, stream]))
    w = posterior["weight"].to_numpy(dtype=np.float64)
    picks = rng.choice(len(posterior), size=n, p=w / w.sum())
    return posterior.iloc[picks].reset_index(drop=True)


def load_calibration(path: str | Path) -> Calibration:
    """Load and validate a calibration file, its base scenario and its parameters' ranges.

    Raises:
        ScenarioError: every problem, as ``file:line: field: message``.
    """
    path = Path(path)
    filename = str(path)
    spec, errors, lines = read_validated(
        path, CalibrationFile, "a calibration file (name, base, parameters, targets, method)"
    )
    for name, parameter in spec.parameters.items():
        if parameter.range is None:
            errors.add(("parameters", name), "a prior is a range: [low, high] (and a dist)")
    errors.raise_any()
    sweep = {
        "name": spec.name,
        "base": spec.base,
        "overrides": spec.overrides,
        "design": {"kind": "random", "n": 1},
        "parameters": {k: v.model_dump(exclude_none=True) for k, v in spec.parameters.items()},
        "seeds": 1,
    }
    checked = check_sweep(sweep, filename=filename, base_dir=path.parent, lines=lines)
    check_targets(spec.targets, checked.base, errors)
    errors.raise_any()
    return Calibration(
        name=spec.name,
        description=spec.description,
        file=path,
        spec=spec,
        checked=checked,
        targets=dict(spec.targets),
        method=spec.method,
    )


__all__ = [
    "MAX_DISTANCE",
    "Calibration",
    "CalibrationFile",
    "MethodSpec",
    "ScenarioError",
    "TargetSpec",
    "check_targets",
    "combined",
    "load_calibration",
    "target_distance",
    "target_values",
]
