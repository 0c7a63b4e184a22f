"""Quantities derived from the tables (sim.derived): on synthetic tables and on real small runs.

The real folders are the session's runs and batches (the ``outputs`` fixture of
tests/test_plots.py); each quantity that ends in a KPI is checked against it.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from sim.derived import (
    auction_counts,
    auction_outcomes,
    ilk_total,
    is_ok,
    liquidated_debt,
    liquidated_debt_paths,
    percent_of,
    percent_of_start,
    quantile_bands,
    run_paths,
    started_per_bin,
)
from sim.results import load_folder, load_run
from tests import test_plots

#: The session's output folders (a fixture of tests/test_plots.py).
outputs = test_plots.outputs


# ------------------------------------------------------------------------------------- one run


def test_auction_outcomes_price_paid_against_the_market():
    ts = pd.DataFrame(
        {
            "tick": [0, 1, 2],
            "time": pd.date_range("2021-01-01", periods=3, freq="h", tz="UTC"),
            "price[ETH-A]": [2000.0, 1800.0, 1500.0],
            "dai_price": [1.0, 1.0, 1.02],
        }
    )
    auctions = pd.DataFrame(
        {
            "ilk": ["ETH-A", "ETH-A", "ETH-A", "ETH-A"],
            "end_tick": [1, 2, -1, 2],
            "dai_raised": [1710.0, 1e-18, 0.0, 0.0],
            "collateral_sold": [1.0, 2.0, 0.0, 0.0],
        }
    )
    out = auction_outcomes(ts, auctions)
    assert len(out) == 2  # the running auction and the one that sold nothing are left out
    np.testing.assert_allclose(out["paid"], [1710.0, 1e-18 * 1.02 / 2])
    np.testing.assert_allclose(out["market"], [1800.0, 1500.0])
    assert out["zero_bid"].tolist() == [False, True]
    assert out["time"].tolist() == [
        pd.Timestamp("2021-01-01 01:00"),
        pd.Timestamp("2021-01-01 02:00"),
    ]
    assert auction_counts(auctions, out) == {"started": 4, "sold": 2, "zero_bid": 1, "running": 1}
    none = auction_outcomes(ts, None)
    assert len(none) == 0 and auction_counts(None, none) == dict.fromkeys(
        ("started", "sold", "zero_bid", "running"), 0
    )


def test_a_run_s_liquidated_debt_and_zero_bids_end_at_its_kpis(outputs):
    for folder in (outputs.liq2, outputs.thursday):
        run = load_run(folder)
        path = liquidated_debt(run.timeseries, run.auctions)
        assert len(path) == len(run.timeseries) and (np.diff(path) >= 0).all()
        assert path[-1] == pytest.approx(run.summary["liquidated_debt"])
        outcomes = auction_outcomes(run.timeseries, run.auctions)
        counts = auction_counts(run.auctions, outcomes)
        assert counts["started"] == run.summary["auctions"]
        assert counts["zero_bid"] == run.summary["auctions_zero_bid"]
    assert counts["zero_bid"] > 0  # Black Thursday's lowballer


def test_totals_over_ilks(outputs):
    run = load_run(outputs.multi)
    total = ilk_total(run.timeseries, "unsafe_debt")
    parts = run.timeseries["unsafe_debt[ETH-A]"] + run.timeseries["unsafe_debt[WBTC-A]"]
    np.testing.assert_allclose(total, parts)
    assert np.nanmax(total) == pytest.approx(run.summary["unsafe_debt_max"])
    assert (ilk_total(run.timeseries, "no_such_field") == 0).all()


def test_auctions_started_per_bin_add_up():
    counts = np.array([0.0, 1, 2, 0, 3, 1, 1])  # tick 0 is the initial state
    starts, sums = started_per_bin(counts, 4)
    assert starts.tolist() == [1, 5] and sums.tolist() == [6.0, 2.0]
    starts, sums = started_per_bin(counts[:1], 4)
    assert len(starts) == len(sums) == 0


def test_prices_as_percent_of_the_start():
    np.testing.assert_allclose(
        percent_of(np.array([2000.0, 1000.0, 3000.0]), 2000.0), [100, 50, 150]
    )
    assert np.isnan(percent_of(np.array([0.0, 1.0]), 0.0)).all()
    paths = pd.DataFrame({"a": [np.nan, 4.0, 2.0], "b": [0.0, 1.0, 2.0]})
    relative = percent_of_start(paths)
    np.testing.assert_allclose(relative["a"], [np.nan, 100.0, 50.0])  # its first finite value
    assert relative["b"].isna().all()  # a start of 0: no percentage


# -------------------------------------------------------------------------------------- batches


def test_quantile_bands_of_ticks_no_run_reached_are_nan_without_warning():
    values = np.array([[1.0, 3.0], [np.nan, 5.0], [np.nan, np.nan]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bands = quantile_bands(values)
    np.testing.assert_allclose(bands[2], [2.0, 5.0, np.nan])  # medians
    assert np.isnan(bands[:, 2]).all()


def test_run_paths_pivot_the_stacked_series(outputs):
    batch = load_folder(outputs.batch)
    ticks = pd.Index(np.arange(batch.timeseries["tick"].max() + 2))  # one tick beyond the runs
    run_ids = list(batch.runs["run_id"])
    paths = run_paths(batch.timeseries, "bad_debt", run_ids[:2], ticks)
    assert list(paths.columns) == sorted(run_ids[:2]) and list(paths.index) == list(ticks)
    first = load_run(batch.run_folder(run_ids[0])).timeseries
    np.testing.assert_allclose(paths[run_ids[0]].iloc[:-1], first["bad_debt"])
    assert paths.iloc[-1].isna().all()


def test_which_runs_finished():
    runs = pd.DataFrame({"run_id": ["a", "b", "c"], "status": ["ok", "failed", None]})
    assert is_ok(runs).tolist() == [True, False, False]
    assert is_ok(runs.drop(columns="status")).tolist() == [True, True, True]


def test_liquidated_debt_paths_end_at_the_kpi(outputs):
    batch = load_folder(outputs.batch)
    ticks = pd.Index(np.sort(batch.timeseries["tick"].unique()))
    paths = liquidated_debt_paths(batch.auctions, ticks)
    final = paths.iloc[-1]
    kpi = batch.runs.set_index("run_id")["liquidated_debt"]
    for run_id, value in final.items():
        assert value == pytest.approx(kpi[run_id])
    assert (paths.diff().dropna() >= 0).all().all()  # cumulative


def test_liquidated_debt_paths_stop_at_each_run_s_last_tick(outputs):
    short, full = load_folder(outputs.batch_short), load_folder(outputs.batch)
    for batch in (short, full):  # both batches drew the same seeds: their run ids are alike
        for table in (batch.runs, batch.timeseries, batch.auctions):
            table["run_id"] = batch.label + "/" + table["run_id"].astype(str)
    auctions = pd.concat([short.auctions, full.auctions], ignore_index=True)
    series = pd.concat([short.timeseries, full.timeseries], ignore_index=True)
    last = series.groupby("run_id")["tick"].max()
    assert last[short.runs["run_id"]].max() < last[full.runs["run_id"]].min()
    ticks = pd.Index(np.sort(series["tick"].unique()))
    paths = liquidated_debt_paths(auctions, ticks, last_ticks=last)
    assert list(paths.columns) == list(last.index)  # runs without auctions too (0, not absent)
    for run_id, end in last.items():
        assert paths.loc[:end, run_id].notna().all()
        assert paths.loc[end + 1 :, run_id].isna().all(), run_id  # not simulated: no value
    kpi = pd.concat([short.runs, full.runs]).set_index("run_id")["liquidated_debt"]
    for run_id, end in last.items():
        assert paths.loc[end, run_id] == pytest.approx(kpi[run_id])
