"""Sweep files: validation before any run, parameters → scenarios, the sweep folder's tables.

Also the discovery test of the sweep files shipped in ``scenarios/sweeps/``: each validates and
runs on a tiny size.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import sim
from sim.experiments import sweep as sweeps
from sim.experiments.batch import BatchInterrupted, derive_seeds, execute
from sim.experiments.store import StoreError
from sim.scenario import ScenarioError
from tests.conftest import SCENARIOS, SMALL
from tests.test_scenarios_run import FILES as SCENARIO_FILES
from tests.test_scenarios_run import small_overrides

SWEEPS = sorted((SCENARIOS / "sweeps").glob("*.yaml"))


def write(tmp_path: Path, text: str, name: str = "sweep.yaml") -> Path:
    """A sweep file beside the small scenario (``base.yaml``)."""
    (tmp_path / "base.yaml").write_text(SMALL)
    path = tmp_path / name
    path.write_text(text)
    return path


GRID = """\
name: g
base: base.yaml
overrides: {clock.duration: 6h}
design: {kind: grid}
parameters:
  ilks.ETH-A.mat: {values: [1.3, 1.5]}
  collateral.ETH.price.crash.depth: {values: [0.2, 0.4, 0.6]}
seeds: 2
kpis: [bad_debt_max, liquidated_debt]
"""


def errors_of(path: Path) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        sweeps.load_sweep(path)
    return str(caught.value).splitlines()


# ---------------------------------------------------------------------------------------- files


def test_there_are_sweep_files_and_the_scenario_test_does_not_take_them():
    names = {p.name for p in SWEEPS}
    assert {"crash_grid.yaml", "crash_sobol.yaml", "crash_morris.yaml"} <= names
    assert not any("sweeps" in p.parts for p in SCENARIO_FILES)  # sweeps are not scenarios


def tiny(path: Path) -> dict:
    """A sweep file's data made tiny: few points, one seed, a short clock, few vaults."""
    data = yaml.safe_load(path.read_text())
    data["base"] = str((path.parent / data["base"]).resolve())
    base = sim.load_scenario(data["base"])
    for text in small_overrides(base):
        key, _, value = text.partition("=")
        data.setdefault("overrides", {})[key] = yaml.safe_load(value)
    design = data["design"]
    if design["kind"] == "grid":
        for spec in data["parameters"].values():
            if "values" in spec:
                spec["values"] = spec["values"][:2]
        if "levels" in design:
            design["levels"] = 2
    else:
        design["n"] = 2
    data["seeds"] = 1
    return data


@pytest.mark.parametrize("path", SWEEPS, ids=lambda p: p.name)
def test_sweep_file_validates_and_runs_tiny(path, tmp_path):
    text = path.read_text()
    assert text.startswith("#"), "every sweep file starts with a header comment"
    assert "runs" in text.split("\nname:")[0], "the header says what the sweep costs (runs)"
    spec = sweeps.load_sweep(path)
    assert spec.description and spec.n_runs == len(spec.points) * len(spec.seeds)
    result = sweeps.run_sweep(tiny(path), workers=0, out=tmp_path / "out")
    assert (result.runs["status"] == "ok").all(), result.runs["error"].tolist()
    assert len(result.points) == len(result.runs) and (result.points["n"] == 1).all()
    if result.sweep.design["kind"] in ("sobol", "morris"):
        assert result.sensitivity is not None and len(result.sensitivity)


# ---------------------------------------------------------------------------------------- running


def stable(table: pd.DataFrame) -> pd.DataFrame:
    return table.drop(columns=["wall_time_s"], errors="ignore").reset_index(drop=True)


