"""Scenario discovery: CART and PRIM boxes, on hand-made runs and through the sweep path.

The sweeps run the box stand-in (tests/sweep_stand_ins.py): bad debt and a low CR exactly where
depth > 0.6 and buf < 1.8.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import discover
from sim.experiments.discovery import (
    ALMOST_EVERYWHERE,
    BOX_COLUMNS,
    TRAJECTORY_COLUMNS,
    Discovery,
    cart_boxes,
    discovery_stem,
    find_boxes,
    format_discovery,
    threshold_of,
)
from sim.experiments.errors import AnalysisError
from tests import sweep_stand_ins


@pytest.fixture
def box_sweep(tmp_path) -> Path:
    return sweep_stand_ins.box_sweep(tmp_path)


#: Hand-made runs: bad debt where p > 0.5 (a box), q is noise; one failed run, one NaN.
P = np.linspace(0.0, 1.0, 40)
RUNS = pd.DataFrame(
    {
        "run_id": [f"r{k}" for k in range(42)],
        "status": ["ok"] * 40 + ["failed", "ok"],
        "p": [*P, 0.9, 0.9],
        "q": [*np.tile([0.0, 1.0], 20), 0.0, 0.0],
        "label": ["x"] * 42,
        "bad_debt_max": [*np.where(P > 0.5, 1.0e6, 0.0), 1.0e6, np.nan],
    }
)
PARAMETERS = [
    {"name": "p", "range": [0.0, 1.0]},
    {"name": "q", "unit": "s"},
    {"name": "label"},
]


# ---------------------------------------------------------------------------------------- no folder


def test_find_boxes_on_a_runs_table_takes_the_ok_runs_and_numeric_parameters():
    found = find_boxes(RUNS, PARAMETERS, kpi="bad_debt_max", side="above", threshold=1.0)
    assert found.path is None and found.trajectory is None and found.complete
    assert (found.n_runs, found.n_cases) == (40, 20)  # not the failed run, not the NaN
    assert found.units == {"p": None, "q": "s"}  # the text parameter is not an input
    box = found.boxes.set_index("parameter")
    assert list(found.boxes.columns) == list(BOX_COLUMNS)
    assert box.loc["p", "restricted"] and box.loc["p", "upper"] == 1.0
    assert 0.5 <= box.loc["p", "lower"] <= 0.53 and box.loc["p", "density"] == 1.0
    assert not box.loc["q", "restricted"] and (box.loc["q", "lower"], box.loc["q", "upper"]) == (
        0.0,
        1.0,
    )  # no range: the data's span
    assert found.name == "bad_debt_max-above-1-cart"
    assert found.label == "bad_debt_max above 1 Dai (CART)"
    below = find_boxes(
        RUNS, PARAMETERS, kpi="bad_debt_max", side="below", threshold=1.0, complete=False
    )
    assert below.n_cases == 20 and not below.complete
    assert below.boxes.set_index("parameter").loc["p", "upper"] <= 0.53


def test_find_boxes_says_why_there_is_no_box():
    none = find_boxes(RUNS, PARAMETERS, kpi="bad_debt_max", side="above", threshold=1e12)
    assert none.boxes.empty and none.note == "no run is above the threshold"
    most = find_boxes(RUNS, PARAMETERS, kpi="bad_debt_max", side="below", threshold=1e12)
    assert most.boxes.empty and most.n_cases >= ALMOST_EVERYWHERE * most.n_runs
    assert most.note.startswith("the threshold is crossed almost everywhere (100% of the runs")
    assert "a lower threshold asks where it is crossed" in most.note
    # every other run, at the same parameters: nothing to split
    scattered = RUNS.assign(p=0.5, q=0.0, bad_debt_max=np.tile([1.0, 0.0], 21))
    even = find_boxes(scattered, PARAMETERS, kpi="bad_debt_max", side="above", threshold=0.5)
    assert even.boxes.empty and even.note.startswith("no leaf of the tree in which more than half")


def test_find_boxes_refuses_what_it_cannot_analyse():
    with pytest.raises(AnalysisError, match=r"^unknown KPI 'nope'; expected one of bad_debt_max$"):
        find_boxes(RUNS, PARAMETERS, kpi="nope", side="above", threshold=1.0)
    with pytest.raises(AnalysisError, match=r"^SWEEP: its runs table has no KPI 'auctions'"):
        find_boxes(RUNS, PARAMETERS, kpi="auctions", side="above", threshold=1.0, where="SWEEP")
    with pytest.raises(AnalysisError, match=r"^the sweep: no numeric swept parameter"):
        find_boxes(RUNS, [{"name": "label"}], kpi="bad_debt_max", side="above", threshold=1.0)


def test_threshold_of_checks_the_method_and_the_threshold():
    assert threshold_of("cart", 1, None) == ("above", 1.0)
    assert threshold_of("prim", None, -2.5) == ("below", -2.5)
    with pytest.raises(AnalysisError, match=r"unknown method 'svm'; expected one of cart, prim"):
        threshold_of("svm", 1.0, None)
    for above, below in ((None, None), (1.0, 2.0)):
        with pytest.raises(AnalysisError, match=r"--above X or --below X"):
            threshold_of("cart", above, below)
    with pytest.raises(AnalysisError, match=r"--below must be a finite number"):
        threshold_of("cart", None, math.inf)


def test_a_discovery_is_named_and_labelled_with_its_kpis_unit():
    assert discovery_stem("min_cr_p05", "below", 1.3, "prim") == "min_cr_p05-below-1.3-prim"
    assert discovery_stem("bad_debt_max", "above", 1e6, "cart") == "bad_debt_max-above-1000000-cart"
    empty = pd.DataFrame(columns=list(BOX_COLUMNS))
    ratio = Discovery(kpi="min_cr_p05", side="below", threshold=1.3, method="cart", boxes=empty)
    assert ratio.label == "min_cr_p05 below 1.3 (CART)"
    count = Discovery(kpi="auctions", side="above", threshold=12000, method="prim", boxes=empty)
    assert count.label == "auctions above 12,000 (PRIM)"  # a count has no unit
    named = Discovery(
        kpi="bad_debt_max",
        side="above",
        threshold=1000,
        method="cart",
        boxes=empty,
        path=Path("discovery/bad_debt_max-above-1e3-cart.parquet"),  # written by hand
    )
    assert named.name == "bad_debt_max-above-1e3-cart"  # a file read back: its own name


def test_a_cart_leaf_of_exactly_half_cases_is_not_a_box():
    x = pd.DataFrame({"p": [0.0] * 10 + [1.0] * 10})
    bounds = {"p": (0.0, 1.0)}
    half = np.array([True, False] * 5 + [False] * 10)  # the left leaf: 5 of 10 runs
    assert cart_boxes(x, half, bounds).empty
    most = np.array([True] * 6 + [False] * 4 + [False] * 10)  # 6 of 10: most runs
    boxes = cart_boxes(x, most, bounds)
    assert boxes["density"].tolist() == [0.6] and boxes["upper"].tolist() == [0.5]


def test_duration_bounds_and_thresholds_are_printed_with_units(tmp_path):
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
    found = Discovery(
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
    text = format_discovery(found)
    assert text.startswith("bad_debt_max > 1,000,000 Dai: 5 of 10 ok runs (50%)")
    assert "ilks.ETH-A.liquidation.tail  59m46s … 4h" in text


# ---------------------------------------------------------------------------------------- sweeps


def test_cart_finds_the_failure_box(box_sweep):
    found = discover(box_sweep, kpi="bad_debt_max", above=1000, method="cart")
    assert found.path == box_sweep / "discovery" / "bad_debt_max-above-1000-cart.parquet"
    assert found.path.is_file() and found.trajectory is None
    table = pd.read_parquet(found.path)
    assert list(table.columns) == list(BOX_COLUMNS)
    assert found.n_runs == 800 and 0 < found.n_cases < found.n_runs
    best = table[table["box"] == 0].set_index("parameter")
    assert best["coverage"].iloc[0] > 0.9 and best["density"].iloc[0] > 0.95
    depth, buf = "collateral.ETH.price.crash.depth", "ilks.ETH-A.liquidation.buf"
    assert best.loc[depth, "lower"] == pytest.approx(0.6, abs=0.02)
    assert best.loc[depth, "upper"] == 0.9
    assert best.loc[buf, "upper"] == pytest.approx(1.8, abs=0.05)
    assert not best.loc["ilks.ETH-A.liquidation.chop", "restricted"]
    text = format_discovery(found)
    assert text.startswith("bad_debt_max > 1,000 Dai: ")
    assert "box 0: coverage" in text and depth in text
    assert "more than half of the runs are cases" in text  # the rule, stated


def test_below_finds_where_a_kpi_is_low_and_prints_no_unit_for_a_ratio(box_sweep):
    found = discover(box_sweep, kpi="min_cr_p05", below=1.3)
    assert found.path.name == "min_cr_p05-below-1.3-cart.parquet"
    assert (found.side, found.threshold) == ("below", 1.3)
    best = found.boxes[found.boxes["box"] == 0].set_index("parameter")
    assert best.loc["collateral.ETH.price.crash.depth", "lower"] == pytest.approx(0.6, abs=0.02)
    assert best["density"].iloc[0] > 0.95
    assert format_discovery(found).startswith(f"min_cr_p05 < 1.3: {found.n_cases} of 800 ok runs")
    with pytest.raises(AnalysisError, match=r"--above X or --below X"):
        discover(box_sweep, kpi="min_cr_p05", above=1.0, below=1.3)
    with pytest.raises(AnalysisError, match=r"--above X or --below X"):
        discover(box_sweep, kpi="min_cr_p05")


@pytest.mark.parametrize("method", ["cart", "prim"])
def test_a_threshold_crossed_almost_everywhere_gives_no_box_and_says_so(box_sweep, method):
    if method == "prim":
        pytest.importorskip("ema_workbench")
    found = discover(box_sweep, kpi="min_cr_p05", above=1.3, method=method)  # type: ignore[arg-type]
    assert found.n_cases / found.n_runs >= ALMOST_EVERYWHERE  # 85 % of the space
    assert found.boxes.empty and pd.read_parquet(found.path).empty
    share = f"{found.n_cases / found.n_runs:.0%}"
    assert f"the threshold is crossed almost everywhere ({share} of the runs" in found.note
    text = format_discovery(found)
    assert "no box: the threshold is crossed almost everywhere" in text


def test_prim_finds_the_failure_box_with_its_trajectory(box_sweep):
    pytest.importorskip("ema_workbench")
    found = discover(box_sweep, kpi="bad_debt_max", above=1000, method="prim")
    trajectory = pd.read_parquet(found.trajectory_path)
    assert list(trajectory.columns) == list(TRAJECTORY_COLUMNS)
    assert trajectory["step"].tolist() == list(range(len(trajectory)))
    assert trajectory["coverage"].iloc[0] == 1.0 and trajectory["selected"].sum() == 1
    boxes = pd.read_parquet(found.path).set_index("parameter")
    assert (boxes["method"] == "prim").all() and boxes["density"].iloc[0] > 0.9
    assert boxes.loc["collateral.ETH.price.crash.depth", "lower"] == pytest.approx(0.6, abs=0.03)
    assert boxes.loc["ilks.ETH-A.liquidation.buf", "upper"] == pytest.approx(1.8, abs=0.1)
