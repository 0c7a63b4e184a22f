"""Run folders: where a run's six files go, and what cdpsim may and may not touch there.

An output folder belongs to cdpsim only if cdpsim made it. A run is written into

- a new folder (created with its missing parents), or an empty one;
- a folder holding an earlier cdpsim run, recognised by its ``manifest.json`` (``"kind":
  "cdpsim-run"``), whatever its format version (``"format"``: :data:`RUN_FORMAT` when this
  cdpsim wrote it; readers, :mod:`sim.results`, take only that version).

Anything else is refused with an :class:`OutputError` before anything runs, unless ``force``;
even then only the run files (:data:`RUN_FILES`) are written or replaced and nothing else in the
folder is touched. :func:`check_output_folder` makes the same checks without writing, so a caller
can refuse a bad ``--out`` before simulating.

Writing is atomic: the files are written into a hidden temporary folder ``.NAME.tmp-PID-XXXX``
next to ``NAME``, which is renamed into place; an earlier run there is first renamed to
``.NAME.old-PID-XXXX`` and removed afterwards, file by file, only when it holds nothing but run
files.
When the folder holds other things too (``force``, or a run folder a user added files to) or is
the current folder, the files are written into ``NAME/.cdpsim.tmp-PID-XXXX`` and each is moved
into ``NAME`` (``manifest.json`` last). A writer killed half way leaves those hidden folders:
:func:`clean_leftovers` (called by every write) removes the ones whose writer is dead and that
hold only run files. Folders and files follow the umask.

If the folder cannot be written (disk full, no permission, ...), :func:`write_with_fallback`
saves the run to :func:`fallback_folder` instead and raises a :class:`WriteError` naming both.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import json
import os
import platform
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.atomic import umask
from sim.locks import FolderLock, LockError

if TYPE_CHECKING:
    from sim.model import ProtocolModel
    from sim.record import RunResult

#: The files of a run folder, all written by cdpsim.
RUN_FILES = (
    "manifest.json",
    "timeseries.parquet",
    "events.parquet",
    "auctions.parquet",
    "vaults.parquet",
    "summary.json",
)
#: The Emergency Shutdown table, in a run folder only when the run had a shutdown.
SHUTDOWN_FILE = "shutdown.parquet"
#: Every file a run folder may hold.
ALL_RUN_FILES = (*RUN_FILES, SHUTDOWN_FILE)
#: ``manifest["kind"]`` of a run folder's manifest.
MANIFEST_KIND = "cdpsim-run"
#: ``manifest["format"]``: the version of the run folder's layout (its files, their columns,
#: the manifest's fields) this cdpsim writes and reads. A change that a reader of the previous
#: version could not read raises it; readers refuse any other version (:mod:`sim.results`).
RUN_FORMAT = 1
#: The manifest of a batch or sweep folder (written by :mod:`sim.experiments.store`).
BATCH_MANIFEST = "batch.json"
#: The folder of a batch or sweep that holds its run folders.
BATCH_RUNS = "runs"
#: ``manifest["status"]``: the run reached its end.
STATUS_OK = "ok"
#: ``manifest["status"]``: an error stopped the run (``manifest["error"]`` says which).
STATUS_FAILED = "failed"
#: ``manifest["status"]``: the run was stopped (Ctrl-C, SIGTERM) before its end.
STATUS_INTERRUPTED = "interrupted"
STATUSES = (STATUS_OK, STATUS_FAILED, STATUS_INTERRUPTED)
#: ``manifest["status"]`` of a batch's run whose worker process died while it ran (killed, out
#: of memory) and that died again when run alone: nothing was computed, ``--resume`` runs it
#: again. Written by the batch, never by a run.
STATUS_LOST = "lost"

_MANIFEST = "manifest.json"
_TMP_TAG, _OLD_TAG = "tmp", "old"
#: Prefix of the temporary folder inside a folder written in place.
_INPLACE_PREFIX = ".cdpsim"
#: Entries of a refused folder named in the message.
_LISTED_ENTRIES = 5
#: The permission bits a new folder gets before the umask.
_FOLDER_MODE = 0o777
#: How long the git revision may take [s].
_GIT_TIMEOUT_S = 5


class OutputError(Exception):
    """The output folder cannot be used; nothing was written.

    The message is for the user: ``"PATH: REASON"``, the folder and what is wrong with it.

    Attributes:
        path: the output folder as given.
        reason: what is wrong with it.
    """

    def __init__(self, path: str | Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason

    def __reduce__(self):
        """Pickle with the constructor's arguments (process pools send errors back)."""
        return (type(self), (self.path, self.reason))