def test_sweep_folder_contract(tmp_path):
    result = sweeps.run_sweep(write(tmp_path, GRID), workers=0, out=tmp_path / "out")
    out = tmp_path / "out"
    manifest = json.loads((out / "batch.json").read_text())
    assert manifest["kind"] == "cdpsim-batch"
    section = manifest["sweep"]
    assert {"name", "file", "base", "design", "parameters", "kpis", "seeds"} <= set(section)
    assert manifest["complete"] is True and section["base"] == "../base.yaml"
    assert section["design"]["kind"] == "grid" and section["kpis"] == [
        "bad_debt_max",
        "liquidated_debt",
    ]
    assert [p["name"] for p in section["parameters"]] == [
        "ilks.ETH-A.mat",
        "collateral.ETH.price.crash.depth",
    ]
    assert section["parameters"][0] == {
        "name": "ilks.ETH-A.mat",
        "kind": "value",
        "paths": ["ilks.ETH-A.mat"],
        "values": [1.3, 1.5],
        "dist": None,
        "unit": None,
    }
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == 12 and (runs["status"] == "ok").all()
    assert runs["point"].dtype == np.int64
    assert {"ilks.ETH-A.mat", "collateral.ETH.price.crash.depth"} <= set(runs.columns)
    assert runs["run_id"].tolist()[:2] == [f"g-p0-seed{s}" for s in section["seeds"]]
    overrides = json.loads(runs["overrides"].iloc[0])
    assert overrides == [
        "clock.duration=6h",
        "ilks.ETH-A.mat=1.3",
        "collateral.ETH.price.crash.depth=0.2",
    ]
    points = pd.read_parquet(out / "points.parquet")
    kpi_stats = [
        f"{k}_{s}"
        for k in ("bad_debt_max", "liquidated_debt")
        for s in ("mean", "std", "p05", "p50", "p95", "n_runs")
    ]
    assert list(points.columns) == [
        "point",
        "ilks.ETH-A.mat",
        "collateral.ETH.price.crash.depth",
        "n",
        "n_failed",
        "n_missing",
        *kpi_stats,
        "bad_debt_var95",
        "bad_debt_var99",
        "bad_debt_es95",
        "p_bad_debt",
        "liquidated_debt_lar95",
        "n_runs",
    ]
    assert (points["n"] == 2).all() and (points["n_failed"] == 0).all()
    assert (points["n_runs"] == 2).all() and (points["bad_debt_max_n_runs"] == 2).all()
    assert (points["n_missing"] == 0).all()
    pd.testing.assert_frame_equal(points, result.points)
    # a deeper crash liquidates more, at either mat
    by = points.set_index(["ilks.ETH-A.mat", "collateral.ETH.price.crash.depth"])
    for mat in (1.3, 1.5):
        assert (
            by.loc[(mat, 0.6), "liquidated_debt_mean"] > by.loc[(mat, 0.2), "liquidated_debt_mean"]
        )
    assert sorted(p.name for p in (out / "runs" / runs["run_id"].iloc[0]).iterdir()) == [
        "manifest.json",
        "summary.json",
    ]  # keep=summary by default


def test_common_random_numbers_the_same_seeds_at_every_point(tmp_path):
    text = """\
name: crn
base: base.yaml
overrides: {clock.duration: 4h, collateral.ETH.price.vol: 0.8}
design: {kind: grid}
parameters:
  record.check_invariants: {values: [true, false]}
seeds: 3
master_seed: 11
"""
    result = sweeps.run_sweep(write(tmp_path, text), workers=0, out=tmp_path / "out")
    runs = result.runs
    seeds = derive_seeds(3, 11)
    for _, group in runs.groupby("point"):
        assert group["seed"].tolist() == seeds
    # a parameter that changes nothing: the same seed gives the same run at both points
    kpis = ["liquidated_debt", "auctions", "min_cr_p05", "keeper_profit"]
    first = runs[runs["point"] == 0][kpis].reset_index(drop=True)
    second = runs[runs["point"] == 1][kpis].reset_index(drop=True)
    pd.testing.assert_frame_equal(first, second)
    assert first["min_cr_p05"].nunique() == 3  # and the seeds differ from each other


def test_an_interrupted_sweep_resumes_to_the_same_tables(tmp_path):
    path = write(tmp_path, GRID)
    full = sweeps.run_sweep(path, workers=0, out=tmp_path / "full")
    calls = {"n": 0}

    def flaky(spec):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return execute(spec)

    out = tmp_path / "out"
    with pytest.raises(BatchInterrupted) as caught:
        sweeps.run_sweep(path, workers=0, out=out, runner=flaky)
    assert (caught.value.done, caught.value.total) == (4, 12)
    # what is done, marked incomplete: complete false in batch.json, n_missing per point
    assert json.loads((out / "batch.json").read_text())["complete"] is False
    partial = pd.read_parquet(out / "points.parquet")
    assert partial["n"].tolist() == [2, 2, 0, 0, 0, 0]
    assert partial["n_missing"].tolist() == [0, 0, 2, 2, 2, 2]
    assert partial["bad_debt_max_mean"].iloc[2:].isna().all()
    kept = {p.name: (p / "manifest.json").read_bytes() for p in (out / "runs").iterdir()}
    resumed = sweeps.run_sweep(path, workers=0, out=out, resume=True)
    assert json.loads((out / "batch.json").read_text())["complete"] is True
    pd.testing.assert_frame_equal(stable(resumed.runs), stable(full.runs))
    pd.testing.assert_frame_equal(resumed.points, full.points)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "points.parquet"), full.points)
    for run_id, manifest in kept.items():
        assert (out / "runs" / run_id / "manifest.json").read_bytes() == manifest


