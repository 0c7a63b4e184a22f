"""The ``cdpsim`` command (docs/ARCHITECTURE.md).

Exit codes: 0 ok (also when stdout is closed early, as by ``| head -1``); 1 a run failed or its
folder could not be written (what it computed is kept, in a fallback folder if need be); 2 bad
input (a scenario file, a data file, an argument or an output folder that may not be used),
reported as ``file:line: field: message`` or ``folder: reason`` without a traceback; 130 the run
was interrupted by Ctrl-C or SIGTERM (the ticks computed are kept, status ``interrupted``).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import click

from sim.cli_gallery import gallery_options, validate_gallery, wants_gallery
from sim.files import is_sweep_data, name_problem, overrides_digest, set_folder, shown_path
from sim.scenario import ScenarioError

if TYPE_CHECKING:
    from sim.runner import RunInterrupted
    from sim.scenario import Scenario

EXIT_OK, EXIT_RUN_FAILED, EXIT_BAD_INPUT = 0, 1, 2
#: Exit code of a run stopped by Ctrl-C or SIGTERM (128 + SIGINT, the shell's convention).
EXIT_INTERRUPTED = 130


def load_scenario(*args: Any, **kwargs: Any) -> Scenario:
    """:func:`sim.scenario.load_scenario`, imported on first use (``--help`` needs no schema)."""
    from sim.scenario import load_scenario as load

    return load(*args, **kwargs)


def advisories(spec: Scenario) -> list[str]:
    """:func:`sim.scenario.advisories`, imported on first use."""
    from sim.scenario import advisories as find

    return find(spec)


def _err(message: str) -> None:
    click.echo(message, err=True)


def _out(message: str) -> None:
    """Print to stdout; once its reader is gone (``cdpsim ... | head -1``), print nothing more."""
    try:
        click.echo(message)
        sys.stdout.flush()
    except BrokenPipeError:
        # Point stdout at devnull so that Python's flush at exit does not fail again.
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)


#: Largest seed (:data:`sim.scenario.fields.SEED_MAX`, repeated so that ``--help`` needs no
#: schema): a seed is written to manifests and runs tables as a 64-bit unsigned integer.
SEED_MAX = 2**64 - 1
#: Most seeds of ``--seeds`` and ``--seed-list`` (a sweep's limit of runs,
#: :data:`sim.experiments.sweep.MAX_RUNS`).
MAX_SEEDS = 1_000_000
#: Most ``--workers``, even with ``--oversubscribe`` (each worker is a process of a few
#: hundred MB).
MAX_WORKERS = 1024


class _Path(click.Path):
    """:class:`click.Path` whose name must be UTF-8 text, and not empty.

    Run folders record their paths in JSON and Parquet files (UTF-8 only), and Parquet files
    cannot be written under a name with bytes such as 0xff: such a name is refused before
    anything runs, naming the option (exit 2).
    """

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail("an empty path (an unset shell variable?); give a file or folder", param, ctx)
        path = super().convert(value, param, ctx)
        problem = name_problem(path)
        if problem is not None:
            self.fail(f"{shown_path(path)}: {problem}", param, ctx)
        return path


def _raise_interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _sigterm_as_interrupt() -> None:
    """Until the command ends, SIGTERM stops a run as Ctrl-C does (what was computed is kept)."""
    if threading.current_thread() is not threading.main_thread():
        return
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    restore = previous if previous is not None else signal.SIG_DFL
    click.get_current_context().call_on_close(lambda: signal.signal(signal.SIGTERM, restore))


class _Bar:
    """Progress on stderr, the one implementation for runs, batches and sweeps.

    A tqdm bar on a terminal. Elsewhere (a log, a pipe) either nothing, or with ``plain`` a line
    every :data:`PLAIN_EVERY_S` seconds and at the end, so that logs show long work without a
    pipe choking on carriage returns.
    """

    #: Seconds between plain progress lines.
    PLAIN_EVERY_S = 10.0

    def __init__(self, total: int, label: str, unit: str, *, plain: bool = False):
        self.total, self.label, self.unit = max(total, 0), label, unit
        self.plain = plain and not sys.stderr.isatty()
        self.started = self.last = time.monotonic()
        self.done = 0
        self.bar = None
        if sys.stderr.isatty() and total:
            from tqdm import tqdm

            try:  # a terminal that does not say its size (a bare pty) is taken as 80 × 24
                size = os.get_terminal_size(sys.stderr.fileno())
                width, height = size.columns or 80, size.lines or 24
            except OSError:
                width, height = 80, 24
            self.bar = tqdm(
                total=total,
                desc=label,
                unit=unit,
                file=sys.stderr,
                leave=True,
                ncols=width,
                nrows=height,
            )

    def update(self, done: int, note: str = "") -> None:
        """Show ``done`` of the total, with a short ``note`` (``2 failed``)."""
        step, self.done = done - self.done, done
        if self.bar is not None:
            if note:
                self.bar.set_postfix_str(note, refresh=False)
            self.bar.update(step)
            return
        now = time.monotonic()
        if not self.plain or (done < self.total and now - self.last < self.PLAIN_EVERY_S):
            return
        self.last = now
        elapsed = now - self.started
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - done) / rate if rate > 0 else float("nan")
        notes = f" ({note})" if note else ""
        _err(
            f"{self.label}: {done}/{self.total} {self.unit}s{notes}, {elapsed:.0f} s, "
            f"{rate:.2f} {self.unit}s/s, ETA {eta:.0f} s"
        )

    def close(self) -> None:
        """End the bar (its line), so that messages start on their own line."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cdpsim")
