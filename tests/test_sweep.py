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


# ---------------------------------------------------------------------------------------- validation


def test_an_unknown_path_is_an_error_at_its_line(tmp_path):
    path = write(tmp_path, GRID.replace("ilks.ETH-A.mat:", "ilks.ETH-A.matt:"))
    (message,) = errors_of(path)
    assert message.startswith(f"{path}:6: parameters.ilks.ETH-A.matt: unknown field 'matt'")
    assert "did you mean 'mat'" in message


def test_a_value_the_schema_rejects_is_an_error_naming_the_parameter_and_value(tmp_path):
    path = write(tmp_path, GRID.replace("[1.3, 1.5]", "[0.9, 1.3]"))
    (message,) = errors_of(path)
    assert message == (
        f"{path}:6: parameters.ilks.ETH-A.mat: value 0.9: Input should be greater than 1 (got 0.9)"
    )


def test_both_ends_of_a_range_are_validated(tmp_path):
    text = GRID.replace("{kind: grid}", "{kind: lhs, n: 4}").replace(
        "{values: [1.3, 1.5]}", "{range: [1.3, 1.7]}"
    )
    text = text.replace("{values: [0.2, 0.4, 0.6]}", "{range: [0.2, 1.0]}")
    messages = errors_of(write(tmp_path, text))
    assert any("parameters.ilks.ETH-A.mat: value 1.7: borrowers.0.cr.min" in m for m in messages)
    assert any(
        "parameters.collateral.ETH.price.crash.depth: value 1: Input should be less than 1" in m
        for m in messages
    )


def test_a_design_point_that_fails_names_the_point(tmp_path):
    text = """\
name: pts
base: base.yaml
design: {kind: grid}
parameters:
  borrowers.1.strategy.trigger: {values: [1.6, 2.1]}
  borrowers.1.strategy.target: {values: [1.8, 2.3]}
"""
    (message,) = errors_of(write(tmp_path, text))
    assert message.endswith(
        ":3: design: point 2 (borrowers.1.strategy.trigger=2.1, "
        "borrowers.1.strategy.target=1.8): borrowers.1.strategy.target: target must be above "
        "trigger"
    )


def test_schema_errors_are_all_reported_with_their_lines(tmp_path):
    text = """\
name: bad
base: base.yaml
overrides: {ilks.ETH-B.mat: 2, system.Hole: -1}
design: {kind: sobol, n: 100, foo: 1}
parameters:
  ilks.ETH-A.mat: {values: [1.3]}
  keepers.0.dai: {range: [1.0e6, 1.0e5], dist: loguniform}
  spread: {scale: [borrowers.0.debt, borrowers.0.name], range: [0.5, 2]}
seeds: [1, 1]
kpis: [bad_debt]
colour: red
"""
    messages = errors_of(write(tmp_path, text))
    path = tmp_path / "sweep.yaml"
    assert (
        f"{path}:4: design.n: n must be a power of two for a Sobol design (got 100; try 64 or 128)"
        in messages
    )
    assert any(m.startswith(f"{path}:4: design.foo: unknown field") for m in messages)
    assert any(
        m.startswith(f"{path}:7: parameters.keepers.0.dai: range: the low end") for m in messages
    )
    assert f"{path}:9: seeds: the seed list repeats a seed" in messages
    assert any(m.startswith(f"{path}:10: kpis: unknown KPI 'bad_debt'") for m in messages)
    assert any(m.startswith(f"{path}:11: colour: unknown field (allowed: name,") for m in messages)
    lines = [int(m.split(":")[1]) for m in messages]
    assert lines == sorted(lines)
    # the layers after the file's own fields check what is valid in it, in the same report: the
    # overrides (an unknown ilk; a value the scenario refuses, left out of the base), the
    # parameters that passed the schema against the design's kind and the base
    assert messages[0].startswith(f"{path}:3: overrides.ilks.ETH-B.mat: unknown ilk 'ETH-B'")
    assert (
        messages[1] == f"{path}:3: overrides.system.Hole: Input should be greater than 0 (got -1)"
    )
    assert (
        f"{path}:6: parameters.ilks.ETH-A.mat.values: a sobol design samples ranges: give "
        "range: [low, high]"
    ) in messages
    assert any(
        m.startswith(
            f"{path}:8: parameters.spread.scale: borrowers.0.name: the base scenario has 'tail'"
        )
        for m in messages
    )
    assert len(messages) == 10 and len(set(messages)) == 10


