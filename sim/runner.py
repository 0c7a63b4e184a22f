"""Running scenarios: one run → a :class:`~sim.record.RunResult` (and its run folder).

:func:`run_and_write` keeps what was computed whatever stops the run: an error in the tick loop
(status ``failed``), Ctrl-C or SIGTERM (status ``interrupted``, then :class:`RunInterrupted`),
or an output folder that cannot be written (saved elsewhere, then
:class:`~sim.rundir.WriteError`). Errors building the model are a :class:`BuildError`, and a
folder that may not be used is refused before anything runs (:class:`~sim.rundir.OutputError`).
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from sim.market.prices import DataError
from sim.metrics import keeper_profits, summarize, summary_columns
from sim.model import ProtocolModel
from sim.protocol.vat import ProtocolError
from sim.record import (
    RunResult,
    auctions_frame,
    events_frame,
    timeseries_frame,
    vaults_frame,
)
from sim.rundir import (
    STATUS_FAILED,
    STATUS_INTERRUPTED,
    STATUS_OK,
    OutputError,
    RunFolder,
    WriteError,
    build_manifest,
    check_not_in_batch,
    check_output_folder,
    holds_run,
    lock_run_folder,
    write_with_fallback,
)
from sim.scenario import Scenario, load_scenario
from sim.shutdown import shutdown_frame
from sim.stream import RunStream, StoredRunResult, read_frame

#: Errors building a model that mean the scenario's pieces do not fit together (bad input).
BAD_INPUT_ERRORS = (ProtocolError, DataError, ValueError)


class BuildError(Exception):
    """The model could not be built from its scenario; nothing ran and nothing was written.

    Attributes:
        cause: the error raised while building.
        bad_input: whether the scenario is at fault (one of :data:`BAD_INPUT_ERRORS`) rather
            than cdpsim (a bug).
    """

    def __init__(self, cause: Exception):
        super().__init__(str(cause))
        self.cause = cause
        self.bad_input = isinstance(cause, BAD_INPUT_ERRORS)

    def __reduce__(self):
        """Pickle with the constructor's argument (process pools send errors back)."""
        return (type(self), (self.cause,))


class RunInterrupted(KeyboardInterrupt):
    """A run stopped by Ctrl-C or SIGTERM, after writing what it had computed.

    A :class:`KeyboardInterrupt`, so a caller that does not catch it stops as on Ctrl-C.

    Attributes:
        out: the run folder asked for.
        ticks: ticks completed.
        n_ticks: ticks the run would have had.
        result: the result of the ticks completed (``None`` if a second interrupt came before
            the tables were built).
        folder: where the run was written (``out``, the fallback folder, or ``None`` if nothing
            was written).
        write_error: why ``out`` could not be written, if it could not.
        while_writing: a second interrupt stopped the writing (no half-written folder is left:
            ``folder`` holds the whole run or ``None``, and ``out`` what it held before).
    """

    def __init__(
        self,
        out: str | Path,
        ticks: int,
        n_ticks: int,
        *,
        result: RunResult | None,
        folder: Path | None,
        write_error: WriteError | None = None,
        while_writing: bool = False,
    ):
        super().__init__(f"interrupted at tick {ticks} of {n_ticks}")
        self.out = Path(out)
        self.ticks = ticks
        self.n_ticks = n_ticks
        self.result = result
        self.folder = folder
        self.write_error = write_error
        self.while_writing = while_writing


def result_of(
    model: ProtocolModel,
    *,
    wall_time_s: float,
    status: str = STATUS_OK,
    error: str | None = None,
    final: bool = False,
) -> RunResult:
    """Turn a (finished or stopped) model into its tables, KPIs and manifest.

    Args:
        model: the model.
        wall_time_s: the run's wall time [s].
        status: ``ok``, ``failed`` or ``interrupted``.
        error: the error and traceback of a failed run.
        final: the model will not step again: its event log is moved into the result rather
            than copied (half the memory at the end of a run with many events).
    """
    if model.recorder.stream is not None:
        return _streamed_result(model, wall_time_s=wall_time_s, status=status, error=error)
    ts = timeseries_frame(model)
    auctions = auctions_frame(model)
    profits = keeper_profits(model)
    summary = summarize(ts, auctions, keeper_profit=sum(profits.values()))
    summary["keepers"] = profits
    return RunResult(
        timeseries=ts,
        events=events_frame(model, consume=final),
        auctions=auctions,
        vaults=vaults_frame(model, consume=final),
        summary=summary,
        manifest=build_manifest(model, wall_time_s=wall_time_s, status=status, error=error),
        shutdown=shutdown_frame(model.shutdown),
    )