def main() -> None:
    """cdpsim: agent-based simulation of MakerDAO-style stablecoins."""
    # pyarrow's default allocator, mimalloc, reserves 1 GiB of address space at its first
    # allocation, half of a `ulimit -v 2097152`; the system allocator reserves what it uses
    # (sim/stream.py). Read when pandas first imports pyarrow; batch workers inherit it.
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")


#: ``--data-dir DIR``: a folder besides the scenario's own that its data files may come from.
_data_dir_option = click.option(
    "--data-dir",
    "data_dirs",
    multiple=True,
    metavar="DIR",
    type=_Path(path_type=Path, exists=True, file_okay=False),
    help="Also allow data files (replayed CSVs) from this folder; by default only files in the "
    "scenario's own folder are read (repeatable).",
)


def _warn(path: Path, spec: Scenario, overrides: tuple[str, ...] = ()) -> None:
    """Print the scenario's advisories (valid, but probably not what was meant) to stderr.

    Each is blamed as errors are: on the ``--set`` that set its field, else on the file's line
    of the field (or of the nearest section holding it).
    """
    messages = advisories(spec)
    if not messages:
        return
    from sim.scenario.yamlfile import read_yaml

    try:
        _data, lines = read_yaml(path)
    except ScenarioError:
        lines = {}
    for message in messages:
        field = message.split(":", 1)[0]
        setting = [o for o in overrides if o.split("=", 1)[0].strip() == field]
        if setting:
            _err(f"{path} (--set {setting[-1]}): warning: {message}")
            continue
        parts = tuple(int(p) if p.isdigit() else p for p in field.split("."))
        while parts and parts not in lines:
            parts = parts[:-1]
        where = f"{path}:{lines[parts]}" if parts else str(path)
        _err(f"{where}: warning: {message}")


