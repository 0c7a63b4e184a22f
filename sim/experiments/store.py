"""The batch folder: one run folder per run, a manifest of the batch, and the runs table.

::

    BATCH/
      batch.json        what was asked: command, inputs (scenario files and the data files
                        they read, with content hashes), seeds, versions; complete: true once
                        every run is ok
      runs/<run_id>/    one cdpsim run folder per run (all six files, or with --keep summary
                        only manifest.json and summary.json)
      runs.parquet      one row per run, rebuilt from the run folders
      .cdpsim.lock      while a batch writes here (sim.locks): a second writer is refused

The run folders are the record: each is written atomically by the worker that ran it, the moment
the run ends, so a batch killed half way keeps every run that finished, and ``runs.parquet`` is
only ever a summary of them (:func:`rebuild_runs_table`), never the only copy. A run folder whose
status is ``ok`` or ``failed`` is done; one that is missing, ``interrupted`` or ``lost`` (its
worker died) is run again by ``--resume``, and ``failed`` ones too with ``--retry-failed``.

``batch.json`` lets ``--resume`` refuse a different batch in the same folder, and inputs that
changed since the batch started (a scenario file, a replayed data file, the cdpsim or numpy
version): runs of two inputs would be mixed in one table. ``force`` resumes anyway and records
what changed in ``batch.json``'s ``forced``.

Paths in ``batch.json``, run manifests and ``runs.parquet`` are relative to the batch folder
(``../scenarios/crash.yaml``), never the machine's absolute paths.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import platform
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.atomic import write_json, write_parquet
from sim.locks import FOLDER_LOCK, FolderLock, LockError
from sim.rundir import (
    BATCH_MANIFEST,
    MANIFEST_KIND,
    STATUS_FAILED,
    STATUS_OK,
    read_manifest,
)
from sim.rundir import BATCH_RUNS as RUNS
from sim.validate import plain_name

#: ``kind`` in ``batch.json``.
BATCH_KIND = "cdpsim-batch"
RUNS_TABLE = "runs.parquet"
#: Run statuses that count as done (not run again by ``--resume``).
DONE = (STATUS_OK, STATUS_FAILED)
#: Columns of the runs table before the KPIs and the swept parameters.
RUN_COLUMNS = (
    "run_id",
    "scenario_file",
    "scenario",
    "overrides",
    "seed",
    "status",
    "error",
    "traceback",
    "wall_time_s",
    "ticks",
)
#: Fields of ``batch.json`` that must match for ``--resume`` to continue a batch.
IDENTITY = ("overrides", "seeds", "keep", "parameters")
#: Versions that must match for ``--resume`` (results depend on them; see tests/test_golden_runs).
RESUME_VERSIONS = ("cdpsim", "numpy")


class StoreError(Exception):
    """A batch folder cannot be used as asked (a user-facing message)."""


def sha256_text(text: str) -> str:
    """Hex SHA-256 of a text (scenario files are identified by their content)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes (data files are identified by their content)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def recorded_path(path: str | Path, folder: str | Path) -> str:
    """How a batch folder records a path: relative to the folder (``../scenarios/a.yaml``).

    Labels that are not paths (``<name>`` for a Scenario object) are kept as they are.
    """
    text = str(path)
    if text.startswith("<"):
        return text
    base = Path(folder).resolve()
    return Path(os.path.relpath(Path(path).resolve(), base)).as_posix()


def resolve_recorded(path: str, folder: str | Path) -> Path | None:
    """The file a recorded path names (relative to the batch folder); ``None`` for a label."""
    if not path or path.startswith("<"):
        return None
    return Path(folder) / path


