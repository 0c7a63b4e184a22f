"""Sweep analysis: ensemble statistics, the points table, Sobol and Morris indices, discovery.

The sensitivity machinery is checked end to end — sweep file → design → runs → runs table →
points table → indices — with stand-in models plugged in where the simulation runs
(``run_sweep(runner=...)``): a stand-in writes its run folder and returns its row exactly as
:func:`sim.experiments.batch.execute` does, so everything after the run is the real path.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import metrics
from sim.experiments import analysis
from sim.experiments.batch import BatchInterrupted, RunSpec
from sim.experiments.store import StoreError, run_row
from sim.experiments.sweep import run_sweep
from sim.rundir import MANIFEST_KIND
from tests.conftest import SMALL

# ---------------------------------------------------------------------------------------- stand-ins

#: The stand-ins' inputs: three scenario fields whose ranges map linearly onto [-π, π].
ISHIGAMI = {
    "collateral.ETH.price.crash.depth": (0.1, 0.9),
    "ilks.ETH-A.liquidation.buf": (1.0, 3.0),
    "ilks.ETH-A.liquidation.chop": (0.0, 1.0),
}
#: Ishigami's constants and its analytical indices (Ishigami & Homma 1990).
A, B = 7.0, 0.1
ISHIGAMI_S1 = (0.3139, 0.4424, 0.0)
ISHIGAMI_ST = (0.5576, 0.4424, 0.2437)
#: Tolerance of the estimated indices at the sample size used below [-].
INDEX_TOL = 0.05
#: The linear stand-in's slopes (per whole range) for Morris.
SLOPES = (3.0, -1.0, 0.0)


def write_stand_in(spec: RunSpec, kpis: dict[str, float], status: str = "ok") -> dict:
    """Write a run folder as the batch layer does (summary, then the manifest) and return its row."""
    folder = Path(spec.folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "summary.json").write_text(json.dumps(kpis))
    manifest = {
        "kind": MANIFEST_KIND,
        "scenario": {"name": spec.scenario.name},
        "seed": spec.seed,
        "ticks": 0,
        "status": status,
        "error": None if status == "ok" else "stand-in failure\nTraceback: none",
        "wall_time_s": 0.0,
        "files": ["manifest.json", "summary.json"],
        "batch": spec.batch_info(),
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    row = run_row(folder)
    assert row is not None
    return row


def unit_inputs(spec: RunSpec) -> list[float]:
    """The stand-ins' inputs in [0, 1]."""
    return [(spec.parameters[k] - lo) / (hi - lo) for k, (lo, hi) in ISHIGAMI.items()]


def ishigami_runner(spec: RunSpec) -> dict:
    x1, x2, x3 = (-math.pi + 2 * math.pi * u for u in unit_inputs(spec))
    y = math.sin(x1) + A * math.sin(x2) ** 2 + B * x3**4 * math.sin(x1)
    return write_stand_in(spec, {"bad_debt_max": y, "liquidated_debt": abs(y)})


def linear_runner(spec: RunSpec) -> dict:
    y = sum(s * u for s, u in zip(SLOPES, unit_inputs(spec), strict=True))
    return write_stand_in(spec, {"bad_debt_max": y, "liquidated_debt": 0.0})


def box_runner(spec: RunSpec) -> dict:
    """Bad debt (1 M Dai) and a low CR exactly where depth > 0.6 and buf < 1.8 (15 % of the
    space); a seed-dependent wobble."""
    depth = spec.parameters["collateral.ETH.price.crash.depth"]
    buf = spec.parameters["ilks.ETH-A.liquidation.buf"]
    inside = depth > 0.6 and buf < 1.8
    kpis = {
        "bad_debt_max": (1.0e6 if inside else 0.0) + spec.seed % 7,
        "liquidated_debt": 1.0,
        "min_cr_p05": 1.1 if inside else 1.6,
    }
    return write_stand_in(spec, kpis)


def sweep_file(tmp_path: Path, design: str, seeds: str = "1") -> Path:
    (tmp_path / "base.yaml").write_text(SMALL)
    params = "\n".join(f"  {k}: {{range: [{lo}, {hi}]}}" for k, (lo, hi) in ISHIGAMI.items())
    path = tmp_path / "sweep.yaml"
    path.write_text(
        f"name: standin\nbase: base.yaml\ndesign: {design}\nparameters:\n{params}\n"
        f"seeds: {seeds}\nkpis: [bad_debt_max, liquidated_debt]\n"
    )
    return path