@main.command()
@click.argument("paths", nargs=-1)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="PATH=VALUE",
    help="Override a field of every scenario, e.g. --set ilks.ETH-A.mat=1.45 (repeatable).",
)
@_data_dir_option
@gallery_options
def validate(
    paths: tuple[str, ...],
    overrides: tuple[str, ...],
    data_dirs: tuple[Path, ...],
    gallery: bool,
    write: bool,
    events: bool,
    workers: int | None,
) -> None:
    """Validate scenario, sweep, calibration and case files: all errors, file:line: field.

    With --gallery: compare the model with published figures (sim/cli_gallery.py).
    """
    if wants_gallery(gallery, write, workers, events):
        others = {"--set": overrides, "--data-dir": data_dirs}
        sys.exit(
            validate_gallery(
                paths=paths,
                gallery=gallery,
                write=write,
                workers=workers,
                others=others,
                events=events,
            )
        )
    if not paths:
        raise click.UsageError("Missing argument 'PATHS...'.")
    from sim.files import expand_paths

    files, problems = expand_paths(paths)
    for problem in problems:
        _err(problem)
    bad = len(problems)
    from sim.scenario.yamlfile import read_yaml

    for path in files:
        try:
            data, lines = read_yaml(path)  # refuses a FIFO, a device or a folder at once
            if isinstance(data, dict) and "targets" in data:  # a calibration or a case file
                from sim.calibrate.cases import load_case
                from sim.calibrate.spec import load_calibration

                if overrides:
                    raise click.UsageError("--set applies to scenario files")
                (load_case if "sample" in data else load_calibration)(path)
            elif is_sweep_data(data):  # decided on the top-level keys, as every command does
                from sim.experiments.sweep import sweep_from_data

                if overrides:
                    raise click.UsageError("--set applies to scenario files, not sweep files")
                sweep_from_data(
                    data,
                    filename=str(path),
                    base_dir=path.parent,
                    lines=lines,
                    data_dirs=data_dirs,
                )
            else:
                spec = load_scenario(path, overrides=overrides, data_dirs=data_dirs)
                _warn(path, spec, overrides)
        except ScenarioError as exc:
            bad += 1
            _err(str(exc))
        else:
            _out(f"{path}: ok")
    sys.exit(EXIT_BAD_INPUT if bad else EXIT_OK)


@main.command()
@click.argument("scenario", type=_Path(path_type=Path))
@click.option(
    "--seed",
    type=click.IntRange(0, SEED_MAX),
    default=None,
    help=f"Run seed, 0 to {SEED_MAX} (default: the file's).",
)
@click.option(
    "--out",
    type=_Path(path_type=Path, file_okay=False),
    default=None,
    help="Run folder (default: runs/<scenario name>; with --set runs/<name>-set-<digest>).",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="PATH=VALUE",
    help="Override a scenario field, e.g. --set ilks.ETH-A.mat=1.45 (repeatable); the run goes "
    "to its own folder runs/<name>-set-<digest of the overrides> unless --out.",
)
@_data_dir_option
@click.option(
    "--force",
    is_flag=True,
    help="Write the run files into an existing folder that is not a cdpsim run folder "
    "(nothing else in it is touched).",
)
def run(
    scenario: Path,
    seed: int | None,
    out: Path | None,
    overrides: tuple[str, ...],
    data_dirs: tuple[Path, ...],
    force: bool,
) -> None:
    """Run one scenario, write its run folder and print its KPIs.

    SCENARIO is a scenario file, or the name of a shipped example (cdpsim examples lists them).
    The run folder must be new, empty or hold an earlier cdpsim run (which is replaced), unless
    --force. Ctrl-C or SIGTERM stop the run and keep the ticks computed (exit 130).
    """
    from sim.metrics import format_kpis
    from sim.rundir import OutputError, WriteError, is_run_folder
    from sim.runner import BuildError, RunInterrupted, run_and_write

    _sigterm_as_interrupt()
    from sim.cli_examples import scenario_path

    scenario = scenario_path(scenario)  # a bare name that is no file here: a shipped example
    try:
        spec = load_scenario(scenario, overrides=overrides, data_dirs=data_dirs)
    except ScenarioError as exc:
        _err(str(exc))
        sys.exit(EXIT_BAD_INPUT)
    _warn(scenario, spec, overrides)
    out = out if out is not None else set_folder(Path("runs") / spec.name, overrides)
    extra = {"set": {"overrides": list(overrides), "digest": overrides_digest(overrides)}}
    progress = _Bar(spec.n_ticks, spec.name, "tick")
    replacing = is_run_folder(out)
    try:
        result, folder = run_and_write(
            spec,
            out,
            seed=seed,
            force=force,
            progress=lambda d, _t: progress.update(d),
            manifest_extra=extra if overrides else None,
        )
    except OutputError as exc:  # refused before running
        progress.close()
        _err(str(exc))
        sys.exit(EXIT_BAD_INPUT)
    except BuildError as exc:
        progress.close()
        if exc.bad_input:  # the scenario passed validation but its pieces do not fit together
            _err(f"{scenario}: the scenario cannot be built: {exc}")
            sys.exit(EXIT_BAD_INPUT)
        _err(f"{scenario}: the model could not be built: {type(exc.cause).__name__}: {exc}")
        _err("".join(traceback.format_exception(exc.cause)))  # a bug: nothing to keep
        sys.exit(EXIT_RUN_FAILED)
    except RunInterrupted as exc:
        progress.close()
        _err(f"{scenario}: {_interrupted_message(exc, replacing)}")
        sys.exit(EXIT_INTERRUPTED)
    except WriteError as exc:
        progress.close()
        if exc.result is not None and exc.result.manifest["status"] != "ok":
            _err(f"{scenario}: the run failed at {exc.result.manifest['error'].splitlines()[0]}")
        _err(f"{scenario}: {exc}")
        sys.exit(EXIT_RUN_FAILED)
    except KeyboardInterrupt:
        progress.close()
        _err(f"{scenario}: interrupted before the first tick; nothing was written")
        sys.exit(EXIT_INTERRUPTED)
    except MemoryError:  # after the ticks (one in the tick loop is a failed run, kept)
        progress.close()
        _err(
            f"{scenario}: out of memory while finishing the run's tables; nothing was written "
            f"and {out} is as it was (fewer vaults, a longer record.vault_snapshot_every or "
            "more memory would let it finish)"
        )
        sys.exit(EXIT_RUN_FAILED)
    progress.close()
    manifest = result.manifest
    if manifest["status"] != "ok":
        _err(f"{scenario}: the run failed at {manifest['error'].splitlines()[0]}")
        _err(f"the {manifest['ticks']} ticks computed before are kept in {folder}")
        sys.exit(EXIT_RUN_FAILED)
    _out(f"{spec.name} (seed {manifest['seed']}, {manifest['ticks']} ticks) → {folder}")
    _out(format_kpis(result.summary))
    sys.exit(EXIT_OK)


