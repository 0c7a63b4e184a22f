"""The points table: run counts, KPI and risk statistics per design point (no folder)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim.experiments.points import COUNT_COLUMNS, points_table


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
    table = points_table(runs, design, ["bad_debt_max"], n_seeds=3)
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
        "bad_debt_max_n_runs",
        "bad_debt_var95",
        "bad_debt_var99",
        "bad_debt_es95",
        "p_bad_debt",
        "liquidated_debt_lar95",
        "n_runs",
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
    assert (table[["point", *COUNT_COLUMNS]].dtypes == np.int64).all()
    # the runs behind each statistic: the finite values of the point's ok runs
    assert table["n_runs"].tolist() == [2, 2, 0]
    assert table["bad_debt_max_n_runs"].tolist() == [2, 2, 0]
    assert (table[["n_runs", "bad_debt_max_n_runs"]].dtypes == np.int64).all()


def test_a_points_table_before_any_run_has_every_run_missing():
    design = pd.DataFrame({"point": [0, 1], "x": [1.0, 2.0]})
    table = points_table(pd.DataFrame(), design, ["bad_debt_max"], n_seeds=4)
    assert table["point"].tolist() == [0, 1] and table["x"].tolist() == [1.0, 2.0]
    assert table[list(COUNT_COLUMNS)].to_numpy().tolist() == [[0, 0, 4], [0, 0, 4]]
    assert table["bad_debt_max_mean"].isna().all() and table["p_bad_debt"].isna().all()


def test_a_kpi_the_runs_lack_gives_nan_statistics_and_text_counts_as_nan():
    design = pd.DataFrame({"point": [0]})
    runs = pd.DataFrame({"point": [0, 0], "status": ["ok", "ok"], "bad_debt_max": ["1", "x"]})
    table = points_table(runs, design, ["bad_debt_max", "liquidated_debt"], n_seeds=2)
    assert table.loc[0, "n"] == 2 and table.loc[0, "n_missing"] == 0
    assert table.loc[0, "bad_debt_max_mean"] == 1.0  # "x" is not a number: left out
    assert math.isnan(table.loc[0, "liquidated_debt_mean"])
