"""Runs on a Dask cluster: checking the workers, and where each run's folder lands.

A batch's runs write their folders into the batch folder. On a cluster the worker that runs a
task is another process, often on another machine, so two things are checked rather than
assumed:

- **The workers' software.** Before the first task, every worker reports the versions of
  cdpsim, Python, numpy, pandas and pyarrow (:func:`sim.experiments.store.versions`, the ones
  ``batch.json`` records). A worker that cannot import cdpsim, or has another version of any of
  them (whose results could differ from a local run's in the last bit), stops the batch before
  it starts, naming the worker (:func:`check_reports`).
- **The store.** The client writes a token file (a random secret) in the batch folder's
  temporary area; a worker *sees the store* when it reads that secret at the same absolute path
  (:func:`sees_store`): the same file system, not only a folder of the same name. A worker that
  sees the store writes the run folder there itself (shared storage: a risk team's HPC cluster
  with a shared file system; nothing travels back but the run's row). A worker that does not
  (a cloud Dask cluster without a shared file system, or one node with the mount missing) runs
  the task into a temporary folder of its own and **ships** the files back (:class:`Shipped`);
  the client writes them into the batch folder, atomically and byte for byte
  (:func:`land`). ``CDPSIM_DASK_RESULTS=ship`` ships every run, without looking.

Either way no run is lost to a folder nobody reads: without the check a worker that cannot see
the batch folder would create one of the same name on its own disk.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.experiments.batch import RunSpec
from sim.experiments.store import run_row
from sim.rundir import (
    _OLD_TAG,
    ALL_RUN_FILES,
    _only_run_files,
    _remove_run_files,
    _signals_held,
    _temp_folder,
)

#: Environment variable choosing where runs are written on a Dask cluster (see ``RESULTS``).
RESULTS_ENV = "CDPSIM_DASK_RESULTS"
#: ``auto``: a worker that sees the batch folder writes there, the others ship their runs back;
#: ``ship``: every run is shipped back and written by the client.
RESULTS = ("auto", "ship")
#: Prefix of the token file in the batch folder's temporary area.
TOKEN_PREFIX = "cluster-token-"


class ClusterError(RuntimeError):
    """The cluster's workers cannot run this batch as they are (message says why)."""


@dataclass(frozen=True)
class StoreToken:
    """A file only the client can have written: proof that a worker sees the same file system.

    Attributes:
        path: the token file's absolute path.
        secret: its content.
    """

    path: str
    secret: str


def make_token(folder: str | Path) -> StoreToken:
    """Write a new token file into ``folder`` (created if missing).

    Raises:
        OSError: the folder or the file cannot be written.
    """
    folder = Path(folder).absolute()
    folder.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(16)
    path = folder / f"{TOKEN_PREFIX}{secrets.token_hex(4)}"
    path.write_text(secret, encoding="ascii")
    return StoreToken(str(path), secret)


def remove_token(token: StoreToken | None) -> None:
    """Remove a token file (if it is still there)."""
    if token is not None:
        with contextlib.suppress(OSError):
            Path(token.path).unlink()


#: Tokens this worker process has seen (a positive answer does not change; a negative one is
#: asked again, as a shared file system may show a new file late).
_SEEN: set[StoreToken] = set()


def sees_store(token: StoreToken) -> bool:
    """Whether this process reads the token's secret at the token's path."""
    if token in _SEEN:
        return True
    try:
        seen = Path(token.path).read_text(encoding="ascii") == token.secret
    except (OSError, UnicodeDecodeError):
        return False
    if seen:
        _SEEN.add(token)
    return seen


