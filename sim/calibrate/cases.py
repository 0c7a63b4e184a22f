"""Validation cases: an event's scenario, the record's targets, and the model's runs scored.

A case file (``scenarios/cases/*.yaml``) names an event scenario, whether the event is in the
sample a calibration was fitted to (``in_sample``) or not (``out_of_sample``), the seeds to run,
optionally the calibration whose posterior supplies some of the scenario's parameters (a map
from the calibration's parameter names to this scenario's paths), the targets (as a
calibration's, :class:`~sim.calibrate.spec.TargetSpec`) and the record's figures the model
cannot measure (``unscored``, each with the reason).

An out-of-sample case is written from the public record and committed before the model is ever
run on it; nothing in it is changed after its first run. Its runs take, run ``i``, posterior
draw ``i`` (drawn by weight from the calibration's ``posterior.parquet``) and seed ``i``, so
the spread mixes the posterior's uncertainty with the event's randomness, as the
posterior-predictive runs of a calibration do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
from pydantic import Field

from sim.calibrate.report import fmt
from sim.calibrate.scoring import score
from sim.calibrate.spec import (
    TargetSpec,
    _Strict,
    check_targets,
    posterior_draws,
    read_validated,
    target_values,
)
from sim.experiments.batch import derive_seeds
from sim.scenario import Scenario, load_scenario

#: The draws of case runs, apart from a calibration's posterior-predictive draws.
_CASE_STREAM = 30


class PosteriorSpec(_Strict):
    """Where some parameters come from: a calibration's posterior."""

    calibration: Annotated[str, Field(min_length=1)]
    map: Annotated[dict[str, str], Field(min_length=1)]


class Unscored(_Strict):
    """A figure of the record the model does not measure, and why."""

    name: Annotated[str, Field(min_length=1)]
    value: float
    source: Annotated[str, Field(min_length=1)]
    reason: Annotated[str, Field(min_length=1)]


class CaseFile(_Strict):
    """A case file, as written."""

    name: Annotated[str, Field(min_length=1, max_length=80)]
    description: str = ""
    scenario: Annotated[str, Field(min_length=1)]
    sample: Literal["in_sample", "out_of_sample"]
    seeds: Annotated[int, Field(ge=1, le=100_000)] = 20
    posterior: PosteriorSpec | None = None
    targets: Annotated[dict[str, TargetSpec], Field(min_length=1, max_length=50)]
    unscored: list[Unscored] = Field(default_factory=list)


@dataclass(frozen=True)
class Case:
    """A validated case file."""

    file: Path
    spec: CaseFile
    scenario_file: Path
    scenario: Scenario

    @property
    def name(self) -> str:
        """The case's name."""
        return self.spec.name

    @property
    def calibration_name(self) -> str | None:
        """The name of the calibration whose posterior the case uses (its file's stem)."""
        if self.spec.posterior is None:
            return None
        return Path(self.spec.posterior.calibration).stem


def load_case(path: str | Path) -> Case:
    """Load and validate a case file and its scenario.

    Raises:
        ScenarioError: every problem, as ``file:line: field: message``.
    """
    path = Path(path)
    spec, errors, _ = read_validated(
        path, CaseFile, "a case file (name, scenario, sample, seeds, targets, …)"
    )
    scenario_file = path.parent / spec.scenario
    scenario = load_scenario(scenario_file)
    check_targets(spec.targets, scenario, errors)
    if spec.posterior is not None:
        calibration_file = path.parent / spec.posterior.calibration
        if not calibration_file.is_file():
            errors.add(("posterior", "calibration"), f"no calibration file {calibration_file}")
    errors.raise_any()
    return Case(path, spec, scenario_file, scenario)


def case_overrides(case: Case, posterior: pd.DataFrame | None) -> list[list[str]]:
    """Each run's ``path=value`` overrides (none without a posterior)."""
    n = case.spec.seeds
    if case.spec.posterior is None:
        return [[] for _ in range(n)]
    if posterior is None:
        raise ValueError(f"{case.file}: the case needs the posterior of {case.calibration_name}")
    missing = [k for k in case.spec.posterior.map if k not in posterior]
    if missing:
        raise ValueError(f"the posterior has no parameter {', '.join(missing)}")
    picked = posterior_draws(posterior, n, 0, _CASE_STREAM)
    return [
        [f"{path}={float(picked[k].iloc[i])!r}" for k, path in case.spec.posterior.map.items()]
        for i in range(n)
    ]


def run_one(task: tuple[int, str, list[str], int, dict[str, TargetSpec]]) -> tuple[int, Any, Any]:
    """Worker side: one run of a case's scenario with overrides and a seed; its statistics."""
    from sim.runner import run

    index, scenario_file, overrides, seed, targets = task
    try:
        result = run(load_scenario(scenario_file, overrides=overrides), seed=seed)
        return index, target_values(result, targets), None
    except Exception as exc:
        return index, None, f"{type(exc).__name__}: {exc}"


