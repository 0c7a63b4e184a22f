"""Batch and sweep folders: every file of them is read and written here.

A batch folder (:class:`BatchFolder`) holds one run folder per run, a manifest of the batch and
the runs table; a sweep folder (:class:`SweepFolder`) is a batch folder whose ``batch.json`` has
a ``sweep`` section, with the tables the analysis computes (:mod:`~sim.experiments.points`,
:mod:`~sim.experiments.sensitivity`, :mod:`~sim.experiments.discovery` compute them; nothing
there touches a file). ``batch.json`` is written by this module only.

::

    BATCH/
      batch.json        what was asked: command, inputs (scenario files and the data files
                        they read, with content hashes), seeds, versions; complete: true once
                        every run is ok
      runs/<run_id>/    one cdpsim run folder per run (all six files, or with --keep summary
                        only manifest.json and summary.json)
      runs.parquet      one row per run, rebuilt from the run folders
      .cdpsim.lock      while a batch writes here (sim.locks): a second writer is refused

    SWEEP/              a batch folder, and:
      batch.json        … with a "sweep" section: name, design, parameters, kpis, seeds
      points.parquet    one row per design point (run counts, KPI and risk statistics)
      sensitivity.parquet, sensitivity2.parquet
                        Sobol or Morris indices (second-order Sobol indices)
      discovery/<kpi>-<above|below>-<X>-<method>.parquet
                        the boxes of one cdpsim discover (counts and note in the Parquet
                        metadata), and PRIM's …-trajectory.parquet

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

Output folders are input too: the readers check what they read (:mod:`sim.validate`:
:func:`check_runs`, :func:`check_sweep`, :func:`check_points`, :func:`check_sensitivity`, the
discovery files' columns and metadata) and refuse a damaged file with an
:class:`~sim.experiments.errors.AnalysisError` naming it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import json
import os
import platform
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.atomic import replacing, write_json, write_parquet
from sim.experiments.discovery import BOX_COLUMNS, TRAJECTORY_COLUMNS, Discovery, discovery_stem
from sim.experiments.errors import AnalysisError
from sim.experiments.points import COUNT_COLUMNS
from sim.experiments.sensitivity import SENSITIVITY_COLUMNS
from sim.locks import FOLDER_LOCK, FolderLock, LockError
from sim.metrics import KPI_BY_NAME
from sim.rundir import (
    BATCH_MANIFEST,
    MANIFEST_KIND,
    STATUS_FAILED,
    STATUS_OK,
    read_manifest,
)
from sim.rundir import BATCH_RUNS as RUNS
from sim.validate import describe, format_problem, plain_name, shape_problem, table_problem

#: ``kind`` in ``batch.json``.
BATCH_KIND = "cdpsim-batch"
#: ``format`` in ``batch.json``: the version of the batch and sweep folder's layout (its files,
#: their columns, ``batch.json``'s fields) this cdpsim writes (:meth:`BatchFolder.open`) and
#: reads. A change that a reader of the previous version could not read raises it; readers and
#: ``--resume`` refuse any other version (:func:`check_format`).
BATCH_FORMAT = 1
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
#: Columns of a runs table every reader needs (the rest are KPIs and swept parameters).
RUNS_TABLE_COLUMNS = ("run_id", "scenario", "status")
#: Numbers of a runs table besides the KPIs.
RUNS_TABLE_NUMBERS = ("seed", "ticks", "wall_time_s")
#: The points table of a sweep folder.
POINTS_TABLE = "points.parquet"
#: The sensitivity indices of a Sobol or Morris sweep.
SENSITIVITY_TABLE = "sensitivity.parquet"
#: Second-order Sobol indices (designs with ``second_order: true``).
SENSITIVITY2_TABLE = "sensitivity2.parquet"
#: The folder of discovery results inside a sweep folder.
DISCOVERY = "discovery"
#: Suffix of a PRIM peeling trajectory's file in ``discovery/``.
TRAJECTORY_SUFFIX = "-trajectory"
#: A discovery file's stem: ``<kpi>-<side>-<X>-<method>``.
_DISCOVERY_STEM = re.compile(
    r"^(?P<kpi>\w+?)-(?P<side>above|below)-(?P<x>.+?)-(?P<method>cart|prim)$"
)
#: Key of a discovery file's Parquet metadata (kpi, side, threshold, method, counts, note).
_DISCOVERY_META = b"cdpsim-discovery"
#: What ``batch.json``'s ``sweep`` section holds, as far as the readers read it (``*``: every
#: item); a missing field or ``null`` is allowed.
SWEEP_SHAPE: dict[str, tuple[type, ...]] = {
    "sweep.name": (str,),
    "sweep.description": (str,),
    "sweep.file": (str,),
    "sweep.base": (str,),
    "sweep.design": (dict,),
    "sweep.design.kind": (str,),
    "sweep.parameters": (list,),
    "sweep.parameters.*": (dict,),
    "sweep.parameters.*.name": (str,),
    "sweep.parameters.*.kind": (str,),
    "sweep.parameters.*.paths": (list,),
    "sweep.parameters.*.paths.*": (str,),
    "sweep.parameters.*.range": (list,),
    "sweep.parameters.*.range.*": (float,),
    "sweep.parameters.*.values": (list,),
    "sweep.parameters.*.values.*": (str, float, bool),
    "sweep.parameters.*.dist": (str,),
    "sweep.parameters.*.unit": (str,),
    "sweep.kpis": (list,),
    "sweep.kpis.*": (str,),
    "sweep.seeds": (list,),
    "sweep.seeds.*": (int,),
    "sweep.complete": (bool,),
}
#: What a discovery file's metadata holds (every field, ``null`` allowed).
_DISCOVERY_META_SHAPE: dict[str, tuple[type, ...]] = {
    "kpi": (str,),
    "side": (str,),
    "threshold": (float,),
    "method": (str,),
    "n_runs": (int,),
    "n_cases": (int,),
    "note": (str,),
    "complete": (bool,),
}


#: Errors of writing a discovery that mean a file or folder is in the way (the user's to move),
#: unlike a full disk.
_IN_THE_WAY = (errno.EEXIST, errno.ENOTDIR, errno.EISDIR, errno.EACCES, errno.EPERM, errno.EROFS)


class StoreError(Exception):
    """A batch folder cannot be used as asked (a user-facing message)."""


def check_format(folder: str | Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """``batch.json``, if it is of the format this cdpsim reads (:data:`BATCH_FORMAT`).

    Raises:
        StoreError: it states no format version or another one: ``FOLDER: written by an earlier
            cdpsim (no format version); run it again with this version``.
    """
    problem = format_problem(manifest, BATCH_FORMAT)
    if problem:
        raise StoreError(f"{folder}: {problem}")
    return manifest


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
        """``batch.json``, or ``None`` when this is not a cdpsim batch folder.

        Any format version (whose folder it is does not depend on it); the readers check it
        (:meth:`checked_manifest`).
        """
        try:
            manifest = json.loads(self.manifest_path.read_text())
        except (OSError, ValueError):
            return None
        return (
            manifest if isinstance(manifest, dict) and manifest.get("kind") == BATCH_KIND else None
        )

    def checked_manifest(self) -> dict[str, Any]:
        """``batch.json``, checked: a cdpsim batch's, of the format this cdpsim reads.

        Raises:
            StoreError: not a batch folder, or written by another version (:func:`check_format`).
        """
        manifest = self.read_manifest()
        if manifest is None:
            raise StoreError(f"{self.path}: not a cdpsim batch folder (no {BATCH_MANIFEST})")
        return check_format(self.path, manifest)

    def open(self, manifest: dict[str, Any], resume: bool, force: bool = False) -> FolderLock:
        """Create the batch folder, or check that ``--resume`` continues the same batch; lock it.

        Args:
            manifest: the new batch's manifest (``kind``, identity fields, inputs with their
                hashes, command, versions); written with ``"format":`` :data:`BATCH_FORMAT`.
            resume: continue the batch already in the folder.
            force: resume even though inputs or versions changed since the batch started (what
                changed is recorded in ``batch.json``'s ``forced``).

        Returns:
            The folder's lock, held: the caller releases it when the batch ends.

        Raises:
            StoreError: the folder holds something else, a different batch, a batch without
                ``--resume``, a batch of another format version, or changed inputs without
                ``force``; or it cannot be created (nothing is left behind, so a retry works).
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
                write_json(self.manifest_path, _stamped(manifest))
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
        check_format(path, existing)  # its runs are of that version: never mixed, even forced
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


def _stamped(manifest: dict[str, Any]) -> dict[str, Any]:
    """A batch's manifest with its marker and format version first."""
    marker = {"kind": BATCH_KIND, "format": BATCH_FORMAT}
    return {**marker, **{k: v for k, v in manifest.items() if k not in marker}}


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
        StoreError: ``path`` is not a batch folder, or one of another format version.
    """
    store = BatchFolder(Path(path))
    manifest = store.checked_manifest()
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


# ---------------------------------------------------------------------------------------- sweeps


def read_table(path: Path, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """A Parquet table of an output folder.

    Args:
        path: the file.
        columns: only these columns (all when ``None``).

    Raises:
        AnalysisError: something other than a file is there (a folder, a broken symbolic
            link), or it is not readable Parquet.
    """
    import pyarrow as pa

    if not path.exists() and path.is_symlink():
        raise AnalysisError(f"{path}: a symbolic link to {path.readlink()}, which cannot be read")
    if path.exists() and not path.is_file():
        raise AnalysisError(f"{path}: not a file (a Parquet table was expected)")
    try:
        return pd.read_parquet(path, columns=None if columns is None else list(columns))
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise AnalysisError(f"{path}: cannot be read as Parquet ({exc})") from None


def check_runs(table: pd.DataFrame, folder: str | Path, where: Path) -> pd.DataFrame:
    """A batch's or sweep's runs table, if the readers can use it.

    It has :data:`RUNS_TABLE_COLUMNS`, numbers in its KPI columns, and one row per run id, each
    the name of a folder in ``runs/`` (never a path leading out of the batch folder).

    Args:
        table: the runs table.
        folder: the batch folder.
        where: where the table was read from (``runs.parquet``, or the ``runs/`` folder).

    Raises:
        AnalysisError: the first problem, naming ``where``.
    """
    hint = (
        "move it out of the folder and the runs are read from their folders"
        if where.name == RUNS_TABLE
        else "the run folders are damaged"
    )
    problem = table_problem(
        table,
        required=RUNS_TABLE_COLUMNS,
        numbers=[*RUNS_TABLE_NUMBERS, *(c for c in table.columns if c in KPI_BY_NAME)],
        keys=["run_id"],
    )
    if problem is None:
        for run_id in table["run_id"]:
            if not plain_name(run_id):
                problem = f"run id {run_id!r} is not the name of a folder in {RUNS}/"
                break
    if problem:
        raise AnalysisError(f"{where}: {problem}; {hint}")
    return table


def check_sweep(folder: str | Path, section: Any) -> dict[str, Any]:
    """``batch.json``'s ``sweep`` section, if it is of the shape ``cdpsim sweep`` writes.

    Args:
        folder: the sweep folder (for messages).
        section: the section as read.

    Returns:
        The section.

    Raises:
        AnalysisError: the first field of the wrong kind (:data:`SWEEP_SHAPE`), a parameter
            without a name or a range that is not ``[low, high]``.
    """
    problem = (
        f"'sweep' is {describe(section)}, not an object"
        if not isinstance(section, dict)
        else shape_problem({"sweep": section}, SWEEP_SHAPE)
    )
    if problem is None:
        for k, p in enumerate(section.get("parameters") or []):
            if not p.get("name"):
                problem = f"'sweep.parameters.{k}' has no name"
            elif p.get("range") is not None and len(p["range"]) != 2:
                problem = f"'sweep.parameters.{k}.range' is not [low, high]"
            if problem:
                break
    if problem:
        raise AnalysisError(
            f"{Path(folder) / BATCH_MANIFEST}: {problem}; the sweep's record is damaged (run "
            "the sweep again into a new folder)"
        )
    return section


def check_points(table: pd.DataFrame, path: Path, kpis: Sequence[str] = ()) -> pd.DataFrame:
    """``points.parquet``, if the readers can use it.

    A ``point`` column identifying the rows, whole non-negative ``point`` and run counts
    (:data:`~sim.experiments.points.COUNT_COLUMNS`), numbers in the statistics of ``kpis``.

    Args:
        table: the points table.
        path: where it was read from (for messages).
        kpis: the sweep's KPIs (``batch.json``'s ``sweep.kpis``).

    Raises:
        AnalysisError: the first problem, naming ``path``.
    """
    statistics = [c for c in table.columns if any(c.startswith(f"{k}_") for k in kpis)]
    problem = table_problem(
        table,
        required=["point"],
        numbers=statistics,
        whole=["point", *COUNT_COLUMNS],
        nonnegative=["point", *COUNT_COLUMNS],
        keys=["point"],
    )
    if problem:
        raise AnalysisError(f"{path}: {problem}; it is not a points table as cdpsim writes it")
    return table


def check_sensitivity(table: pd.DataFrame, path: Path) -> pd.DataFrame:
    """``sensitivity.parquet``, if the readers can use it: its key columns, finite indices.

    Raises:
        AnalysisError: the first problem, naming ``path``.
    """
    indices = SENSITIVITY_COLUMNS[3:]
    problem = table_problem(
        table,
        required=SENSITIVITY_COLUMNS[:3],
        finite=indices,
        nonnegative=[c for c in indices if c.endswith("_conf") or c in ("mu_star", "sigma")],
    )
    if problem:
        raise AnalysisError(f"{path}: {problem}; it is not a table as cdpsim writes it")
    return table


def _discovery_problem(file: Path, problem: str) -> AnalysisError:
    return AnalysisError(
        f"{file}: {problem}; it is not a result of cdpsim discover as it writes them: delete "
        "it, or run cdpsim discover again"
    )


def _read_discovery(file: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A discovery file's boxes and metadata, checked.

    Raises:
        AnalysisError: unreadable, without the boxes' columns or numbers, or with metadata that
            is not a JSON object of the fields :meth:`SweepFolder.write_discovery` writes.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    boxes = read_table(file)
    try:
        raw = (pq.read_schema(file).metadata or {}).get(_DISCOVERY_META)
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise _discovery_problem(file, f"its metadata cannot be read ({exc})") from None
    problem = table_problem(
        boxes,
        required=[c for c in BOX_COLUMNS if c not in ("method", "restricted")],
        numbers=["lower", "upper"],
        finite=["coverage", "density", "mass"],
        whole=["box"],
        nonnegative=["box", "coverage", "density", "mass"],
    )
    if problem:
        raise _discovery_problem(file, problem)
    try:
        meta = json.loads(raw) if raw else {}
    except ValueError:
        raise _discovery_problem(file, "its metadata is not JSON") from None
    if not isinstance(meta, dict):
        raise _discovery_problem(file, f"its metadata is {describe(meta)}, not an object")
    missing = [name for name in _DISCOVERY_META_SHAPE if name not in meta]
    problem = (
        f"its metadata has no {missing[0]!r}"
        if missing
        else shape_problem(meta, _DISCOVERY_META_SHAPE)
    )
    if problem:
        raise _discovery_problem(file, problem)
    return boxes, meta


def _read_trajectory(path: Path) -> pd.DataFrame:
    """A PRIM peeling trajectory, checked (:data:`TRAJECTORY_COLUMNS` but ``selected``)."""
    table = read_table(path)
    columns = [c for c in TRAJECTORY_COLUMNS if c != "selected"]
    problem = table_problem(
        table, required=columns, finite=columns, whole=["step", "n_restricted"], nonnegative=columns
    )
    if problem:
        raise _discovery_problem(path, problem)
    return table


def _write_with_meta(table: pd.DataFrame, path: Path, meta: dict[str, Any]) -> None:
    """Write a Parquet table atomically with ``meta`` (JSON) in its file metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = pa.Table.from_pandas(table, preserve_index=False)
    metadata = dict(arrow.schema.metadata or {})
    metadata[_DISCOVERY_META] = json.dumps(meta, sort_keys=True).encode()
    with replacing(path) as tmp:
        pq.write_table(arrow.replace_schema_metadata(metadata), tmp)


