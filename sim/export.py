"""A run, batch or sweep folder's tables as CSV files or one Excel workbook (``cdpsim export``).

The tables are read by :mod:`sim.results` (every file checked as for the figures) and written
with the unit of each column in its header, ``bad_debt_max [Dai]``: KPIs from their definitions
(:data:`sim.metrics.KPIS`, the risk statistics), swept parameters from the scenario schema
(:func:`sim.scenario.paths.field_at`), the recorded columns from :data:`TIMESERIES_UNITS` and
:data:`AUCTION_UNITS` (the units :mod:`sim.record` documents). Identifiers and text (``tick``,
``run_id``, ``scenario``, ``ilk``) have none.

What is exported, by the folder's kind:

- run: ``summary`` (each KPI: value, unit, definition), ``keepers`` (each keeper's profit),
  ``timeseries`` (every recorded column), ``auctions``;
- batch: ``summary`` (per scenario, over its ok runs: VaR, ES, LaR, P(bad debt), and each KPI's
  mean, standard deviation and 5/50/95 % quantiles), ``runs`` (the runs table);
- sweep: ``points`` (per design point: parameters, counts, KPI statistics), ``sensitivity``
  (Sobol or Morris indices, when computed), ``runs``.

A batch's runs are run folders (``DIR/runs/<run_id>``): export one to get its time series.

CSV: a folder (``DIR-csv`` next to DIR by default) with ``about.csv`` and a ``<table>.csv`` per
table. Excel: one workbook (``DIR.xlsx``), an ``about`` sheet first, then a sheet per table.
Times are UTC, written without a zone (Excel has none). Both carry :data:`MARKER` (in
``about``, and as the workbook's creator), so a later export may replace its own output while a
user's file of the same name is left alone unless forced.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.atomic import replacing
from sim.files import existing_special_file
from sim.metrics import KPI_BY_NAME, KPIS, N_RUNS, RISK_STATS, ensemble_kpi_stats, risk_by_scenario
from sim.results import BatchData, RunData, SweepData, load_folder

#: Output formats of ``cdpsim export --to``.
FORMATS = ("csv", "xlsx")
#: The words every export carries (``about``; the workbook's creator).
MARKER = "made by cdpsim"
#: Rows of an Excel sheet, the header included.
EXCEL_MAX_ROWS = 1_048_576
#: Characters of an Excel cell; longer text (a traceback) is cut there.
EXCEL_MAX_CELL = 32_767
#: Integers above this lose digits as Excel numbers (float64); they are written as text.
EXACT_INTEGER = 2**53

#: Units of the per-ilk fields of ``timeseries.parquet`` (``field[ILK]``), as in :mod:`sim.record`.
ILK_UNITS = {
    "price": "USD/token",
    "osm_price": "USD/token",
    "debt": "Dai",
    "collateral_value": "USD",
    "vaults_open": "count",
    "unsafe_vaults": "count",
    "unsafe_debt": "Dai",
    "unsafe_vaults_after": "count",
    "unsafe_debt_after": "Dai",
    "liquidations": "count",
    "auctions_active": "count",
    "line": "Dai",
    "stopped": "level 0-3",
}
#: Units of the system columns of ``timeseries.parquet``, as in :mod:`sim.record`.
TIMESERIES_UNITS = {
    "time": "UTC",
    "dai_supply": "Dai",
    "surplus": "Dai",
    "bad_debt": "Dai",
    "auction_debt": "Dai",
    "insolvent_debt": "Dai",
    "mkr_minted": "MKR",
    "mkr_burned": "MKR",
    "debt_auction_dai": "Dai",
    "mkr_price": "USD/MKR",
    "dai_price": "USD/Dai",
    "gas_price_gwei": "gwei",
    "agent_gas": "gas",
    "block_gas": "gas",
    "block_fill_max": "-",
    "psm_debt": "Dai",
    "savings": "Dai",
    "psm_line": "Dai",
    "psm_gem_price": "USD/token",
    "psm_gem": "tokens",
}
#: Units of the per-group columns of a run with a network (``txs.keepers.taker``).
GROUP_UNITS = {"txs": "count", "priced_out": "count", "dai": "Dai", "idle": "count"}
#: Units of ``auctions.parquet``'s columns, as in :mod:`sim.record`.
AUCTION_UNITS = {
    "start_tick": "tick",
    "end_tick": "tick",
    "duration_s": "s",
    "tab": "Dai",
    "lot": "tokens",
    "due": "Dai",
    "dai_raised": "Dai",
    "collateral_sold": "tokens",
    "collateral_returned": "tokens",
    "shortfall": "Dai",
    "bad_debt": "Dai",
    "redos": "count",
    "coin": "Dai",
    "bids": "count",
}
#: Units of a runs table's columns that are not KPIs or parameters.
RUNS_UNITS = {"wall_time_s": "s", "ticks": "count"}
#: Columns that name or number things: no unit.
IDENTIFIERS = frozenset({"tick", "run_id", "seed", "point", "auction", "vault"})


class ExportError(Exception):
    """The folder cannot be exported as asked (a one-line message for the user)."""


class ExportWriteError(ExportError):
    """Writing the export failed (disk full, no permission): not the input's fault."""


