"""Vault books from files (sim.scenario.books): CSV and Parquet books open as they are, and bad
rows are refused before the run as ``file:row:column: message`` (exit 2, no traceback)."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim.scenario import advisories
from sim.scenario.books import BookError, read_book
from tests.conftest import SCENARIOS

HANG_S = 60

#: Two ilks, each with a book cohort; the book's vaults are opened as they are.
SCENARIO = """\
name: books
seed: 5
clock: {{tick: 10m, duration: 30m}}
collateral:
  ETH:
    price: {{process: scripted, start: 2000, crash: {{depth: 0.4, at: 10m, over: 1h}}}}
  WBTC:
    price: {{process: gbm, start: 40000, vol: 0.5}}
ilks:
  ETH-A:
    collateral: ETH
    mat: 1.5
    stability_fee: 0.05
    line: 1.0e9
    dust: 1000
    liquidation: {{engine: clip, chop: 0.13, hole: 1.0e8, buf: 1.2, tail: 2h, cusp: 0.4}}
  WBTC-A:
    collateral: WBTC
    mat: 1.45
    stability_fee: 0.04
    line: 1.0e9
    dust: 1000
    liquidation: {{engine: clip, chop: 0.13, hole: 1.0e8, buf: 1.2, tail: 2h, cusp: 0.4}}
system: {{Hole: 1.0e8}}
borrowers:
  - {{name: eth, ilk: ETH-A, book: {{file: {file}{extra}}}}}
  - {{name: btc, ilk: WBTC-A, book: {{file: {file}{extra}}}}}
keepers:
  - {{name: kp, dai: 1.0e6}}
"""
PRICES = {"ETH-A": 2000.0, "WBTC-A": 40000.0}


def book_frame(n: int = 40, seed: int = 1) -> pd.DataFrame:
    """A book of two ilks, sizes and CRs drawn, every vault safe and above dust."""
    rng = np.random.default_rng(seed)
    ilk = np.where(np.arange(n) % 3 == 0, "WBTC-A", "ETH-A")
    debt = 1500.0 + 2000.0 * np.exp(rng.normal(2.0, 1.0, n))
    cr = 1.7 + rng.gamma(2.0, 0.4, n)
    price = np.array([PRICES[i] for i in ilk])
    return pd.DataFrame(
        {
            "ilk": ilk,
            "owner": [f"0x{k:040x}" for k in range(n)],
            "ink": debt * cr / price,
            "debt": debt,
        }
    )


def write_scenario(folder: Path, book_name: str, extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "s.yaml"
    path.write_text(SCENARIO.format(file=book_name, extra=extra), encoding="utf-8")
    return path


@pytest.mark.parametrize("kind", ["csv", "parquet", "art-rate"])
def test_a_book_opens_with_its_totals_per_ilk_at_tick_0(tmp_path, kind):
    """CSV, Parquet and art·rate books: tick 0 of the time series and the vaults table hold the
    file's vaults, their collateral and debt per ilk."""
    frame = book_frame()
    extra = ""
    if kind == "parquet":
        name = "book.parquet"
        frame.to_parquet(tmp_path / name, index=False)
    elif kind == "csv":
        name = "book.csv"
        frame.to_csv(tmp_path / name, index=False)
    else:  # normalised debt, the rate a field of the book
        name = "book.csv"
        frame.assign(art=frame.debt / 1.25).drop(columns="debt").to_csv(
            tmp_path / name, index=False
        )
        extra = ", rate: 1.25"
    scenario = sim.load_scenario(write_scenario(tmp_path, name, extra))
    result = sim.run(scenario, out=tmp_path / "run")
    ts0 = result.timeseries.iloc[0]
    v0 = result.vaults[result.vaults["tick"] == 0]
    for ilk, rows in frame.groupby("ilk"):
        vaults = v0[v0["ilk"] == ilk]
        assert len(vaults) == len(rows)
        assert vaults["ink"].sum() == pytest.approx(rows["ink"].sum(), rel=1e-12)
        assert vaults["debt"].sum() == pytest.approx(rows["debt"].sum(), rel=1e-12)
        assert np.allclose(vaults["debt"].to_numpy(), rows["debt"].to_numpy(), rtol=1e-12)
        assert ts0[f"debt[{ilk}]"] == pytest.approx(rows["debt"].sum(), rel=1e-12)
        ink = ts0[f"collateral_value[{ilk}]"] / ts0[f"price[{ilk}]"]
        assert ink == pytest.approx(rows["ink"].sum(), rel=1e-12)
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    want = hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()
    assert manifest["data_files"] == [{"file": name, "sha256": want}]
    assert (
        "rate" not in manifest["scenario"]["borrowers"][0]
        and "vaults" not in (manifest["scenario"]["borrowers"][0])
    )


