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
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import click

from sim.scenario import Scenario, ScenarioError, advisories, load_scenario

if TYPE_CHECKING:
    from sim.runner import RunInterrupted

EXIT_OK, EXIT_RUN_FAILED, EXIT_BAD_INPUT = 0, 1, 2
#: Exit code of a run stopped by Ctrl-C or SIGTERM (128 + SIGINT, the shell's convention).
EXIT_INTERRUPTED = 130


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


def _raise_interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _sigterm_as_interrupt() -> None:
    """Until the command ends, SIGTERM stops a run as Ctrl-C does (what was computed is kept)."""
    if threading.current_thread() is not threading.main_thread():
        return
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    restore = previous if previous is not None else signal.SIG_DFL
    click.get_current_context().call_on_close(lambda: signal.signal(signal.SIGTERM, restore))


class _Progress:
    """A one-line progress bar on stderr, silent when stderr is not a terminal."""

    def __init__(self, total: int, label: str):
        self.total = max(total, 1)
        self.label = label
        self.enabled = sys.stderr.isatty()
        self.last = 0.0
        self.open = False  # a bar is drawn and its line not ended

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if done < self.total and now - self.last < 0.2:
            return
        self.last = now
        width = 30
        filled = int(width * done / self.total)
        sys.stderr.write(
            f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{self.total}"
        )
        self.open = done < self.total
        if not self.open:
            sys.stderr.write("\n")
        sys.stderr.flush()

    def end_line(self) -> None:
        """End the line of a bar cut short, so that messages start on their own line."""
        if self.open:
            sys.stderr.write("\n")
            self.open = False


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cdpsim")
def main() -> None:
    """cdpsim: agent-based simulation of MakerDAO-style stablecoins."""


#: ``--data-dir DIR``: a folder besides the scenario's own that its data files may come from.
_data_dir_option = click.option(
    "--data-dir",
    "data_dirs",
    multiple=True,
    metavar="DIR",
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    help="Also allow data files (replayed CSVs) from this folder; by default only files in the "
    "scenario's own folder are read (repeatable).",
)


def _warn(path: Path, spec: Scenario) -> None:
    """Print the scenario's advisories (valid, but probably not what was meant) to stderr."""
    for message in advisories(spec):
        _err(f"{path}: warning: {message}")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@_data_dir_option
def validate(paths: tuple[Path, ...], data_dirs: tuple[Path, ...]) -> None:
    """Validate scenario files (all errors, as file:line: field: message)."""
    bad = 0
    for path in paths:
        try:
            spec = load_scenario(path, data_dirs=data_dirs)
        except ScenarioError as exc:
            bad += 1
            _err(str(exc))
        else:
            _warn(path, spec)
            _out(f"{path}: ok")
    sys.exit(EXIT_BAD_INPUT if bad else EXIT_OK)


@main.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option(
    "--seed", type=click.IntRange(min=0), default=None, help="Run seed (default: the file's)."
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Run folder (default: runs/<scenario name>).",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="PATH=VALUE",
    help="Override a scenario field, e.g. --set ilks.ETH-A.mat=1.45 (repeatable).",
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

    The run folder must be new, empty or hold an earlier cdpsim run (which is replaced), unless
    --force. Ctrl-C or SIGTERM stop the run and keep the ticks computed (exit 130).
    """
    from sim.metrics import format_kpis
    from sim.rundir import OutputError, WriteError, is_run_folder
    from sim.runner import BuildError, RunInterrupted, run_and_write

    _sigterm_as_interrupt()

    try:
        spec = load_scenario(scenario, overrides=overrides, data_dirs=data_dirs)
    except ScenarioError as exc:
        _err(str(exc))
        sys.exit(EXIT_BAD_INPUT)
    _warn(scenario, spec)
    out = out if out is not None else Path("runs") / spec.name
    progress = _Progress(spec.n_ticks, spec.name)
    replacing = is_run_folder(out)
    try:
        result, folder = run_and_write(
            spec, out, seed=seed, force=force, progress=lambda d, _t: progress.update(d)
        )
    except OutputError as exc:  # refused before running
        _err(str(exc))
        sys.exit(EXIT_BAD_INPUT)
    except BuildError as exc:
        if exc.bad_input:  # the scenario passed validation but its pieces do not fit together
            _err(f"{scenario}: the scenario cannot be built: {exc}")
            sys.exit(EXIT_BAD_INPUT)
        _err(f"{scenario}: the model could not be built: {type(exc.cause).__name__}: {exc}")
        _err("".join(traceback.format_exception(exc.cause)))  # a bug: nothing to keep
        sys.exit(EXIT_RUN_FAILED)
    except RunInterrupted as exc:
        progress.end_line()
        _err(f"{scenario}: {_interrupted_message(exc, replacing)}")
        sys.exit(EXIT_INTERRUPTED)
    except WriteError as exc:
        progress.end_line()
        if exc.result is not None and exc.result.manifest["status"] != "ok":
            _err(f"{scenario}: the run failed at {exc.result.manifest['error'].splitlines()[0]}")
        _err(f"{scenario}: {exc}")
        sys.exit(EXIT_RUN_FAILED)
    except KeyboardInterrupt:
        progress.end_line()
        _err(f"{scenario}: interrupted before the first tick; nothing was written")
        sys.exit(EXIT_INTERRUPTED)
    manifest = result.manifest
    if manifest["status"] != "ok":
        progress.end_line()
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


if __name__ == "__main__":  # pragma: no cover
    main()
