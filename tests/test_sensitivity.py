"""Sobol and Morris indices: SALib on the points table, and through the sweep path.

The end-to-end tests run sweeps of stand-in models (tests/sweep_stand_ins.py) whose indices are
known: Ishigami's function (Sobol) and a linear function (Morris).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim import sensitivity
from sim.experiments.batch import BatchInterrupted, RunSpec
from sim.experiments.discovery import format_discovery
from sim.experiments.errors import AnalysisError
from sim.experiments.sensitivity import (
    RANKING_COLUMN,
    SENSITIVITY2_COLUMNS,
    SENSITIVITY_COLUMNS,
    format_sensitivity,
    morris_indices,
    parameter_names,
    ranking_note,
    sensitivity_table,
    sobol_indices,
)
from sim.experiments.store import SweepFolder
from sim.experiments.sweep import run_sweep
from sim.experiments.sweep_analysis import discover
from tests.sweep_stand_ins import (
    INDEX_TOL,
    ISHIGAMI,
    ISHIGAMI_S1,
    ISHIGAMI_ST,
    SLOPES,
    A,
    B,
    ishigami_runner,
    linear_runner,
    sweep_file,
)

# ---------------------------------------------------------------------------------------- SALib


def _morris_table(slopes: tuple[float, float], noise: float) -> pd.DataFrame:
    """Morris indices of ``a``, ``b``, ``c`` over 4 trajectories of ``y = slopes·(a, b) + noise``."""
    from sim.experiments import designs

    u = designs.morris_unit(4, 3, 0)
    y = (
        slopes[0] * u[:, 0]
        + slopes[1] * u[:, 1]
        + np.random.default_rng(0).normal(0, noise, len(u))
    )
    points = pd.DataFrame({"point": np.arange(len(u)), "bad_debt_max_mean": y})
    for j, name in enumerate("abc"):
        points[name] = u[:, j]
    section = {
        "design": {"kind": "morris", "n": 4, "levels": 4},
        "parameters": [{"name": n} for n in "abc"],
        "kpis": ["bad_debt_max"],
    }
    table, _ = sensitivity_table(points, section)
    return table.set_index("parameter")


def test_overlapping_intervals_of_the_top_parameters_get_a_ranking_note():
    table = _morris_table((1.0, 0.9), noise=0.3)
    low = table["mu_star"] - table["mu_star_conf"]
    high = table["mu_star"] + table["mu_star_conf"]
    assert table["mu_star"].idxmax() == "a" and high["b"] >= low["a"] > high["c"]  # a, b tied
    (note,) = set(table[RANKING_COLUMN])  # the KPI's note on each of its rows
    assert note.startswith("bad_debt_max: the order of a and b (by mu_star) is not resolved")
    assert "95 % confidence intervals overlap" in note and " c " not in note
    assert note.endswith("a larger design narrows them: --n 8 (now 4 trajectories)")


def test_a_clear_ranking_has_no_note():
    table = _morris_table((10.0, 1.0), noise=0.01)
    low = table["mu_star"] - table["mu_star_conf"]
    high = table["mu_star"] + table["mu_star_conf"]
    assert low["a"] > high.drop("a").max()
    assert (table[RANKING_COLUMN] == "").all()


def test_a_sobol_ranking_note_suggests_the_next_power_of_two():
    rows = {
        "method": "sobol",
        "kpi": "bad_debt_max",
        "parameter": ["x", "y", "z"],
        "ST": [0.5, 0.45, 0.1],
        "ST_conf": [0.1, 0.1, 0.02],
    }
    note = ranking_note(pd.DataFrame(rows), {"kind": "sobol", "n": 64})
    assert note is not None and "the order of x and y (by ST)" in note
    assert note.endswith("--n 128 (now 64 base samples)")
    rows["ST_conf"] = [0.01, 0.01, 0.01]
    assert ranking_note(pd.DataFrame(rows), {"kind": "sobol", "n": 64}) is None


def test_sobol_confidence_intervals_are_reproducible_with_design_seed_zero():
    y = np.random.default_rng(1).random(8 * 5)  # n = 8, three parameters
    first, _ = sobol_indices(y, ["a", "b", "c"], seed=0)
    again, _ = sobol_indices(y, ["a", "b", "c"], seed=0)
    pd.testing.assert_frame_equal(first, again)
    other, _ = sobol_indices(y, ["a", "b", "c"], seed=1)
    assert not np.allclose(other["S1_conf"], first["S1_conf"])  # the seed does matter


def test_sobol_indices_are_nan_for_a_missing_or_constant_output():
    for y in (np.ones(8 * 4), np.r_[np.nan, np.zeros(8 * 4 - 1)]):
        first, second = sobol_indices(y, ["a", "b"], second_order=True)
        assert first["parameter"].tolist() == ["a", "b"]
        assert first[["S1", "S1_conf", "ST", "ST_conf"]].isna().all().all()
        assert second is not None and second[["parameter", "parameter2"]].values.tolist() == [
            ["a", "b"]
        ]
        assert second[["S2", "S2_conf"]].isna().all().all()


def test_morris_indices_are_nan_when_an_output_is_missing():
    x = np.array([[0.0, 0.0], [1 / 3, 0.0], [1 / 3, 1 / 3]])
    table = morris_indices(x, np.array([0.0, np.nan, 1.0]), ["a", "b"])
    assert table["parameter"].tolist() == ["a", "b"]
    assert table[["mu_star", "mu_star_conf", "sigma", "mu"]].isna().all().all()


# ---------------------------------------------------------------------------------------- table


def _section(kind: str, **design: object) -> dict:
    return {
        "design": {"kind": kind, **design},
        "parameters": [{"name": "a"}, {"name": "b"}],
        "kpis": ["bad_debt_max"],
    }


def test_sensitivity_table_is_long_with_every_column_and_second_order_pairs():
    n = 16
    y = np.random.default_rng(0).random(n * 6)  # second order: n·(2D + 2) points
    points = pd.DataFrame({"point": np.arange(len(y))[::-1], "bad_debt_max_mean": y[::-1]})
    table, second = sensitivity_table(points, _section("sobol", second_order=True, seed=2))
    assert list(table.columns) == [*SENSITIVITY_COLUMNS, RANKING_COLUMN]
    assert table[["method", "kpi", "parameter"]].values.tolist() == [
        ["sobol", "bad_debt_max", "a"],
        ["sobol", "bad_debt_max", "b"],
    ]
    assert table[["mu_star", "mu_star_conf", "sigma", "mu"]].isna().all().all()
    assert second is not None and list(second.columns) == list(SENSITIVITY2_COLUMNS)
    # in design-point order, whatever the table's row order
    first, pairs = sobol_indices(y, ["a", "b"], second_order=True, seed=2)
    np.testing.assert_array_equal(table["S1"], first["S1"])
    np.testing.assert_array_equal(second["S2"], pairs["S2"])


def test_sensitivity_table_refuses_other_designs_and_kpis_without_means():
    points = pd.DataFrame({"point": [0, 1], "bad_debt_max_mean": [1.0, 2.0]})
    with pytest.raises(AnalysisError, match="need a sobol or morris design; this sweep's is 'lhs'"):
        sensitivity_table(points, _section("lhs"))
    with pytest.raises(AnalysisError, match="no liquidated_debt_mean"):
        sensitivity_table(points, {**_section("morris"), "kpis": ["liquidated_debt"]})
    assert parameter_names(_section("sobol")) == ["a", "b"]
    assert parameter_names({}) == []


def test_format_sensitivity_ranks_parameters_and_says_when_there_is_no_index():
    rows = [
        ("sobol", "bad_debt_max", "a", 0.1, 0.01, 0.2, 0.02, None, None, None, None),
        ("sobol", "bad_debt_max", "bb", 0.5, 0.01, 0.7, 0.03, None, None, None, None),
        ("morris", "liquidated_debt", "a", None, None, None, None, 1234.5, 10.0, 3.0, 1.0),
        ("morris", "auctions", "a", None, None, None, None, None, None, None, None),
    ]
    table = pd.DataFrame(rows, columns=list(SENSITIVITY_COLUMNS)).astype(
        {c: float for c in SENSITIVITY_COLUMNS[3:]}
    )
    assert format_sensitivity(table).splitlines() == [
        "bad_debt_max (sobol, by ST):",
        "  bb  ST 0.7 ± 0.03  S1 0.500",
        "  a   ST 0.2 ± 0.02  S1 0.100",
        "liquidated_debt (morris, by mu_star):",
        "  a  mu_star 1234 ± 10 Dai  sigma 3",
        "auctions (morris, by mu_star):",
        "  no index: the KPI is the same at every point, or a point has no ok run",
    ]
    assert format_sensitivity(table, top=1).splitlines()[1] == "  bb  ST 0.7 ± 0.03  S1 0.500"


# ---------------------------------------------------------------------------------------- sweeps


def _ishigami_in_memory(design: dict) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The indices of Ishigami's function on a Sobol design, without the sweep path.

    The design's unit points go straight into the function (the stand-in maps a parameter's
    range back onto [0, 1] the same way) and the points table into the same analysis.
    """
    from sim.experiments import designs

    u = designs.unit_design(
        "sobol",
        design["n"],
        len(ISHIGAMI),
        design.get("seed", 0),
        second_order=design.get("second_order", False),
    )
    x1, x2, x3 = (-np.pi + 2 * np.pi * u[:, j] for j in range(3))
    y = np.sin(x1) + A * np.sin(x2) ** 2 + B * x3**4 * np.sin(x1)
    points = pd.DataFrame({"point": np.arange(len(y)), "bad_debt_max_mean": y})
    section = {
        "design": {"kind": "sobol", **design},
        "parameters": [{"name": name} for name in ISHIGAMI],
        "kpis": ["bad_debt_max"],
    }
    return sensitivity_table(points, section)


