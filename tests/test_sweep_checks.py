"""A sweep file's layered checks (sim/experiments/sweep_checks.py): every problem at once, in
line order, before any run; the parameters resolved against the base; the design points.
"""

from __future__ import annotations

import pytest

import sim
from sim.experiments import sweep as sweeps
from sim.experiments.sweep_checks import check_sweep
from sim.scenario.yamlfile import read_yaml
from tests.conftest import SMALL
from tests.test_sweep import GRID, errors_of, write

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
        "collateral, mat, stability_fee, line, dust, liquidation, autoline); did you mean 'mat'?",
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


def test_the_points_scenarios_are_built_again_when_asked_for(tmp_path):
    path = write(tmp_path, GRID)
    data, lines = read_yaml(path)
    checked = check_sweep(data, filename=str(path), base_dir=tmp_path, lines=lines)
    assert len(checked.scenarios) == len(checked.points) == 6
    third = checked.scenarios[2]
    assert checked.scenarios[2] is third  # the last one is kept
    assert checked.scenarios[-4] is third
    assert checked.scenarios[3] is not third and checked.scenarios[2] == third
    assert checked.scenarios.settings(2) == (
        "ilks.ETH-A.mat=1.3",
        "collateral.ETH.price.crash.depth=0.6",
    )
    with pytest.raises(IndexError):
        checked.scenarios[6]