class WriteError(Exception):
    """Writing the run folder failed after the run; the run was saved elsewhere if possible.

    Attributes:
        path: the output folder that could not be written.
        reason: why (e.g. ``No space left on device``).
        ticks: ticks the run computed.
        fallback: where the run was saved instead (``None`` if that failed too).
        fallback_reason: why the fallback failed (``None`` if it did not).
        result: the run's result (the caller still has its tables and KPIs).
    """

    def __init__(
        self,
        path: str | Path,
        reason: str,
        *,
        ticks: int,
        fallback: Path | None,
        fallback_reason: str | None = None,
        result: RunResult | None = None,
    ):
        self.path = Path(path)
        self.reason = reason
        self.ticks = ticks
        self.fallback = fallback
        self.fallback_reason = fallback_reason
        self.result = result
        if fallback is not None:
            message = (
                f"cannot write {path}: {reason}; "
                f"the run ({ticks} ticks) was saved to {fallback} instead"
            )
        else:
            message = (
                f"cannot write {path}: {reason}; nor a fallback folder: {fallback_reason}; "
                f"the {ticks} ticks computed are lost"
            )
        super().__init__(message)

    def __reduce__(self):
        """Pickle with the constructor's arguments, without the run's tables."""
        return (
            _write_error,
            (self.path, self.reason, self.ticks, self.fallback, self.fallback_reason),
        )


def _write_error(
    path: Path, reason: str, ticks: int, fallback: Path | None, fallback_reason: str | None
) -> WriteError:
    """A :class:`WriteError` rebuilt from its pickled arguments (its result is not sent)."""
    return WriteError(path, reason, ticks=ticks, fallback=fallback, fallback_reason=fallback_reason)


# ------------------------------------------------------------------------------------- manifest