ALL_MISTAKES = """\
name: everything
base: base.yaml
overrides: {ilks.ETH-A.matt: 1.6}
design: {kind: grid}
parameters:
  ilks.ETH-A.mat: {values: [0.9, 1.3]}
  ilks.ETH-B.liquidation.chop: {values: [0.1, 0.2]}
  keepers.3.dai: {values: [1.0e6]}
  ilks.ETH-A.liquidation.buf: {range: [1.1, 1.4]}
seeds: 0
kpis: [bad_debt_max, solvency]
"""


def test_one_file_with_every_kind_of_mistake_reports_them_all_at_once(tmp_path):
    path = write(tmp_path, ALL_MISTAKES)
    messages = errors_of(path)
    assert messages == [
        f"{path}:3: overrides.ilks.ETH-A.matt: unknown field 'matt' in ilks.ETH-A (allowed: "
        "collateral, mat, stability_fee, line, dust, liquidation); did you mean 'mat'?",
        f"{path}:6: parameters.ilks.ETH-A.mat: value 0.9: Input should be greater than 1 (got 0.9)",
        f"{path}:7: parameters.ilks.ETH-B.liquidation.chop: unknown ilk 'ETH-B' (defined: ETH-A); "
        "did you mean 'ETH-A'?",
        f"{path}:8: parameters.keepers.3.dai: no keeper group '3' in keepers (only item 0 or by "
        "name: kp)",
        f"{path}:9: parameters.ilks.ETH-A.liquidation.buf.range: a grid takes values: [...]; or "
        "set design.levels to split ranges into levels",
        f"{path}:10: seeds: the number of seeds every point runs with is 1 to 1,000,000 (got 0)",
        messages[-1],
    ]
    assert messages[-1].startswith(f"{path}:11: kpis: unknown KPI 'solvency'; expected one of ")
    assert not any("constrained" in m or "[" in m.split(": ")[1] for m in messages)


@pytest.mark.parametrize(
    "seeds, message",
    [
        ("0", "the number of seeds every point runs with is 1 to 1,000,000 (got 0)"),
        ("[3, -1]", "a seed is an integer from 0 to 18446744073709551615 (got -1)"),
        ("[3, 3]", "the seed list repeats a seed"),
        ("2.5", "give a number of seeds or a list of seeds such as [1, 5, 9] (got 2.5)"),
    ],
)
def test_a_bad_seeds_field_is_one_message_in_the_users_words(tmp_path, seeds, message):
    path = write(tmp_path, GRID.replace("seeds: 2", f"seeds: {seeds}"))
    assert errors_of(path) == [f"{path}:8: seeds: {message}"]


def test_a_scenario_file_given_as_a_sweep_file_is_named_as_such(tmp_path):
    path = write(tmp_path, SMALL, name="scenario.yaml")
    assert errors_of(path) == [f"{path}:1: {sweeps.SCENARIO_FILE_MESSAGE}"]
    assert "run it with cdpsim run" in sweeps.SCENARIO_FILE_MESSAGE
    # a sweep file that forgot its base is still a sweep file with a missing field
    messages = errors_of(write(tmp_path, GRID.replace("base: base.yaml\n", "")))
    assert messages == [f"{tmp_path / 'sweep.yaml'}:1: base: required field is missing"]


def test_the_base_must_exist_and_its_own_errors_are_its_own(tmp_path):
    path = write(tmp_path, GRID.replace("base: base.yaml", "base: missing.yaml"))
    (message,) = errors_of(path)
    assert message.startswith(f"{path}:2: base: the base scenario ")
    (tmp_path / "broken.yaml").write_text(SMALL.replace("mat: 1.5", "mat: 0.5"))
    path.write_text(GRID.replace("base: base.yaml", "base: broken.yaml"))
    messages = errors_of(path)
    assert any(m.startswith(f"{tmp_path / 'broken.yaml'}:10: ilks.ETH-A.mat:") for m in messages)


def test_a_sweep_over_the_run_limit_is_refused(tmp_path):
    values = ", ".join(str(1.1 + i / 10000) for i in range(1000))
    text = GRID.replace("[1.3, 1.5]", f"[{values}]").replace("seeds: 2", "seeds: 1001")
    (message,) = errors_of(write(tmp_path, text))
    assert "runs, above the limit of 1,000,000 runs per sweep" in message