@dataclass(frozen=True)
class SweepFolder(BatchFolder):
    """A sweep folder on disk: a batch folder whose ``batch.json`` has a ``sweep`` section.

    Beside the batch's files it holds ``points.parquet`` (one row per design point),
    ``sensitivity.parquet`` and ``sensitivity2.parquet`` (Sobol or Morris indices) and
    ``discovery/`` (one boxes file per ``cdpsim discover``, with PRIM's trajectory). Every
    table is written atomically; every reader checks what it read (:mod:`sim.validate`).
    """

    @property
    def points_path(self) -> Path:
        """``points.parquet``."""
        return self.path / POINTS_TABLE

    @property
    def sensitivity_path(self) -> Path:
        """``sensitivity.parquet``."""
        return self.path / SENSITIVITY_TABLE

    @property
    def sensitivity2_path(self) -> Path:
        """``sensitivity2.parquet`` (second-order Sobol indices)."""
        return self.path / SENSITIVITY2_TABLE

    @property
    def discovery_dir(self) -> Path:
        """``discovery/``."""
        return self.path / DISCOVERY

    def section(self) -> dict[str, Any]:
        """The ``sweep`` section of ``batch.json``, checked (:func:`check_sweep`).

        Raises:
            StoreError: the folder is not a batch folder, or one of another format version.
            AnalysisError: it is a batch folder, but not a sweep's, or the section is damaged.
        """
        manifest = self.read_manifest()
        if manifest is None:
            raise StoreError(f"{self.path}: not a cdpsim sweep folder (no batch.json)")
        check_format(self.path, manifest)
        section = manifest.get("sweep")
        if not section:
            raise AnalysisError(
                f"{self.path}: a batch folder, but not a sweep's (cdpsim sweep makes one)"
            )
        return check_sweep(self.path, section)

    def is_complete(self) -> bool:
        """Whether every run of the sweep is done and ok (``complete`` in ``batch.json``).

        A sweep interrupted or stopped before its last run, or with runs that failed or were
        lost, says ``"complete": false`` (its points table counts them in ``n_failed`` and
        ``n_missing``).
        """
        manifest = self.read_manifest()
        return manifest is not None and is_complete(manifest)

    def read_runs(self) -> pd.DataFrame:
        """The runs table (``runs.parquet``, rebuilt from the run folders and written if absent).

        Raises:
            StoreError: not a batch folder (when the table is rebuilt).
            AnalysisError: the table is unreadable or damaged (:func:`check_runs`).
        """
        path = self.path / RUNS_TABLE
        if path.exists() or path.is_symlink():
            return check_runs(read_table(path), self.path, path)
        return check_runs(load_runs(self.path, rebuild=True), self.path, self.runs)

    def write_points(self, table: pd.DataFrame) -> Path:
        """Write ``points.parquet`` (atomically); return its path."""
        write_parquet(self.points_path, table)
        return self.points_path

    def read_points(self, kpis: Sequence[str] = ()) -> pd.DataFrame:
        """``points.parquet``, checked (:func:`check_points`).

        Args:
            kpis: the sweep's KPIs, whose statistics must be numbers.

        Raises:
            AnalysisError: the sweep has no points table yet (it has not finished a first
                pass), or it is unreadable or damaged.
        """
        path = self.points_path
        if not path.exists():
            raise AnalysisError(f"{self.path}: no {POINTS_TABLE}; run the sweep first")
        return check_points(read_table(path), path, kpis)

    def write_sensitivity(self, table: pd.DataFrame, second: pd.DataFrame | None = None) -> Path:
        """Write ``sensitivity.parquet`` and, when given, ``sensitivity2.parquet``.

        Args:
            table: the indices (:data:`~sim.experiments.sensitivity.SENSITIVITY_COLUMNS`).
            second: second-order Sobol indices, if the design has them.

        Returns:
            The path of ``sensitivity.parquet``.
        """
        write_parquet(self.sensitivity_path, table)
        if second is not None:
            write_parquet(self.sensitivity2_path, second)
        return self.sensitivity_path

    def read_sensitivity(self) -> pd.DataFrame | None:
        """``sensitivity.parquet`` checked (:func:`check_sensitivity`); ``None`` if absent.

        Raises:
            AnalysisError: it is unreadable or damaged.
        """
        path = self.sensitivity_path
        if not path.exists() and not path.is_symlink():
            return None
        return check_sensitivity(read_table(path), path)

    def discovery_paths(
        self, kpi: str, threshold: float, method: str, side: str = "above"
    ) -> tuple[Path, Path]:
        """``discovery/<kpi>-<side>-<X>-<method>.parquet`` and its ``-trajectory`` sibling.

        Args:
            kpi: the KPI.
            threshold: the threshold (written by :func:`sim.formatting.number_text`:
                ``1000000``, ``1.3``).
            method: ``cart`` or ``prim`` (so that one method's result never replaces the
                other's).
            side: ``above`` or ``below``.

        Returns:
            The boxes' path and the trajectory's (PRIM writes it).
        """
        stem = discovery_stem(kpi, side, threshold, method)
        base = self.discovery_dir
        return base / f"{stem}.parquet", base / f"{stem}{TRAJECTORY_SUFFIX}.parquet"

    def write_discovery(self, result: Discovery) -> Discovery:
        """Write a discovery's boxes (with its counts and note as metadata) and PRIM's trajectory.

        An earlier trajectory of the same name is removed when the result has none.

        Returns:
            The result with its ``path`` and ``trajectory_path``.

        Raises:
            AnalysisError: a file or folder is in the way, or the folder may not be written.
            OSError: a full disk or an I/O error (not the input's fault).
        """
        path, trajectory_path = self.discovery_paths(
            result.kpi, result.threshold, result.method, result.side
        )
        meta = {
            "kpi": result.kpi,
            "side": result.side,
            "threshold": result.threshold,
            "method": result.method,
            "n_runs": result.n_runs,
            "n_cases": result.n_cases,
            "note": result.note,
            "complete": result.complete,
        }
        try:
            path.parent.mkdir(exist_ok=True)
            _write_with_meta(result.boxes, path, meta)
            if result.trajectory is not None:
                write_parquet(trajectory_path, result.trajectory)
            else:
                trajectory_path.unlink(missing_ok=True)  # an earlier run's, for boxes now replaced
        except OSError as exc:
            if exc.errno not in _IN_THE_WAY:  # a full disk, an I/O error: not the input's fault
                raise
            raise AnalysisError(
                f"{path}: cannot write the result ({exc.strerror or exc}); is {path.parent} a "
                "folder you may write in?"
            ) from None
        return replace(
            result,
            path=path,
            trajectory_path=trajectory_path if result.trajectory is not None else None,
        )

    def discoveries(self) -> list[Discovery]:
        """Every ``cdpsim discover`` result of the sweep folder, by file name.

        Reads ``discovery/<kpi>-<side>-<X>-<method>.parquet`` with its ``-trajectory`` sibling
        (PRIM). The plots, the report and the dashboard read discoveries through this
        (:func:`sim.results.load_folder`).

        Returns:
            One :class:`~sim.experiments.discovery.Discovery` per boxes file, in file-name
            order; files whose name is not a discovery's are left out; none without
            ``discovery/``.

        Raises:
            AnalysisError: a discovery file is unreadable or damaged.
        """
        base = self.discovery_dir
        if not base.is_dir():
            return []
        try:
            section = self.section()
        except (StoreError, AnalysisError):
            section = {}
        units = {p["name"]: p.get("unit") for p in (section.get("parameters") or []) if "name" in p}
        found = []
        for file in sorted(base.glob("*.parquet")):
            if file.name.startswith(".") or file.stem.endswith(TRAJECTORY_SUFFIX):
                continue
            match = _DISCOVERY_STEM.match(file.stem)
            if match is None:
                continue
            try:
                threshold = float(match["x"])
            except ValueError:  # not a number: not a discovery's name
                continue
            boxes, meta = _read_discovery(file)
            trajectory_path = base / f"{file.stem}{TRAJECTORY_SUFFIX}.parquet"
            trajectory = _read_trajectory(trajectory_path) if trajectory_path.exists() else None
            found.append(
                Discovery(
                    kpi=match["kpi"],
                    side=match["side"],
                    threshold=threshold,
                    method=match["method"],
                    boxes=boxes,
                    trajectory=trajectory,
                    path=file,
                    trajectory_path=trajectory_path if trajectory is not None else None,
                    n_runs=meta["n_runs"],
                    n_cases=meta["n_cases"],
                    note=meta["note"] or "",
                    units={k: v for k, v in units.items() if k in set(boxes.get("parameter", []))},
                    complete=bool(meta["complete"]),
                )
            )
        return found


__all__ = [
    "BATCH_FORMAT",
    "BATCH_KIND",
    "DISCOVERY",
    "MANIFEST_KIND",
    "POINTS_TABLE",
    "RUNS_TABLE",
    "RUNS_TABLE_COLUMNS",
    "SENSITIVITY2_TABLE",
    "SENSITIVITY_TABLE",
    "SWEEP_SHAPE",
    "TRAJECTORY_SUFFIX",
    "AnalysisError",
    "BatchFolder",
    "StoreError",
    "SweepFolder",
    "check_format",
    "check_points",
    "check_runs",
    "check_sensitivity",
    "check_sweep",
    "is_complete",
    "load_runs",
    "read_table",
    "rebuild_runs_table",
    "recorded_path",
    "resolve_recorded",
    "run_row",
]
