"""``cdpsim export``: files written next to the folder, a user's file kept, bad input exit 2."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from sim.cli import main
from tests import test_plots

#: The session's output folders (a fixture of tests/test_plots.py).
outputs = test_plots.outputs


def cdpsim(*args: str) -> tuple[int, str, str]:
    """Run the command in this process; exit code, stdout, stderr."""
    result = CliRunner().invoke(main, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a traceback: a bug
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def run_copy(outputs, tmp_path) -> Path:
    folder = tmp_path / "crash"
    shutil.copytree(outputs.liq2, folder)
    return folder


def test_export_writes_next_to_the_folder_and_replaces_only_its_own(run_copy):
    code, out, err = cdpsim("export", str(run_copy))
    book = run_copy.parent / "crash.xlsx"
    assert code == 0, err
    assert out.strip() == f"{book} (sheets: about, summary, keepers, timeseries, auctions)"
    assert "bad_debt [Dai]" in pd.read_excel(book, sheet_name="timeseries").columns
    code, _, err = cdpsim("export", str(run_copy))  # its own file: replaced
    assert code == 0, err
    book.write_bytes(b"my workbook")
    code, out, err = cdpsim("export", str(run_copy))
    assert code == 2 and out == "" and "--force" in err and len(err.splitlines()) == 1
    assert book.read_bytes() == b"my workbook"
    code, _, err = cdpsim("export", str(run_copy), "--out", str(book))  # naming it is not enough
    assert code == 2 and book.read_bytes() == b"my workbook"
    code, _, err = cdpsim("export", str(run_copy), "--force")
    assert code == 0, err
    code, out, err = cdpsim("export", str(run_copy), "--to", "csv")
    assert code == 0, err
    table = pd.read_csv(run_copy.parent / "crash-csv" / "timeseries.csv")
    assert len(table) == len(pd.read_parquet(run_copy / "timeseries.parquet"))


def test_bad_folders_exit_2_with_one_line(tmp_path):
    for folder, message in (
        (tmp_path / "missing", "no such folder"),
        (tmp_path, "not a cdpsim run, batch or sweep folder"),
    ):
        code, out, err = cdpsim("export", str(folder))
        assert code == 2 and out == ""
        assert message in err and len(err.splitlines()) == 1
    code, _, err = cdpsim("export", str(tmp_path), "--to", "pdf")
    assert code == 2 and "'pdf' is not one of 'csv', 'xlsx'" in err
