"""The runs table of a batch or sweep as the page shows it, and a batch's risk statistics.

Filtered, trimmed to a few columns, numbers rounded for reading; each scenario's VaR, ES, LaR
and probability of bad debt with the runs behind them (``n_runs``) and the warning when they
are fewer than :data:`sim.metrics.MIN_TAIL_RUNS`. No solara here.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from sim.derived import is_ok
from sim.filters import ALLOWED, filter_rows
from sim.formatting import percent_text, value_text
from sim.metrics import KPI_BY_NAME, N_RUNS, risk_by_scenario, risk_warning, unit_of

#: Columns shown first, when the table has them.
ID_COLUMNS = ("run_id", "scenario", "seed", "status")
#: KPI columns shown by default, when the table has them.
DEFAULT_KPIS = (
    "bad_debt_max",
    "liquidated_debt",
    "vaults_liquidated",
    "auctions",
    "auctions_zero_bid",
    "keeper_profit",
)
#: Statuses a run can have, for the status filter (``all``: no filter).
STATUSES = ("all", "ok", "failed", "interrupted")
#: Integers above this lose digits as JavaScript numbers; the table shows them as text.
JS_SAFE_INTEGER = 2**53
#: Rows the table shows per page.
ROWS_PER_PAGE = 15
#: KPI units shown in millions in the runs table when large.
AMOUNT_UNITS = ("Dai", "USD", "MKR")
MILLION = 1e6
#: KPIs per row of the KPI table.
KPIS_PER_ROW = 3
#: Header of the risk table: each scenario's statistics over its ok runs, and how many.
RISK_HEADER = (
    "scenario",
    "VaR 95 % [Dai]",
    "ES 95 % [Dai]",
    "LaR 95 % [Dai]",
    "P(bad debt)",
    N_RUNS,
)


def filter_runs(runs: pd.DataFrame, query: str = "", status: str = "all") -> pd.DataFrame:
    """The runs matching a status and a filter typed in the page.

    The filter is parsed and checked by :mod:`sim.filters` (column names, constants,
    comparisons, and / or / not, ``in`` lists): it is never handed to ``eval`` or
    :meth:`pandas.DataFrame.query`, so no text typed in the browser runs code.

    Args:
        runs: the batch's runs table (``runs.parquet``).
        query: a condition over its columns, e.g. ``bad_debt_max > 1e6 and seed != 3``
            (empty: no filter).
        status: one of :data:`STATUSES`.

    Raises:
        FilterError: the filter is refused (what is allowed and the columns are in the
            message), names a column the table lacks, or is not a condition.
    """
    out = runs
    if status != "all" and "status" in out.columns:
        out = out[out["status"].astype(str) == status]
    return filter_rows(out, query)


#: A column name the filter takes as it is; any other goes in backticks (:mod:`sim.filters`).
_PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def filter_help(runs: pd.DataFrame) -> str:
    """The help shown next to the runs filter: what a filter may hold and every column it accepts.

    Names that are not plain words are shown in backticks, as the filter must write them
    (```ilks.ETH-A.liquidation.buf` < 1.2``).

    Args:
        runs: the batch's or sweep's runs table (the filter accepts exactly its columns).
    """
    names = [c if _PLAIN_NAME.match(c) else f"`{c}`" for c in map(str, runs.columns)]
    return f"A filter may hold {ALLOWED}. Columns ({len(names)}): {', '.join(names)}."


def kpi_columns(runs: pd.DataFrame) -> list[str]:
    """The numeric columns of the runs table that are KPIs (not ids, seeds or times)."""
    skip = {*ID_COLUMNS, "wall_time_s", "ticks"}
    return [c for c in runs.columns if c not in skip and pd.api.types.is_numeric_dtype(runs[c])]


def shown_columns(runs: pd.DataFrame, kpis: Sequence[str] | None = None) -> list[str]:
    """The id columns and the chosen KPIs (default :data:`DEFAULT_KPIS`) the table has."""
    wanted = DEFAULT_KPIS if kpis is None else kpis
    return [c for c in (*ID_COLUMNS, *wanted) if c in runs.columns]


def _cell(value: Any) -> Any:
    """A JSON value for the browser: 4 significant digits (whole numbers from 10 000), NaN empty."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return round(value) if abs(value) >= 1e4 else float(f"{value:.4g}")
    if isinstance(value, int):
        return value if abs(value) < JS_SAFE_INTEGER else str(value)
    if hasattr(value, "item"):  # a numpy scalar
        return _cell(value.item())
    return str(value)


