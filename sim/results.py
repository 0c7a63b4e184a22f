"""Reading cdpsim's output folders back: one API for a run, a batch and a sweep folder.

Every reader of results goes through here: ``cdpsim plot`` and ``report`` (:mod:`sim.plots`,
:mod:`sim.report`), the dashboard (:mod:`sim.app`), ``sim.load_runs``, the notebooks and the
scripts. :func:`load_folder` recognises (:func:`folder_kind`)

- a run folder (``manifest.json``, ``"kind": "cdpsim-run"``): :func:`load_run` gives a
  :class:`RunData` (manifest, time series, auctions, KPIs);
- a batch folder (``batch.json``, ``"kind": "cdpsim-batch"``): :func:`load_batch` gives a
  :class:`BatchData` (the runs table, each scenario, the runs' time series and auctions
  stacked);
- a sweep folder (a batch folder whose ``batch.json`` has a ``sweep`` section, with
  ``points.parquet``, and optionally ``sensitivity.parquet`` and the ``discovery/`` results): a
  :class:`SweepData`.

Every folder states the version of its layout: ``"format"`` in ``manifest.json``
(:data:`sim.rundir.RUN_FORMAT`) and in ``batch.json``
(:data:`sim.experiments.store.BATCH_FORMAT`). A folder without it, or with another version, is
refused (``FOLDER: written by an earlier cdpsim (no format version); run it again with this
version``): there is one layout to read, none of earlier versions. Each reader checks what it
read once (:mod:`sim.validate`), so the figures and tables after it can rely on the columns and
types they get. The batch and sweep files are read and checked by
:mod:`sim.experiments.store` (:class:`~sim.experiments.store.BatchFolder`,
:class:`~sim.experiments.store.SweepFolder`, their one writer and reader), whose messages become
a :class:`FolderError`; so is anything else, with a one-line message naming the file.
Quantities derived from the tables (cumulative liquidated debt, totals over ilks, auction
outcomes, ...) are computed by :mod:`sim.derived`, not here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.experiments.discovery import Discovery
from sim.experiments.errors import AnalysisError
from sim.experiments.store import (
    BATCH_FORMAT,
    BATCH_MANIFEST,
    POINTS_TABLE,
    RUNS_TABLE,
    BatchFolder,
    StoreError,
    SweepFolder,
    check_points,
    check_runs,
    check_sweep,
    read_table,
)
from sim.experiments.store import load_runs as _runs_of_folders
from sim.record import SYSTEM_FIELDS
from sim.rundir import RUN_FORMAT, read_manifest
from sim.validate import format_problem, shape_problem, table_problem

#: Timeseries columns the fan chart reads from each run of a batch (plus ``price[ILK]``).
FAN_COLUMNS = ("tick", "time", "bad_debt", "dai_supply")
#: Auction columns the fan chart reads.
FAN_AUCTION_COLUMNS = ("start_tick", "due")
#: Per-ilk time series the run overview draws (``field[ILK]`` of each ilk with a price).
OVERVIEW_ILK_FIELDS = (
    "price",
    "osm_price",
    "unsafe_vaults",
    "unsafe_vaults_after",
    "unsafe_debt",
    "unsafe_debt_after",
    "liquidations",
    "auctions_active",
)
#: System time series the run overview draws.
OVERVIEW_COLUMNS = ("tick", "dai_supply", "bad_debt", "surplus")
#: Auction columns the figures read (the run overview's outcomes, the fan's liquidated debt).
AUCTION_COLUMNS = ("ilk", "start_tick", "end_tick", "due", "dai_raised", "collateral_sold")
_OBJECT, _TEXT, _NUMBER, _WHOLE, _LIST = (dict,), (str,), (float,), (int,), (list,)
#: What a run's ``manifest.json`` holds, as far as the figures, the report and the dashboard
#: read it (``*``: every entry); a missing field or ``null`` is allowed.
RUN_MANIFEST_SHAPE = {
    "seed": _WHOLE,
    "ticks": _WHOLE,
    "status": _TEXT,
    "error": _TEXT,
    "wall_time_s": _NUMBER,
    "data_held": _OBJECT,
    "data_held.*": _NUMBER,
    "batch": _OBJECT,
    "batch.run_id": _TEXT,
    "batch.scenario_file": _TEXT,
    "batch.overrides": _LIST,
    "batch.parameters": _OBJECT,
    "scenario": _OBJECT,
    "scenario.clock": _OBJECT,
    "scenario.clock.tick": (str, float),
    "scenario.clock.duration": (str, float),
    "scenario.clock.start": _TEXT,
    "scenario.collateral": _OBJECT,
    "scenario.collateral.*": _OBJECT,
    "scenario.collateral.*.price": _OBJECT,
    "scenario.ilks": _OBJECT,
    "scenario.ilks.*": _OBJECT,
    "scenario.ilks.*.collateral": _TEXT,
    "scenario.ilks.*.mat": _NUMBER,
    "scenario.system": _OBJECT,
    "scenario.system.oracle": _OBJECT,
    "scenario.system.oracle.hop": (str, float),
    "scenario.system.oracle.gas_limit_gwei": _NUMBER,
    "scenario.network": _OBJECT,
    "scenario.network.gas": _OBJECT,
    "scenario.dai": _OBJECT,
}


class FolderError(Exception):
    """A folder cannot be read as cdpsim's output (a one-line message for the user).

    Not a run, batch or sweep folder, or a damaged one: the message names the file and the
    problem.
    """


@dataclass
class RunData:
    """One run folder's tables.

    Attributes:
        path: the folder.
        manifest: ``manifest.json`` (``scenario`` is the resolved scenario).
        timeseries: ``timeseries.parquet`` (``None`` if the run kept no time series).
        auctions: ``auctions.parquet`` (``None`` if absent).
        summary: ``summary.json`` (the KPIs; empty if absent).
    """

    path: Path
    manifest: dict[str, Any]
    timeseries: pd.DataFrame | None
    auctions: pd.DataFrame | None
    summary: dict[str, Any]

    @property
    def scenario(self) -> dict[str, Any]:
        """The resolved scenario."""
        return self.manifest.get("scenario") or {}

    @property
    def seed(self) -> int | None:
        """The run's seed."""
        return self.manifest.get("seed")

    @property
    def label(self) -> str:
        """``NAME (seed N)``."""
        name = self.scenario.get("name") or self.path.name
        return f"{name} (seed {self.seed})" if self.seed is not None else str(name)