# ---------------------------------------------------------------------------------------- statistics


def test_value_at_risk_shortfall_and_probability_of_bad_debt():
    bad = np.array([0.0, 0.0, 0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 1000.0])
    assert metrics.value_at_risk(bad) == pytest.approx(np.quantile(bad, 0.95))
    assert metrics.value_at_risk(bad) == pytest.approx(60 + 0.55 * 940)  # linear interpolation
    assert metrics.value_at_risk(bad, 0.99) == pytest.approx(60 + 0.91 * 940)
    assert metrics.expected_shortfall(bad) == pytest.approx(1000.0)  # the tail above the VaR
    assert metrics.expected_shortfall(bad, 0.5) == pytest.approx(np.mean([30, 40, 50, 60, 1000]))
    assert metrics.probability_of_bad_debt(bad) == pytest.approx(0.7)
    assert metrics.liquidations_at_risk([1.0, 2.0, 3.0]) == pytest.approx(2.9)


def test_ensemble_statistics_leave_out_nan_and_need_values():
    stats = metrics.ensemble_kpi_stats("k", [1.0, np.nan, 3.0])
    assert stats == {
        "k_mean": 2.0,
        "k_std": pytest.approx(math.sqrt(2)),
        "k_p05": pytest.approx(1.1),
        "k_p50": 2.0,
        "k_p95": pytest.approx(2.9),
    }
    assert math.isnan(metrics.ensemble_std([5.0]))
    empty = metrics.risk_stats([], [])
    assert set(empty) == {k.name for k in metrics.RISK_STATS}
    assert all(math.isnan(v) for v in empty.values())


def test_points_table_counts_runs_and_summarises_only_the_ok_ones():
    design = pd.DataFrame({"point": [0, 1, 2], "x": [0.1, 0.2, 0.3]})
    runs = pd.DataFrame(
        {
            "point": [0, 0, 0, 1, 1, 1],
            "status": ["ok", "ok", "failed", "ok", "ok", "interrupted"],
            "bad_debt_max": [0.0, 100.0, np.nan, 5.0, 5.0, 1.0e9],
            "liquidated_debt": [10.0, 30.0, np.nan, 1.0, 3.0, 1.0e9],
        }
    )
    table = analysis.points_table(runs, design, ["bad_debt_max"], n_seeds=3)
    assert list(table.columns) == [
        "point",
        "x",
        "n",
        "n_failed",
        "n_missing",
        "bad_debt_max_mean",
        "bad_debt_max_std",
        "bad_debt_max_p05",
        "bad_debt_max_p50",
        "bad_debt_max_p95",
        "bad_debt_var95",
        "bad_debt_var99",
        "bad_debt_es95",
        "p_bad_debt",
        "liquidated_debt_lar95",
    ]
    first, second, third = table.to_dict("records")
    counts = [(row["n"], row["n_failed"], row["n_missing"]) for row in (first, second, third)]
    assert counts == [(2, 1, 0), (2, 0, 1), (0, 0, 3)]  # an interrupted run is not done yet
    assert first["bad_debt_max_mean"] == 50.0 and first["p_bad_debt"] == 0.5
    assert first["bad_debt_var95"] == pytest.approx(95.0)
    assert first["bad_debt_es95"] == 100.0
    assert first["liquidated_debt_lar95"] == pytest.approx(29.0)
    assert second["p_bad_debt"] == 1.0 and second["bad_debt_max_std"] == 0.0
    assert math.isnan(third["bad_debt_max_mean"]) and math.isnan(third["p_bad_debt"])
    assert (table[["point", *analysis.COUNT_COLUMNS]].dtypes == np.int64).all()


# ---------------------------------------------------------------------------------------- indices