def _interrupted_message(exc: RunInterrupted, replacing: bool) -> str:
    """What an interrupted run kept, and where."""
    ticks = f"the {exc.ticks} ticks computed"
    if exc.while_writing:
        if exc.folder is not None:
            return f"interrupted again while writing; {ticks} are kept in {exc.folder}"
        return (
            f"interrupted again while writing {exc.out}; it was left as it was (nothing "
            f"half-written) and {ticks} are lost"
        )
    head = f"interrupted at tick {exc.ticks} of {exc.n_ticks}"
    if exc.write_error is not None:
        return f"{head}; {exc.write_error}"
    kept = f"{head}; {ticks} are kept in {exc.folder}"
    if replacing:
        kept += " (replacing the earlier run there, as a new run there was asked for)"
    return kept


# ---------------------------------------------------------------------------------------- batch


def _seed_list(_ctx: click.Context, _param: click.Parameter, text: str | None) -> list[int] | None:
    """``--seed-list 1,5,9``: distinct integers from 0 to :data:`SEED_MAX`, no empty item.

    An empty item (``1,,2``, a trailing comma) is refused rather than skipped: it is more
    often a seed lost in typing than a stray comma.
    """
    if text is None:
        return None
    items = [part.strip() for part in text.split(",")]
    if len(items) > MAX_SEEDS:
        raise click.BadParameter(f"{len(items):,} seeds; at most {MAX_SEEDS:,}")
    seeds: list[int] = []
    seen: set[int] = set()
    for k, item in enumerate(items, start=1):
        if not item:
            where = f" of {text!r}" if len(text) <= 40 else ""
            raise click.BadParameter(
                f"item {k}{where} is empty; give a comma-separated list of integers, e.g. 1,5,9"
            )
        try:
            seed = int(item)
        except ValueError:
            shown = item if len(item) <= 40 else item[:39] + "…"
            raise click.BadParameter(
                f"{shown!r} is not an integer; give a comma-separated list of integers, e.g. 1,5,9"
            ) from None
        if not 0 <= seed <= SEED_MAX:
            raise click.BadParameter(f"the seed {item} is not in the range 0 to {SEED_MAX}")
        if seed in seen:
            raise click.BadParameter(
                f"the seed {seed} is given twice; each seed runs once per scenario"
            )
        seen.add(seed)
        seeds.append(seed)
    return seeds


