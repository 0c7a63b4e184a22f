"""Batch runs: many scenarios × many seeds, on any executor, into one batch folder.

A batch is a list of :class:`RunSpec` — a validated scenario, its overrides, a seed and the run
folder to write — built entirely before anything runs, so a bad file stops the batch before the
first run (:class:`BatchInputError` lists every problem of every file). Each run is executed by
:func:`execute` in whichever process the executor chooses; it writes its own run folder the
moment it ends and returns its row of the runs table. A run that raises is a row too (status
``failed``, the error and its traceback, the ticks it computed kept): the others go on.

Seeds: with ``seeds=N`` every scenario runs with the same ``N`` seeds, derived from one master
seed by :class:`numpy.random.SeedSequence` (common random numbers: differences between scenarios
are the scenarios'); ``seeds=[1, 5, 9]`` gives them explicitly; ``seeds=None`` runs each scenario
once with its own ``seed``. A run in a batch writes the same Parquet files and summary as
``cdpsim run`` of the same scenario and seed; its manifest adds a ``batch`` section (run id,
scenario file, overrides, swept parameters).
"""

from __future__ import annotations

import datetime as dt
import json
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from sim.atomic import write_json
from sim.experiments.executors import ExecutorError, WorkersLost, make_executor
from sim.experiments.pools import prewarm
from sim.experiments.store import (
    BATCH_KIND,
    BatchFolder,
    StoreError,
    load_runs,
    rebuild_runs_table,
    recorded_path,
    run_row,
    sha256_file,
    sha256_text,
    versions,
)
from sim.files import expand_paths, overrides_digest
from sim.rundir import (
    MANIFEST_KIND,
    RUN_FORMAT,
    STATUS_FAILED,
    STATUS_LOST,
    STATUS_OK,
    clean_sibling_leftovers,
)
from sim.scenario import Scenario, ScenarioError, load_scenario, with_overrides
from sim.scenario.fields import SEED_MAX

Keep = Literal["full", "summary"]
#: Files a run kept as a summary holds.
SUMMARY_FILES = ("manifest.json", "summary.json")


class BatchInputError(Exception):
    """The batch's inputs are invalid; nothing ran. ``errors`` holds one message per problem."""

    def __init__(self, errors: Sequence[str]):
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))

    def __reduce__(self):
        """Pickle with the constructor's arguments (process pools send errors back)."""
        return (type(self), (self.errors,))


class BatchInterrupted(KeyboardInterrupt):
    """The batch was interrupted (Ctrl-C); the runs that finished are kept in ``out``."""

    def __init__(self, out: Path, done: int, total: int):
        super().__init__(f"interrupted with {done} of {total} runs done in {out}")
        self.out, self.done, self.total = out, done, total

    def __reduce__(self):
        """Pickle with the constructor's arguments (process pools send errors back)."""
        return (type(self), (self.out, self.done, self.total))


class BatchStopped(Exception):
    """The batch could not go on (its worker processes kept dying); the finished runs are kept.

    Attributes:
        out: the batch folder.
        done: runs done in it.
        total: runs of the batch.
        reason: why it stopped.
    """

    def __init__(self, out: Path, done: int, total: int, reason: str):
        super().__init__(f"stopped with {done} of {total} runs done in {out}: {reason}")
        self.out, self.done, self.total, self.reason = out, done, total, reason

    def __reduce__(self):
        """Pickle with the constructor's arguments."""
        return (type(self), (self.out, self.done, self.total, self.reason))


@dataclass(frozen=True)
class Input:
    """One scenario of a batch: where it came from and its validated form."""

    label: str  #: the file (absolute), or ``<name>`` for a Scenario object
    scenario: Scenario
    sha256: str  #: of the file's text (or of the scenario's resolved form)
    data: tuple[tuple[str, str], ...] = ()  #: (data file, SHA-256 of its bytes) it reads