def test_sobol_recovers_the_ishigami_indices_through_the_sweep_path(tmp_path):
    path = sweep_file(tmp_path, "{kind: sobol, n: 1024, seed: 3}")
    result = run_sweep(path, workers=0, out=tmp_path / "out", runner=ishigami_runner)
    n = 1024 * (len(ISHIGAMI) + 2)
    assert len(result.runs) == len(result.points) == n and (result.runs["status"] == "ok").all()
    table = pd.read_parquet(tmp_path / "out" / "sensitivity.parquet")
    assert list(table.columns) == list(analysis.SENSITIVITY_COLUMNS)
    bad = table[table["kpi"] == "bad_debt_max"].set_index("parameter").loc[list(ISHIGAMI)]
    assert (bad["method"] == "sobol").all() and bad["mu_star"].isna().all()
    np.testing.assert_allclose(bad["S1"], ISHIGAMI_S1, atol=INDEX_TOL)
    np.testing.assert_allclose(bad["ST"], ISHIGAMI_ST, atol=INDEX_TOL)
    assert (bad[["S1_conf", "ST_conf"]] > 0).all().all()  # bootstrap half-widths
    # the folder alone gives the same indices again
    pd.testing.assert_frame_equal(analysis.sensitivity(tmp_path / "out"), table)


def test_second_order_sobol_indices_are_written(tmp_path):
    path = sweep_file(tmp_path, "{kind: sobol, n: 256, second_order: true}")
    run_sweep(path, workers=0, out=tmp_path / "out", runner=ishigami_runner)
    pairs = pd.read_parquet(tmp_path / "out" / "sensitivity2.parquet")
    bad = pairs[pairs["kpi"] == "bad_debt_max"].set_index(["parameter", "parameter2"])
    assert len(bad) == 3
    names = list(ISHIGAMI)
    # the only interaction of Ishigami's function is x1·x3 (S13 ≈ 0.244)
    assert bad.loc[(names[0], names[2]), "S2"] == pytest.approx(0.244, abs=0.1)
    assert abs(bad.loc[(names[0], names[1]), "S2"]) < 0.1


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
    with pytest.raises(analysis.AnalysisError, match="need a sobol or morris design"):
        analysis.sensitivity(tmp_path / "lhs-out")


def test_sobol_confidence_intervals_are_reproducible_with_design_seed_zero():
    y = np.random.default_rng(1).random(8 * 5)  # n = 8, three parameters
    first, _ = analysis.sobol_indices(y, ["a", "b", "c"], seed=0)
    again, _ = analysis.sobol_indices(y, ["a", "b", "c"], seed=0)
    pd.testing.assert_frame_equal(first, again)
    other, _ = analysis.sobol_indices(y, ["a", "b", "c"], seed=1)
    assert not np.allclose(other["S1_conf"], first["S1_conf"])  # the seed does matter


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
    assert not analysis.is_complete(out)
    points = pd.read_parquet(out / "points.parquet")
    assert (points["n"] + points["n_missing"] == 1).all() and points["n"].sum() == 9
    assert not (out / "sensitivity.parquet").exists()  # indices need every point
    with pytest.raises(analysis.AnalysisError, match="the sweep is incomplete"):
        analysis.sensitivity(out)
    found = analysis.discover(out, kpi="bad_debt_max", above=1.0)
    assert not found.complete and "the sweep is incomplete" in analysis.format_discovery(found)
    done = run_sweep(path, workers=0, out=out, resume=True, runner=linear_runner)
    assert analysis.is_complete(out)
    assert (done.points["n_missing"] == 0).all() and (done.points["n"] == 1).all()
    assert done.sensitivity is not None and (out / "sensitivity.parquet").is_file()
    pd.testing.assert_frame_equal(analysis.sensitivity(out), done.sensitivity)


# ---------------------------------------------------------------------------------------- discovery


@pytest.fixture
def box_sweep(tmp_path) -> Path:
    path = sweep_file(tmp_path, "{kind: lhs, n: 400, seed: 4}", seeds="2")
    run_sweep(path, workers=0, out=tmp_path / "out", runner=box_runner)
    return tmp_path / "out"