def worker_report(token: StoreToken | None) -> dict[str, Any]:
    """What a worker tells the client before the first task: its versions and its view.

    Runs on the worker (``Client.run``).
    """
    import socket

    from sim.experiments.store import versions

    return {
        "versions": versions(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "sees_store": None if token is None else sees_store(token),
    }


def check_reports(reports: dict[str, Any], here: dict[str, str]) -> list[str]:
    """The problems of the workers' reports (empty when every worker can run the batch).

    Args:
        reports: worker address → :func:`worker_report`'s answer, or the exception it raised.
        here: the client's :func:`~sim.experiments.store.versions`.
    """
    problems = []
    for address, report in sorted(reports.items()):
        if isinstance(report, BaseException):
            what = f"{type(report).__name__}: {report}"
            if isinstance(report, ImportError):
                problems.append(
                    f"the worker at {address} cannot import cdpsim ({what}): install cdpsim in "
                    "the workers' environment, the same version as here"
                )
            else:
                problems.append(f"the worker at {address} cannot report its versions ({what})")
            continue
        theirs = report.get("versions", {})
        differ = [
            f"{name} {theirs.get(name, '(none)')} (here {mine})"
            for name, mine in here.items()
            if theirs.get(name) != mine
        ]
        if differ:
            problems.append(
                f"the worker at {address} ({report.get('host', '?')}) has "
                + ", ".join(differ)
                + ": its runs could differ from this machine's; run the workers with the same "
                "versions (the same environment)"
            )
    return problems


@dataclass(frozen=True)
class Shipped:
    """A run that a worker wrote into a temporary folder of its own, sent back as bytes.

    Attributes:
        files: (file name, content) of every file of the run folder, in name order.
        result: what the task function returned on the worker (the run's row).
    """

    files: tuple[tuple[str, bytes], ...]
    result: Any


def run_on_worker(
    fn: Callable[[Any], Any],
    task: Any,
    token: StoreToken | None,
    ship: bool,
    expected: dict[str, str] | None = None,
) -> Any:
    """Run ``fn(task)`` on a worker, writing where the worker can (module docstring).

    A task without a ``folder`` (a calibration's candidate) and a task whose worker sees the
    store run as they are; any other task runs into a temporary folder of this worker's and
    comes back as :class:`Shipped`.

    Raises:
        ClusterError: this worker's versions differ from ``expected`` (the client's): a worker
            that joined after the start's check.
    """
    if expected is not None:
        _check_versions(expected)
    folder = getattr(task, "folder", None)
    if folder is None or (not ship and (token is None or sees_store(token))):
        return fn(task)
    with tempfile.TemporaryDirectory(prefix="cdpsim-ship-") as tmp:
        local = Path(tmp) / "runs" / Path(folder).name
        result = fn(relocated(task, str(local)))
        files = (
            tuple((p.name, p.read_bytes()) for p in sorted(local.iterdir()) if p.is_file())
            if local.is_dir()
            else ()
        )
    return Shipped(files, result)


_CHECKED: list[dict[str, str]] = []


def _check_versions(expected: dict[str, str]) -> None:
    """Raise :class:`ClusterError` unless this process has the ``expected`` versions."""
    if expected in _CHECKED:
        return
    import socket

    problems = check_reports({socket.gethostname(): worker_report(None)}, expected)
    if problems:
        raise ClusterError(problems[0])
    _CHECKED.append(expected)


def relocated(task: Any, folder: str) -> Any:
    """``task`` writing into ``folder`` while recording itself as written where it belongs.

    A batch run records paths relative to its batch folder (the scenario file's, in the
    manifest's ``batch`` section), so the copy keeps answering with the original folder.
    """
    if isinstance(task, RunSpec):
        fields = {f.name: getattr(task, f.name) for f in dataclasses.fields(RunSpec)}
        return _Relocated(**{**fields, "folder": folder}, origin=task.folder)
    return dataclasses.replace(task, folder=folder)


@dataclass(frozen=True)
class _Relocated(RunSpec):
    """A run spec writing into a temporary folder, recorded as its original folder."""

    origin: str = ""

    def batch_info(self) -> dict[str, Any]:
        """The ``batch`` section as the run in its original folder has it."""
        return RunSpec.batch_info(dataclasses.replace(self, folder=self.origin))


def unlanded_row(task: Any, exc: OSError) -> dict[str, Any]:
    """The runs-table row of a shipped run the client could not write (``--resume`` reruns it).

    The row a local run whose folder cannot be written gets
    (:func:`sim.experiments.batch.execute`): status ``failed`` and why.
    """
    reason = exc.strerror or str(exc)
    return {
        "run_id": task.run_id,
        "status": "failed",
        "seed": task.seed,
        "error": f"cannot write {task.folder}: {reason}",
    }


def land(shipped: Shipped, folder: str | Path) -> Any:
    """Write a shipped run's files into ``folder`` atomically; return the run's row.

    As :func:`sim.rundir.write_run_folder` does: the files go into a temporary folder beside
    it (the manifest last), which is then renamed into place; a run folder already there (a
    failed or lost run being run again) is replaced, and only its run files are removed. A
    killed client leaves hidden folders that ``--resume`` cleans. A run the worker could not
    write (no files) returns the worker's row.

    Raises:
        OSError: the folder cannot be written, or holds files that are not a run's (nothing is
            left half written; nothing in it is removed).
    """
    if not shipped.files:
        return shipped.result
    target = Path(folder)
    names = [name for name, _ in shipped.files]
    if any(name not in ALL_RUN_FILES for name in names) or "manifest.json" not in names:
        raise OSError(f"a shipped run holds {names}, not the files of a run folder")
    if target.exists() and any(target.iterdir()) and not _only_run_files(target):
        raise OSError(f"{target} holds files that are not a run's; it is left as it is")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_folder(target.parent, f".{target.name}")
    old = target.with_name(f".{target.name}.{_OLD_TAG}-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        for name, content in sorted(shipped.files, key=lambda f: f[0] == "manifest.json"):
            (tmp / name).write_bytes(content)
        with _signals_held():
            if target.exists() and any(target.iterdir()):
                target.rename(old)
                try:
                    tmp.rename(target)
                except BaseException:
                    old.rename(target)
                    raise
            else:
                if target.exists():
                    target.rmdir()
                tmp.rename(target)
            if old.exists():
                _remove_run_files(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return run_row(target) or shipped.result
