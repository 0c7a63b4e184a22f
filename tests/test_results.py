"""Reading output folders back (sim.results): each loader, its typed frames, damaged files.

The folders are the session's real small runs, batches and sweeps (the ``outputs`` fixture of
tests/test_plots.py); a test that breaks one breaks a copy.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

import sim
from sim.app.targets import TargetError, resolve
from sim.experiments.store import BATCH_FORMAT
from sim.experiments.store import load_runs as runs_of_folders
from sim.formatting import compact_amount, number_text
from sim.metrics import KPIS
from sim.plots import figures_for
from sim.results import (
    AUCTION_COLUMNS,
    FAN_AUCTION_COLUMNS,
    FAN_COLUMNS,
    BatchData,
    FolderError,
    RunData,
    SweepData,
    folder_kind,
    load_batch,
    load_folder,
    load_run,
    load_runs,
    numeric_parameters,
    read_run_manifest,
)
from sim.rundir import RUN_FORMAT
from tests import test_plots
from tests.test_cli_plot import cdpsim

#: The session's output folders (a fixture of tests/test_plots.py).
outputs = test_plots.outputs


def copied(folder: Path, tmp_path: Path) -> Path:
    """A copy of an output folder to break."""
    copy = tmp_path / folder.name
    shutil.copytree(folder, copy)
    return copy


def edit_json(path: Path, **fields: object) -> None:
    """A JSON file with ``fields`` set (``None`` removes a field)."""
    data = json.loads(path.read_text())
    for name, value in fields.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    path.write_text(json.dumps(data))


# ------------------------------------------------------------------------------------- kinds


def test_folder_kind_tells_a_run_a_batch_and_a_sweep(outputs, tmp_path):
    assert folder_kind(outputs.liq2) == "run"
    assert folder_kind(outputs.batch) == "batch"
    assert folder_kind(outputs.summary_batch) == "batch"
    assert folder_kind(outputs.sweep_grid) == "sweep"
    assert folder_kind(next((outputs.batch / "runs").iterdir())) == "run"  # a batch's run
    with pytest.raises(FolderError, match=r"no such folder"):
        folder_kind(tmp_path / "nothing")
    with pytest.raises(FolderError, match=r"not a folder \(give a run, batch or sweep folder\)"):
        folder_kind(outputs.liq2 / "summary.json")
    with pytest.raises(FolderError, match=r"not a cdpsim run, batch or sweep folder"):
        folder_kind(tmp_path)


def test_load_folder_gives_the_type_of_each_folder(outputs):
    assert type(load_folder(outputs.liq2)) is RunData
    assert type(load_folder(outputs.batch)) is BatchData
    assert type(load_folder(outputs.sweep_sobol)) is SweepData


# ---------------------------------------------------------------------------------------- runs


def test_a_run_s_tables_are_typed_frames(outputs):
    run = load_run(outputs.liq2)
    ts = run.timeseries
    assert isinstance(ts, pd.DataFrame) and len(ts) == 73  # tick 0 and 72 ten-minute ticks
    assert pd.api.types.is_integer_dtype(ts["tick"]) and ts["tick"].is_monotonic_increasing
    assert isinstance(ts["time"].dtype, pd.DatetimeTZDtype) and str(ts["time"].dt.tz) == "UTC"
    for column in ("price[ETH-A]", "bad_debt", "dai_supply", "surplus"):
        assert pd.api.types.is_float_dtype(ts[column]), column
    assert isinstance(run.auctions, pd.DataFrame) and set(AUCTION_COLUMNS) <= set(run.auctions)
    assert [k.name for k in KPIS if k.name in run.summary] == [k.name for k in KPIS]
    assert run.manifest["status"] == "ok" and run.seed == run.manifest["seed"]
    assert run.label == f"eth_crash_liq2 (seed {run.seed})"
    assert run.path == outputs.liq2


def test_outputs_manifest_is_what_the_figures_read(outputs):
    manifest = json.loads((outputs.liq2 / "manifest.json").read_text())
    assert load_folder(outputs.liq2).scenario == manifest["scenario"]


def test_read_run_manifest_checks_what_it_read(outputs, tmp_path):
    assert read_run_manifest(outputs.liq2)["scenario"]["name"] == "eth_crash_liq2"
    run = copied(outputs.liq2, tmp_path)
    edit_json(run / "manifest.json", seed="abc")
    with pytest.raises(FolderError, match=r"manifest\.json: 'seed' is text \('abc'\)"):
        read_run_manifest(run)
    with pytest.raises(FolderError, match=r"not a cdpsim run folder"):
        read_run_manifest(outputs.batch)


def test_a_run_kept_as_a_summary_has_no_tables(outputs):
    folder = next(p for p in (outputs.summary_batch / "runs").iterdir() if p.is_dir())
    run = load_run(folder)
    assert run.timeseries is None and run.auctions is None
    assert run.summary["bad_debt_max"] >= 0


# ------------------------------------------------------------------------------------- batches


def test_a_batch_s_runs_table_and_stacked_series(outputs):
    batch = load_batch(outputs.batch)
    assert type(batch) is BatchData and batch.label == "batch"
    runs = batch.runs
    assert len(runs) == 3 and runs["run_id"].is_unique
    assert {"run_id", "scenario", "status", "seed", "bad_debt_max"} <= set(runs.columns)
    assert list(batch.scenarios) == ["eth_crash_liq2"]
    assert batch.scenarios["eth_crash_liq2"]["name"] == "eth_crash_liq2"
    ts = batch.timeseries
    assert batch.kept_full and batch.missing_series == 0
    assert set(ts["run_id"]) == set(runs["run_id"])
    assert set(ts.columns) == {"run_id", *FAN_COLUMNS, "price[ETH-A]"}  # the fan's columns only
    assert list(batch.auctions.columns) == ["run_id", *FAN_AUCTION_COLUMNS]
    for run_id in runs["run_id"]:
        folder = batch.run_folder(run_id)
        assert folder == outputs.batch / "runs" / run_id
        mine = ts[ts["run_id"] == run_id]
        assert mine["bad_debt"].tolist() == load_run(folder).timeseries["bad_debt"].tolist()


def test_a_batch_without_its_series(outputs):
    batch = load_batch(outputs.batch, series=False)
    assert batch.timeseries is None and batch.auctions is None
    assert not batch.kept_full and batch.missing_series == 3
    summary = load_batch(outputs.summary_batch)
    assert not summary.kept_full and summary.missing_series == len(summary.runs) == 2


def test_the_runs_table_is_rebuilt_from_the_run_folders(outputs, tmp_path):
    batch = copied(outputs.batch, tmp_path)
    (batch / "runs.parquet").unlink()
    rebuilt = load_batch(batch, series=False).runs
    kept = load_batch(outputs.batch, series=False).runs
    pd.testing.assert_frame_equal(rebuilt, kept, check_dtype=False)
    assert not (batch / "runs.parquet").exists()  # reading writes nothing


def test_load_runs_is_sim_load_runs(outputs, tmp_path):
    assert sim.load_runs is load_runs
    pd.testing.assert_frame_equal(load_runs(outputs.batch), runs_of_folders(outputs.batch))
    with pytest.raises(FolderError, match=r"not a cdpsim batch folder"):
        load_runs(tmp_path)


# -------------------------------------------------------------------------------------- sweeps


def test_a_sweep_s_points_indices_and_discoveries(outputs):
    sweep = load_folder(outputs.sweep_sobol)
    assert isinstance(sweep, SweepData)
    names = ["ilks.ETH-A.liquidation.buf", "keepers.0.dai"]
    assert sweep.parameter_names == names
    assert sweep.kpis == ["bad_debt_max", "liquidated_debt"]
    assert sweep.points["point"].is_unique and set(names) <= set(sweep.points.columns)
    for name in names:
        assert pd.api.types.is_float_dtype(sweep.points[name]), name
    assert set(sweep.sensitivity["method"]) == {"sobol"}
    (found,) = sweep.discoveries
    assert (found.kpi, found.side, found.method) == ("liquidated_debt", "above", "cart")
    assert sweep.timeseries is None  # a sweep's runs are design points: never stacked
    grid = load_folder(outputs.sweep_grid)
    assert grid.sensitivity is None and grid.discoveries == []


def test_parameters_written_as_text_are_read_as_numbers():
    dai = "keepers.0.dai"
    table = pd.DataFrame({dai: ["2.0e5", "1.0e6"], "other": ["a", "1"]})
    out = numeric_parameters(table, [dai, "other"])
    assert out[dai].tolist() == [2e5, 1e6]
    assert out["other"].tolist() == ["a", "1"]


def test_discoveries_are_read_by_their_file_name(outputs, tmp_path):
    sweep = tmp_path / "sweep"
    shutil.copytree(outputs.sweep_sobol, sweep)
    (found,) = load_folder(sweep).discoveries  # CART: boxes, no trajectory
    assert (found.kpi, found.side, found.method) == ("liquidated_debt", "above", "cart")
    current = sweep / "discovery" / f"{found.name}.parquet"
    x = number_text(found.threshold)
    assert found.name == f"liquidated_debt-above-{x}-cart"
    shutil.copy(current, current.with_name(f"liquidated_debt-below-{x}-cart.parquet"))
    shutil.copy(current, current.with_name(f"liquidated_debt-above-{x}.parquet"))  # no method
    data = load_folder(sweep)
    read = sorted((d.name, d.kpi, d.side, d.method) for d in data.discoveries)
    assert read == [  # a name without the method is not a discovery's: left out
        (f"liquidated_debt-above-{x}-cart", "liquidated_debt", "above", "cart"),
        (f"liquidated_debt-below-{x}-cart", "liquidated_debt", "below", "cart"),
    ]
    titles = [f.figure.get_suptitle() for f in figures_for(data, "boxes")]
    number = compact_amount(found.threshold, "Dai")
    assert any(f"liquidated_debt above {number} (CART and PRIM)" in t for t in titles)
    assert any(f"liquidated_debt below {number} (CART and PRIM)" in t for t in titles)
    assert len(figures_for(data, "boxes", kpi="liquidated_debt")) == 2


# ------------------------------------------------------------------------------------- damage


def test_a_damaged_time_series_is_refused_naming_the_file(outputs, tmp_path):
    run = copied(outputs.liq2, tmp_path)
    table = run / "timeseries.parquet"
    table.write_bytes(table.read_bytes()[:100])
    with pytest.raises(FolderError, match=rf"^{table}: cannot be read as Parquet"):
        load_run(run)
    pd.read_parquet(outputs.liq2 / "timeseries.parquet").iloc[0:0].to_parquet(table)
    with pytest.raises(FolderError, match=r"no rows \(a run's time series has one row per tick\)"):
        load_run(run)
    pd.read_parquet(outputs.liq2 / "timeseries.parquet").drop(columns="bad_debt").to_parquet(table)
    with pytest.raises(FolderError, match=r"no column 'bad_debt'"):
        load_run(run)


def test_a_damaged_runs_table_or_run_manifest_is_refused(outputs, tmp_path):
    batch = copied(outputs.batch, tmp_path)
    (batch / "runs.parquet").write_text("not a table")
    with pytest.raises(FolderError, match=r"runs\.parquet: cannot be read as Parquet"):
        load_batch(batch)
    (batch / "runs.parquet").unlink()
    first = sorted((batch / "runs").iterdir())[0]
    edit_json(first / "manifest.json", scenario={"name": "eth_crash_liq2", "clock": "12h"})
    with pytest.raises(FolderError, match=r"'scenario\.clock' is text \('12h'\), not an object"):
        load_batch(batch)


def test_a_sweep_without_its_points_is_refused(outputs, tmp_path):
    sweep = copied(outputs.sweep_grid, tmp_path)
    (sweep / "points.parquet").unlink()
    with pytest.raises(FolderError, match=r"a sweep folder without points\.parquet"):
        load_folder(sweep)


# ------------------------------------------------------------------------------ format version


#: What a reader says of a folder without a format version (the CLI exits 2 with it).
EARLIER = "written by an earlier cdpsim (no format version); run it again with this version"


def test_the_writers_state_the_format_version(outputs):
    for folder in (outputs.liq2, next((outputs.batch / "runs").iterdir())):
        manifest = json.loads((folder / "manifest.json").read_text())
        assert (manifest["kind"], manifest["format"]) == ("cdpsim-run", RUN_FORMAT)
    for folder in (outputs.batch, outputs.sweep_grid):
        manifest = json.loads((folder / "batch.json").read_text())
        assert (manifest["kind"], manifest["format"]) == ("cdpsim-batch", BATCH_FORMAT)


@pytest.mark.parametrize("manifest", ["manifest.json", "batch.json"])
def test_a_folder_without_a_format_version_is_refused(outputs, tmp_path, manifest):
    folder = copied(outputs.liq2 if manifest == "manifest.json" else outputs.sweep_grid, tmp_path)
    edit_json(folder / manifest, format=None)
    for read in (folder_kind, load_folder):
        with pytest.raises(FolderError) as refused:
            read(folder)
        assert str(refused.value) == f"{folder}: {EARLIER}"
    code, out, err = cdpsim("plot", str(folder))
    assert (code, out, err) == (2, "", f"{folder}: {EARLIER}\n")
    code, _, err = cdpsim("report", str(folder))
    assert (code, err) == (2, f"{folder}: {EARLIER}\n")
    with pytest.raises(TargetError, match=re.escape(f"{folder}: {EARLIER}")):
        resolve(folder)  # the dashboard: cdpsim dashboard FOLDER exits 2 with it
    if manifest == "batch.json":
        code, _, err = cdpsim("discover", str(folder), "--kpi", "bad_debt_max", "--above", "0")
        assert (code, err.strip()) == (2, f"{folder}: {EARLIER}")
        with pytest.raises(FolderError, match=re.escape(f"{folder}: {EARLIER}")):
            sim.load_runs(folder)
    else:
        with pytest.raises(FolderError, match=re.escape(f"{folder}: {EARLIER}")):
            read_run_manifest(folder)


def test_a_run_of_another_format_version_in_a_batch_is_refused(outputs, tmp_path):
    batch = copied(outputs.batch, tmp_path)
    first = sorted((batch / "runs").iterdir())[0]
    edit_json(first / "manifest.json", format=RUN_FORMAT + 1)
    with pytest.raises(FolderError) as refused:
        load_batch(batch)
    assert str(refused.value) == (
        f"{first}: written by a later cdpsim (format version {RUN_FORMAT + 1}, this one reads "
        f"{RUN_FORMAT}); read it with that version, or run it again with this one"
    )
    with pytest.raises(FolderError, match=r"written by a later cdpsim"):
        load_run(first)


@pytest.mark.parametrize("version", [0, 2, "1", 1.0, True, {"value": 1}])
def test_a_format_version_other_than_this_one_is_refused(outputs, tmp_path, version):
    run = copied(outputs.liq2, tmp_path)
    edit_json(run / "manifest.json", format=version)
    with pytest.raises(FolderError, match=rf"^{re.escape(str(run))}: .*run it again with this"):
        load_run(run)


def test_governance_marks_are_the_changes_the_run_made(tmp_path):
    """A governor's firings (known only to the run) are marks; refused changes are not; the
    scenario's spells stand in when the run kept no event log."""
    from sim.results import governance_marks, load_run
    from sim.scenario.governance import spell_marks
    from tests.test_actions import TINY

    text = TINY + (
        "governance:\n"
        "  governors:\n"
        "    - {name: tip-up, when: {quantity: 'price[ETH-A]', below: 1800, hold: 10m},\n"
        "       set: {ilks.ETH-A.liquidation.tip: {by: 50, max: 200}}, cooldown: 1h}\n"
        "  spells:\n"
        "    - {name: shut, at: 12h, do: [{action: cage}]}\n"
        "    - {name: fee, at: 13h, set: {ilks.ETH-A.stability_fee: 0.1}}\n"
    )
    path = tmp_path / "s.yaml"
    path.write_text(text)
    sim.run(sim.load_scenario(path), out=tmp_path / "run")
    run = load_run(tmp_path / "run")
    marks = governance_marks(run)
    assert [name for name, _ in marks] == ["tip-up", "tip-up", "shut"]  # fee was refused
    assert marks[-1] == ("shut", 12 * 3600.0)
    assert marks[1][1] - marks[0][1] == pytest.approx(3600.0, abs=600.0)  # the cooldown
    (tmp_path / "run" / "events.parquet").unlink()
    assert governance_marks(run) == spell_marks(run.scenario)