def test_cart_finds_the_failure_box(box_sweep):
    found = analysis.discover(box_sweep, kpi="bad_debt_max", above=1000, method="cart")
    assert found.path == box_sweep / "discovery" / "bad_debt_max-above-1000-cart.parquet"
    assert found.path.is_file() and found.trajectory is None
    table = pd.read_parquet(found.path)
    assert list(table.columns) == list(analysis.BOX_COLUMNS)
    assert found.n_runs == 800 and 0 < found.n_cases < found.n_runs
    best = table[table["box"] == 0].set_index("parameter")
    assert best["coverage"].iloc[0] > 0.9 and best["density"].iloc[0] > 0.95
    depth, buf = "collateral.ETH.price.crash.depth", "ilks.ETH-A.liquidation.buf"
    assert best.loc[depth, "lower"] == pytest.approx(0.6, abs=0.02)
    assert best.loc[depth, "upper"] == 0.9
    assert best.loc[buf, "upper"] == pytest.approx(1.8, abs=0.05)
    assert not best.loc["ilks.ETH-A.liquidation.chop", "restricted"]
    text = analysis.format_discovery(found)
    assert text.startswith("bad_debt_max > 1,000 Dai: ")
    assert "box 0: coverage" in text and depth in text
    assert "more than half of the runs are cases" in text  # the rule, stated


def test_below_finds_where_a_kpi_is_low_and_prints_no_unit_for_a_ratio(box_sweep):
    found = analysis.discover(box_sweep, kpi="min_cr_p05", below=1.3)
    assert found.path.name == "min_cr_p05-below-1.3-cart.parquet"
    assert (found.side, found.threshold) == ("below", 1.3)
    best = found.boxes[found.boxes["box"] == 0].set_index("parameter")
    assert best.loc["collateral.ETH.price.crash.depth", "lower"] == pytest.approx(0.6, abs=0.02)
    assert best["density"].iloc[0] > 0.95
    assert analysis.format_discovery(found).startswith(
        f"min_cr_p05 < 1.3: {found.n_cases} of 800 ok runs"
    )
    with pytest.raises(analysis.AnalysisError, match="--above X or --below X"):
        analysis.discover(box_sweep, kpi="min_cr_p05", above=1.0, below=1.3)
    with pytest.raises(analysis.AnalysisError, match="--above X or --below X"):
        analysis.discover(box_sweep, kpi="min_cr_p05")


@pytest.mark.parametrize("method", ["cart", "prim"])
def test_a_threshold_crossed_almost_everywhere_gives_no_box_and_says_so(box_sweep, method):
    if method == "prim":
        pytest.importorskip("ema_workbench")
    found = analysis.discover(box_sweep, kpi="min_cr_p05", above=1.3, method=method)  # type: ignore[arg-type]
    assert found.n_cases / found.n_runs >= analysis.ALMOST_EVERYWHERE  # 85 % of the space
    assert found.boxes.empty and pd.read_parquet(found.path).empty
    share = f"{found.n_cases / found.n_runs:.0%}"
    assert f"the threshold is crossed almost everywhere ({share} of the runs" in found.note
    text = analysis.format_discovery(found)
    assert "no box: the threshold is crossed almost everywhere" in text


def test_a_cart_leaf_of_exactly_half_cases_is_not_a_box():
    x = pd.DataFrame({"p": [0.0] * 10 + [1.0] * 10})
    bounds = {"p": (0.0, 1.0)}
    half = np.array([True, False] * 5 + [False] * 10)  # the left leaf: 5 of 10 runs
    assert analysis.cart_boxes(x, half, bounds).empty
    most = np.array([True] * 6 + [False] * 4 + [False] * 10)  # 6 of 10: most runs
    boxes = analysis.cart_boxes(x, most, bounds)
    assert boxes["density"].tolist() == [0.6] and boxes["upper"].tolist() == [0.5]


def test_cart_and_prim_write_their_own_files_and_load_discoveries_reads_both(box_sweep):
    pytest.importorskip("ema_workbench")
    cart = analysis.discover(box_sweep, kpi="bad_debt_max", above=1000, method="cart")
    prim = analysis.discover(box_sweep, kpi="bad_debt_max", above=1000, method="prim")
    assert cart.path != prim.path and cart.path.is_file() and prim.path.is_file()
    assert prim.trajectory_path == box_sweep / "discovery" / (
        "bad_debt_max-above-1000-prim-trajectory.parquet"
    )
    loaded = {d.name: d for d in analysis.load_discoveries(box_sweep)}
    assert set(loaded) == {"bad_debt_max-above-1000-cart", "bad_debt_max-above-1000-prim"}
    for found in (cart, prim):
        again = loaded[found.path.stem]
        assert (again.kpi, again.side, again.threshold, again.method) == (
            "bad_debt_max",
            "above",
            1000.0,
            found.method,
        )
        assert (again.n_runs, again.n_cases, again.complete) == (800, found.n_cases, True)
        pd.testing.assert_frame_equal(again.boxes, found.boxes)
    assert loaded["bad_debt_max-above-1000-cart"].trajectory is None
    assert loaded["bad_debt_max-above-1000-prim"].trajectory is not None
    assert loaded["bad_debt_max-above-1000-prim"].label == "bad_debt_max above 1,000 Dai (PRIM)"