def test_reserved_names_and_misplaced_options_are_refused(tmp_path):
    text = GRID.replace(
        "  ilks.ETH-A.mat: {values: [1.3, 1.5]}",
        "  seed: {scale: [borrowers.0.debt], values: [1, 2]}\n"
        "  keepers.0.dai: {values: [1.0e6], dist: uniform}",
    )
    messages = errors_of(write(tmp_path, text))
    assert any("parameters.keepers.0.dai: dist applies to a range" in m for m in messages)
    text = GRID.replace(
        "  ilks.ETH-A.mat: {values: [1.3, 1.5]}",
        "  seed: {scale: [borrowers.0.debt], values: [1, 2]}",
    )
    messages = errors_of(write(tmp_path, text))
    assert any("parameters.seed: 'seed' is a column of the tables already" in m for m in messages)


# ---------------------------------------------------------------------------------------- points


def test_the_grid_covers_the_full_product(tmp_path):
    spec = sweeps.load_sweep(write(tmp_path, GRID))
    pairs = set(
        spec.points[["ilks.ETH-A.mat", "collateral.ETH.price.crash.depth"]].itertuples(
            index=False, name=None
        )
    )
    assert pairs == {(m, d) for m in (1.3, 1.5) for d in (0.2, 0.4, 0.6)}
    assert spec.points["point"].tolist() == list(range(6))
    for row, scenario in zip(spec.points.itertuples(index=False), spec.scenarios, strict=True):
        assert scenario.ilks["ETH-A"].mat == row[1]
        assert scenario.collateral["ETH"].price.crash.depth == row[2]
        assert scenario.clock.duration == 6 * 3600  # the fixed override


def test_a_grid_of_levels_over_a_range(tmp_path):
    text = GRID.replace("{kind: grid}", "{kind: grid, levels: 3}").replace(
        "{values: [1.3, 1.5]}", "{range: [1.2, 1.4]}"
    )
    spec = sweeps.load_sweep(write(tmp_path, text))
    assert sorted(set(spec.points["ilks.ETH-A.mat"].round(12))) == [1.2, 1.3, 1.4]
    assert len(spec.points) == 9


def test_scale_list_items_and_durations(tmp_path):
    text = """\
name: s
base: base.yaml
design: {kind: random, n: 5, seed: 2}
parameters:
  size: {scale: [borrowers.0.debt, borrowers.1.debt, borrowers.0.vaults], range: [0.5, 2]}
  keepers.0.dai: {range: [1.0e5, 1.0e7], dist: loguniform}
  ilks.ETH-A.liquidation.tail: {range: [20m, 4h]}
"""
    spec = sweeps.load_sweep(write(tmp_path, text))
    base = sim.load_scenario(tmp_path / "base.yaml")
    tails = spec.points["ilks.ETH-A.liquidation.tail"]
    assert tails.between(1200, 14400).all()  # seconds
    assert spec.points["keepers.0.dai"].between(1e5, 1e7).all()
    for row, scenario in zip(spec.points.to_dict("records"), spec.scenarios, strict=True):
        m = row["size"]
        assert scenario.borrowers[0].debt == pytest.approx(base.borrowers[0].debt * m)
        assert scenario.borrowers[1].debt == pytest.approx(base.borrowers[1].debt * m)
        assert scenario.borrowers[0].vaults == round(base.borrowers[0].vaults * m)  # an integer
        assert scenario.keepers[0].dai == pytest.approx(row["keepers.0.dai"])
        assert scenario.ilks["ETH-A"].liquidation.tail == pytest.approx(
            row["ilks.ETH-A.liquidation.tail"]
        )
    record = {p["name"]: p for p in spec.section()["parameters"]}
    assert record["size"] == {
        "name": "size",
        "kind": "scale",
        "paths": ["borrowers.0.debt", "borrowers.1.debt", "borrowers.0.vaults"],
        "range": [0.5, 2.0],
        "dist": "uniform",
        "unit": None,
    }
    assert record["keepers.0.dai"]["dist"] == "loguniform"
    assert record["ilks.ETH-A.liquidation.tail"]["unit"] == "s"


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
        for s in ("mean", "std", "p05", "p50", "p95")
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
    ]
    assert (points["n"] == 2).all() and (points["n_failed"] == 0).all()
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