def headers(runs: pd.DataFrame, columns: Sequence[str]) -> tuple[list[dict[str, str]], dict]:
    """The table's column headers with units, and the divisor of each column's values.

    KPI amounts (Dai, USD, MKR) of a million or more are shown in millions (``[M Dai]``).
    """
    out, divisors = [], {}
    for c in columns:
        unit = unit_of(c)
        text = c
        if unit in AMOUNT_UNITS and pd.api.types.is_numeric_dtype(runs[c]):
            top = runs[c].abs().max()
            if top == top and top >= MILLION:
                divisors[c] = MILLION
                text = f"{c} [M {unit}]"
            else:
                text = f"{c} [{unit}]"
        out.append({"text": text, "value": c})
    return out, divisors


def table_items(
    runs: pd.DataFrame, columns: Sequence[str], divisors: Mapping[str, float] | None = None
) -> list[dict[str, Any]]:
    """Rows as ``{column: value}`` mappings the browser's table can show and sort."""
    divisors = divisors or {}
    scaled = runs[list(columns)].copy()
    for c, divisor in divisors.items():
        scaled[c] = scaled[c] / divisor
    return [
        {c: _cell(v) for c, v in zip(columns, row, strict=True)}
        for row in scaled.itertuples(index=False, name=None)
    ]


def kpi_cells(summary: Mapping[str, Any]) -> list[tuple[str, str, str, str]]:
    """(name, value, unit, definition) of each KPI, the value as ``cdpsim run`` prints it.

    The value is :func:`sim.formatting.value_text`'s, the formatter of ``cdpsim run``'s KPI
    table (:func:`sim.metrics.format_kpis`); per-keeper entries (mappings) are left out.
    """
    return [
        (
            name,
            value_text(value),
            unit_of(name),
            KPI_BY_NAME[name].definition if name in KPI_BY_NAME else "",
        )
        for name, value in summary.items()
        if not isinstance(value, Mapping)  # per-keeper profits
    ]


def kpi_table_html(summary: Mapping[str, Any], per_row: int = KPIS_PER_ROW) -> str:
    """The KPIs as the rows of an HTML table, ``per_row`` to a row; definitions as tooltips.

    Each value's cell has the class ``kpi-<name>`` and the exact value in ``data-value``
    (Python's ``repr``: a float read back is the same float), for scripts reading the page.
    """
    cells = [
        f'<td class="kpi-name" title="{html.escape(d)}">{html.escape(n)}</td>'
        f'<td class="kpi-value kpi-{html.escape(n)}" data-value="{html.escape(repr(summary[n]))}">'
        f'{html.escape(v)}</td><td class="kpi-unit">{html.escape(u)}</td>'
        for n, v, u, d in kpi_cells(summary)
    ]
    rows = ["".join(cells[k : k + per_row]) for k in range(0, len(cells), per_row)]
    return "".join(f"<tr>{row}</tr>" for row in rows)


def risk_rows(runs: pd.DataFrame) -> tuple[list[tuple[str, ...]], str | None]:
    """Each scenario's risk statistics over its ok runs, and the warning they call for.

    Args:
        runs: the batch's runs table.

    Returns:
        Rows in the order of :data:`RISK_HEADER` (values as ``cdpsim batch`` prints them, the
        runs behind them last), and ``"Warning: VaR/ES/LaR at 95 % rest on 3 runs ..."`` when
        they are fewer than :data:`sim.metrics.MIN_TAIL_RUNS` (else ``None``).
    """
    stats = risk_by_scenario(runs[is_ok(runs)] if "status" in runs else runs)
    rows = [
        (
            name,
            value_text(s["bad_debt_var95"]),
            value_text(s["bad_debt_es95"]),
            value_text(s["liquidated_debt_lar95"]),
            percent_text(s["p_bad_debt"]),
            str(int(s[N_RUNS])),
        )
        for name, s in stats.items()
    ]
    warning = risk_warning(stats)
    return rows, (f"Warning: {warning}." if warning else None)


def risk_table_html(rows: Sequence[Sequence[str]]) -> str:
    """The risk rows (:func:`risk_rows`) as an HTML table's header and rows, escaped."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in RISK_HEADER)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<tr>{head}</tr>{body}"