def test_sobol_of_the_ishigami_function_recovers_its_indices():
    """The design and the analysis at n = 1024 (the sweep path is checked against them below)."""
    table, second = _ishigami_in_memory({"n": 1024, "seed": 3})
    assert second is None
    bad = table.set_index("parameter").loc[list(ISHIGAMI)]
    np.testing.assert_allclose(bad["S1"], ISHIGAMI_S1, atol=INDEX_TOL)
    np.testing.assert_allclose(bad["ST"], ISHIGAMI_ST, atol=INDEX_TOL)
    _, pairs = _ishigami_in_memory({"n": 256, "second_order": True})
    assert pairs is not None
    s2 = pairs.set_index(["parameter", "parameter2"])["S2"]
    names = list(ISHIGAMI)
    # the only interaction of Ishigami's function is x1·x3 (S13 ≈ 0.244)
    assert s2.loc[(names[0], names[2])] == pytest.approx(0.244, abs=0.1)
    assert abs(s2.loc[(names[0], names[1])]) < 0.1


#: Index columns the sweep path must give as the in-memory analysis does.
INDEX_COLUMNS = ["S1", "S1_conf", "ST", "ST_conf"]


def test_sobol_recovers_the_ishigami_indices_through_the_sweep_path(tmp_path):
    """Sweep file → design → runs → runs and points tables → indices, as in memory.

    A smaller design than the accuracy test above (n = 128): the path is the same at any n,
    and its indices must equal the in-memory ones on the same design.
    """
    path = sweep_file(tmp_path, "{kind: sobol, n: 128, seed: 3}")
    result = run_sweep(path, workers=0, out=tmp_path / "out", runner=ishigami_runner)
    n = 128 * (len(ISHIGAMI) + 2)
    assert len(result.runs) == len(result.points) == n and (result.runs["status"] == "ok").all()
    table = pd.read_parquet(tmp_path / "out" / "sensitivity.parquet")
    assert list(table.columns) == [*SENSITIVITY_COLUMNS, RANKING_COLUMN]
    bad = table[table["kpi"] == "bad_debt_max"].set_index("parameter").loc[list(ISHIGAMI)]
    assert (bad["method"] == "sobol").all() and bad["mu_star"].isna().all()
    direct, _ = _ishigami_in_memory({"n": 128, "seed": 3})
    direct = direct.set_index("parameter").loc[list(ISHIGAMI)]
    np.testing.assert_allclose(bad[INDEX_COLUMNS], direct[INDEX_COLUMNS], rtol=1e-9, atol=1e-12)
    # the design is far enough from constant that the indices mean something
    np.testing.assert_allclose(bad["S1"], ISHIGAMI_S1, atol=0.2)
    assert (bad[["S1_conf", "ST_conf"]] > 0).all().all()  # bootstrap half-widths
    # the folder alone gives the same indices again
    pd.testing.assert_frame_equal(sensitivity(tmp_path / "out"), table)