def test_a_resampled_book_is_seeded_and_keeps_its_totals(tmp_path):
    frame = book_frame(60)
    frame.to_csv(tmp_path / "book.csv", index=False)
    extra = ", resample: {vaults: 25, debt: 5.0e6, cr_shift: -0.05}"
    path = write_scenario(tmp_path, "book.csv", extra)
    scenario = sim.load_scenario(path)
    assert [c.vaults for c in scenario.borrowers] == [25, 25]
    a = sim.run(scenario, out=tmp_path / "a").vaults
    b = sim.run(scenario, out=tmp_path / "b").vaults
    pd.testing.assert_frame_equal(a, b)
    v0 = a[a["tick"] == 0]
    assert v0.groupby("ilk", observed=True)["debt"].sum().to_numpy() == pytest.approx([5.0e6] * 2)
    other = sim.run(scenario, seed=6, out=tmp_path / "c").vaults
    assert not np.array_equal(other["debt"].to_numpy(), a["debt"].to_numpy())


#: name → (file name, content, the error's file:row:column and words)
BAD: dict[str, tuple[str, str, str]] = {
    "missing_column": ("b.csv", "ilk,debt\nETH-A,5000\n", "b.csv:1:ink: no such column"),
    "no_debt": ("b.csv", "ilk,ink\nETH-A,5\n", "b.csv:1:debt: no debt or art column"),
    "not_a_number": (
        "b.csv",
        "ilk,ink,debt\nETH-A,5,5000\nETH-A,five,5000\n",
        "b.csv:3:ink: not a number",
    ),
    "negative_ink": ("b.csv", "ilk,ink,debt\nETH-A,5,5000\n\nETH-A,-1,5000\n", "b.csv:4:ink:"),
    "negative_debt": ("b.csv", "ilk,ink,debt\nETH-A,5,-5000\n", "b.csv:2:debt: -5000 is negative"),
    "missing_value": ("b.csv", "ilk,ink,debt\nETH-A,,5000\n", "b.csv:2:ink: missing value"),
    "unknown_ilk": (
        "b.csv",
        "ilk,ink,debt\nETH-A,5,5000\nETH-A,5,5000\nETH-Z,5,5000\n",
        "b.csv:4:ilk: unknown ilk 'ETH-Z'",
    ),
    "below_dust": (
        "b.csv",
        "ilk,ink,debt\nETH-A,5,5000\nETH-A,0.1,100\n",
        "b.csv:3:debt: debt 100 Dai is below ETH-A's dust 1,000 Dai",
    ),
    "unsafe": ("b.csv", "ilk,ink,debt\nETH-A,1,5000\n", "b.csv:2:ink: the vault's CR"),
    "empty": ("b.csv", "", "b.csv:1:ilk: empty file"),
    "header_only": ("b.csv", "ilk,ink,debt\n", "b.csv:2:ilk: no vaults"),
    "not_a_book": ("b.txt", "ilk,ink,debt\n", "b.txt: a vault book is a .csv or .parquet file"),
}
ONE_ILK = SCENARIO.split("  WBTC-A:")[0].replace(
    "  WBTC:\n    price: {{process: gbm, start: 40000, vol: 0.5}}\n", ""
)


def bad_scenario(folder: Path, name: str) -> Path:
    file_name, content, _ = BAD[name]
    folder.mkdir(parents=True)
    (folder / file_name).write_text(content, encoding="utf-8")
    text = ONE_ILK.format() + (
        "system: {Hole: 1.0e8}\n"
        f"borrowers:\n  - {{name: eth, ilk: ETH-A, book: {{file: {file_name}}}}}\n"
    )
    path = folder / "s.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_bad_books_are_refused_by_the_cli_with_file_row_column(cdpsim_cmd, tmp_path):
    """Every bad book at once through the ``cdpsim validate`` command, one through ``run``."""
    paths = {name: bad_scenario(tmp_path / name, name) for name in BAD}
    res = subprocess.run(
        [*cdpsim_cmd, "validate", *map(str, paths.values())],
        capture_output=True,
        text=True,
        timeout=HANG_S,
        check=False,
    )
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert "Traceback" not in res.stderr
    lines = res.stderr.splitlines()
    for name, path in paths.items():
        mine = [line for line in lines if line.startswith(f"{path}:")]
        assert len(mine) == 1, (name, res.stderr)
        where = f"{path.parent / BAD[name][2]}"
        assert "borrowers.0.book" in mine[0] and where in mine[0], (name, mine[0])
    from click.testing import CliRunner

    from sim.cli import main

    run = CliRunner().invoke(
        main, ["run", str(paths["not_a_number"]), "--out", str(tmp_path / "o")]
    )
    assert run.exit_code == 2 and "Traceback" not in run.output, run.output
    assert f"{tmp_path / 'not_a_number' / 'b.csv'}:3:ink: not a number" in run.output
    assert not (tmp_path / "o").exists()


def test_parquet_rows_are_numbered_as_a_spreadsheet_shows_them(tmp_path):
    frame = book_frame(5).assign(debt=["1", "2", "x", "4", "5"])
    frame.to_parquet(tmp_path / "b.parquet", index=False)
    with pytest.raises(BookError, match=r"b\.parquet:4:debt: not a number"):
        read_book(tmp_path / "b.parquet")