def run_case(
    case: Case,
    *,
    posterior: pd.DataFrame | None = None,
    workers: int | None = None,
    seeds: int | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Run a case's scenario over its seeds (and posterior draws) and score the runs.

    Args:
        case: the case.
        posterior: the calibration's posterior table, when the case uses one.
        workers: worker processes (``None``: every core).
        seeds: runs (default: the case's ``seeds``).

    Returns:
        The runs (one row each: seed, overrides, statistics) and their joint score.
    """
    from sim.calibrate.abc import run_tasks
    from sim.experiments.executors import make_executor

    if seeds is not None:
        case = Case(
            case.file,
            case.spec.model_copy(update={"seeds": seeds}),
            case.scenario_file,
            case.scenario,
        )
    overrides = case_overrides(case, posterior)
    run_seeds = derive_seeds(case.spec.seeds, 0)
    tasks = [
        (i, str(case.scenario_file), overrides[i], run_seeds[i], dict(case.spec.targets))
        for i in range(case.spec.seeds)
    ]
    rows = []
    with make_executor("local", workers, tasks=len(tasks)) as executor:
        for index, stats, error in run_tasks(executor, run_one, tasks):
            if error is not None:
                raise RuntimeError(f"{case.name}: run {index} failed: {error}")
            rows.append(
                {
                    "run": index,
                    "seed": run_seeds[index],
                    "overrides": " ".join(overrides[index]),
                    **stats,
                }
            )
    runs = pd.DataFrame(rows)
    return runs, score(runs, case.spec.targets, how="max")


# ---------------------------------------------------------------------------------------- gallery


def _band(t: dict[str, Any] | TargetSpec) -> str:
    low, high = t.band if isinstance(t, TargetSpec) else t["band"]
    return fmt(low) if low == high else f"{fmt(low)} – {fmt(high)}"


def gallery_rows(
    label: str,
    kind: str,
    scored: dict[str, Any],
    targets: dict[str, TargetSpec],
    where: str,
) -> list[Any]:
    """The gallery's rows of an event: one per target and one for all targets at once.

    A target passes when the runs' median lies in its band; the note gives the share of runs
    inside it and the posterior-predictive p-value. The joint row has no verdict: it says how
    many runs match every target at once.
    """
    from sim import gallery as g

    n = scored["n_runs"]
    rows = []
    for name, t in targets.items():
        s = scored["targets"][name]
        low, high = t.band
        median = s["p50"]
        rows.append(
            g.Case(
                name=f"{label}: {name}" + (f" ({', '.join(t.ilks)})" if t.ilks else ""),
                kind=kind,  # type: ignore[arg-type]
                source=t.source,
                record=f"{fmt(t.value)} (band {_band(t)})",
                result=f"median {fmt(median)} (5–95 % {fmt(s['p05'])} – {fmt(s['p95'])})",
                n_runs=n,
                passed=bool(low <= median <= high) if median == median else False,
                note=f"inside the band in {s['inside']:.0%} of runs; p = {s['p_value']:.2f}"
                + (f"; {t.note}" if t.note else ""),
            )
        )
    rows.append(
        g.Case(
            name=f"{label}: every target at once",
            kind=kind,  # type: ignore[arg-type]
            source=where,
            record="all bands",
            result=f"{scored['joint_inside']} of {n} runs inside every band",
            n_runs=n,
            passed=None,
            note="the joint fit: a run matches the record only if every statistic is in its band"
            + ("; fewer than 50 runs: a rough figure" if scored.get("few_runs") else ""),
        )
    )
    return rows


def calibration_rows(folder: Path, calibration_file: Path, label: str) -> list[Any]:
    """In-sample rows from a calibration folder's ``summary.json`` (its predictive runs)."""
    import json

    from sim.calibrate.spec import load_calibration

    calibration = load_calibration(calibration_file)
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    return gallery_rows(
        label,
        "in_sample",
        summary["predictive"],
        calibration.targets,
        f"{calibration_file.name}, posterior-predictive runs",
    )


def event_rows(
    cases_dir: Path, calibrations_dir: Path, workers: int | None = None
) -> tuple[list[Any], dict[str, pd.DataFrame]]:
    """Run every case file of ``cases_dir``; their gallery rows and runs, by case name.

    A case that uses a posterior reads it from ``calibrations_dir/<calibration>/
    posterior.parquet`` (the calibration's committed artefact).
    """
    rows: list[Any] = []
    runs_by_case: dict[str, pd.DataFrame] = {}
    for path in sorted(cases_dir.glob("*.yaml")):
        case = load_case(path)
        posterior = None
        if case.calibration_name is not None:
            posterior = pd.read_parquet(
                calibrations_dir / case.calibration_name / "posterior.parquet"
            )
        runs, scored = run_case(case, posterior=posterior, workers=workers)
        runs_by_case[case.name] = runs
        kind = case.spec.sample
        rows += gallery_rows(case.name, kind, scored, case.spec.targets, path.name)
    return rows, runs_by_case