def test_resume_refuses_a_changed_design(tmp_path):
    path = write(tmp_path, GRID)
    sweeps.run_sweep(path, workers=0, out=tmp_path / "out")
    path.write_text(GRID.replace("[1.3, 1.5]", "[1.3, 1.4]"))
    with pytest.raises(StoreError, match="different batch"):
        sweeps.run_sweep(path, workers=0, out=tmp_path / "out", resume=True)
    with pytest.raises(StoreError, match="holds a batch already"):
        sweeps.run_sweep(path, workers=0, out=tmp_path / "out")


def test_the_python_api(tmp_path, monkeypatch):
    path = write(tmp_path, GRID.replace("seeds: 2", "seeds: 1"))
    monkeypatch.chdir(tmp_path)
    result = sim.run_sweep(path, workers=0)
    assert result.folder == Path("runs") / "sweep-g"
    assert isinstance(result, sim.SweepResult) and len(result.points) == 6
    found = sim.discover(result.folder, kpi="liquidated_debt", above=0.0)
    assert found.n_runs == 6
    with pytest.raises(Exception, match="sobol or morris"):
        sim.sensitivity(result.folder)


# ---------------------------------------------------------------------------------------- example


def test_the_example_script_runs_tiny_and_writes_its_section_with_the_load(tmp_path, capsys):
    from scripts import sweep_example

    doc = tmp_path / "SWEEPS.md"
    doc.write_text(f"# before\n\n{sweep_example.BEGIN}\nstale\n{sweep_example.END}\n\nafter\n")
    args = ["--n", "2", "--workers", "0", "--out", str(tmp_path / "out"), "--doc", str(doc)]
    assert sweep_example.main([*args, "--revision", "abc1234"]) == 0
    err = capsys.readouterr().err
    assert "load average (1 min) at the start: " in err
    assert "load average (1 min) at the end: " in err
    text = doc.read_text()
    assert text.startswith("# before\n\n") and text.endswith("\n\nafter\n")
    assert "stale" not in text and "at revision `abc1234`" in text
    assert "| Sobol, N = 2, first order | 20 | 1 | 20 | 20 |" in text
    assert ", load average (1 min) " in text and " at the end:" in text
    assert "is indistinguishable from 0 at N = 2" in text
    assert "`cdpsim discover OUT --kpi bad_debt_max --above 1e+06`" in text


def test_a_sweep_over_a_spell_s_delay(tmp_path):
    """A spell's fields are sweepable like any field: the chop spell's delay, two values."""
    (tmp_path / "base.yaml").write_text(
        SMALL
        + "governance:\n  spells:\n"
        + "    - {name: chop, at: 1h, set: {ilks.ETH-A.liquidation.chop: 0.05}}\n"
    )
    path = tmp_path / "sweep.yaml"
    path.write_text(
        GRID.replace(
            "  ilks.ETH-A.mat: {values: [1.3, 1.5]}\n"
            "  collateral.ETH.price.crash.depth: {values: [0.2, 0.4, 0.6]}\n",
            "  governance.spells.0.delay: {values: [0s, 20h]}\n",
        )
        .replace("seeds: 2", "seeds: 1")
        .replace("kpis: [bad_debt_max, liquidated_debt]", "kpis: [penalty_collected]")
    )
    result = sweeps.run_sweep(path, workers=0, out=tmp_path / "out")
    assert (result.runs["status"] == "ok").all(), result.runs["error"].tolist()
    penalty = result.points.set_index("governance.spells.0.delay")["penalty_collected_mean"]
    # In force from 1 h (penalty 5 %) or never within the 6 h run (13 %).
    assert len(penalty) == 2 and penalty.iloc[0] < penalty.iloc[1]