def test_second_order_sobol_indices_are_written(tmp_path):
    path = sweep_file(tmp_path, "{kind: sobol, n: 32, second_order: true}")
    run_sweep(path, workers=0, out=tmp_path / "out", runner=ishigami_runner)
    pairs = pd.read_parquet(tmp_path / "out" / "sensitivity2.parquet")
    bad = pairs[pairs["kpi"] == "bad_debt_max"].set_index(["parameter", "parameter2"])
    assert len(bad) == 3
    _, direct = _ishigami_in_memory({"n": 32, "second_order": True})
    assert direct is not None
    direct = direct.set_index(["parameter", "parameter2"]).loc[bad.index]
    np.testing.assert_allclose(bad[["S2", "S2_conf"]], direct[["S2", "S2_conf"]], rtol=1e-9)


def test_morris_ranks_a_linear_model_by_its_slopes(tmp_path):
    path = sweep_file(tmp_path, "{kind: morris, n: 20, levels: 4, seed: 1}")
    result = run_sweep(path, workers=0, out=tmp_path / "out", runner=linear_runner)
    assert len(result.points) == 20 * (len(ISHIGAMI) + 1)
    table = result.sensitivity
    assert table is not None
    bad = table[table["kpi"] == "bad_debt_max"].set_index("parameter").loc[list(ISHIGAMI)]
    assert (bad["method"] == "morris").all() and bad["S1"].isna().all()
    np.testing.assert_allclose(bad["mu_star"], np.abs(SLOPES), atol=1e-9)
    np.testing.assert_allclose(bad["mu"], SLOPES, atol=1e-9)
    np.testing.assert_allclose(bad["sigma"], 0.0, atol=1e-9)
    constant = table[table["kpi"] == "liquidated_debt"]
    np.testing.assert_allclose(constant["mu_star"], 0.0)
    # exact slopes: every interval is a point, the ranking is clear; a constant KPI has none
    assert (table[RANKING_COLUMN] == "").all()


