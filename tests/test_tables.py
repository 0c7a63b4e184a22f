"""The runs table as the page shows it (sim/app/tables.py): the status and row filters, the
columns shown, cells the browser can show and sort, headers with units, and the KPI cells.
"""

from __future__ import annotations

import html
import re

import numpy as np
import pandas as pd
import pytest

from sim.app.tables import (
    DEFAULT_KPIS,
    JS_SAFE_INTEGER,
    filter_help,
    filter_runs,
    headers,
    kpi_cells,
    kpi_columns,
    kpi_table_html,
    risk_rows,
    risk_table_html,
    shown_columns,
    table_items,
)
from sim.filters import FilterError
from sim.metrics import KPI_BY_NAME, format_kpis


def test_runs_filter_and_items():
    runs = pd.DataFrame(
        {
            "run_id": ["a", "b", "c"],
            "scenario": ["s", "s", "s"],
            "seed": [1, 2, 2**60],
            "status": ["ok", "failed", "ok"],
            "bad_debt_max": [0.0, float("nan"), 1.5e6],
            "auctions": [3, 0, 7],
        }
    )
    assert list(filter_runs(runs, "", "ok")["run_id"]) == ["a", "c"]
    assert list(filter_runs(runs, "bad_debt_max > 1e6")["run_id"]) == ["c"]
    with pytest.raises(FilterError, match="nope"):
        filter_runs(runs, "nope > 1")
    with pytest.raises(FilterError):
        filter_runs(runs, "auctions")  # not a condition
    columns = shown_columns(runs)
    assert columns == ["run_id", "scenario", "seed", "status", "bad_debt_max", "auctions"]
    items = table_items(runs, columns)
    assert items[0]["bad_debt_max"] == 0.0 and items[1]["bad_debt_max"] is None
    assert items[2]["bad_debt_max"] == 1_500_000 and items[2]["seed"] == str(2**60)
    heads, divisors = headers(runs, columns)
    assert [h["text"] for h in heads][4:] == ["bad_debt_max [M Dai]", "auctions"]
    assert divisors == {"bad_debt_max": 1e6}
    assert table_items(runs, columns, divisors)[2]["bad_debt_max"] == 1.5


def test_kpi_cells_print_as_the_cli_does():
    cells = {name: (value, unit) for name, value, unit, _ in kpi_cells({"bad_debt_max": 1234567.8})}
    assert cells == {"bad_debt_max": ("1,234,568", "Dai")}
    summary = {"min_cr_p05": float("nan"), "auctions": 3, "keepers": {"k": 1.0}}
    shown = [(name, value, unit) for name, value, unit, _ in kpi_cells(summary)]
    assert shown == [("min_cr_p05", "n/a", "-"), ("auctions", "3", "count")]
    for name, value, unit in shown:  # the value and the unit as format_kpis prints them
        assert format_kpis({name: summary[name]}).split()[1:] == [value, unit]


def _runs(**columns) -> pd.DataFrame:
    return pd.DataFrame({"run_id": ["a", "b"], "seed": [1, 2], **columns})


def test_each_status_filters_and_a_table_without_statuses_is_not_emptied():
    runs = _runs(status=["ok", "interrupted"])
    assert list(filter_runs(runs, status="interrupted")["run_id"]) == ["b"]
    assert list(filter_runs(runs, status="failed")["run_id"]) == []
    assert list(filter_runs(runs, status="all")["run_id"]) == ["a", "b"]
    assert list(filter_runs(_runs(), status="ok")["run_id"]) == ["a", "b"]
    assert list(filter_runs(runs, "seed == 2", "interrupted")["run_id"]) == ["b"]  # both


def test_the_kpi_columns_are_the_numeric_ones_but_ids_seeds_and_times():
    runs = _runs(
        scenario=["s", "s"],
        status=["ok", "ok"],
        wall_time_s=[0.5, 0.6],
        ticks=[72, 72],
        error=[None, "boom"],
        bad_debt_max=[0.0, 1.0],
        auctions=[3, 4],
        buf=[1.05, 1.3],  # a swept parameter of a sweep's runs table
    )
    assert kpi_columns(runs) == ["bad_debt_max", "auctions", "buf"]


def test_the_columns_shown_are_the_ids_then_the_kpis_chosen_the_table_has():
    runs = _runs(status=["ok", "ok"], auctions=[1, 2], keeper_profit=[1.0, 2.0], extra=[0, 0])
    assert shown_columns(runs) == ["run_id", "seed", "status", "auctions", "keeper_profit"]
    assert shown_columns(runs, ["keeper_profit", "extra", "missing"]) == [
        "run_id",
        "seed",
        "status",
        "keeper_profit",
        "extra",
    ]
    assert shown_columns(runs, []) == ["run_id", "seed", "status"]
    assert "keeper_profit" in DEFAULT_KPIS