@functools.cache
def _git_revision() -> str | None:
    """The git revision of the cdpsim source, once per process (a batch writes many manifests)."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def build_manifest(
    model: ProtocolModel, *, wall_time_s: float, status: str, error: str | None = None
) -> dict[str, Any]:
    """The run's manifest: marker, format, resolved scenario, seed, versions, wall time, status.

    Args:
        model: the (finished or stopped) model.
        wall_time_s: the run's wall time [s].
        status: one of :data:`STATUSES`.
        error: the error and its traceback, for a failed run.

    Returns:
        The manifest, ``manifest["kind"] == MANIFEST_KIND``, ``manifest["format"] ==
        RUN_FORMAT``.
    """
    import mesa
    import pyarrow

    from sim.scenario import advisories
    from sim.version import version

    if status not in STATUSES:
        raise ValueError(f"status {status!r} is not one of {STATUSES}")
    return {
        "kind": MANIFEST_KIND,
        "format": RUN_FORMAT,
        "scenario": model.given.to_dict(),
        "seed": model.seed,
        "ticks": model.recorder.rows - 1,
        "status": status,
        "error": error,
        "cdpsim_version": version(),
        "git_revision": _git_revision(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "pyarrow": pyarrow.__version__,
        "mesa": mesa.__version__,
        "wall_time_s": round(wall_time_s, 3),
        "warnings": advisories(model.given),
        "data_held": dict(model.data_held),
        "data_files": data_file_digests(model.given),
        "files": list(RUN_FILES) + ([SHUTDOWN_FILE] if model.shutdown is not None else []),
    }


def data_file_digests(scenario: Any) -> list[dict[str, str | None]]:
    """Every data file the scenario reads (replayed series, vault books) with its SHA-256.

    Paths are relative to the scenario's folder, as the scenario names them, so that no
    absolute path of the machine is recorded; a batch's ``batch.json`` records the same files
    for ``--resume``.

    Returns:
        ``[{"file": "data/eth_a_book.csv", "sha256": "…"}, …]`` in the scenario's order
        (``sha256`` ``None`` for a file that can no longer be read).
    """
    out = []
    for path in scenario.data_files():
        digest: Any = hashlib.sha256()
        try:
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            digest = digest.hexdigest()
        except OSError:  # gone since the run read it: nothing to vouch for
            digest = None
        shown = Path(os.path.relpath(path, scenario.base_dir)).as_posix()
        out.append({"file": shown, "sha256": digest})
    return out


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _to_json(payload: Any) -> str:
    return json.dumps(payload, indent=2, default=_json_default, allow_nan=True) + "\n"


def read_manifest(path: str | Path) -> dict[str, Any] | None:
    """The manifest of a run folder, or ``None`` if ``path`` holds no readable cdpsim manifest.

    Any format version: whether cdpsim made the folder (and may replace it) does not depend on
    it; :func:`sim.results.read_run_manifest` is the reader that checks it.
    """
    try:
        manifest = json.loads((Path(path) / _MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if isinstance(manifest, dict) and manifest.get("kind") == MANIFEST_KIND:
        return manifest
    return None


def is_run_folder(path: str | Path) -> bool:
    """Whether ``path`` is a folder holding a cdpsim run (its manifest says so)."""
    path = Path(path)
    return path.is_dir() and read_manifest(path) is not None


def holds_run(path: str | Path, result: RunResult) -> bool:
    """Whether the run folder ``path`` holds exactly the run ``result`` (same manifest)."""
    found = read_manifest(path)
    return found is not None and found == json.loads(_to_json(result.manifest))


# ------------------------------------------------------------------------------------ checks


def _entries(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


def _only_run_files(path: Path) -> bool:
    """Whether ``path`` holds nothing but regular files named like run files."""
    try:
        entries = list(path.iterdir())
    except OSError:
        return False
    return all(p.name in ALL_RUN_FILES and p.is_file() and not p.is_symlink() for p in entries)


def _describe(names: list[str]) -> str:
    shown = ", ".join(names[:_LISTED_ENTRIES])
    more = len(names) - _LISTED_ENTRIES
    return f"{shown} and {more} more" if more > 0 else shown


def _home() -> Path | None:
    try:
        return Path.home().resolve()
    except (RuntimeError, KeyError, OSError):
        return None


def _is_cwd_or_above(path: Path) -> bool:
    try:
        cwd = Path.cwd().resolve()
    except OSError:
        return False
    return path == cwd or path in cwd.parents


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK | os.X_OK)


def _inspect(out: Path, force: bool) -> tuple[Path, str]:
    """Check ``out`` and say how a run would be written there.

    Returns:
        The resolved folder and the mode: ``new`` (it does not exist), ``swap`` (empty, or an
        earlier run holding only run files: replaced atomically) or ``inplace`` (run files
        written into it, nothing else touched).

    Raises:
        OutputError: the folder cannot be used.
    """
    try:
        resolved = out.expanduser().resolve()
    except (OSError, RuntimeError) as exc:
        raise OutputError(out, f"cannot resolve the folder: {exc}") from exc
    if resolved == Path(resolved.anchor):
        raise OutputError(out, f"refusing to write a run into the root folder {resolved}")
    if resolved == _home():
        raise OutputError(out, f"refusing to write a run into your home folder {resolved}")
    nearest = resolved
    try:
        while not nearest.exists():
            nearest = nearest.parent
    except OSError as exc:
        raise OutputError(out, f"cannot look into {nearest}: {exc.strerror}") from exc
    if not nearest.is_dir():
        what = "it is a file" if nearest == resolved else f"{nearest} is a file"
        raise OutputError(out, f"not a folder: {what}")
    if nearest != resolved:
        if not _writable(nearest):
            raise OutputError(out, f"no permission to create folders in {nearest}")
        return resolved, "new"
    try:
        names = _entries(resolved)
    except OSError as exc:
        raise OutputError(out, f"cannot list the folder: {exc.strerror}") from exc
    run = is_run_folder(resolved)
    here = _is_cwd_or_above(resolved)
    if here and not run:
        raise OutputError(
            out,
            f"refusing to write a run into {resolved}, the current folder or one above it, "
            "which is not a cdpsim run folder; name a new folder instead",
        )
    if names and not run and not force:
        raise OutputError(
            out,
            f"not a cdpsim run folder, it holds {_describe(names)}; choose another "
            "output folder, or use --force to write the run files into it (nothing else in it "
            "is changed)",
        )
    swap = not here and (not names or (run and _only_run_files(resolved)))
    if swap:
        if not _writable(resolved.parent):
            raise OutputError(out, f"no permission to write in {resolved.parent}")
        return resolved, "swap"
    if not _writable(resolved):
        raise OutputError(out, "no permission to write in the folder")
    return resolved, "inplace"


def check_not_in_batch(path: str | Path) -> None:
    """Refuse a single run's folder that is a batch or sweep folder, or one of its run folders.

    A run's files would mix with the batch's (its figures and tables would then read it as a
    run), and a folder among a batch's runs would become a run of that batch. Not even
    ``--force`` allows it.

    Raises:
        OutputError: ``path`` is, or is directly in the ``runs/`` of, a batch or sweep folder.
    """
    try:
        resolved = Path(path).expanduser().resolve()
    except (OSError, RuntimeError):
        return  # _inspect says why
    if (resolved / BATCH_MANIFEST).is_file():
        raise OutputError(
            path,
            "a cdpsim batch or sweep folder; a run written into it would mix with its runs: "
            "choose another output folder",
        )
    batch = resolved.parent.parent
    if resolved.parent.name == BATCH_RUNS and (batch / BATCH_MANIFEST).is_file():
        raise OutputError(
            path,
            f"inside the batch or sweep folder {batch}, among its runs; cdpsim batch and "
            "cdpsim sweep write those: choose another output folder",
        )


def lock_run_folder(path: str | Path) -> FolderLock:
    """Take the lock of a run folder for the whole run: one writer per folder.

    The lock is a hidden file next to the folder (:meth:`sim.locks.FolderLock.beside`), whose
    missing parents are created; the caller releases it when the run is written.

    Raises:
        OutputError: another cdpsim process is writing the folder (its PID is named), or the
            lock file cannot be created.
    """
    lock = FolderLock.beside(Path(path).expanduser().absolute())
    try:
        lock.path.parent.mkdir(parents=True, exist_ok=True)
        return lock.acquire()
    except LockError as exc:
        raise OutputError(
            path,
            f"in use by another cdpsim process ({exc.holder}); wait for it "
            "to finish or stop it, or choose another output folder",
        ) from None
    except OSError as exc:
        raise OutputError(
            path, f"cannot create its lock file {lock.path}: {_reason(exc)}"
        ) from None


def check_output_folder(path: str | Path, force: bool = False) -> None:
    """Check that a run may be written to ``path``, without writing anything.

    Args:
        path: the run folder.
        force: accept an existing folder that is not a cdpsim run folder (its other files are
            left alone).

    Raises:
        OutputError: the folder cannot be used (the message says why).
    """
    _inspect(Path(path), force)


# ----------------------------------------------------------------------------------- leftovers


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process
        return True
    return True


def _remove_run_files(folder: Path) -> bool:
    """Remove ``folder`` if it holds only run files (unlinking those only); whether it went."""
    if not _only_run_files(folder):
        return False
    try:
        for entry in folder.iterdir():
            if entry.name in ALL_RUN_FILES:
                entry.unlink()
        folder.rmdir()
    except OSError:
        return False
    return True


def clean_leftovers(out: str | Path, *, siblings: bool = True) -> list[Path]:
    """Remove the hidden folders a killed write to ``out`` left behind.

    Only ``.NAME.tmp-PID-*`` / ``.NAME.old-PID[-*]`` next to ``out`` and ``.cdpsim.tmp-PID-*``
    inside it are considered, and only those whose writer (``PID``) is no longer running and that
    hold nothing but run files.

    Args:
        out: the run folder.
        siblings: also look next to it (``False``: only inside it; a batch cleans the
            siblings of all its runs at once, :func:`clean_sibling_leftovers`).

    Returns:
        The folders removed.
    """
    resolved = Path(out).expanduser().resolve()
    places = [
        (resolved, re.compile(rf"{re.escape(_INPLACE_PREFIX)}\.{_TMP_TAG}-(\d+)-.+()")),
    ]
    if siblings:
        places.insert(0, (resolved.parent, _leftover_pattern(re.escape(resolved.name))))
    return _clean(places)


def clean_sibling_leftovers(parent: str | Path) -> list[Path]:
    """Remove the hidden folders killed writes left next to any run folder in ``parent``.

    What :func:`clean_leftovers` does beside one run folder, for every run folder of ``parent``
    at once: a batch calls it once on its ``runs`` folder, so that each of its runs need not list
    that folder again (a listing per run would grow with the batch: 0.3 s a run at 65 536 runs).
    Only ``.NAME.tmp-PID-*`` / ``.NAME.old-PID[-*]`` whose writer is dead and that hold nothing
    but run files are removed.

    Args:
        parent: the folder holding run folders.

    Returns:
        The folders removed.
    """
    return _clean([(Path(parent).expanduser().resolve(), _leftover_pattern(r"[^/]+?"))])


def _leftover_pattern(name: str) -> re.Pattern[str]:
    """The hidden temporary or old folder of a write to the run folder ``name`` (a regex)."""
    return re.compile(rf"\.{name}\.(?:{_TMP_TAG}-(\d+)-.+|{_OLD_TAG}-(\d+)(?:-.+)?)")


def _clean(places: list[tuple[Path, re.Pattern[str]]]) -> list[Path]:
    """Remove the entries of each folder matching its pattern whose writer (PID) is dead."""
    removed = []
    for folder, pattern in places:
        try:
            candidates = list(folder.iterdir())
        except OSError:
            continue
        for entry in candidates:
            match = pattern.fullmatch(entry.name)
            if match is None or not entry.is_dir() or entry.is_symlink():
                continue
            pid = int(match.group(1) or match.group(2))
            if not _pid_alive(pid) and _remove_run_files(entry):
                removed.append(entry)
    return removed


# ------------------------------------------------------------------------------------- writing


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM for the block (they are delivered after it)."""
    held = {signal.SIGINT, signal.SIGTERM}
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def run_files(result: RunResult) -> tuple[str, ...]:
    """The files a run folder of ``result`` holds: its manifest's ``files``.

    All six by default; a batch run kept as a summary lists only ``manifest.json`` and
    ``summary.json``.
    """
    files = tuple(result.manifest.get("files", RUN_FILES))
    unknown = set(files) - set(ALL_RUN_FILES)
    if unknown or _MANIFEST not in files:
        raise ValueError(f"a run folder holds the manifest and some of {RUN_FILES}, not {files}")
    return files


