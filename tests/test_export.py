"""sim.export: a folder's tables with units in their headers, read back from xlsx and CSV."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from sim import record
from sim.export import (
    AUCTION_UNITS,
    ExportError,
    check_target,
    default_output,
    export_tables,
    kpi_unit,
    made_by_cdpsim,
    timeseries_unit,
    write_csv,
    write_xlsx,
)
from sim.metrics import KPIS
from sim.results import load_batch, load_run
from tests import test_plots

#: The session's output folders (a fixture of tests/test_plots.py).
outputs = test_plots.outputs
_UNIT = re.compile(r"^(?P<name>.+?) \[(?P<unit>[^\]]+)\]$")


def plain(column: str) -> str:
    """A header without its unit: ``bad_debt_max [Dai]`` → ``bad_debt_max``."""
    found = _UNIT.match(column)
    return found.group("name") if found else column


def unit(column: str) -> str | None:
    found = _UNIT.match(column)
    return found.group("unit") if found else None


#: openpyxl writes numbers with 16 significant digits (Excel shows 15): the relative error of a
#: value read back from a workbook [-]. CSV files hold every digit (``repr``).
XLSX_RTOL = 1e-15


def same_table(read: pd.DataFrame, expected: pd.DataFrame, rtol: float = 0.0) -> None:
    """``read`` (from a file) holds ``expected``'s values under unit-labelled headers."""
    assert [plain(c) for c in read.columns] == [str(c) for c in expected.columns]
    assert len(read) == len(expected)
    for got, (name, want) in zip(read.columns, expected.items(), strict=True):
        got_values = read[got]
        if want.dtype.kind in "iuf":
            assert np.allclose(
                got_values.to_numpy(dtype=np.float64),
                want.to_numpy(dtype=np.float64),
                rtol=rtol,
                atol=0,
                equal_nan=True,
            ), name
        elif want.dtype.kind == "M" or isinstance(want.dtype, pd.DatetimeTZDtype):
            utc = want.dt.tz_convert("UTC").dt.tz_localize(None) if want.dt.tz else want
            assert (pd.to_datetime(got_values) == utc).all(), name
        else:
            shown = want.astype("string").fillna("")
            assert (got_values.astype("string").fillna("") == shown).all(), name


def test_every_recorded_field_has_a_unit():
    """The recorder's field lists and the export's units cannot drift apart unnoticed."""
    for field in record.ILK_FIELDS:
        assert timeseries_unit(f"{field}[ETH-A]"), field
    for field in record.SYSTEM_FIELDS:
        assert timeseries_unit(field), field
    for column in record.AUCTION_COLUMNS:
        if column not in ("ilk", "auction", "vault", "kind", "winner"):
            assert AUCTION_UNITS.get(column), column
    for kpi in KPIS:
        assert kpi_unit(kpi.name) == kpi.unit
        assert kpi_unit(f"{kpi.name}_p95") == kpi.unit
    assert kpi_unit("bad_debt_max_n_runs") == "count"
    assert kpi_unit("scenario") is None


def test_a_run_reads_back_from_the_workbook(outputs, tmp_path):
    folder = outputs.thursday  # a network: per-group columns too
    written = write_xlsx(export_tables(folder), tmp_path / "run.xlsx")
    assert made_by_cdpsim(written)
    sheets = pd.read_excel(written, sheet_name=None)
    assert list(sheets) == ["about", "summary", "keepers", "timeseries", "auctions"]
    run = load_run(folder)
    same_table(sheets["timeseries"], run.timeseries, XLSX_RTOL)
    same_table(sheets["auctions"], run.auctions, XLSX_RTOL)
    headers = list(sheets["timeseries"].columns)
    assert "bad_debt [Dai]" in headers and "price[ETH-A] [USD/token]" in headers
    assert "time [UTC]" in headers and "tick" in headers
    numeric = [c for c in headers if c != "tick" and sheets["timeseries"][c].dtype.kind in "iuf"]
    assert numeric and all(unit(c) for c in numeric), [c for c in numeric if not unit(c)]
    assert any(c.startswith("txs.keepers.") and unit(c) == "count" for c in headers)
    summary = sheets["summary"].set_index("kpi")
    kpis = json.loads((folder / "summary.json").read_text())
    assert summary.loc["bad_debt_max", "value"] == pytest.approx(
        kpis["bad_debt_max"], rel=XLSX_RTOL
    )
    assert summary.loc["bad_debt_max", "unit"] == "Dai"
    keepers = sheets["keepers"]
    assert list(keepers.columns) == ["keeper", "profit [Dai]"]
    assert keepers["profit [Dai]"].sum() == pytest.approx(kpis["keeper_profit"])
    about = dict(zip(sheets["about"]["field"], sheets["about"]["value"], strict=True))
    assert about["kind"] == "run folder" and about["folder"] == str(folder.resolve())
    assert "made by cdpsim" in about["generator"]


def test_a_batch_and_a_sweep_read_back_from_csv(outputs, tmp_path):
    batch = load_batch(outputs.batch, series=False)
    files = write_csv(export_tables(outputs.batch), tmp_path / "batch")
    assert [p.name for p in files] == ["about.csv", "summary.csv", "runs.csv"]
    runs = pd.read_csv(tmp_path / "batch" / "runs.csv")
    same_table(runs, batch.runs)  # every digit
    summary = pd.read_csv(tmp_path / "batch" / "summary.csv")
    ok = batch.runs[batch.runs["status"] == "ok"]
    row = summary.iloc[0]
    assert row["runs [count]"] == len(ok)
    assert row["bad_debt_max_mean [Dai]"] == pytest.approx(ok["bad_debt_max"].mean())
    assert row["liquidated_debt_p50 [Dai]"] == pytest.approx(ok["liquidated_debt"].median())
    assert made_by_cdpsim(tmp_path / "batch")

    sweep = load_batch(outputs.sweep_sobol, series=False)
    written = write_xlsx(export_tables(outputs.sweep_sobol), tmp_path / "sweep.xlsx")
    sheets = pd.read_excel(written, sheet_name=None)
    assert list(sheets) == ["about", "points", "sensitivity", "runs"]
    same_table(sheets["points"], sweep.points, XLSX_RTOL)
    sensitivity = sheets["sensitivity"]
    assert "S1 [-]" in sensitivity.columns and set(sensitivity["kpi_unit"]) == {"Dai"}
    same_table(sensitivity.drop(columns="kpi_unit"), sweep.sensitivity, XLSX_RTOL)
    assert "ilks.ETH-A.liquidation.buf [-]" in sheets["points"].columns
    assert "keepers.0.dai [Dai]" in sheets["points"].columns


def test_bad_folders_and_targets_are_refused(outputs, tmp_path):
    with pytest.raises(ExportError, match="no such folder"):
        export_tables(tmp_path / "missing")
    with pytest.raises(ExportError, match="not a cdpsim run, batch or sweep folder"):
        export_tables(tmp_path)
    mine = tmp_path / "mine.xlsx"
    mine.write_bytes(b"my workbook")
    with pytest.raises(ExportError, match="not made by cdpsim export"):
        check_target(mine, "xlsx", force=False)
    assert check_target(mine, "xlsx", force=True) == mine
    with pytest.raises(ExportError, match=r"named \*\.xlsx"):
        check_target(tmp_path / "x.csv", "xlsx", force=False)
    with pytest.raises(ExportError, match="is a file"):
        check_target(mine, "csv", force=True)
    assert default_output(outputs.liq2, "xlsx") == outputs.liq2.parent / "liq2.xlsx"
    assert default_output(outputs.liq2, "csv") == outputs.liq2.parent / "liq2-csv"