def test_a_book_outside_the_scenario_folder_is_refused(tmp_path):
    book_frame().to_csv(tmp_path / "book.csv", index=False)
    path = write_scenario(tmp_path / "inner", "../book.csv")
    with pytest.raises(
        sim.ScenarioError, match=r"borrowers\.0\.book\.file: file '\.\./book\.csv' is outside"
    ):
        sim.load_scenario(path)


@pytest.mark.parametrize(
    ("yaml", "words"),
    [
        (
            "vaults: 3, book: {file: book.csv}",
            "a cohort with a book reads its vaults from the file: remove vaults",
        ),
        ("book: {file: book.csv, classes: [x]}", "class: no such column"),
        ("book: {file: book.csv, rate: 1.1}", "rate is for an art column"),
    ],
)
def test_book_fields_that_do_not_fit_are_refused(tmp_path, yaml, words):
    book_frame().to_csv(tmp_path / "book.csv", index=False)
    text = SCENARIO.format(file="book.csv", extra="").replace(
        "{name: eth, ilk: ETH-A, book: {file: book.csv}}", f"{{name: eth, ilk: ETH-A, {yaml}}}"
    )
    (tmp_path / "s.yaml").write_text(text)
    with pytest.raises(sim.ScenarioError, match=r"borrowers\.0") as err:
        sim.load_scenario(tmp_path / "s.yaml")
    assert words in str(err.value)


def test_cohorts_split_a_book_by_class_and_may_not_share_rows(tmp_path):
    frame = book_frame(30)
    frame["class"] = np.where(np.arange(30) % 2 == 0, "a", "b")
    frame.to_csv(tmp_path / "book.csv", index=False)
    text = SCENARIO.format(file="book.csv", extra="").replace(
        "  - {name: eth, ilk: ETH-A, book: {file: book.csv}}\n",
        "  - {name: eth_a, ilk: ETH-A, book: {file: book.csv, classes: [a]}}\n"
        "  - {name: eth_b, ilk: ETH-A, book: {file: book.csv, classes: [b]}}\n",
    )
    (tmp_path / "s.yaml").write_text(text)
    scenario = sim.load_scenario(tmp_path / "s.yaml")
    eth = frame[frame.ilk == "ETH-A"]
    assert [c.vaults for c in scenario.borrowers[:2]] == [
        (eth["class"] == "a").sum(),
        (eth["class"] == "b").sum(),
    ]
    assert advisories(scenario) == []
    (tmp_path / "s.yaml").write_text(text.replace("classes: [b]", "classes: [b, a]"))
    with pytest.raises(sim.ScenarioError, match=r"borrowers\.0 reads the same vaults of ETH-A"):
        sim.load_scenario(tmp_path / "s.yaml")


def test_rows_no_cohort_reads_are_a_warning(tmp_path):
    frame = book_frame(30)
    frame["class"] = np.where(np.arange(30) % 2 == 0, "a", "b")
    frame.to_csv(tmp_path / "book.csv", index=False)
    text = SCENARIO.format(file="book.csv", extra="").replace(
        "{file: book.csv}}\n  - {name: btc", "{file: book.csv, classes: [a]}}\n  - {name: btc"
    )
    (tmp_path / "s.yaml").write_text(text)
    warnings = advisories(sim.load_scenario(tmp_path / "s.yaml"))
    assert len(warnings) == 1 and "are read by no cohort" in warnings[0]


def test_the_shipped_book_is_labelled_synthetic():
    """The example book is made by a script and says so wherever it is described."""
    readme = (SCENARIOS / "data" / "README.md").read_text()
    section = readme.split("## eth_a_book_synthetic.csv", 1)[1].split("\n## ", 1)[0]
    assert "SYNTHETIC" in section and "scripts/make_vault_book.py" in section
    assert "SYNTHETIC" in (SCENARIOS / "eth_book_crash.yaml").read_text().splitlines()[0]
    from scripts.make_vault_book import OUT, make_book

    rows = make_book()
    on_disk = pd.read_csv(OUT)
    assert len(on_disk) == len(rows)
    assert on_disk["ink"].to_numpy() == pytest.approx([float(r["ink"]) for r in rows])


def test_resample_debt_defaults_to_the_rows_mean_and_batches_record_the_book(tmp_path):
    frame = book_frame(60)
    frame.to_csv(tmp_path / "book.csv", index=False)
    scenario = sim.load_scenario(write_scenario(tmp_path, "book.csv", ", resample: {vaults: 7}"))
    eth = frame[frame.ilk == "ETH-A"]["debt"]
    assert scenario.borrowers[0].debt == pytest.approx(eth.mean() * 7, rel=1e-12)
    from sim.experiments.batch import load_inputs

    (entry,) = load_inputs([tmp_path / "s.yaml"])
    digest = hashlib.sha256((tmp_path / "book.csv").read_bytes()).hexdigest()
    assert entry.data == ((str((tmp_path / "book.csv").resolve()), digest),)