def _streamed_result(
    model: ProtocolModel, *, wall_time_s: float, status: str, error: str | None
) -> RunResult:
    """:func:`result_of` for a streamed run: its stream closed, its big tables left in files.

    The KPIs read only the timeseries columns :func:`~sim.metrics.summarize` needs
    (:func:`~sim.metrics.summary_columns`) back from ``timeseries.parquet``, when the table is
    stored: the KPIs are computed by the same code from the same numbers as in memory, for a
    few columns of memory (8 bytes × ticks each). A stream that could not write its files
    fails the run (the error says which file), keeping what it wrote.
    """
    stream: RunStream = model.recorder.stream
    held = stream.close(model)
    auctions = auctions_frame(model)
    profits = keeper_profits(model)
    missing: list[str] = []  # tables that failed and cannot be read
    for name, exc in stream.failed.items():
        status = STATUS_FAILED
        path = stream.sinks[name].path
        what = f"cannot write {path.name}: {getattr(exc, 'strerror', None) or exc}"
        if stream.readable(name):
            what += f" (it keeps the {stream.sinks[name].rows:,} rows written before)"
        else:
            missing.append(name)
            path.unlink(missing_ok=True)
            what += " (the table is lost)"
        error = f"{error}\n{what}" if error else what
    ts = held["timeseries"]
    if ts is None and "timeseries" not in missing:
        path = stream.sinks["timeseries"].path
        ts = read_frame(path, summary_columns(pq.read_schema(path).names))
    summary: dict[str, Any] = {}
    if ts is not None:
        summary = summarize(ts, auctions, keeper_profit=sum(profits.values()))
        summary["keepers"] = profits
    manifest = build_manifest(model, wall_time_s=wall_time_s, status=status, error=error)
    if stream.failed:  # the folder holds what could be kept, and says so
        manifest["files"] = [
            name
            for name in manifest["files"]
            if name.removesuffix(".parquet") not in missing
            and (name != "summary.json" or ts is not None)
        ]
    empty = pd.DataFrame()
    result = StoredRunResult(
        timeseries=held["timeseries"] if "timeseries" not in missing else empty,
        events=held["events"] if "events" not in missing else empty,
        auctions=auctions,
        vaults=held["vaults"] if "vaults" not in missing else empty,
        summary=summary,
        manifest=manifest,
        shutdown=shutdown_frame(model.shutdown),
    )
    result.folder = stream.folder
    return result


def out_of_memory_result(model: ProtocolModel, *, wall_time_s: float) -> RunResult:
    """What a streamed run keeps when its last tables do not fit in memory: a failed run.

    Every writer is closed with the row groups it wrote (readable files); the folder lists
    only those tables and the manifest (``files``), with ``status: failed`` and the reason.
    """
    stream: RunStream = model.recorder.stream
    stream.abort()
    kept = [name for name in stream.opened_files() if name.exists()]
    error = (
        f"tick {model.tick}: MemoryError: out of memory while finishing the run's tables; "
        f"kept: {', '.join(p.name for p in kept) or 'no table'} (the rows written in row "
        "groups during the run)"
    )
    manifest = build_manifest(model, wall_time_s=wall_time_s, status=STATUS_FAILED, error=error)
    manifest["files"] = ["manifest.json", *(p.name for p in kept)]
    # the ticks the kept timeseries holds (its full windows), not the ticks computed
    manifest["ticks"] = max(stream.sinks["timeseries"].rows - 1, 0)
    empty = pd.DataFrame()
    result = StoredRunResult(
        timeseries=None,
        events=None,
        auctions=empty,
        vaults=None,
        summary={},
        manifest=manifest,
    )
    result.folder = stream.folder
    return result


