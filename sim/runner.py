"""Running scenarios: one run → a :class:`~sim.record.RunResult` (and its run folder)."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from pathlib import Path

from sim.metrics import keeper_profits, summarize
from sim.model import ProtocolModel
from sim.record import (
    RunResult,
    auctions_frame,
    build_manifest,
    events_frame,
    timeseries_frame,
    vaults_frame,
)
from sim.scenario import Scenario, load_scenario


def result_of(
    model: ProtocolModel, *, wall_time_s: float, status: str = "ok", error: str | None = None
) -> RunResult:
    """Turn a (finished or stopped) model into its tables, KPIs and manifest."""
    ts = timeseries_frame(model)
    auctions = auctions_frame(model)
    profits = keeper_profits(model)
    summary = summarize(ts, auctions, keeper_profit=sum(profits.values()))
    summary["keepers"] = profits
    return RunResult(
        timeseries=ts,
        events=events_frame(model),
        auctions=auctions,
        vaults=vaults_frame(model),
        summary=summary,
        manifest=build_manifest(model, wall_time_s=wall_time_s, status=status, error=error),
    )


def run_and_write(
    scenario: Scenario,
    out: str | Path,
    seed: int | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[RunResult, Path]:
    """Run a scenario and write its run folder, keeping what was computed if the run fails.

    A failure inside the tick loop is caught: the folder is written with the ticks completed so
    far and ``status: failed`` plus the error and traceback in the manifest.

    Args:
        scenario: the scenario.
        out: the run folder.
        seed: the run seed (default: the scenario's).
        progress: called as ``progress(ticks_done, ticks_total)`` after each tick.

    Returns:
        The result (check ``result.manifest["status"]``) and the folder written.
    """
    started = time.perf_counter()
    model = ProtocolModel(scenario, seed=seed)
    status, error = "ok", None
    try:
        while not model.finished:
            model.step()
            if progress is not None:
                progress(model.tick, model.n_ticks)
    except Exception as exc:
        status = "failed"
        error = f"tick {model.tick}: {type(exc).__name__}: {exc}\n{traceback.format_exc()}"
    result = result_of(model, wall_time_s=time.perf_counter() - started, status=status, error=error)
    return result, result.write(out)


def run(
    scenario: Scenario | str | Path,
    seed: int | None = None,
    *,
    out: str | Path | None = None,
    overrides: tuple[str, ...] | list[str] = (),
) -> RunResult:
    """Run one scenario to its end.

    Args:
        scenario: a :class:`Scenario` or the path of a scenario file.
        seed: the run seed (default: the scenario's ``seed``).
        out: when given, the run folder to write.
        overrides: ``path=value`` overrides, when ``scenario`` is a path.

    Returns:
        The run's tables and KPIs.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario, overrides=overrides)
    started = time.perf_counter()
    model = ProtocolModel(scenario, seed=seed)
    model.run()
    result = result_of(model, wall_time_s=time.perf_counter() - started)
    if out is not None:
        result.write(out)
    return result