@dataclass
class Table:
    """One exported table.

    Attributes:
        name: its file stem and sheet name (``timeseries``).
        frame: the table, headers with their units (``bad_debt_max [Dai]``).
        about: what it holds, one sentence.
    """

    name: str
    frame: pd.DataFrame
    about: str


@dataclass
class Export:
    """What ``cdpsim export`` writes for one folder.

    Attributes:
        kind: ``run``, ``batch`` or ``sweep``.
        about: ``(field, value)`` rows describing the folder (the ``about`` sheet).
        tables: the tables, in their order.
    """

    kind: str
    about: list[tuple[str, str]]
    tables: list[Table]


def timeseries_unit(column: str) -> str | None:
    """The unit of a ``timeseries.parquet`` column (``None`` for ``tick`` or an unknown one)."""
    if column.endswith("]") and "[" in column:
        field = column[: column.index("[")]
        if field.startswith("cr_p"):
            return "-"
        return ILK_UNITS.get(field)
    if column in TIMESERIES_UNITS:
        return TIMESERIES_UNITS[column]
    prefix = column.split(".", 1)[0]
    return GROUP_UNITS.get(prefix) if "." in column else None


def kpi_unit(column: str) -> str | None:
    """The unit of a KPI or an ensemble column (``bad_debt_max_p95``, ``bad_debt_var95``).

    Returns:
        ``Dai``, ``count``, ``-``, ...; ``None`` for a name that is none of these.
    """
    risk = {k.name: k.unit for k in RISK_STATS}
    counts = {"n": "count", "n_failed": "count", "n_missing": "count", N_RUNS: "count"}
    if column in KPI_BY_NAME:
        return KPI_BY_NAME[column].unit
    if column in risk:
        return risk[column]
    if column in counts:
        return counts[column]
    if column.endswith(f"_{N_RUNS}"):
        return "count"
    for name, spec in KPI_BY_NAME.items():
        stat = column[len(name) + 1 :] if column.startswith(f"{name}_") else None
        if stat in ("mean", "std", "p05", "p50", "p95"):
            return spec.unit
    return None