def _write_files(result: RunResult, folder: Path) -> None:
    """The run files into ``folder``, ``manifest.json`` last.

    A table the result holds is written in one go (:func:`sim.stream.write_frame`); one it
    stores (a streamed run's, :meth:`~sim.record.RunResult.stored`) is already in ``folder``
    (its temporary folder) or is copied from its file. Stored tables the run folder does not
    keep (a batch run kept as a summary) are removed from ``folder``.
    """
    from sim.stream import write_frame  # pyarrow: imported on use

    files = run_files(result)
    names = ["timeseries", "events", "auctions", "vaults"]
    if result.shutdown is not None:
        names.append("shutdown")
    for table in names:
        name = f"{table}.parquet"
        stored = result.stored(table)
        if stored is not None:
            if name not in files:
                if stored.parent == folder:
                    stored.unlink(missing_ok=True)
            elif stored != folder / name:
                shutil.copyfile(stored, folder / name)
        elif name in files:
            write_frame(getattr(result, table), folder / name)
    if "summary.json" in files:
        (folder / "summary.json").write_text(_to_json(result.summary))
    (folder / _MANIFEST).write_text(_to_json(result.manifest))


def _temp_folder(parent: Path, prefix: str, private: bool = False) -> Path:
    tmp = Path(tempfile.mkdtemp(prefix=f"{prefix}.{_TMP_TAG}-{os.getpid()}-", dir=parent))
    if not private:
        tmp.chmod(_FOLDER_MODE & ~umask())  # mkdtemp makes it 0700
    return tmp