def _data_hashes(scenario: Scenario) -> tuple[tuple[str, str], ...]:
    """The data files a scenario reads, each with the SHA-256 of its bytes."""
    return tuple((str(path.resolve()), sha256_file(path)) for path in scenario.data_files())


@dataclass(frozen=True)
class RunSpec:
    """Everything one run of a batch needs; picklable, sent to a worker as it is."""

    run_id: str
    scenario: Scenario
    scenario_file: str
    overrides: tuple[str, ...]
    seed: int
    folder: str
    keep: Keep = "full"
    parameters: dict[str, Any] = field(default_factory=dict)

    def batch_info(self) -> dict[str, Any]:
        """The ``batch`` section of the run's manifest (the scenario file relative to the batch)."""
        batch_folder = Path(self.folder).parent.parent
        return {
            "run_id": self.run_id,
            "scenario_file": recorded_path(self.scenario_file, batch_folder),
            "overrides": list(self.overrides),
            "parameters": dict(self.parameters),
        }


@dataclass(frozen=True)
class Progress:
    """Where a batch stands, passed to the progress callback after each run."""

    done: int  #: runs finished in this invocation
    failed: int  #: of which failed
    total: int  #: runs to do in this invocation
    skipped: int  #: runs already done (``--resume``)
    elapsed_s: float
    last: dict[str, Any] | None = None  #: the row of the run that just finished


# ---------------------------------------------------------------------------------------- inputs


def load_inputs(
    items: Iterable[str | Path | Scenario],
    overrides: Sequence[str] = (),
    data_dirs: Sequence[str | Path] = (),
) -> list[Input]:
    """Validate every scenario (files, folders, globs or Scenario objects) with the overrides.

    Raises:
        BatchInputError: every problem of every input, before anything runs.
    """
    items = list(items)
    paths = [i for i in items if not isinstance(i, Scenario)]
    files, problems = expand_paths(paths)
    inputs: list[Input] = []
    for item in items:
        if isinstance(item, Scenario):
            try:
                scenario = with_overrides(item, overrides) if overrides else item
            except ScenarioError as exc:
                problems.extend(str(exc).splitlines())
                continue
            digest = sha256_text(json.dumps(scenario.to_dict(), sort_keys=True))
            try:
                data = _data_hashes(scenario)
            except OSError as exc:
                problems.append(f"<{scenario.name}>: cannot read a data file: {exc}")
                continue
            inputs.append(Input(f"<{scenario.name}>", scenario, digest, data))
    for path in files:
        try:
            scenario = load_scenario(path, overrides=overrides, data_dirs=data_dirs)
            digest = sha256_text(path.read_text(encoding="utf-8"))
            data = _data_hashes(scenario)
        except ScenarioError as exc:
            problems.extend(str(exc).splitlines())
            continue
        except OSError as exc:
            problems.append(f"{path}: cannot read it or a data file it names: {exc}")
            continue
        inputs.append(Input(str(path.resolve()), scenario, digest, data))  # resume from anywhere
    if not inputs and not problems:
        problems.append("no scenario to run")
    if problems:
        raise BatchInputError(problems)
    return inputs


def derive_seeds(n: int, master_seed: int) -> list[int]:
    """``n`` run seeds from one master seed (``SeedSequence(master).generate_state``)."""
    if n < 1:
        raise ValueError("the number of seeds must be at least 1")
    return [int(s) for s in np.random.SeedSequence(master_seed).generate_state(n, np.uint32)]


def _run_ids(inputs: Sequence[Input], seeds: Sequence[int] | None) -> list[list[str]]:
    """Run ids per input and seed: ``<name>-seed<seed>``.

    A second input with the same scenario name gets ``<name>-2-seed<seed>``, and so on.
    """
    seen: dict[str, int] = {}
    out = []
    for item in inputs:
        name = item.scenario.name
        seen[name] = seen.get(name, 0) + 1
        base = name if seen[name] == 1 else f"{name}-{seen[name]}"
        run_seeds = seeds if seeds is not None else [item.scenario.seed]
        out.append([f"{base}-seed{s}" for s in run_seeds])
    return out