def run_and_write(
    scenario: Scenario,
    out: str | Path,
    seed: int | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
    force: bool = False,
    manifest_extra: Mapping[str, Any] | None = None,
) -> tuple[RunResult, Path]:
    """Run a scenario and write its run folder, keeping what was computed whatever happens.

    The folder is checked before anything runs (:func:`sim.rundir.check_output_folder`). A
    failure inside the tick loop is caught: the folder is written with the ticks completed so far
    and ``status: failed`` plus the error and traceback in the manifest. Ctrl-C (or SIGTERM turned
    into :class:`KeyboardInterrupt`) in the tick loop writes the ticks so far with ``status:
    interrupted`` and raises :class:`RunInterrupted`. If the folder cannot be written, the run is
    saved to a fallback folder and :class:`~sim.rundir.WriteError` says where.

    Args:
        scenario: the scenario.
        out: the run folder.
        seed: the run seed (default: the scenario's).
        progress: called as ``progress(ticks_done, ticks_total)`` after each tick.
        force: write into an existing folder that is not a cdpsim run folder (only the run
            files are written there).
        manifest_extra: entries added to the run's manifest (``cdpsim run --set`` records its
            overrides and their digest under ``set``).

    Returns:
        The result (check ``result.manifest["status"]``: ``ok`` or ``failed``) and the folder.

    Raises:
        OutputError: ``out`` may not be used, or another cdpsim process is writing it (raised
            before running).
        BuildError: the model could not be built (nothing ran).
        RunInterrupted: the run was interrupted (what was computed is written).
        WriteError: ``out`` could not be written (the run was saved elsewhere if possible).
    """
    check_not_in_batch(out)
    check_output_folder(out, force=force)
    lock = lock_run_folder(out)  # a second cdpsim run on this folder is refused until we end
    try:
        return _run_and_write(
            scenario, out, seed, progress=progress, force=force, extra=manifest_extra
        )
    finally:
        lock.release()


def _run_and_write(
    scenario: Scenario,
    out: str | Path,
    seed: int | None,
    *,
    progress: Callable[[int, int], None] | None,
    force: bool,
    extra: Mapping[str, Any] | None = None,
) -> tuple[RunResult, Path]:
    started = time.perf_counter()
    try:
        folder = RunFolder(out, force=force)  # the tables stream into its temporary folder
    except OSError as exc:
        raise OutputError(out, f"cannot write there: {exc.strerror or exc}") from None
    try:
        model = ProtocolModel(scenario, seed=seed, stream=RunStream(folder.tmp))
    except Exception as exc:
        folder.discard()
        raise BuildError(exc) from exc
    except BaseException:
        folder.discard()
        raise
    status, error = STATUS_OK, None
    try:
        while not model.finished:
            model.step()
            if progress is not None:
                progress(model.tick, model.n_ticks)
    except KeyboardInterrupt:
        status = STATUS_INTERRUPTED
    except Exception as exc:
        status = STATUS_FAILED
        error = f"tick {model.tick}: {type(exc).__name__}: {exc}\n{traceback.format_exc()}"
    ticks = model.recorder.rows - 1
    result: RunResult | None = None
    try:
        try:
            result = result_of(
                model,
                wall_time_s=time.perf_counter() - started,
                status=status,
                error=error,
                final=True,
            )
        except MemoryError:
            result = out_of_memory_result(model, wall_time_s=time.perf_counter() - started)
        result.manifest.update(extra or {})
        try:
            written = write_with_fallback(result, out, force=force, folder=folder)
            write_error = None
        except WriteError as exc:
            written, write_error = exc.fallback, exc
    except KeyboardInterrupt as exc:  # a second interrupt, while writing
        done = result is not None and holds_run(out, result)
        model.recorder.stream.abort()
        folder.discard()
        raise RunInterrupted(
            out,
            ticks,
            model.n_ticks,
            result=result,
            folder=Path(out) if done else None,
            while_writing=True,
        ) from exc
    except BaseException:
        model.recorder.stream.abort()
        folder.discard()
        raise
    if status == STATUS_INTERRUPTED:
        raise RunInterrupted(
            out, ticks, model.n_ticks, result=result, folder=written, write_error=write_error
        )
    if write_error is not None:
        raise write_error
    return result, written


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
    result = result_of(model, wall_time_s=time.perf_counter() - started, final=True)
    if out is not None:
        result.write(out)
    return result