class RunFolder:
    """A run folder being written: its hidden temporary folder, made before the run.

    A streamed run (:mod:`sim.stream`) writes its tables into :attr:`tmp` while it runs;
    :meth:`commit` adds the other files and puts the folder in place atomically, as
    :func:`write_run_folder` does; :meth:`discard` removes the temporary folder.

    Args:
        out: the run folder.
        force: as in :func:`write_run_folder`.
        private: as in :func:`write_run_folder`.
        clean: remove what killed writes left beside the folder (:func:`clean_leftovers`);
            a batch cleans its ``runs`` folder once instead (:func:`clean_sibling_leftovers`).

    Raises:
        OutputError: the folder cannot be used (nothing was written).
        OSError: the temporary folder cannot be made.

    Attributes:
        out: the run folder as given.
        tmp: the temporary folder (``.NAME.tmp-PID-XXXX`` next to it, or
            ``NAME/.cdpsim.tmp-PID-XXXX`` inside it for a folder written in place).
    """

    def __init__(
        self, out: str | Path, force: bool = False, *, private: bool = False, clean: bool = True
    ):
        self.out = Path(out)
        self.force = force
        target, mode = _inspect(self.out, force)
        if clean:
            clean_leftovers(target)
        elif mode == "inplace":  # a batch cleaned the siblings; what a killed write left inside
            clean_leftovers(target, siblings=False)
        self._target = target
        self._inside = mode == "inplace"
        #: Folders made for the run folder's parent (removed again by :meth:`discard` if empty).
        self._made: list[Path] = []
        if self._inside:
            self.tmp = _temp_folder(target, _INPLACE_PREFIX)
        else:
            missing = target.parent
            while not missing.exists():
                self._made.append(missing)
                missing = missing.parent
            target.parent.mkdir(parents=True, exist_ok=True)
            self.tmp = _temp_folder(target.parent, f".{target.name}", private=private)

    def commit(self, result: RunResult) -> Path:
        """Write the rest of the run's files and put the folder in place; ``out``.

        The folder is checked again (it may have changed while the run ran). On an error the
        temporary folder is kept (:meth:`discard` it, or save its files elsewhere first).

        Raises:
            OutputError: the folder may no longer be used.
            OSError: writing failed.
        """
        target, mode = _inspect(self.out, self.force)
        _write_files(result, self.tmp)
        if self._inside or mode == "inplace":
            _move_in(result, self.tmp, target)
            return self.out
        old = target.with_name(f".{target.name}.{_OLD_TAG}-{os.getpid()}-{secrets.token_hex(4)}")
        with _signals_held():
            if mode == "swap" and target.exists() and any(target.iterdir()):
                if not (_only_run_files(target) and is_run_folder(target)):
                    raise OutputError(self.out, "the folder changed while the run was written")
                target.rename(old)
                try:
                    self.tmp.rename(target)
                except BaseException:
                    old.rename(target)
                    raise
            else:
                self.tmp.rename(target)  # a new folder, or over an empty one
            if old.exists():
                _remove_run_files(old)
        return self.out

    def discard(self) -> None:
        """Remove the temporary folder and what it holds, and the parents made for it if empty."""
        shutil.rmtree(self.tmp, ignore_errors=True)
        for made in self._made:  # innermost first; one another process filled stays
            try:
                made.rmdir()
            except OSError:
                break


