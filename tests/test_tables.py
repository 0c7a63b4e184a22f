"""The runs table as the page shows it (sim/app/tables.py): the status and row filters, the
columns shown, cells the browser can show and sort, headers with units, and the KPI cells.
"""

from __future__ import annotations

import pandas as pd
import pytest

from sim.app.tables import (
    filter_runs,
    headers,
    kpi_cells,
    shown_columns,
    table_items,
)
from sim.filters import FilterError
from sim.metrics import format_kpis


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