@dataclass
class BatchData:
    """A batch folder's tables.

    Attributes:
        path: the folder.
        manifest: ``batch.json``.
        runs: the runs table (``runs.parquet``, or rebuilt from the run folders).
        scenarios: the resolved scenario of each scenario name (from a run's manifest).
        timeseries: the runs' time series stacked with a ``run_id`` column (the fan chart's
            columns only), or ``None`` when the runs were kept as summaries.
        auctions: the runs' auctions stacked with a ``run_id`` column (``start_tick``,
            ``due``), or ``None``.
        missing_series: runs without a ``timeseries.parquet``.
    """

    path: Path
    manifest: dict[str, Any]
    runs: pd.DataFrame
    scenarios: dict[str, dict[str, Any]]
    timeseries: pd.DataFrame | None = None
    auctions: pd.DataFrame | None = None
    missing_series: int = 0

    def run_folder(self, run_id: str) -> Path:
        """The folder of one of the batch's runs (``runs/<run_id>``), for :func:`load_run`."""
        return BatchFolder(self.path).run_folder(run_id)

    @property
    def kept_full(self) -> bool:
        """Whether the runs' time series are there (``--keep full``)."""
        return self.timeseries is not None and len(self.timeseries) > 0

    @property
    def label(self) -> str:
        """The folder's name."""
        return self.path.name