def write_run_folder(
    result: RunResult, out: str | Path, force: bool = False, *, private: bool = False
) -> Path:
    """Write the run files of ``result`` into the folder ``out``.

    See the module's docstring for what is written where; the folder is checked as by
    :func:`check_output_folder` first, and leftovers of killed writes are cleaned.

    Args:
        result: the run.
        out: the run folder (created with its parents if missing).
        force: write into an existing folder that is not a cdpsim run folder.
        private: a new folder readable by this user only (0700, whatever the umask), as for a
            fallback folder in the shared temporary folder.

    Returns:
        ``out``.

    Raises:
        OutputError: the folder cannot be used (nothing was written).
        OSError: writing failed (nothing was left half written).
    """
    folder = RunFolder(out, force, private=private)
    try:
        return folder.commit(result)
    except BaseException:
        folder.discard()
        raise


def _move_in(result: RunResult, tmp: Path, target: Path) -> None:
    """Move the run files from ``tmp`` into ``target`` one by one, the manifest last."""
    with _signals_held():
        target.mkdir(parents=True, exist_ok=True)
        files = run_files(result)
        for name in sorted(files, key=lambda f: f == _MANIFEST):  # the manifest last
            os.replace(tmp / name, target / name)
        stale = target / SHUTDOWN_FILE
        if SHUTDOWN_FILE not in files and stale.is_file() and not stale.is_symlink():
            stale.unlink()  # an earlier run's shutdown table does not describe this run
        tmp.rmdir()