def plan(
    inputs: Sequence[Input],
    seeds: Sequence[int] | None,
    out: Path,
    overrides: Sequence[str] = (),
    keep: Keep = "full",
) -> list[RunSpec]:
    """The runs of a batch, in a fixed order: inputs in order, each with every seed."""
    specs = []
    for item, ids in zip(inputs, _run_ids(inputs, seeds), strict=True):
        run_seeds = seeds if seeds is not None else [item.scenario.seed]
        for run_id, seed in zip(ids, run_seeds, strict=True):
            specs.append(
                RunSpec(
                    run_id=run_id,
                    scenario=item.scenario,
                    scenario_file=item.label,
                    overrides=tuple(overrides),
                    seed=int(seed),
                    folder=str(BatchFolder(out).run_folder(run_id)),
                    keep=keep,
                )
            )
    return specs


# ---------------------------------------------------------------------------------------- one run


def execute(spec: RunSpec) -> dict[str, Any]:
    """Run one batch run here and write its folder; return its row of the runs table.

    Failure is data: a model that cannot be built, or a run that raises, is written as a run
    folder with status ``failed``, its error and traceback (and the ticks computed, if any); a
    run folder that cannot be written is a row saying why. Nothing but plain data goes back to
    the parent process: no exception crosses the process boundary. Only
    :class:`KeyboardInterrupt` propagates (the batch is being stopped; this run is not recorded
    and ``--resume`` runs it again).
    """
    try:
        return _execute(spec)
    except Exception as exc:  # a bug of cdpsim's (the run itself is guarded in _execute)
        error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
        try:
            write_failure(spec, error)
        except OSError as write_exc:
            return _unwritten_row(spec, f"cannot write {spec.folder}: {_reason(write_exc)}")
        return run_row(Path(spec.folder)) or _unwritten_row(spec, error)


def _reason(exc: BaseException) -> str:
    """Why a write failed, in a few words (``No space left on device``)."""
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc)


def _unwritten_row(spec: RunSpec, error: str) -> dict[str, Any]:
    """The row of a run whose folder could not be written (``--resume`` runs it again)."""
    return {"run_id": spec.run_id, "status": STATUS_FAILED, "seed": spec.seed, "error": error}


def _execute(spec: RunSpec) -> dict[str, Any]:
    from sim.model import ProtocolModel
    from sim.rundir import OutputError, RunFolder
    from sim.stream import STREAMED_TABLES, RunStream

    started = time.perf_counter()
    try:
        # The run's tables stream into its temporary folder; the batch cleaned its runs folder
        # of killed writes' leftovers once as it began (execute_all), not once per run.
        folder = RunFolder(spec.folder, clean=False)
    except (OSError, OutputError) as exc:
        return _unwritten_row(spec, f"cannot write {spec.folder}: {_reason(exc)}")
    try:
        # A run kept as a summary records no events nor vault snapshots (never written).
        keep = () if spec.keep == "summary" else STREAMED_TABLES
        stream = RunStream(folder.tmp, keep=keep)
        model = ProtocolModel(spec.scenario, seed=spec.seed, stream=stream)
    except Exception as exc:
        folder.discard()
        error = f"the model could not be built: {type(exc).__name__}: {exc}"
        write_failure(spec, f"{error}\n{traceback.format_exc()}")
        return run_row(Path(spec.folder)) or {}
    except BaseException:
        folder.discard()
        raise
    try:
        return _finish(spec, model, folder, started)
    except BaseException:
        model.recorder.stream.abort()
        folder.discard()
        raise