@dataclass
class SweepData(BatchData):
    """A sweep folder: a batch folder plus its design points, indices and discoveries.

    Attributes:
        sweep: ``batch.json``'s ``sweep`` section (``name``, ``design``, ``parameters``,
            ``kpis``, ``seeds``).
        points: ``points.parquet`` (one row per design point).
        sensitivity: ``sensitivity.parquet`` (Sobol or Morris indices), or ``None``.
        discoveries: the ``discovery/`` results
            (:class:`~sim.experiments.discovery.Discovery`, with their files).
    """

    sweep: dict[str, Any] = field(default_factory=dict)
    points: pd.DataFrame = field(default_factory=pd.DataFrame)
    sensitivity: pd.DataFrame | None = None
    discoveries: list[Discovery] = field(default_factory=list)

    @property
    def parameters(self) -> list[dict[str, Any]]:
        """The swept parameters (``name``, ``kind``, ``paths``, ``range``/``values``)."""
        return list(self.sweep.get("parameters") or [])

    @property
    def parameter_names(self) -> list[str]:
        """The swept parameters' names (their columns in ``points.parquet``)."""
        return [str(p["name"]) for p in self.parameters if "name" in p]

    @property
    def kpis(self) -> list[str]:
        """The KPIs the sweep summarises, in its order (those with ``<kpi>_mean`` columns)."""
        listed = [str(k) for k in self.sweep.get("kpis") or []]
        found = [
            c[: -len("_mean")]
            for c in self.points.columns
            if c.endswith("_mean") and pd.api.types.is_numeric_dtype(self.points[c])
        ]
        return [k for k in listed if k in found] or found


Outputs = RunData | BatchData | SweepData


def _read_parquet(path: Path, columns: list[str] | None = None) -> pd.DataFrame | None:
    """A Parquet table, or ``None`` when there is no such file.

    Raises:
        FolderError: something else is there, or the file is not a readable Parquet table.
    """
    if not path.exists() and not path.is_symlink():
        return None
    try:
        return read_table(path, columns)
    except AnalysisError as exc:
        raise FolderError(str(exc)) from None


def _check_table(path: Path, table: pd.DataFrame, **checks: Any) -> pd.DataFrame:
    """``table`` if it passes :func:`sim.validate.table_problem`.

    Raises:
        FolderError: the problem, with the file's path.
    """
    problem = table_problem(table, **checks)
    if problem:
        raise FolderError(f"{path}: {problem}; it is not a table as cdpsim writes it")
    return table


def _ticks(path: Path, table: pd.DataFrame, required: tuple[str, ...]) -> pd.DataFrame:
    """A run's time series: ``required`` and its numbers, one row per tick, at least one row."""
    recorded = [c for c in table.columns if c in SYSTEM_FIELDS or c.endswith("]")]
    _check_table(
        path,
        table,
        required=required,
        numbers=recorded,
        whole=["tick"],
        nonnegative=["tick"],
        keys=["tick"],
    )
    if len(table) == 0:
        raise FolderError(f"{path}: no rows (a run's time series has one row per tick)")
    if "time" in table.columns and table["time"].dtype.kind != "M":
        raise FolderError(f"{path}: column 'time' holds {table['time'].dtype} values, not times")
    return table


def _timeseries(path: Path) -> pd.DataFrame | None:
    """A run's ``timeseries.parquet`` with what the run overview draws, or ``None``."""
    table = _read_parquet(path)
    if table is None:
        return None
    ilks = [c[len("price[") : -1] for c in table.columns if c.startswith("price[")]
    return _ticks(
        path,
        table,
        OVERVIEW_COLUMNS + tuple(f"{f}[{ilk}]" for ilk in ilks for f in OVERVIEW_ILK_FIELDS),
    )


def _auctions(path: Path, required: tuple[str, ...] = AUCTION_COLUMNS) -> pd.DataFrame | None:
    """A run's ``auctions.parquet`` (its figures' columns checked when it has rows), or ``None``."""
    table = _read_parquet(path)
    if table is None or len(table) == 0:
        return table
    numbers = [c for c in required if c != "ilk"]
    return _check_table(
        path, table, required=required, numbers=numbers, whole=("start_tick", "end_tick")
    )


def _check_format(folder: Path, manifest: dict[str, Any], version: int) -> None:
    """Refuse a folder whose manifest states no format version or another than ``version``.

    Raises:
        FolderError: ``FOLDER: written by an earlier cdpsim (no format version); run it again
            with this version`` (or which version it states, and what to do).
    """
    problem = format_problem(manifest, version)
    if problem:
        raise FolderError(f"{folder}: {problem}")


