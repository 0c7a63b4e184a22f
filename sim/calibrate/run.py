"""``cdpsim calibrate``: a calibration file in, a calibration folder out.

The folder (``calibrations/<name>/`` by default):

- ``calibration.json`` — what was run: the file and its base scenario (SHA-256), the priors,
  the targets, the method, the executor, pyabc's version, how far it got (``complete``);
- ``abc.db`` — pyabc's history (SQLite): every generation's particles, weights, distances and
  statistics; ``--resume`` continues from it;
- ``history.parquet`` — the acceptance history, one row per generation: tolerance ε,
  particles, simulations, acceptance rate;
- ``posterior.parquet`` — the last generation: one row per particle, its parameters (scenario
  values), weight, distance and statistics;
- ``predictive.parquet`` — the posterior-predictive runs: each a posterior draw (weighted) with
  its own seed, and its statistics;
- ``fixed.parquet`` — runs at the posterior median with different seeds (event randomness);
- ``summary.json`` / ``summary.md`` — the posterior's summary and the joint scoring
  (:func:`sim.calibrate.scoring.score`): the small artefact to keep.

Nothing a user owns is deleted: a folder that holds anything but an unfinished calibration of
the same file is refused, and ``--resume`` refuses a folder made from another file.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pandas as pd

from sim.atomic import write_json, write_parquet, write_text
from sim.calibrate.abc import (
    CalibrationError,
    make_abc,
    observed,
    predict,
    run_tasks,
    to_scenario,
    weighted_median,
    weighted_quantile,
)
from sim.calibrate.report import summary_markdown
from sim.calibrate.scoring import score
from sim.calibrate.spec import Calibration, load_calibration, posterior_draws
from sim.experiments.batch import derive_seeds
from sim.experiments.executors import make_executor
from sim.experiments.store import sha256_file

MANIFEST = "calibration.json"
DB = "abc.db"
FORMAT = 1
#: Method settings a resume may change: how far to go, and how many runs judge the result.
#: The draws of posterior-predictive runs (apart from a case's draws).
_PREDICTIVE_STREAM = 20
_MAY_CHANGE = ("generations", "max_simulations", "predictive", "fixed_seeds")


class FolderInUse(CalibrationError):
    """The output folder holds something else, or a calibration of another file."""


@dataclass(frozen=True)
class CalibrationResult:
    """A finished calibration: its folder and tables.

    Attributes:
        folder: the calibration folder.
        calibration: the calibration.
        history: one row per generation.
        posterior: the last generation's particles.
        predictive: the posterior-predictive runs.
        fixed: the runs at the posterior median.
        summary: the scoring and posterior summary (``summary.json``).
    """

    folder: Path
    calibration: Calibration
    history: pd.DataFrame
    posterior: pd.DataFrame
    predictive: pd.DataFrame
    fixed: pd.DataFrame
    summary: dict[str, Any]


def default_out(calibration: Calibration) -> Path:
    """``calibrations/<name>`` under the current folder."""
    return Path("calibrations") / calibration.name


def _identity(calibration: Calibration) -> dict[str, Any]:
    return {
        "file": str(calibration.file),
        "sha256": sha256_file(calibration.file),
        "base_sha256": sha256_file(calibration.checked.base_file),
        "method": calibration.method.model_dump(),
    }


def _claim(out: Path, calibration: Calibration, resume: bool) -> dict[str, Any]:
    """Check the folder may be written; the manifest to continue (or a new one)."""
    identity = _identity(calibration)
    manifest_path = out / MANIFEST
    if out.exists() and not out.is_dir():
        raise FolderInUse(f"{out} is a file, not a folder")
    if manifest_path.is_file():
        old = json.loads(manifest_path.read_text(encoding="utf-8"))
        if not resume:
            raise FolderInUse(
                f"{out} holds a calibration already; --resume continues it, or choose --out"
            )
        if (
            old.get("sha256") != identity["sha256"]
            or old.get("base_sha256") != (identity["base_sha256"])
        ):
            raise FolderInUse(
                f"{out} holds a calibration of another version of {calibration.file.name} or of "
                "its base scenario: choose another --out"
            )
        fixed = {k: v for k, v in identity["method"].items() if k not in _MAY_CHANGE}
        was = {k: v for k, v in (old.get("method") or {}).items() if k not in _MAY_CHANGE}
        if fixed != was:
            changed = ", ".join(k for k in fixed if fixed[k] != was.get(k))
            raise FolderInUse(
                f"{out} was calibrated with other method settings ({changed}): resume with "
                "the same settings, or choose another --out"
            )
        return {**old, "method": identity["method"], "complete": False}
    if out.is_dir() and any(out.iterdir()):
        raise FolderInUse(f"{out} exists and is not a calibration folder: choose another --out")
    return {
        "format": FORMAT,
        "kind": "calibration",
        "name": calibration.name,
        **identity,
        "parameters": [p.record() for p in calibration.parameters],
        "targets": {k: t.model_dump() for k, t in calibration.targets.items()},
        "pyabc": version("pyabc"),
        "complete": False,
    }


def _history(abc_history: Any) -> pd.DataFrame:
    pops = abc_history.get_all_populations()
    pops = pops[pops["t"] >= 0].reset_index(drop=True)
    return pd.DataFrame(
        {
            "generation": pops["t"].astype(int),
            "epsilon": pops["epsilon"].astype(float),
            "particles": pops["particles"].astype(int),
            "simulations": pops["samples"].astype(int),
            "acceptance_rate": pops["particles"] / pops["samples"],
        }
    )


def _posterior(calibration: Calibration, abc_history: Any) -> pd.DataFrame:
    t = abc_history.max_t
    frame, weights = abc_history.get_distribution(m=0, t=t)
    _, stats = abc_history.get_weighted_sum_stats(t=t)
    distances = abc_history.get_weighted_distances(t=t)
    rows = []
    for (_, internal), w, d, s in zip(
        frame.iterrows(), weights, distances["distance"], stats, strict=True
    ):
        values = to_scenario(calibration, internal.to_dict())
        rows.append({**values, "weight": float(w), "distance": float(d), **s})
    return pd.DataFrame(rows)


def _runs(
    executor: Any,
    calibration: Calibration,
    settings: list[dict[str, float]],
    seeds: list[int],
    label: str,
    progress: Callable[[str], None] | None,
) -> pd.DataFrame:
    tasks = [(i, calibration, settings[i], seeds[i]) for i in range(len(seeds))]
    rows = []
    for index, stats, error in run_tasks(executor, predict, tasks):
        if error is not None:
            raise CalibrationError(f"{label} run {index}: the simulation failed: {error}")
        rows.append({"run": index, "seed": seeds[index], **settings[index], **stats})
    if progress is not None:
        progress(f"{label}: {len(rows)} runs")
    return pd.DataFrame(rows)


def calibrate(
    calibration: Calibration | str | Path,
    out: str | Path | None = None,
    *,
    workers: int | None = None,
    backend: str = "local",
    scheduler: str | None = None,
    resume: bool = False,
    progress: Callable[[str], None] | None = None,
) -> CalibrationResult:
    """Fit a calibration file's parameters to its targets by ABC-SMC and score the fit.

    Args:
        calibration: a :class:`Calibration` or the path of a calibration file.
        out: the calibration folder (default ``calibrations/<name>``).
        workers: worker processes (``None``: every core; 0 or 1: this process).
        backend: ``local`` or ``dask``.
        scheduler: a Dask scheduler's address (``tcp://host:port``) with ``backend="dask"``.
        resume: continue the calibration in ``out``.
        progress: called with one line per step.

    Returns:
        The calibration's tables and summary; the folder is written.

    Raises:
        ScenarioError: the calibration file is invalid.
        FolderInUse: ``out`` holds something else.
        CalibrationError: a simulation failed (the generations finished are kept).
    """
    if not isinstance(calibration, Calibration):
        calibration = load_calibration(calibration)
    out = Path(out) if out is not None else default_out(calibration)
    manifest = _claim(out, calibration, resume)
    out.mkdir(parents=True, exist_ok=True)
    method = calibration.method
    started = time.perf_counter()
    db = f"sqlite:///{(out / DB).resolve()}"
    scratch = out / ".tmp" if backend == "dask" and scheduler is None else None
    with make_executor(backend, workers, scheduler, scratch) as executor:
        manifest["executor"] = executor.describe()
        write_json(out / MANIFEST, manifest)
        abc = make_abc(calibration, executor, progress)
        if (out / DB).is_file() and resume:
            abc.load(db, 1)
            done = abc.history.max_t + 1
        else:
            abc.new(db, observed(calibration))
            done = 0
        left = method.generations - done
        if left > 0 and abc.history.total_nr_simulations < method.max_simulations:
            abc.run(
                minimum_epsilon=method.min_epsilon,
                max_nr_populations=left,
                max_total_nr_simulations=method.max_simulations,
            )
        if abc.history.max_t < 0:
            raise CalibrationError(
                f"no generation finished within max_simulations={method.max_simulations}"
            )
        history = _history(abc.history)
        posterior = _posterior(calibration, abc.history)
        names = calibration.parameter_names
        picked = posterior_draws(posterior, method.predictive, method.seed, _PREDICTIVE_STREAM)
        draws = [{k: float(picked[k].iloc[i]) for k in names} for i in range(len(picked))]
        predictive = _runs(
            executor,
            calibration,
            draws,
            derive_seeds(method.predictive, method.seed + 1),
            "posterior predictive",
            progress,
        )
        median = {k: weighted_median(posterior[k], posterior["weight"]) for k in names}
        fixed = _runs(
            executor,
            calibration,
            [median] * method.fixed_seeds,
            derive_seeds(method.fixed_seeds, method.seed + 2),
            "posterior median, seeds",
            progress,
        )
    summary = {
        "name": calibration.name,
        "generations": len(history),
        "simulations": int(history["simulations"].sum()),
        "epsilon": float(history["epsilon"].iloc[-1]),
        "population": method.population,
        "fixed_runs": len(fixed),
        "parameters": {
            k: {
                "median": weighted_median(posterior[k], posterior["weight"]),
                "p05": weighted_quantile(posterior[k], posterior["weight"], 0.05),
                "p95": weighted_quantile(posterior[k], posterior["weight"], 0.95),
                "prior": p.record(),
                "n_particles": len(posterior),
            }
            for k, p in zip(names, calibration.parameters, strict=True)
        },
        "posterior_median": median,
        "predictive": score(predictive, calibration.targets, fixed=fixed, how=method.distance),
        "wall_time_s": time.perf_counter() - started,
    }
    write_parquet(out / "history.parquet", history)
    write_parquet(out / "posterior.parquet", posterior)
    write_parquet(out / "predictive.parquet", predictive)
    write_parquet(out / "fixed.parquet", fixed)
    write_json(out / "summary.json", summary)
    write_text(out / "summary.md", summary_markdown(calibration, summary, history))
    manifest["complete"] = True
    manifest["wall_time_s"] = manifest.get("wall_time_s", 0.0) + summary["wall_time_s"]
    write_json(out / MANIFEST, manifest)
    return CalibrationResult(out, calibration, history, posterior, predictive, fixed, summary)