def _finish(spec: RunSpec, model: Any, folder: Any, started: float) -> dict[str, Any]:
    """Run a built model to its end and commit its folder; its row of the runs table."""
    from sim.rundir import OutputError
    from sim.runner import out_of_memory_result, result_of

    status, error = STATUS_OK, None
    try:
        while not model.finished:
            model.step()
    except Exception as exc:
        status = STATUS_FAILED
        error = f"tick {model.tick}: {type(exc).__name__}: {exc}\n{traceback.format_exc()}"
    wall = time.perf_counter() - started
    try:
        result = result_of(model, wall_time_s=wall, status=status, error=error, final=True)
    except MemoryError:  # the last tables do not fit: keep what was streamed (failed)
        result = out_of_memory_result(model, wall_time_s=wall)
    result.manifest["batch"] = spec.batch_info()
    if spec.keep == "summary":
        result.manifest["files"] = list(SUMMARY_FILES)
    try:
        folder.commit(result)
    except (OSError, OutputError) as exc:
        folder.discard()
        return _unwritten_row(spec, f"cannot write {spec.folder}: {_reason(exc)}")
    return run_row(Path(spec.folder)) or {}


def write_failure(spec: RunSpec, error: str, status: str = STATUS_FAILED) -> None:
    """A run folder holding only a manifest: the run ended before computing anything.

    Raises:
        OSError: the folder cannot be written.
    """
    folder = Path(spec.folder)
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {
        "kind": MANIFEST_KIND,
        "format": RUN_FORMAT,
        "scenario": spec.scenario.to_dict(),
        "seed": spec.seed,
        "ticks": 0,
        "status": status,
        "error": error,
        "files": ["manifest.json"],
        "batch": spec.batch_info(),
    }
    write_json(folder / "manifest.json", manifest)


#: Why a lost run has no result (the first line of its error).
LOST_MESSAGE = (
    "its worker process died while it ran, also when it ran alone (killed, or out of memory: "
    "a run this size may need more than the machine has); --resume runs it again"
)


def _lost(spec: RunSpec, exc: BaseException) -> dict[str, Any]:
    """Record a run whose worker died, also when it ran alone, as ``lost`` (not done)."""
    try:
        write_failure(spec, f"{LOST_MESSAGE}\n{type(exc).__name__}: {exc}", STATUS_LOST)
    except OSError as write_exc:
        return _unwritten_row(spec, f"cannot write {spec.folder}: {_reason(write_exc)}")
    return run_row(Path(spec.folder)) or {}


# ---------------------------------------------------------------------------------------- batch


def default_out(prefix: str = "batch") -> Path:
    """``runs/<prefix>-<UTC time>``."""
    return Path("runs") / f"{prefix}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}"


def resolve_seeds(
    seeds: int | Sequence[int] | None, master_seed: int
) -> tuple[list[int] | None, Any]:
    """The run seeds and how ``batch.json`` records them.

    Raises:
        ValueError: fewer than one seed, a seed or master seed outside 0 to 2**64 - 1
            (:data:`~sim.scenario.fields.SEED_MAX`: manifests and runs tables hold 64 bits), a
            repeated seed.
    """
    if not 0 <= int(master_seed) <= SEED_MAX:
        raise ValueError(f"the master seed is an integer from 0 to {SEED_MAX} (2**64 - 1)")
    if seeds is None:
        return None, "each scenario's own seed"
    if isinstance(seeds, int | np.integer):
        return derive_seeds(int(seeds), master_seed), derive_seeds(int(seeds), master_seed)
    explicit = [int(s) for s in seeds]
    if not explicit:
        raise ValueError("the seed list is empty")
    if any(not 0 <= s <= SEED_MAX for s in explicit):
        raise ValueError(f"seeds are integers from 0 to {SEED_MAX} (2**64 - 1)")
    if len(set(explicit)) != len(explicit):
        raise ValueError("the seed list repeats a seed")
    return explicit, explicit