_workers_option = click.option(
    "--workers",
    type=click.IntRange(0, MAX_WORKERS),
    default=None,
    help="Worker processes (default: every core; 0 or 1 runs in this process). At most the "
    "cores this process may use (more are cut to that, with a note) and the runs to do.",
)
_oversubscribe_option = click.option(
    "--oversubscribe",
    is_flag=True,
    help="Start --workers local workers even beyond the cores (each takes a few hundred MB).",
)
_backend_option = click.option(
    "--backend",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="local: a process pool on this machine; dask: a Dask cluster.",
)


def _scheduler(_ctx: click.Context, _param: click.Parameter, text: str | None) -> str | None:
    """``--scheduler``: its form checked before anything connects (a typo fails at once)."""
    if text is None:
        return None
    from sim.experiments.executors import scheduler_problem

    problem = scheduler_problem(text)
    if problem is not None:
        raise click.BadParameter(problem)
    return text.strip()


_scheduler_option = click.option(
    "--scheduler",
    metavar="ADDR",
    default=None,
    callback=_scheduler,
    help="Dask scheduler address: tcp://HOST:PORT, tls://HOST:PORT or HOST:PORT, e.g. "
    "tcp://10.0.0.5:8786 (default: a local cluster).",
)
_retry_failed_option = click.option(
    "--retry-failed",
    is_flag=True,
    help="With --resume, run the failed runs again too (missing, interrupted and lost runs — "
    "those whose worker process died — are always run again).",
)
_force_resume_option = click.option(
    "--force",
    is_flag=True,
    help="With --resume, continue although a scenario file, a data file it reads or the "
    "cdpsim or numpy version changed since the batch started (recorded in batch.json).",
)