def check_run_manifest(folder: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """A run's manifest, if it is of this format and its fields of the kinds the readers take.

    The format version is :data:`sim.rundir.RUN_FORMAT`; the fields are
    :data:`RUN_MANIFEST_SHAPE`.

    Raises:
        FolderError: another format version, naming ``folder``; or the first field of the wrong
            kind, naming ``folder/manifest.json``.
    """
    _check_format(folder, manifest, RUN_FORMAT)
    problem = shape_problem(manifest, RUN_MANIFEST_SHAPE)
    if problem:
        raise FolderError(
            f"{folder / 'manifest.json'}: {problem}; the manifest is damaged (run the scenario "
            "again to write a new run folder)"
        )
    return manifest


def read_run_manifest(path: str | Path) -> dict[str, Any]:
    """A run folder's ``manifest.json``, checked (:func:`check_run_manifest`).

    Raises:
        FolderError: ``path`` is not a cdpsim run folder, one of another format version, or its
            manifest is damaged.
    """
    path = Path(path)
    manifest = read_manifest(path) if path.is_dir() else None
    if manifest is None:
        raise FolderError(f"{path}: not a cdpsim run folder (no manifest.json of a run)")
    return check_run_manifest(path, manifest)


def load_run(path: str | Path) -> RunData:
    """A run folder's manifest, time series, auctions and summary.

    Raises:
        FolderError: ``path`` is not a cdpsim run folder, one of another format version, or its
            manifest or tables are damaged.
    """
    path = Path(path)
    manifest = read_run_manifest(path)
    try:
        summary = json.loads((path / "summary.json").read_text())
    except (OSError, ValueError):
        summary = {}
    return RunData(
        path=path,
        manifest=manifest,
        timeseries=_timeseries(path / "timeseries.parquet"),
        auctions=_auctions(path / "auctions.parquet"),
        summary=summary if isinstance(summary, dict) else {},
    )


def _fan_columns(path: Path) -> list[str]:
    """The fan chart's columns a run's ``timeseries.parquet`` has.

    Raises:
        FolderError: the file is not a readable Parquet table.
    """
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(path).names
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise FolderError(f"{path}: cannot be read as Parquet ({exc})") from None
    return [c for c in names if c in FAN_COLUMNS or c.startswith("price[")]


def _stack_runs(store: BatchFolder, run_ids: list[str]) -> tuple[pd.DataFrame | None, ...]:
    """The runs' fan-chart columns and auctions, stacked; and the count of runs without."""
    series, auctions, missing = [], [], 0
    for run_id in run_ids:
        folder = store.run_folder(run_id)
        ts_path = folder / "timeseries.parquet"
        if not ts_path.is_file():
            _read_parquet(ts_path)  # a folder or a broken link there: its message
            missing += 1  # no time series: the run was kept as a summary
            continue
        ts = _read_parquet(ts_path, _fan_columns(ts_path))
        if ts is None:  # gone since its schema was read
            missing += 1
            continue
        _ticks(ts_path, ts, ("tick", "bad_debt", "dai_supply"))
        ts.insert(0, "run_id", run_id)
        series.append(ts)
        auc = _auctions(folder / "auctions.parquet", FAN_AUCTION_COLUMNS)
        if auc is not None and len(auc):
            auc = auc[[c for c in FAN_AUCTION_COLUMNS if c in auc.columns]].copy()
            auc.insert(0, "run_id", run_id)
            auctions.append(auc)
    ts_all = pd.concat(series, ignore_index=True) if series else None
    auc_all = pd.concat(auctions, ignore_index=True) if auctions else None
    return ts_all, auc_all, missing


def _scenarios(store: BatchFolder, runs: pd.DataFrame) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for run_id, scenario in zip(runs["run_id"], runs["scenario"], strict=True):
        name = str(scenario)
        if name in out:
            continue
        folder = store.run_folder(str(run_id))
        manifest = read_manifest(folder)
        if manifest is not None and check_run_manifest(folder, manifest).get("scenario"):
            out[name] = manifest["scenario"]
    return out


def _runs_table(path: Path, table: pd.DataFrame, where: Path) -> pd.DataFrame:
    """A batch's runs table, if the readers can use it (:func:`sim.experiments.store.check_runs`).

    Raises:
        FolderError: the first problem, naming ``where`` (``runs.parquet`` or ``runs/``).
    """
    try:
        return check_runs(table, path, where)
    except AnalysisError as exc:
        raise FolderError(str(exc)) from None


def load_runs(path: str | Path, rebuild: bool = False) -> pd.DataFrame:
    """The runs table of a batch (or sweep) folder, read from its run folders (``sim.load_runs``).

    Args:
        path: the batch folder.
        rebuild: also rewrite ``runs.parquet`` from the run folders.

    Returns:
        One row per run folder: run id, scenario file and name, overrides (JSON), seed, status,
        error and traceback, wall time, ticks, swept parameters, then every KPI
        (:func:`sim.experiments.store.load_runs`).

    Raises:
        FolderError: ``path`` is not a cdpsim batch folder, or one of another format version.
    """
    try:
        return _runs_of_folders(path, rebuild=rebuild)
    except StoreError as exc:
        raise FolderError(str(exc)) from None


def load_batch(path: str | Path, *, series: bool = True) -> BatchData | SweepData:
    """A batch or sweep folder's tables.

    Args:
        path: the batch folder.
        series: also stack the runs' time series and auctions (the fan chart needs them).

    Raises:
        FolderError: ``path`` is not a cdpsim batch folder, one of another format version, or
            a damaged one.
    """
    path = Path(path)
    store = BatchFolder(path)
    manifest = store.read_manifest() if path.is_dir() else None
    if manifest is None:
        raise FolderError(f"{path}: not a cdpsim batch folder (no {BATCH_MANIFEST} of a batch)")
    _check_format(path, manifest, BATCH_FORMAT)
    table = _read_parquet(path / RUNS_TABLE)
    if table is not None:
        table = _runs_table(path, table, path / RUNS_TABLE)
    else:
        try:
            table = _runs_table(path, _runs_of_folders(path), store.runs)
        except StoreError as exc:
            raise FolderError(str(exc)) from None
    section = manifest.get("sweep")
    if section:
        section = _sweep_section(path, section)
    run_ids = [str(r) for r in table["run_id"]]
    ts, auc, missing = _stack_runs(store, run_ids) if series else (None, None, len(run_ids))
    common: dict[str, Any] = {
        "path": path,
        "manifest": manifest,
        "runs": table,
        "scenarios": _scenarios(store, table),
        "timeseries": ts,
        "auctions": auc,
        "missing_series": missing,
    }
    if not section:
        return BatchData(**common)
    sweep = SweepFolder(path)
    points = _read_parquet(sweep.points_path)
    if points is None:
        raise FolderError(f"{path}: a sweep folder without {POINTS_TABLE}; is the sweep finished?")
    names = [str(p.get("name")) for p in section.get("parameters") or []]
    kpis = [str(k) for k in section.get("kpis") or []]
    try:
        checked = check_points(points, sweep.points_path, kpis)
        sensitivity = sweep.read_sensitivity()
        discoveries = sweep.discoveries()
    except AnalysisError as exc:
        raise FolderError(str(exc)) from None
    return SweepData(
        **common,
        sweep=section,
        points=numeric_parameters(checked, names),
        sensitivity=sensitivity,
        discoveries=discoveries,
    )


def _sweep_section(path: Path, section: Any) -> dict[str, Any]:
    """``batch.json``'s ``sweep`` section, checked (:func:`sim.experiments.store.check_sweep`).

    Raises:
        FolderError: it is not of the shape ``cdpsim sweep`` writes.
    """
    try:
        return check_sweep(path, section)
    except AnalysisError as exc:
        raise FolderError(str(exc)) from None


def numeric_parameters(table: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """``table`` with parameter columns held as text (``"2.0e5"``) turned into numbers.

    YAML reads ``2.0e5`` (no sign in the exponent) as text; the scenario accepts it as a
    number, and so do the plots. A column with any value that is not a number is left as it is.
    """
    out = table
    for name in names:
        if name in table.columns and table[name].dtype.kind not in "iufb":
            converted = pd.to_numeric(table[name], errors="coerce")
            if converted.notna().sum() == table[name].notna().sum():
                out = out.copy() if out is table else out
                out[name] = converted
    return out


def held_after(run: RunData) -> dict[str, float]:
    """Per collateral (and ``gas``), when its replayed series ran out of data and was held.

    As the run recorded it in its manifest (``data_held``: the ``replay`` processes with
    ``beyond: hold`` whose data ended before the run did), so the figure depends on the run
    folder alone; a run that computed nothing (a manifest only) records none.

    Returns:
        ``{asset or "gas": seconds since the start}``.
    """
    recorded = run.manifest.get("data_held") or {}
    return {str(k): float(v) for k, v in recorded.items()}


#: A ``spell`` event that changed nothing (a refused change or action, a governor that did not
#: fire): not a mark on the figures.
_NOT_IN_FORCE = (": refused", ": not fired", " refused: ")


def governance_marks(run: RunData) -> list[tuple[str, float]]:
    """The governance changes a run made, for the figures: ``(name, seconds since the start)``.

    Read from the run's event log: its ``spell`` rows are the spells that took effect and the
    governors' firings (which only the run knows), each at the start of its tick; rows of a
    refused change or action, or of a governor that did not fire, are left out, and a spell
    that logged several rows is one mark. Without a readable event log (a run kept as a
    summary, a damaged file), the scenario's spells (:func:`~sim.scenario.governance.spell_marks`).
    """
    from sim.scenario.governance import spell_marks
    from sim.scenario.schema import Clock

    path = run.path / "events.parquet"
    try:
        clock = Clock.model_validate(run.scenario.get("clock") or {})
        table = pq.read_table(path, columns=["event", "tick", "actor"])
    except (OSError, ValueError, KeyError, pa.ArrowException):
        return spell_marks(run.scenario)
    frame = table.to_pandas()
    rows = frame[frame["event"].astype(str) == "spell"]
    marks: list[tuple[str, float]] = []
    for tick, actor in zip(rows["tick"], rows["actor"].astype(str), strict=True):
        if any(text in actor for text in _NOT_IN_FORCE):
            continue
        mark = (actor.split(": ", 1)[0], int(tick) * clock.tick)
        if mark not in marks:
            marks.append(mark)
    return marks


def folder_kind(path: str | Path) -> str:
    """``run``, ``batch`` or ``sweep``.

    Raises:
        FolderError: ``path`` is none of these (missing, a file, another folder), or one of
            another format version than this cdpsim writes.
    """
    path = Path(path)
    if not path.exists():
        raise FolderError(f"{path}: no such folder")
    if not path.is_dir():
        raise FolderError(f"{path}: not a folder (give a run, batch or sweep folder)")
    manifest = read_manifest(path)
    if manifest is not None:
        _check_format(path, manifest, RUN_FORMAT)
        return "run"
    manifest = BatchFolder(path).read_manifest()
    if manifest is not None:
        _check_format(path, manifest, BATCH_FORMAT)
        return "sweep" if manifest.get("sweep") else "batch"
    raise FolderError(
        f"{path}: not a cdpsim run, batch or sweep folder (no manifest.json or {BATCH_MANIFEST})"
    )


def load_folder(path: str | Path, *, series: bool = True) -> Outputs:
    """The tables of a run, batch or sweep folder (:func:`folder_kind` decides which).

    Args:
        path: the folder.
        series: for a batch, also stack the runs' time series (not read for a sweep).

    Raises:
        FolderError: not an output folder of cdpsim, or unreadable.
    """
    kind = folder_kind(path)
    if kind == "run":
        return load_run(path)
    return load_batch(path, series=series and kind == "batch")


__all__ = [
    "AUCTION_COLUMNS",
    "FAN_AUCTION_COLUMNS",
    "FAN_COLUMNS",
    "OVERVIEW_COLUMNS",
    "OVERVIEW_ILK_FIELDS",
    "RUN_MANIFEST_SHAPE",
    "BatchData",
    "FolderError",
    "Outputs",
    "RunData",
    "SweepData",
    "check_run_manifest",
    "folder_kind",
    "held_after",
    "load_batch",
    "load_folder",
    "load_run",
    "load_runs",
    "numeric_parameters",
    "read_run_manifest",
]