def batch_manifest(
    inputs: Sequence[Input],
    specs: Sequence[RunSpec],
    *,
    out: Path,
    seeds_record: Any,
    master_seed: int,
    overrides: Sequence[str],
    keep: Keep,
    command: str | None,
    parameters: Any = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The batch folder's ``batch.json`` (paths relative to ``out``, the batch folder)."""
    return {
        "kind": BATCH_KIND,
        "command": command,
        "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "complete": False,
        "inputs": [
            {
                "file": recorded_path(i.label, out),
                "scenario": i.scenario.name,
                "sha256": i.sha256,
                "data": [{"file": recorded_path(f, out), "sha256": h} for f, h in i.data],
            }
            for i in inputs
        ],
        "overrides": list(overrides),
        "seeds": seeds_record,
        "master_seed": master_seed,
        "keep": keep,
        "parameters": parameters,
        "runs": len(specs),
        "run_ids": run_ids(specs),
        "versions": versions(),
        **(extra or {}),
    }


def run_ids(specs: Sequence[RunSpec]) -> list[str]:
    """The run ids of a batch's runs, in order, without building the runs.

    A lazy sequence of runs (a sweep's, :class:`sim.experiments.sweep.SweepSpecs`) has them as
    ``run_ids``; a list of :class:`RunSpec` has them in its items.
    """
    known = getattr(specs, "run_ids", None)
    return list(known) if known is not None else [s.run_id for s in specs]


def execute_all(
    specs: Sequence[RunSpec],
    out: Path,
    *,
    workers: int | None = None,
    backend: str = "local",
    scheduler: str | None = None,
    progress: Callable[[Progress], None] | None = None,
    runner: Callable[[RunSpec], dict[str, Any]] | None = None,
    retry_failed: bool = False,
    oversubscribe: bool = False,
) -> pd.DataFrame:
    """Run the specs that are not done yet, rebuild the runs table and mark the batch complete.

    Args:
        specs: the runs of the batch, in batch order; ``specs[i]`` is taken only when the
            executor has room for it (a lazy sequence builds each run then).
        out: the batch folder (already opened).
        workers: worker processes (``None``: every core; 0 or 1: in this process). Never
            more than the cores this process may use (unless ``oversubscribe``) nor than the
            runs to do (:func:`sim.experiments.executors.local_workers`).
        backend: ``local`` (process pool) or ``dask``.
        scheduler: a Dask scheduler address; none starts a local cluster.
        progress: called after each run with a :class:`Progress`.
        runner: the per-run function (default :func:`execute`): it runs one spec, writes its
            run folder and returns its row of the runs table. A module-level function, so that
            worker processes can import it; tests plug in stand-in models here.
        retry_failed: run the ``failed`` runs again too (not only the missing, interrupted and
            lost ones).
        oversubscribe: start ``workers`` local workers even beyond the cores.

    Returns:
        The runs table; ``batch.json`` says ``complete: true`` when every run is ``ok``.

    Raises:
        BatchInterrupted: on Ctrl-C, after stopping the workers and rebuilding the runs table.
        BatchStopped: the worker processes kept dying; the runs table is rebuilt first.
    """
    store = BatchFolder(out)
    clean_sibling_leftovers(store.runs)  # what killed runs left, once for the whole batch
    finished = store.done(retry_failed=retry_failed)
    todo = [i for i, run_id in enumerate(run_ids(specs)) if run_id not in finished]
    started = time.perf_counter()
    done = failed = 0
    unwritten: list[dict[str, Any]] = []  # runs whose folder could not be written
    scratch = out / ".tmp"  # a local Dask cluster's files, removed when it stops
    executor = make_executor(
        backend,
        workers,
        scheduler,
        scratch=scratch,
        tasks=len(todo),
        oversubscribe=oversubscribe,
    )
    try:
        if todo:
            with executor:
                tasks = (specs[i] for i in todo)  # built as the executor takes them
                for row in executor.imap_unordered(runner or execute, tasks, _lost):
                    done += 1
                    failed += row.get("status") != STATUS_OK
                    if not (
                        store.run_folder(str(row.get("run_id", ""))) / "manifest.json"
                    ).exists():
                        unwritten.append(row)
                    if progress is not None:
                        progress(
                            Progress(
                                done,
                                failed,
                                len(todo),
                                len(specs) - len(todo),
                                time.perf_counter() - started,
                                row,
                            )
                        )
    except KeyboardInterrupt as exc:
        # Counted only here, once the executor has stopped (its context has exited and every
        # worker process is gone): a run in flight at the interrupt can still write its folder
        # while the pool stops, and the count must be of the folders as they are left.
        _table_with(out, unwritten)
        raise BatchInterrupted(out, len(store.done()), len(specs)) from exc
    except WorkersLost as exc:
        _table_with(out, unwritten)
        raise BatchStopped(out, len(store.done()), len(specs), str(exc)) from exc
    table = _table_with(out, unwritten)
    statuses = table["status"].tolist() if "status" in table else []
    complete = len(statuses) == len(specs) and all(s == STATUS_OK for s in statuses)
    try:
        store.set_complete(complete)
    except OSError as exc:
        table.attrs["warnings"].append(
            f"cannot write {store.manifest_path}: {_reason(exc)} (it does not say whether the "
            "batch is complete)"
        )
    return table


def _table_with(out: Path, unwritten: list[dict[str, Any]]) -> pd.DataFrame:
    """The runs table rebuilt from the run folders, plus the runs that have none.

    A run whose folder could not be written (disk full, no permission) is a failed row of the
    returned table, so that it is reported — but not of ``runs.parquet``, which holds only what
    the folders hold: ``--resume`` runs it again. If ``runs.parquet`` itself cannot be written,
    the table is still returned, with the reason in ``table.attrs["warnings"]``.
    """
    warnings: list[str] = []
    try:
        table = rebuild_runs_table(out)
    except OSError as exc:
        table = load_runs(out)
        warnings.append(f"cannot write {out / 'runs.parquet'}: {exc.strerror or exc}")
    if unwritten:
        missing = pd.DataFrame(unwritten)
        table = pd.concat([table, missing], ignore_index=True)
        warnings.append(
            f"{len(unwritten)} run folder(s) could not be written; --resume runs them again"
        )
    table.attrs["warnings"] = warnings
    return table


def run_batch(
    items: Iterable[str | Path | Scenario] | str | Path | Scenario,
    *,
    seeds: int | Sequence[int] | None = None,
    master_seed: int = 0,
    overrides: Sequence[str] = (),
    workers: int | None = None,
    backend: str = "local",
    scheduler: str | None = None,
    out: str | Path | None = None,
    resume: bool = False,
    keep: Keep = "full",
    data_dirs: Sequence[str | Path] = (),
    progress: Callable[[Progress], None] | None = None,
    command: str | None = None,
    retry_failed: bool = False,
    force: bool = False,
    oversubscribe: bool = False,
) -> pd.DataFrame:
    """Run scenarios × seeds and return the runs table (also in ``OUT/runs.parquet``).

    Args:
        items: scenario files, folders of them, glob patterns or :class:`Scenario` objects.
        seeds: a number of seeds derived from ``master_seed``, a list of seeds, or ``None`` for
            each scenario's own seed.
        master_seed: the seed the run seeds are derived from (0 to 2**64 - 1).
        overrides: ``path=value`` overrides applied to every scenario.
        workers: worker processes (``None``: every core; 0 or 1: in this process). At most
            the cores this process may use (more are cut to that, with a
            :class:`RuntimeWarning`, unless ``oversubscribe``) and never more than the runs
            to do.
        backend: ``local`` (process pool) or ``dask``.
        scheduler: a Dask scheduler address (``tcp://host:8786``); none starts a local cluster.
        out: the batch folder (default ``runs/batch-<UTC time>``).
        resume: continue the batch in ``out``: run only what is missing.
        keep: ``full`` run folders, or ``summary`` (manifest and summary only).
        data_dirs: folders data files may come from besides each scenario's own.
        progress: called after each run with a :class:`Progress`.
        command: the command line, recorded in ``batch.json``.
        retry_failed: with ``resume``, run the ``failed`` runs again too.
        force: with ``resume``, continue although a scenario file, a data file or the cdpsim or
            numpy version changed since the batch started (recorded in ``batch.json``).
        oversubscribe: start ``workers`` local workers even beyond the cores (each takes
            a few hundred MB).

    Returns:
        The runs table (one row per run, in batch order; see :func:`sim.load_runs`).

    Raises:
        BatchInputError: invalid inputs (nothing ran).
        StoreError: ``out`` cannot hold this batch, or its inputs changed (nothing ran).
        LockError: another process is writing ``out`` (nothing ran).
        BatchInterrupted: Ctrl-C; the finished runs are kept.
        BatchStopped: the worker processes kept dying; the finished runs are kept.
    """
    if isinstance(items, str | Path | Scenario):
        items = [items]
    prewarm(backend, workers)  # the workers' imports overlap the inputs' validation
    if keep not in ("full", "summary"):
        raise BatchInputError([f"keep must be 'full' or 'summary', not {keep!r}"])
    try:
        run_seeds, seeds_record = resolve_seeds(seeds, master_seed)
    except ValueError as exc:
        raise BatchInputError([f"seeds: {exc}"]) from None
    inputs = load_inputs(items, overrides, data_dirs)
    out = Path(out) if out is not None else default_out()
    specs = plan(inputs, run_seeds, out, overrides, keep)
    manifest = batch_manifest(
        inputs,
        specs,
        out=out,
        seeds_record=seeds_record,
        master_seed=master_seed,
        overrides=overrides,
        keep=keep,
        command=command,
        extra={"set_digest": overrides_digest(overrides)} if overrides else None,
    )
    return run_in_folder(
        specs,
        out,
        manifest,
        resume=resume,
        force=force,
        workers=workers,
        backend=backend,
        scheduler=scheduler,
        progress=progress,
        retry_failed=retry_failed,
        oversubscribe=oversubscribe,
    )


def run_in_folder[T](
    specs: Sequence[RunSpec],
    out: Path,
    manifest: dict[str, Any],
    *,
    resume: bool,
    force: bool,
    finish: Callable[[pd.DataFrame], T] | None = None,
    on_stop: Callable[[], None] | None = None,
    **execute: Any,
) -> T | pd.DataFrame:
    """Open (and lock) a batch folder, run what is not done, and finish under the lock.

    The tail that batches and sweeps share: the folder is locked from opening to the end, a
    new folder is removed again when the executor cannot start (a retry starts afresh), and
    ``on_stop`` records what is done when the batch is interrupted or stopped.

    Args:
        specs: the runs, in batch order.
        out: the batch folder.
        manifest: its ``batch.json`` (:func:`batch_manifest`).
        resume: continue the batch in ``out``.
        force: resume although inputs changed.
        finish: turns the runs table into the result, still under the lock (a sweep's tables
            and indices); none returns the runs table.
        on_stop: called (under the lock) before :class:`BatchInterrupted` or
            :class:`BatchStopped` goes on.
        **execute: :func:`execute_all`'s keyword arguments.
    """
    store = BatchFolder(out)
    new = not out.exists()
    lock = store.open(manifest, resume, force=force)
    try:
        try:
            table = execute_all(specs, out, **execute)
        except ExecutorError:
            if new:
                lock.release()
                store.discard_if_empty()  # a retry with a working executor starts afresh
            raise
        except (BatchInterrupted, BatchStopped):
            if on_stop is not None:
                on_stop()
            raise
        return table if finish is None else finish(table)
    finally:
        lock.release()


__all__ = [
    "BatchInputError",
    "BatchInterrupted",
    "BatchStopped",
    "Progress",
    "RunSpec",
    "StoreError",
    "execute",
    "run_batch",
]