def _workers(
    workers: int | None, backend: str, scheduler: str | None, oversubscribe: bool
) -> int | None:
    """``--workers`` cut to the cores this process may use, with a note on stderr.

    Not with ``--oversubscribe``, nor for a remote Dask cluster (it has the workers it has).
    The cut to the runs to do is :func:`sim.experiments.executors.local_workers`'s.
    """
    from sim.experiments.executors import default_workers

    cores = default_workers()
    local = backend == "local" or scheduler is None
    if workers is None or workers <= cores or oversubscribe or not local:
        return workers
    _err(
        f"note: --workers {workers} is more than the {cores} core{'s' if cores != 1 else ''} "
        f"this process may use; starting {cores} (add --oversubscribe to start {workers})"
    )
    return cores


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--seeds",
    "n_seeds",
    type=click.IntRange(1, MAX_SEEDS),
    default=None,
    help=f"Seeds per scenario, derived from --master-seed (1 to {MAX_SEEDS:,}).",
)
@click.option(
    "--seed-list",
    default=None,
    metavar="1,5,9",
    callback=_seed_list,
    help=f"Explicit seeds per scenario: distinct integers from 0 to {SEED_MAX}.",
)
@click.option(
    "--master-seed",
    type=click.IntRange(0, SEED_MAX),
    default=0,
    show_default=True,
    help="Seed the run seeds are derived from.",
)
@_workers_option
@_oversubscribe_option
@_backend_option
@_scheduler_option
@click.option(
    "--out",
    type=_Path(path_type=Path),
    default=None,
    help="Batch folder (default: runs/batch-<UTC time>, with --set runs/batch-<UTC "
    "time>-set-<digest>).",
)
@click.option(
    "--resume", is_flag=True, help="Continue the batch in --out: run only the runs missing there."
)
@click.option(
    "--keep",
    type=click.Choice(["full", "summary"]),
    default="full",
    show_default=True,
    help="summary: keep only each run's manifest and KPIs.",
)
@_retry_failed_option
@_force_resume_option
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="PATH=VALUE",
    help="Override a field of every scenario (repeatable).",
)
@_data_dir_option
def batch(
    paths: tuple[str, ...],
    n_seeds: int | None,
    seed_list: list[int] | None,
    master_seed: int,
    workers: int | None,
    oversubscribe: bool,
    backend: str,
    scheduler: str | None,
    out: Path | None,
    resume: bool,
    keep: str,
    retry_failed: bool,
    force: bool,
    overrides: tuple[str, ...],
    data_dirs: tuple[Path, ...],
) -> None:
    """Run scenario files (files, folders, globs) × seeds into one batch folder.

    Every file is validated first (all errors at once, exit 2). Each run is written to
    OUT/runs/<run id>/ as it ends and OUT/runs.parquet gathers them; a failing run is recorded
    with its error and the others go on (exit 1 at the end). Ctrl-C keeps the finished runs:
    the same command with --resume runs only what is missing. A run whose worker process died
    is run again at once, alone; if it kills its worker again it is recorded as lost, and
    --resume runs it again. --resume refuses inputs that changed since the batch started
    (a scenario file, a data file, the cdpsim version) unless --force.
    """
    from sim.experiments.batch import run_batch

    if n_seeds is not None and seed_list is not None:
        raise click.UsageError("give --seeds or --seed-list, not both")
    if scheduler is not None and backend != "dask":
        raise click.UsageError("--scheduler needs --backend dask")
    _sigterm_as_interrupt()
    seeds = seed_list if seed_list is not None else n_seeds
    workers = _workers(workers, backend, scheduler, oversubscribe)
    out = out if out is not None else set_folder(_default_batch_out(), overrides)
    argv = ["cdpsim", *sys.argv[1:]]
    command = shlex.join(argv)
    table = _run_experiment(
        lambda progress: run_batch(
            list(paths),
            seeds=seeds,
            master_seed=master_seed,
            overrides=overrides,
            workers=workers,
            backend=backend,
            scheduler=scheduler,
            out=out,
            resume=resume,
            keep=keep,  # type: ignore[arg-type]
            data_dirs=data_dirs,
            progress=progress,
            command=command,
            retry_failed=retry_failed,
            force=force,
            oversubscribe=oversubscribe,
        ),
        out,
        argv,
    )
    _batch_report(table, out)


def _run_experiment[T](
    start: Callable[[Callable[[object], None]], T],
    out: Path,
    argv: list[str],
    kept_note: str = "",
) -> T:
    """Run a batch or a sweep with a progress display, and turn its ends into exit codes.

    Bad input and a store or executor that cannot start exit 2 with their messages; Ctrl-C
    (or SIGTERM) exits 130 saying how many runs are kept and the command that runs the rest.

    Args:
        start: runs the batch or sweep, given the progress callback.
        out: the batch or sweep folder.
        argv: the command line's words (``cdpsim`` first), for the resume hint.
        kept_note: appended to the interruption message after the folder's name.
    """
    from sim.experiments.batch import BatchInputError, BatchInterrupted, BatchStopped
    from sim.experiments.executors import ExecutorError
    from sim.experiments.store import StoreError
    from sim.locks import LockError

    bar: _Bar | None = None

    def progress(p: object) -> None:
        nonlocal bar
        from sim.experiments.batch import Progress

        assert isinstance(p, Progress)
        if bar is None:
            bar = _Bar(p.total, out.name, "run", plain=True)
        bar.update(p.done, f"{p.failed} failed" if p.failed else "")

    try:
        return start(progress)
    except BatchInputError as exc:
        for line in exc.errors:
            _err(line)
        sys.exit(EXIT_BAD_INPUT)
    except (StoreError, ExecutorError, LockError) as exc:
        _err(str(exc))
        sys.exit(EXIT_BAD_INPUT)
    except BatchInterrupted as exc:
        if bar is not None:
            bar.close()
        _err(
            f"interrupted: {exc.done} of {exc.total} runs are done and kept in {exc.out}"
            f"{kept_note}; to run the rest: {_resume_command(argv, exc.out)}"
        )
        sys.exit(EXIT_INTERRUPTED)
    except BatchStopped as exc:
        if bar is not None:
            bar.close()
        _err(
            f"stopped: {exc.reason}\n{exc.done} of {exc.total} runs are done and kept in "
            f"{exc.out}{kept_note}; to run the rest: {_resume_command(argv, exc.out)}"
        )
        sys.exit(EXIT_RUN_FAILED)
    except OSError as exc:  # a table of the folder could not be written (disk full, ...)
        if bar is not None:
            bar.close()
        where = f"{exc.filename}: " if exc.filename else ""
        _err(
            f"cannot write {where}{exc.strerror or exc}; the runs done are kept in {out}; "
            f"when there is room again: {_resume_command(argv, out)}"
        )
        sys.exit(EXIT_RUN_FAILED)
    finally:
        if bar is not None:
            bar.close()