def test_indices_are_nan_for_a_constant_kpi_and_refused_for_other_designs(tmp_path):
    path = sweep_file(tmp_path, "{kind: sobol, n: 8}")
    result = run_sweep(path, workers=0, out=tmp_path / "out", runner=linear_runner)
    assert result.sensitivity is not None
    flat = result.sensitivity[result.sensitivity["kpi"] == "liquidated_debt"]
    assert flat[["S1", "ST"]].isna().all().all()
    lhs = sweep_file(tmp_path, "{kind: lhs, n: 8}")
    done = run_sweep(lhs, workers=0, out=tmp_path / "lhs-out", runner=linear_runner)
    assert done.sensitivity is None
    assert not (tmp_path / "lhs-out" / "sensitivity.parquet").exists()
    with pytest.raises(AnalysisError, match="need a sobol or morris design"):
        sensitivity(tmp_path / "lhs-out")


def test_an_interrupted_sobol_sweep_is_marked_incomplete_until_resumed(tmp_path):
    path = sweep_file(tmp_path, "{kind: sobol, n: 8}")  # 8 × (3 + 2) = 40 points, one seed
    calls = {"n": 0}

    def interrupted(spec: RunSpec) -> dict:
        calls["n"] += 1
        if calls["n"] == 10:
            raise KeyboardInterrupt
        return linear_runner(spec)

    out = tmp_path / "out"
    with pytest.raises(BatchInterrupted):
        run_sweep(path, workers=0, out=out, runner=interrupted)
    assert not SweepFolder(out).is_complete()
    points = pd.read_parquet(out / "points.parquet")
    assert (points["n"] + points["n_missing"] == 1).all() and points["n"].sum() == 9
    assert not (out / "sensitivity.parquet").exists()  # indices need every point
    with pytest.raises(AnalysisError, match="the sweep is incomplete"):
        sensitivity(out)
    found = discover(out, kpi="bad_debt_max", above=1.0)
    assert not found.complete and "the sweep is incomplete" in format_discovery(found)
    done = run_sweep(path, workers=0, out=out, resume=True, runner=linear_runner)
    assert SweepFolder(out).is_complete()
    assert (done.points["n_missing"] == 0).all() and (done.points["n"] == 1).all()
    assert done.sensitivity is not None and (out / "sensitivity.parquet").is_file()
    pd.testing.assert_frame_equal(sensitivity(out), done.sensitivity)