def versions() -> dict[str, str]:
    """Versions that make a batch reproducible."""
    import pyarrow

    from sim.version import version

    return {
        "cdpsim": version(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "pyarrow": pyarrow.__version__,
    }


@dataclass(frozen=True)
class BatchFolder:
    """A batch folder on disk."""

    path: Path

    @property
    def runs(self) -> Path:
        """The folder holding one run folder per run."""
        return self.path / RUNS

    @property
    def manifest_path(self) -> Path:
        """``batch.json``."""
        return self.path / BATCH_MANIFEST

    def run_folder(self, run_id: str) -> Path:
        """The run folder of ``run_id``."""
        return self.runs / run_id

    def read_manifest(self) -> dict[str, Any] | None:
        """``batch.json``, or ``None`` when this is not a cdpsim batch folder."""
        try:
            manifest = json.loads(self.manifest_path.read_text())
        except (OSError, ValueError):
            return None
        return (
            manifest if isinstance(manifest, dict) and manifest.get("kind") == BATCH_KIND else None
        )

    def open(self, manifest: dict[str, Any], resume: bool, force: bool = False) -> FolderLock:
        """Create the batch folder, or check that ``--resume`` continues the same batch; lock it.

        Args:
            manifest: the new batch's manifest (``kind``, identity fields, inputs with their
                hashes, command, versions).
            resume: continue the batch already in the folder.
            force: resume even though inputs or versions changed since the batch started (what
                changed is recorded in ``batch.json``'s ``forced``).

        Returns:
            The folder's lock, held: the caller releases it when the batch ends.

        Raises:
            StoreError: the folder holds something else, a different batch, a batch without
                ``--resume``, or changed inputs without ``force``; or it cannot be created
                (nothing is left behind, so a retry works).
            LockError: another process is writing the folder.
        """
        path = self.path
        for parent in [path, *path.parents]:
            if parent.exists() and not parent.is_dir():
                raise StoreError(f"{path}: not a folder ({parent} is a file)")
        existing = self.read_manifest() if path.is_dir() else None
        if existing is None and path.is_dir():
            names = sorted(p.name for p in path.iterdir() if p.name != FOLDER_LOCK)
            if names:
                raise StoreError(
                    f"{path}: not a cdpsim batch folder (it holds {', '.join(names[:5])}); "
                    "choose a new or empty folder"
                )
        if existing is None and resume:
            raise StoreError(f"{path}: there is no batch to resume here")
        if existing is not None and not resume:
            raise StoreError(
                f"{path} holds a batch already; pass --resume to run its missing runs, or "
                "choose another --out"
            )
        created = _missing_folders(path)
        try:
            path.mkdir(parents=True, exist_ok=True)
            lock = FolderLock.inside(path).acquire()
        except LockError:
            raise  # the folder is another writer's: nothing of it is touched
        except OSError as exc:
            _remove_created(created)
            raise StoreError(
                f"{path}: cannot create the batch folder: {exc.strerror or exc}"
            ) from None
        try:
            now = self.read_manifest()  # as it is now that this process holds the lock
            if existing is not None:
                self._check_resume(now or existing, manifest, force)
                return lock
            if now is not None:  # another batch started here since we looked
                raise StoreError(
                    f"{path} holds a batch already; pass --resume to run its missing runs, or "
                    "choose another --out"
                )
            try:
                self.runs.mkdir(exist_ok=True)
                write_json(self.manifest_path, manifest)
            except OSError as exc:
                lock.release()
                _remove_created([self.runs, *created])
                raise StoreError(
                    f"{path}: cannot create the batch folder: {exc.strerror or exc}"
                ) from None
        except BaseException:
            lock.release()
            raise
        return lock

    def _check_resume(
        self, existing: dict[str, Any], manifest: dict[str, Any], force: bool
    ) -> None:
        """Refuse ``--resume`` of another batch, or (unless ``force``) of changed inputs."""
        path = self.path
        different = [k for k in IDENTITY if existing.get(k) != manifest.get(k)]
        old_inputs = _inputs_by_file(existing.get("inputs"))
        new_inputs = _inputs_by_file(manifest.get("inputs"))
        if list(old_inputs) != list(new_inputs):
            different.insert(0, "scenario files")
        if different:
            raise StoreError(
                f"{path} holds a different batch (not the same {', '.join(different)}); "
                "--resume continues only the batch it started with: choose another --out"
            )
        changes = _changed_inputs(old_inputs, new_inputs)
        old_versions = existing.get("versions") or {}
        new_versions = manifest.get("versions") or {}
        for name in RESUME_VERSIONS:
            if old_versions.get(name) != new_versions.get(name):
                changes.append(
                    f"{name} is {new_versions.get(name)} here, the batch started with "
                    f"{old_versions.get(name)}"
                )
        if not changes:
            return
        if not force:
            listed = "; ".join(changes)
            raise StoreError(
                f"{path}: the inputs changed since the batch started ({listed}); resuming would "
                "mix runs of different inputs in one table. Choose another --out for the new "
                "inputs, or pass --force to resume anyway (recorded in batch.json)"
            )
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        forced = [*(existing.get("forced") or []), {"at": stamp, "changes": changes}]
        write_json(self.manifest_path, {**existing, "forced": forced})

    def discard_if_empty(self) -> None:
        """Remove a batch folder that this batch created and that holds no run yet."""
        runs = self.runs
        with contextlib.suppress(OSError):
            if runs.is_dir() and not any(runs.iterdir()):
                runs.rmdir()
            names = sorted(p.name for p in self.path.iterdir())
            if self.read_manifest() is not None and names in (
                [BATCH_MANIFEST],
                sorted([BATCH_MANIFEST, FOLDER_LOCK]),
            ):
                (self.path / FOLDER_LOCK).unlink(missing_ok=True)
                self.manifest_path.unlink()
                self.path.rmdir()

    def done(self, retry_failed: bool = False) -> set[str]:
        """Run ids whose folder holds a finished run: ``ok`` or ``failed``.

        With ``retry_failed`` only ``ok`` runs are done. What is not done, ``--resume`` runs.
        """
        if not self.runs.is_dir():
            return set()
        done = (STATUS_OK,) if retry_failed else DONE
        out = set()
        for folder in self.runs.iterdir():
            manifest = read_manifest(folder) if folder.is_dir() else None
            if manifest is not None and manifest.get("status") in done:
                out.add(folder.name)
        return out

    def set_complete(self, complete: bool) -> None:
        """Record in ``batch.json`` whether every run of the batch is done and ok."""
        manifest = self.read_manifest()
        if manifest is None:
            raise StoreError(f"{self.path}: not a cdpsim batch folder (no {BATCH_MANIFEST})")
        if manifest.get("complete") is complete:
            return
        write_json(self.manifest_path, {**manifest, "complete": complete})


def is_complete(manifest: dict[str, Any]) -> bool:
    """Whether a batch's ``batch.json`` says every run is done and ok (``complete``)."""
    return manifest.get("complete") is True


def _inputs_by_file(inputs: Any) -> dict[str, dict[str, Any]]:
    """``batch.json``'s inputs keyed by their recorded file, in order."""
    out: dict[str, dict[str, Any]] = {}
    for item in inputs if isinstance(inputs, list) else []:
        if isinstance(item, dict):
            out[str(item.get("file"))] = item
    return out


def _changed_inputs(old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]) -> list[str]:
    """What changed in the inputs' contents: scenario files, then the data files they read."""
    changes = []
    for file, before in old.items():
        after = new.get(file, {})
        if before.get("sha256") != after.get("sha256"):
            changes.append(f"{file} changed")
        data_before = {d.get("file"): d.get("sha256") for d in before.get("data") or []}
        data_after = {d.get("file"): d.get("sha256") for d in after.get("data") or []}
        for name in sorted(set(data_before) | set(data_after), key=str):
            if name not in data_after:
                changes.append(f"{file} no longer reads {name}")
            elif name not in data_before:
                changes.append(f"{file} now reads {name}")
            elif data_before[name] != data_after[name]:
                changes.append(f"the data file {name} changed")
    return changes