def _default_batch_out() -> Path:
    from sim.experiments.batch import default_out

    return default_out()


def _resume_command(argv: list[str], out: Path) -> str:
    """The command that resumes an interrupted batch or sweep: the same, in the same folder.

    Built from the command's words and quoted for a POSIX shell (:func:`shlex.join`), so that
    it can be pasted as it is, whatever spaces, quotes or ``$`` the paths hold.
    """
    words = list(argv)
    if "--out" not in words and not any(w.startswith("--out=") for w in words):
        words += ["--out", str(out)]
    if "--resume" not in words:
        words.append("--resume")
    return shlex.join(words)


def _risk_report(ok: Any) -> None:
    """The risk statistics of each scenario's ok runs on stdout, with the runs behind them.

    One line per scenario (``small: VaR 95 % = 0 Dai, ..., (n = 4 runs)``); on stderr one
    warning when they rest on fewer than :data:`sim.metrics.MIN_TAIL_RUNS` runs.
    """
    from sim.metrics import risk_by_scenario, risk_text, risk_warning

    stats = risk_by_scenario(ok)
    for name, found in stats.items():
        _out(f"  {name}: {risk_text(found)}")
    warning = risk_warning(stats)
    if warning:
        _err(f"warning: {warning}")


def _batch_report(table: object, out: Path, *, risk: bool = True) -> None:
    """Summary line on stdout, failures on stderr; exit 1 if any run failed.

    With ``risk``, the risk statistics of each scenario follow the summary line
    (:func:`_risk_report`).
    """
    import pandas as pd

    assert isinstance(table, pd.DataFrame)
    status = table["status"].fillna("missing")
    ok = int((status == "ok").sum())
    lost = table[status == "lost"]
    bad = table[(status != "ok") & (status != "lost")]
    counts = f"{ok} ok, {len(bad)} failed" + (f", {len(lost)} lost" if len(lost) else "")
    _out(f"{len(table)} runs: {counts} → {out / 'runs.parquet'}")
    if risk:
        _risk_report(table[status == "ok"])
    for warning in table.attrs.get("warnings", []):
        _err(f"warning: {warning}")
    if len(bad):
        _err(f"{len(bad)} run(s) failed (their partial results are kept):")
        for row in bad.itertuples():
            _err(f"  {row.run_id}: {row.error}")
    if len(lost):
        _err(
            f"{len(lost)} run(s) lost: their worker process died, also when each ran alone "
            "(out of memory?); --resume runs them again:"
        )
        for row in lost.itertuples():
            _err(f"  {row.run_id}")
    sys.exit(EXIT_RUN_FAILED if len(bad) or len(lost) else EXIT_OK)


# Commands kept in their own modules register themselves on ``main`` when imported.
from sim import cli_calibrate, cli_examples, cli_export, cli_output, cli_sweep  # noqa: E402, F401

if __name__ == "__main__":  # pragma: no cover
    # ``python -m sim.cli``: the commands of the modules above register on ``sim.cli.main``,
    # the module as imported, not on this ``__main__`` copy of it.
    from sim.cli import main as registered

    registered()