def fallback_folder(name: str, *, now: dt.datetime | None = None) -> Path:
    """Where a run that cannot be written to its folder is saved instead.

    A new folder ``cdpsim-<name>-<UTC time>-<pid>`` in :func:`tempfile.gettempdir`
    (``-2``, ``-3``, ... appended if it exists), written by :func:`write_with_fallback` with
    mode 0700: the shared temporary folder is readable by every user of the machine.

    Args:
        name: the scenario's name.
        now: the time to stamp (default: now).

    Returns:
        A path that does not exist yet.
    """
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "run"
    base = Path(tempfile.gettempdir()) / f"cdpsim-{safe}-{stamp}-{os.getpid()}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def _reason(exc: OSError | OutputError) -> str:
    if isinstance(exc, OutputError):
        return exc.reason
    return exc.strerror or str(exc)


def write_with_fallback(
    result: RunResult, out: str | Path, force: bool = False, *, folder: RunFolder | None = None
) -> Path:
    """Write the run folder, or, if that fails, save the run to :func:`fallback_folder`.

    Args:
        result: the run.
        out: the run folder.
        force: as in :func:`write_run_folder`.
        folder: the run folder made before the run (a streamed run's, holding its stored
            tables): committed rather than a new one written. It is removed once the run is
            in ``out`` or in the fallback folder; when both fail it is kept if it holds tables
            the run streamed (their only copy; :func:`clean_leftovers` removes it once this
            process has ended).

    Returns:
        ``out``, written.

    Raises:
        WriteError: ``out`` could not be written; ``fallback`` says where the run went (or
            ``None`` with ``fallback_reason`` if that failed too).
    """
    try:
        if folder is None:
            return write_run_folder(result, out, force=force)
        written = folder.commit(result)
        _follow(result, Path(out))
        return written
    except (OSError, OutputError) as exc:
        reason, first = _reason(exc), exc
    ticks = int(result.manifest.get("ticks", len(result.timeseries) - 1))
    name = str(result.manifest.get("scenario", {}).get("name", "run"))
    fallback = fallback_folder(name)
    try:
        write_run_folder(result, fallback, private=True)
    except (OSError, OutputError) as exc:
        fallback_reason = f"{fallback}: {_reason(exc)}"
        if folder is not None:
            if any(result.stored(t) for t in ("timeseries", "events", "vaults")):
                fallback_reason += f"; the tables it streamed are kept in {folder.tmp}"
            else:
                folder.discard()
        raise WriteError(
            out, reason, ticks=ticks, fallback=None, fallback_reason=fallback_reason, result=result
        ) from first
    if folder is not None:
        _follow(result, fallback)
        folder.discard()
    raise WriteError(out, reason, ticks=ticks, fallback=fallback, result=result) from first


def _follow(result: RunResult, folder: Path) -> None:
    """Point a streamed run's stored tables at the folder its files went to."""
    if hasattr(result, "folder"):
        result.folder = folder


__all__ = [
    "MANIFEST_KIND",
    "RUN_FILES",
    "RUN_FORMAT",
    "STATUSES",
    "STATUS_FAILED",
    "STATUS_INTERRUPTED",
    "STATUS_LOST",
    "STATUS_OK",
    "OutputError",
    "RunFolder",
    "WriteError",
    "build_manifest",
    "check_output_folder",
    "clean_leftovers",
    "clean_sibling_leftovers",
    "fallback_folder",
    "holds_run",
    "is_run_folder",
    "lock_run_folder",
    "read_manifest",
    "write_run_folder",
    "write_with_fallback",
]