def _missing_folders(path: Path) -> list[Path]:
    """The folders ``path.mkdir(parents=True)`` would create, deepest first."""
    missing = []
    for folder in [path, *path.parents]:
        if folder.exists():
            break
        missing.append(folder)
    return missing


def _remove_created(folders: Iterable[Path]) -> None:
    """Remove what opening a batch folder created (deepest first), leaving no half batch."""
    for folder in folders:
        for name in (FOLDER_LOCK, BATCH_MANIFEST):
            with contextlib.suppress(OSError):
                (folder / name).unlink()
        with contextlib.suppress(OSError):
            for leftover in folder.glob(f".{BATCH_MANIFEST}.tmp-*"):
                leftover.unlink()
        with contextlib.suppress(OSError):
            folder.rmdir()  # only if empty: nothing of anyone else's is removed


def _of(value: Any, kinds: tuple[type, ...], default: Any = None) -> Any:
    """``value`` if it is of ``kinds`` (a bool is not a number), else ``default``.

    A hand-edited or half-written run folder can hold anything where a manifest holds an object
    or a number; the runs table takes what is of the right kind and leaves the rest empty.
    """
    if isinstance(value, bool) and bool not in kinds:
        return default
    return value if isinstance(value, kinds) else default


def run_row(folder: Path) -> dict[str, Any] | None:
    """One runs-table row from a run folder (its manifest and summary); ``None`` if not a run.

    A field of the wrong kind (a damaged manifest or summary) is left empty; a run id that is
    not the name of a folder (``../x``) gives way to the folder's own name.
    """
    manifest = read_manifest(folder)
    if manifest is None:
        return None
    batch = _of(manifest.get("batch"), (dict,), {})
    first, _, rest = str(manifest.get("error") or "").partition("\n")
    run_id = batch.get("run_id")
    row: dict[str, Any] = {
        "run_id": run_id if plain_name(run_id) else folder.name,
        "scenario_file": _of(batch.get("scenario_file"), (str,), ""),
        "scenario": _of(_of(manifest.get("scenario"), (dict,), {}).get("name"), (str,), ""),
        "overrides": json.dumps(batch.get("overrides", [])),
        "seed": _of(manifest.get("seed"), (int,)),
        "status": _of(manifest.get("status"), (str,)),
        "error": first or None,
        "traceback": rest or None,
        "wall_time_s": _of(manifest.get("wall_time_s"), (int, float)),
        "ticks": _of(manifest.get("ticks"), (int,)),
    }
    for name, value in _of(batch.get("parameters"), (dict,), {}).items():
        row[name] = _of(value, (str, int, float, bool))
    try:
        summary = json.loads((folder / "summary.json").read_text())
    except (OSError, ValueError):
        summary = {}
    for name, value in _of(summary, (dict,), {}).items():
        if name not in row and (value is None or _of(value, (int, float)) is not None):
            row[name] = value  # a KPI: a number (null when undefined)
    return row