def test_load_discoveries_reads_files_named_before_the_method_was_in_the_name(box_sweep):
    found = analysis.discover(box_sweep, kpi="bad_debt_max", above=1000)
    found.path.rename(box_sweep / "discovery" / "bad_debt_max-above-1000.parquet")
    (old,) = analysis.load_discoveries(box_sweep)
    assert (old.kpi, old.side, old.threshold, old.method) == ("bad_debt_max", "above", 1000, "cart")
    assert analysis.load_discoveries(box_sweep / "nowhere") == []


def test_duration_bounds_and_thresholds_are_printed_with_units(tmp_path):
    assert [analysis.duration_text(s) for s in (45, 3586, 1800, 14400, 14350, 93600)] == [
        "45s",
        "59m46s",
        "30m",
        "4h",
        "3h59m",
        "1d2h",
    ]
    boxes = pd.DataFrame(
        [
            {
                "box": 0,
                "method": "cart",
                "coverage": 0.5,
                "density": 0.9,
                "mass": 0.2,
                "parameter": "ilks.ETH-A.liquidation.tail",
                "lower": 3586.0,
                "upper": 14400.0,
                "restricted": True,
            },
        ]
    )
    found = analysis.Discovery(
        kpi="bad_debt_max",
        side="above",
        threshold=1.0e6,
        method="cart",
        boxes=boxes,
        trajectory=None,
        path=tmp_path / "x.parquet",
        trajectory_path=None,
        n_runs=10,
        n_cases=5,
        units={"ilks.ETH-A.liquidation.tail": "s"},
    )
    text = analysis.format_discovery(found)
    assert text.startswith("bad_debt_max > 1,000,000 Dai: 5 of 10 ok runs (50%)")
    assert "ilks.ETH-A.liquidation.tail  59m46s … 4h" in text


def test_prim_finds_the_failure_box_with_its_trajectory(box_sweep):
    pytest.importorskip("ema_workbench")
    found = analysis.discover(box_sweep, kpi="bad_debt_max", above=1000, method="prim")
    trajectory = pd.read_parquet(found.trajectory_path)
    assert list(trajectory.columns) == list(analysis.TRAJECTORY_COLUMNS)
    assert trajectory["step"].tolist() == list(range(len(trajectory)))
    assert trajectory["coverage"].iloc[0] == 1.0 and trajectory["selected"].sum() == 1
    boxes = pd.read_parquet(found.path).set_index("parameter")
    assert (boxes["method"] == "prim").all() and boxes["density"].iloc[0] > 0.9
    assert boxes.loc["collateral.ETH.price.crash.depth", "lower"] == pytest.approx(0.6, abs=0.03)
    assert boxes.loc["ilks.ETH-A.liquidation.buf", "upper"] == pytest.approx(1.8, abs=0.1)


def test_discover_refuses_what_it_cannot_analyse(box_sweep, tmp_path):
    with pytest.raises(analysis.AnalysisError, match="unknown KPI 'nope'"):
        analysis.discover(box_sweep, kpi="nope", above=1)
    with pytest.raises(analysis.AnalysisError, match="unknown method"):
        analysis.discover(box_sweep, kpi="bad_debt_max", above=1, method="svm")  # type: ignore[arg-type]
    with pytest.raises(StoreError, match="not a cdpsim sweep folder"):
        analysis.discover(tmp_path / "nowhere", kpi="bad_debt_max", above=1)
    nothing = analysis.discover(box_sweep, kpi="bad_debt_max", above=1e12)
    assert nothing.n_cases == 0 and nothing.boxes.empty
    assert "no box" in analysis.format_discovery(nothing)