def parameter_units(parameters: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """The unit of each swept parameter: its spec's ``unit``, else its scenario field's.

    A ``scale`` parameter multiplies the scenario's value: ``× base``.
    """
    from sim.scenario.paths import field_at
    from sim.scenario.schema import Scenario

    out = {}
    for spec in parameters:
        name = str(spec.get("name"))
        if spec.get("kind") == "scale":
            out[name] = "× base"
            continue
        path = str((spec.get("paths") or [name])[0])
        found = field_at(Scenario, path)
        out[name] = str(spec.get("unit") or (found.unit if found is not None else None) or "-")
    return out


def with_units(frame: pd.DataFrame, unit_of: Callable[[str], str | None]) -> pd.DataFrame:
    """``frame`` with each column named ``name [unit]`` where ``unit_of`` knows a unit."""
    names = {}
    for column in frame.columns:
        unit = None if column in IDENTIFIERS else unit_of(str(column))
        names[column] = f"{column} [{unit}]" if unit else str(column)
    return frame.rename(columns=names)


def _utc_naive(frame: pd.DataFrame) -> pd.DataFrame:
    """Time columns as UTC without a zone (Excel has none; the header says UTC)."""
    out = frame
    for column in frame.columns:
        dtype = frame[column].dtype
        if isinstance(dtype, pd.DatetimeTZDtype):
            out = out.copy() if out is frame else out
            out[column] = frame[column].dt.tz_convert("UTC").dt.tz_localize(None)
    return out


def _run_export(run: RunData) -> Export:
    summary = run.summary
    rows = [
        (k.name, summary.get(k.name), k.unit, k.definition.replace("`", ""))
        for k in KPIS
        if k.name in summary
    ]
    tables = [
        Table(
            "summary",
            pd.DataFrame(rows, columns=["kpi", "value", "unit", "definition"]),
            "the run's KPIs (summary.json): value in the unit of its row, and what it measures",
        )
    ]
    keepers = summary.get("keepers")
    if isinstance(keepers, dict) and keepers:
        frame = pd.DataFrame({"keeper": list(keepers), "profit": list(keepers.values())})
        tables.append(
            Table(
                "keepers",
                with_units(frame, {"profit": "Dai"}.get),
                "each keeper's profit at the end of the run (their sum is keeper_profit)",
            )
        )
    if run.timeseries is not None:
        tables.append(
            Table(
                "timeseries",
                with_units(_utc_naive(run.timeseries), timeseries_unit),
                "one row per tick (tick 0 the initial state): prices, vaults, auctions, Dai "
                "supply and deficit (timeseries.parquet)",
            )
        )
    if run.auctions is not None:
        tables.append(
            Table(
                "auctions",
                with_units(run.auctions, AUCTION_UNITS.get),
                "one row per collateral auction (auctions.parquet); end_tick -1 while running",
            )
        )
    scenario = run.scenario
    about = [
        ("kind", "run folder"),
        ("scenario", str(scenario.get("name") or run.path.name)),
        ("seed", str(run.seed)),
        ("status", str(run.manifest.get("status"))),
        ("ticks", str(run.manifest.get("ticks"))),
        ("tick", str((scenario.get("clock") or {}).get("tick"))),
        ("start", str((scenario.get("clock") or {}).get("start"))),
    ]
    return Export("run", about, tables)


def _runs_table(batch: BatchData, units: Mapping[str, str]) -> Table:
    def unit_of(column: str) -> str | None:
        return RUNS_UNITS.get(column) or units.get(column) or kpi_unit(column)

    return Table(
        "runs",
        with_units(batch.runs, unit_of),
        "one row per run: scenario, seed, overrides, status, then every KPI (runs.parquet)",
    )


def _batch_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Per scenario, over its ok runs: the risk statistics and each KPI's statistics."""
    ok = runs[runs["status"].astype(str) == "ok"] if "status" in runs else runs
    kpis = [k.name for k in KPIS if k.name in ok.columns]
    names = ok["scenario"].fillna("runs").astype(str) if "scenario" in ok else None
    risk = risk_by_scenario(ok)
    rows = []
    groups = ok.groupby(names, sort=False) if names is not None else [("runs", ok)]
    for name, group in groups:
        row: dict[str, Any] = {"scenario": str(name), "runs": len(group)}
        row.update(risk.get(str(name), {}))
        for kpi in kpis:
            values = pd.to_numeric(group[kpi], errors="coerce").to_numpy(dtype=np.float64)
            row.update(ensemble_kpi_stats(kpi, values))
        rows.append(row)
    return pd.DataFrame(rows)


def _batch_export(batch: BatchData) -> Export:
    status = batch.runs["status"].astype(str) if "status" in batch.runs else pd.Series([])
    about = [
        ("kind", "batch folder"),
        ("scenarios", ", ".join(str(s) for s in dict.fromkeys(batch.runs.get("scenario", [])))),
        ("runs", str(len(batch.runs))),
        ("runs ok", str(int((status == "ok").sum()))),
    ]
    summary = _batch_summary(batch.runs)
    units = {"runs": "count"}
    tables = [
        Table(
            "summary",
            with_units(summary, lambda c: units.get(c) or kpi_unit(c)),
            "per scenario, over its ok runs: VaR95/99, ES95, LaR95 and P(bad debt) of "
            "bad_debt_max and liquidated_debt, then each KPI's mean, standard deviation and "
            "5/50/95 % quantiles over seeds",
        ),
        _runs_table(batch, {}),
    ]
    return Export("batch", about, tables)


def _sensitivity_unit(column: str) -> str | None:
    if column in ("S1", "S1_conf", "ST", "ST_conf", "S2", "S2_conf"):
        return "-"
    if column in ("mu_star", "mu_star_conf", "sigma", "mu"):
        return "KPI unit per parameter range"
    return None


def _sweep_export(sweep: SweepData) -> Export:
    units = parameter_units(sweep.parameters)
    section = sweep.sweep
    about = [
        ("kind", "sweep folder"),
        ("sweep", str(section.get("name") or sweep.path.name)),
        ("design", json.dumps(section.get("design"), default=str)),
        ("parameters", ", ".join(f"{n} [{units.get(n, '-')}]" for n in sweep.parameter_names)),
        ("kpis", ", ".join(sweep.kpis)),
        ("seeds per point", str(section.get("seeds"))),
        ("runs", str(len(sweep.runs))),
    ]
    tables = [
        Table(
            "points",
            with_units(sweep.points, lambda c: units.get(c) or kpi_unit(c)),
            "one row per design point: the swept parameters, run counts, each KPI's statistics "
            "over seeds and the risk statistics (points.parquet)",
        )
    ]
    if sweep.sensitivity is not None:
        frame = sweep.sensitivity.copy()
        if "kpi" in frame:
            frame.insert(
                list(frame.columns).index("kpi") + 1,
                "kpi_unit",
                [kpi_unit(str(k)) or "-" for k in frame["kpi"]],
            )
        tables.append(
            Table(
                "sensitivity",
                with_units(frame, _sensitivity_unit),
                "Sobol (S1, ST: shares of variance) or Morris (mu_star, sigma, mu: in the KPI's "
                "unit, kpi_unit, per whole range of the parameter) indices (sensitivity.parquet)",
            )
        )
    tables.append(_runs_table(sweep, units))
    return Export("sweep", about, tables)


def export_tables(folder: str | Path) -> Export:
    """The tables of a run, batch or sweep folder, with units in their headers.

    Args:
        folder: the output folder.

    Returns:
        Its :class:`Export`: the ``about`` rows (the folder, its kind, what it ran, the cdpsim
        version) and the tables.

    Raises:
        ExportError: not a cdpsim output folder, or a damaged one (the message names the file).
    """
    from sim.results import FolderError
    from sim.version import version

    folder = Path(folder)
    try:
        outputs = load_folder(folder, series=False)
    except FolderError as exc:
        raise ExportError(str(exc)) from None
    if isinstance(outputs, SweepData):
        result = _sweep_export(outputs)
    elif isinstance(outputs, BatchData):
        result = _batch_export(outputs)
    else:
        result = _run_export(outputs)
    result.about[:0] = [
        ("folder", str(folder.resolve())),
        ("generator", f"{MARKER} {version()} (cdpsim export)"),
    ]
    result.about += [(f"table {t.name}", t.about) for t in result.tables]
    result.about.append(
        (
            "units",
            "in each header's brackets: Dai (protocol accounting), USD (market values), MKR, "
            "tokens (of the row's collateral), count, s, gwei, gas, - (a ratio); times are UTC",
        )
    )
    return result


def default_output(folder: str | Path, fmt: str) -> Path:
    """Where an export goes by default: next to the folder, ``DIR.xlsx`` or ``DIR-csv/``."""
    folder = Path(folder)
    name = folder.resolve().name or "export"
    return folder.resolve().parent / (f"{name}.xlsx" if fmt == "xlsx" else f"{name}-csv")


def made_by_cdpsim(path: str | Path) -> bool:
    """Whether ``path`` is an export cdpsim wrote (a workbook, or a CSV folder's ``about.csv``)."""
    path = Path(path)
    try:
        if path.is_dir():
            about = path / "about.csv"
            return about.is_file() and MARKER in about.read_text(encoding="utf-8")[:4096]
        if not path.is_file() or not zipfile.is_zipfile(path):
            return False
        with zipfile.ZipFile(path) as book:
            return MARKER in book.read("docProps/core.xml").decode("utf-8", "replace")
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return False


def check_target(path: str | Path, fmt: str, *, force: bool) -> Path:
    """Check that the export may be written at ``path``.

    A missing path may be written; an existing export of cdpsim's may be replaced; anything
    else (a user's file, a folder with other files) only with ``force``.

    Raises:
        ExportError: the path is of the wrong kind (a folder for a workbook, a file for CSV
            files, a FIFO), or holds something cdpsim did not make and ``force`` is not given.
    """
    path = Path(path)
    special = existing_special_file(path)
    if special is not None:
        raise ExportError(f"{path}: {special}; give the name of a file or folder to write")
    if fmt == "xlsx":
        if path.suffix.lower() != ".xlsx":
            raise ExportError(
                f"{path}: an Excel workbook is named *.xlsx (for CSV files: --to csv)"
            )
        if path.is_dir():
            raise ExportError(f"{path}: is a folder; give a file name such as {path / 'x.xlsx'}")
    elif path.exists() and not path.is_dir():
        raise ExportError(f"{path}: is a file; CSV export writes a folder of CSV files")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        raise ExportError(f"{path}: {parent} is a file, not a folder")
    occupied = path.exists() and (not path.is_dir() or any(path.iterdir()))
    if occupied and not force and not made_by_cdpsim(path):
        raise ExportError(
            f"{path} exists and was not made by cdpsim export; it is left alone: pass --force to "
            "replace it (CSV: the files of the same names in it), or --out to write elsewhere"
        )
    return path


def _for_excel(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """A frame Excel can hold: text cut at its cell limit, huge integers as text."""
    if len(frame) + 1 > EXCEL_MAX_ROWS:
        raise ExportError(
            f"table {name} has {len(frame)} rows, more than an Excel sheet holds "
            f"({EXCEL_MAX_ROWS - 1}); export it with --to csv"
        )
    out = _utc_naive(frame)
    for column in out.columns:
        series = out[column]
        if series.dtype.kind in "iu" and len(series) and series.abs().max() > EXACT_INTEGER:
            out = out.copy() if out is frame else out
            out[column] = series.astype(str)
        elif series.dtype.kind == "O" or isinstance(series.dtype, pd.StringDtype):
            text = series.astype("string")
            if (text.str.len() > EXCEL_MAX_CELL).any():
                out = out.copy() if out is frame else out
                out[column] = text.str.slice(0, EXCEL_MAX_CELL)
    return out


def write_xlsx(export: Export, path: str | Path) -> Path:
    """Write the export as one workbook: an ``about`` sheet, then a sheet per table.

    Raises:
        ExportError: a table has more rows than a sheet holds.
        ExportWriteError: the file cannot be written (nothing half-written is left).
    """
    from sim.version import version

    try:
        import openpyxl  # noqa: F401
    except ImportError:  # an install from before it was a dependency
        raise ExportError(
            "--to xlsx needs openpyxl, a dependency of cdpsim missing here: pip install "
            "openpyxl (or reinstall cdpsim), or export with --to csv"
        ) from None
    path = Path(path)
    frames = [(t.name, _for_excel(t.frame, t.name)) for t in export.tables]
    about = pd.DataFrame(export.about, columns=["field", "value"])
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with replacing(path) as tmp:
            with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
                about.to_excel(writer, sheet_name="about", index=False)
                for name, frame in frames:
                    frame.to_excel(writer, sheet_name=name, index=False)
                book = writer.book
                book.properties.creator = f"{MARKER} {version()}"
                book.properties.title = f"cdpsim {export.kind} export"
                for sheet in book.worksheets:
                    sheet.freeze_panes = "A2"
    except OSError as exc:
        raise ExportWriteError(f"{path}: cannot write: {exc.strerror or exc}") from None
    return path


def write_csv(export: Export, folder: str | Path) -> list[Path]:
    """Write the export as ``about.csv`` and a ``<table>.csv`` per table into ``folder``.

    Other files in the folder are not touched.

    Returns:
        The files written, ``about.csv`` first.

    Raises:
        ExportWriteError: a file cannot be written (each file is whole or not there).
    """
    folder = Path(folder)
    written = []
    items = [("about", pd.DataFrame(export.about, columns=["field", "value"]))]
    items += [(t.name, t.frame) for t in export.tables]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, frame in items:
            path = folder / f"{name}.csv"
            with replacing(path) as tmp:
                frame.to_csv(tmp, index=False, date_format="%Y-%m-%dT%H:%M:%S")
            written.append(path)
    except OSError as exc:
        raise ExportWriteError(f"{folder}: cannot write: {exc.strerror or exc}") from None
    return written


__all__ = [
    "AUCTION_UNITS",
    "FORMATS",
    "ILK_UNITS",
    "MARKER",
    "TIMESERIES_UNITS",
    "Export",
    "ExportError",
    "ExportWriteError",
    "Table",
    "check_target",
    "default_output",
    "export_tables",
    "kpi_unit",
    "made_by_cdpsim",
    "parameter_units",
    "timeseries_unit",
    "with_units",
    "write_csv",
    "write_xlsx",
]