def rebuild_runs_table(path: str | Path) -> pd.DataFrame:
    """Read every run folder of a batch into the runs table and write ``runs.parquet``.

    Rows are in run-id order (the order the batch listed its runs), whatever order they
    finished in, so the table is the same for any number of workers and any backend.

    Returns:
        The runs table.
    """
    store = BatchFolder(Path(path))
    table = load_runs(store.path, rebuild=False)
    write_parquet(store.path / RUNS_TABLE, table)
    return table


def load_runs(path: str | Path, rebuild: bool = False) -> pd.DataFrame:
    """The runs table of a batch (or sweep) folder, read from its run folders.

    Args:
        path: the batch folder.
        rebuild: also rewrite ``runs.parquet``.

    Returns:
        One row per run folder: run id, scenario file and name, overrides (JSON), seed, status,
        error and traceback, wall time, ticks, swept parameters, then every KPI.

    Raises:
        StoreError: ``path`` is not a batch folder.
    """
    store = BatchFolder(Path(path))
    manifest = store.read_manifest()
    if manifest is None:
        raise StoreError(f"{path}: not a cdpsim batch folder (no {BATCH_MANIFEST})")
    if rebuild:
        return rebuild_runs_table(path)
    order = {run_id: k for k, run_id in enumerate(manifest.get("run_ids", []))}
    rows = []
    if store.runs.is_dir():
        for folder in store.runs.iterdir():
            row = run_row(folder) if folder.is_dir() and not folder.name.startswith(".") else None
            if row is not None:
                rows.append(row)
    rows.sort(key=lambda r: (order.get(r["run_id"], len(order)), r["run_id"]))
    table = pd.DataFrame(rows)
    for name in RUN_COLUMNS:
        if name not in table:
            table[name] = pd.Series(dtype="object")
    front = list(RUN_COLUMNS)
    return table[front + [c for c in table.columns if c not in front]]


__all__ = [
    "BATCH_KIND",
    "MANIFEST_KIND",
    "BatchFolder",
    "StoreError",
    "is_complete",
    "load_runs",
    "rebuild_runs_table",
    "recorded_path",
    "resolve_recorded",
    "run_row",
]
