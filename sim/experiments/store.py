"""The batch folder: one run folder per run, a manifest of the batch, and the runs table.

::

    BATCH/
      batch.json        what was asked: command, inputs (with content hashes), seeds, versions
      runs/<run_id>/    one cdpsim run folder per run (all six files, or with --keep summary
                        only manifest.json and summary.json)
      runs.parquet      one row per run, rebuilt from the run folders

The run folders are the record: each is written atomically by the worker that ran it, the moment
the run ends, so a batch killed half way keeps every run that finished, and ``runs.parquet`` is
only ever a summary of them (:func:`rebuild_runs_table`), never the only copy. A run folder whose
status is ``ok`` or ``failed`` is done; one that is missing or ``interrupted`` is run again by
``--resume``. ``batch.json`` lets ``--resume`` refuse a different batch in the same folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

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
IDENTITY = ("inputs", "overrides", "seeds", "keep", "parameters")


class StoreError(Exception):
    """A batch folder cannot be used as asked (a user-facing message)."""


def sha256_text(text: str) -> str:
    """Hex SHA-256 of a text (scenario files are identified by their content)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def versions() -> dict[str, str]:
    """Versions that make a batch reproducible."""
    import pyarrow

    from sim import __version__

    return {
        "cdpsim": __version__,
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

    def open(self, manifest: dict[str, Any], resume: bool) -> None:
        """Create the batch folder, or check that ``--resume`` continues the same batch.

        Args:
            manifest: the new batch's manifest (``kind``, identity fields, command, versions).
            resume: continue the batch already in the folder.

        Raises:
            StoreError: the folder holds something else, a different batch, or a batch
                without ``--resume``.
        """
        path = self.path
        for parent in [path, *path.parents]:
            if parent.exists() and not parent.is_dir():
                raise StoreError(f"{path}: not a folder ({parent} is a file)")
        existing = self.read_manifest() if path.is_dir() else None
        if existing is not None:
            if not resume:
                raise StoreError(
                    f"{path} holds a batch already; pass --resume to run its missing runs, or "
                    "choose another --out"
                )
            different = [k for k in IDENTITY if existing.get(k) != manifest.get(k)]
            if different:
                raise StoreError(
                    f"{path} holds a different batch (not the same {', '.join(different)}); "
                    "--resume continues only the batch it started with: choose another --out"
                )
            return
        if path.is_dir() and any(path.iterdir()):
            names = sorted(p.name for p in path.iterdir())[:5]
            raise StoreError(
                f"{path}: not a cdpsim batch folder (it holds {', '.join(names)}); choose a new "
                "or empty folder"
            )
        if resume:
            raise StoreError(f"{path}: there is no batch to resume here")
        try:
            self.runs.mkdir(parents=True, exist_ok=True)
            _write_json(self.manifest_path, manifest)
        except OSError as exc:
            raise StoreError(
                f"{path}: cannot create the batch folder: {exc.strerror or exc}"
            ) from None

    def discard_if_empty(self) -> None:
        """Remove a batch folder that this batch created and that holds no run yet."""
        runs = self.runs
        if runs.is_dir() and not any(runs.iterdir()):
            runs.rmdir()
        if self.read_manifest() is not None and [p.name for p in self.path.iterdir()] == [
            BATCH_MANIFEST
        ]:
            self.manifest_path.unlink()
            self.path.rmdir()

    def done(self) -> set[str]:
        """Run ids whose folder holds a finished run (``ok`` or ``failed``)."""
        if not self.runs.is_dir():
            return set()
        out = set()
        for folder in self.runs.iterdir():
            manifest = read_manifest(folder) if folder.is_dir() else None
            if manifest is not None and manifest.get("status") in DONE:
                out.add(folder.name)
        return out


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write JSON atomically (temporary file + rename)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n")
    os.replace(tmp, path)


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
    tmp = store.path / f".{RUNS_TABLE}.tmp-{os.getpid()}"
    table.to_parquet(tmp, index=False)
    os.replace(tmp, store.path / RUNS_TABLE)
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
    "load_runs",
    "rebuild_runs_table",
    "run_row",
]