def test_cells_are_values_a_browser_can_show_and_sort():
    runs = pd.DataFrame(
        {
            "run_id": ["a", "b", "c", "d"],
            "x": [0.123456, 12345.6, float("inf"), -float("inf")],
            "big": np.array([JS_SAFE_INTEGER - 1, JS_SAFE_INTEGER, -JS_SAFE_INTEGER, 7]),
            "flag": [True, False, True, False],
            "note": ["n", None, 3, 2.5],
        }
    )
    items = table_items(runs, ["run_id", "x", "big", "flag", "note"])
    assert [list(item) for item in items] == [["run_id", "x", "big", "flag", "note"]] * 4
    assert [item["x"] for item in items] == [0.1235, 12346, None, None]
    assert isinstance(items[1]["x"], int)  # whole from 10 000
    assert [item["big"] for item in items] == [
        JS_SAFE_INTEGER - 1,  # a JavaScript number still
        str(JS_SAFE_INTEGER),  # past the digits a JavaScript number keeps: text
        str(-JS_SAFE_INTEGER),
        7,
    ]
    assert [type(item["big"]) for item in items] == [int, str, str, int]  # numpy scalars unboxed
    assert [item["flag"] for item in items] == [True, False, True, False]
    assert [item["note"] for item in items] == ["n", None, 3, 2.5]


def test_amount_headers_carry_their_unit_and_large_ones_are_in_millions():
    runs = _runs(
        bad_debt_max=[2.0e6, -5.0],
        keeper_profit=[-3.0e6, 1.0],  # by size: a loss of millions too
        liquidated_debt=[9.0e5, 1.0],
        collateral_sold_usd=[float("nan"), float("nan")],
        mkr_minted=[1.0e7, 0.0],
        auctions=[5.0e6, 1.0],  # a count: never scaled
    )
    columns = list(runs.columns)
    heads, divisors = headers(runs, columns)
    assert [h["value"] for h in heads] == columns
    assert [h["text"] for h in heads] == [
        "run_id",
        "seed",
        "bad_debt_max [M Dai]",
        "keeper_profit [M Dai]",
        "liquidated_debt [Dai]",
        "collateral_sold_usd [USD]",
        "mkr_minted [M MKR]",
        "auctions",
    ]
    assert divisors == {"bad_debt_max": 1e6, "keeper_profit": 1e6, "mkr_minted": 1e6}
    items = table_items(runs, columns, divisors)
    assert [item["bad_debt_max"] for item in items] == [2.0, -5.0e-6]
    assert items[0]["liquidated_debt"] == 900_000  # not divided


def test_the_kpi_table_is_escaped_html_a_few_to_a_row():
    summary = {
        "bad_debt_max": 0.0,
        "auctions": 3,
        "keepers": {"k": 1.0},  # per-keeper profits: left out
        "<b>odd</b>": "x<y",
        "min_cr_p05": 1.2,
    }
    table = kpi_table_html(summary, per_row=3)
    assert table.count("<tr>") == 2 and table.count('class="kpi-name"') == 4
    assert "keepers" not in table
    assert "&lt;b&gt;odd&lt;/b&gt;" in table and "x&lt;y" in table and "<b>" not in table
    definition = html.escape(KPI_BY_NAME["bad_debt_max"].definition)
    assert f'<td class="kpi-name" title="{definition}">bad_debt_max</td>' in table
    assert kpi_table_html(summary, per_row=1).count("<tr>") == 4
    assert kpi_table_html({}) == ""
    (odd,) = [cell for cell in kpi_cells(summary) if cell[0] == "<b>odd</b>"]
    assert odd == ("<b>odd</b>", "x<y", "", "")  # not a KPI: no unit, no definition


def test_each_kpi_value_carries_its_exact_value_for_scripts():
    value = 1234567.891011121
    table = kpi_table_html({"bad_debt_final": value, "auctions": 3})
    found = re.search(r'class="kpi-value kpi-bad_debt_final" data-value="([^"]+)"', table)
    assert found and float(found.group(1)) == value  # the float itself, not its rounding
    assert 'class="kpi-value kpi-auctions" data-value="3"' in table


def test_the_filter_help_lists_every_column_as_a_filter_writes_it():
    runs = pd.DataFrame(
        {"run_id": ["a"], "seed": [1], "ilks.ETH-A.liquidation.buf": [1.2], "bad_debt_max": [0.0]}
    )
    text = filter_help(runs)
    assert text.endswith("Columns (4): run_id, seed, `ilks.ETH-A.liquidation.buf`, bad_debt_max.")
    assert "comparisons" in text and "and / or / not" in text
    # every name as shown there is accepted by the filter itself
    for name in ("run_id", "seed", "`ilks.ETH-A.liquidation.buf`", "bad_debt_max"):
        assert len(filter_runs(runs, f"{name} == {name}")) == 1, name


def _batch_runs(n: int, scenario: str = "s") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "run_id": [f"{scenario}{k}" for k in range(n)],
            "scenario": scenario,
            "status": "ok",
            "bad_debt_max": [1e6 * (k % 4 == 0) for k in range(n)],
            "liquidated_debt": [2e6] * n,
        }
    )


def test_the_risk_table_shows_the_runs_behind_each_scenario_and_warns_below_50():
    few = pd.concat([_batch_runs(4), _batch_runs(60, "<b>")], ignore_index=True)
    few.loc[few.index[0], "status"] = "failed"  # left out: 3 runs of s behind its statistics
    rows, warning = risk_rows(few)
    assert [(r[0], r[-1]) for r in rows] == [("s", "3"), ("<b>", "60")]
    assert rows[1][1:5] == ("1,000,000", "1,000,000", "2,000,000", "25 %")
    assert warning is not None and warning.startswith(
        "Warning: VaR/ES/LaR at 95 % rest on as few as 3 runs (fewer than 50): read them as rough"
    )
    text = risk_table_html(rows)
    assert "<th>n_runs</th>" in text and "&lt;b&gt;" in text and "<b>" not in text
    many_rows, none = risk_rows(_batch_runs(60))
    assert none is None and many_rows[0][-1] == "60"
