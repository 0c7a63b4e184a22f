"""The ensemble fan chart of a batch over seeds, one scenario at a time (or two batches overlaid).

Runs are grouped into **rows** by a column of the runs table (``scenario``): runs of different
scenarios are never pooled into one band. Within a row, an optional **series** column (``batch``
when two batches are compared) overlays one set of bands per value.

- **One row** (a batch of one scenario, or two batches of the same scenario): six panels —
  quantile bands over the runs (5–95 %, 25–75 %, median) per tick of the market price of the
  named collateral [USD/ETH, ...; or % of the start when the collaterals are priced far apart],
  bad debt [Dai], liquidated debt (cumulative Σ ``due`` by ``start_tick`` of each run's
  auctions, up to the run's last tick) [Dai] and Dai supply [Dai]; then the distribution of
  each run's ``bad_debt_max`` (histogram and ECDF) with VaR95 (its 95 % quantile over the runs)
  marked.
- **Several rows** (a batch of many scenario files): small multiples, one row of four panels per
  scenario (price as % of each asset's start, bad debt, liquidated debt, Dai supply, each on
  its own axis, against the time since the scenario's start), and one panel of every run's
  ``bad_debt_max`` per scenario with its VaR95, its statistics written by its line, clear of
  the dots. At most :data:`MAX_ROWS` scenarios are drawn; the title says which
  (``sim.plots.figures`` splits larger batches into pages, each in this layout, even a last
  page of one scenario: ``row_layout``).

One shared key (a legend row of its own, under the title) explains the bands; no legend sits
on a panel's data. Only the ok runs are drawn (the title says how many others were left out).
With ``--keep summary`` batches only the distribution is drawn, and the figure says why.

The paths, their bands and the cumulative liquidated debt come from :mod:`sim.derived`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter
from matplotlib.transforms import ScaledTranslation, Transform

from sim.derived import (
    QUANTILES,
    is_ok,
    liquidated_debt_paths,
    percent_of_start,
    quantile_bands,
    run_paths,
)
from sim.formatting import compact, compact_amount
from sim.metrics import (
    MIN_TAIL_RUNS,
    RISK_LEVEL,
    probability_of_bad_debt,
    runs_mark,
    value_at_risk,
)
from sim.plots import style as st
from sim.plots.labels import counted
from sim.plots.scales import ROW_SCALE_GID, own_ranges_note, peak, share_rows

#: Quantiles of the bands: the outer band, the inner band, the median (:data:`QUANTILES`).
OUTER, INNER, MEDIAN = (QUANTILES[0], QUANTILES[4]), (QUANTILES[1], QUANTILES[3]), QUANTILES[2]
#: Overlaid series' 25–75 % bands are this much lighter, so that two of them stay apart [-].
OVERLAID_ALPHA_FACTOR = 0.7
#: The VaR level marked on the distribution of bad debt [-] (the sweep points' VaR95).
VAR_LEVEL = RISK_LEVEL
#: Most bins of the bad-debt histogram.
MAX_BINS = 30
#: Width of the single bar when every run has the same value, relative to it [-].
DEGENERATE_WIDTH = 0.05
#: Room right of the largest value in the distribution panels, relative to the range [-].
X_MARGIN = 0.04
#: The KPI whose distribution over runs is shown.
BAD_DEBT_KPI = "bad_debt_max"
#: Hours per second.
HOURS_PER_S = 1 / 3600.0
#: Beyond this many hours the small multiples count time in days.
DAYS_FROM_H = 72.0
#: Most scenarios (rows) in one figure.
MAX_ROWS = 8
#: Height of one scenario's row of panels [inches].
SMALL_ROW_IN = 1.9
#: Height of one scenario (and series) in the distribution panel of the small multiples [in].
STRIP_ROW_IN = 0.42
#: Height of the shared key's row [inches].
KEY_IN = 0.35
#: Prices of several collaterals are drawn as % of their start when their first prices differ
#: by more than this factor (one row); the small multiples always draw % of the start.
RELATIVE_PRICE_RATIO = 4.0
#: Markers along a median when several assets of one series share a panel.
MARKS_PER_LINE = 12
#: Spread of a scenario's runs around its line in the distribution panel [rows].
STRIP_JITTER = 0.14
#: Distance between the series of one scenario in the distribution panel [rows].
STRIP_SERIES_GAP = 0.32
#: Distance between scenarios in the distribution panel with two series (1 with one) [rows].
STRIP_PITCH_OVERLAID = 1.6
#: Half the height of a VaR95 bar in the distribution panel, one series / two [rows].
STRIP_BAR, STRIP_BAR_OVERLAID = 0.22, 0.13
#: Area of a run's dot in the distribution panel [points²].
STRIP_DOT_AREA = 18.0
#: Size of the statistics written by each line of the distribution panel [points].
STRIP_FONT_SIZE = 7.5
#: Room between those statistics and the dots and bar of their line [points].
STRIP_TEXT_GAP_PT = 3.0
#: Room between those statistics and the panel's right edge [points].
STRIP_TEXT_INSET_PT = 4.0
#: Top of the distribution panel with one series: room above the first line for its text
#: [rows above it].
STRIP_TOP_ROOM = 0.85
#: Points per inch.
POINTS_PER_INCH = 72.0
#: Why the time panels are missing from a summary-only batch.
SUMMARY_ONLY_NOTE = (
    "Runs kept as summaries only (--keep summary): no time series, so only the distribution "
    "of bad debt over the runs is shown. Run the batch with --keep full for the bands."
)
#: Behind a label written on a panel's data: a faint white box keeps it legible over bands.
LABEL_BOX = {"boxstyle": "round,pad=0.15", "facecolor": "white", "alpha": 0.7, "linewidth": 0}
#: What the time panels of each scenario show (the columns of the small multiples).
QUANTITIES = ("price", "bad_debt", "liquidated", "dai_supply")


def amount_text(value: float, unit: str = "Dai") -> str:
    """An amount in its own scale: 5 860 → ``5.86 k Dai``, 19.8 → ``19.8 Dai``."""
    return compact_amount(value, unit)


@dataclass(frozen=True)
class Row:
    """One scenario of the fan chart and its runs, per series.

    Attributes:
        name: the row's name (the scenario).
        series: run ids per series label, in order (one series ``""`` without a series column).
    """

    name: str
    series: dict[str, list[str]]

    @property
    def run_ids(self) -> list[str]:
        """Every run of the row."""
        return [r for members in self.series.values() for r in members]


def _fan(
    ax: Axes,
    x: np.ndarray,
    paths: pd.DataFrame,
    s: st.Style,
    name: str,
    scale: float,
    *,
    overlaid: bool = False,
    marks: bool = False,
) -> np.ndarray | None:
    """Quantile bands of paths (ticks × runs) over the runs, and their median.

    Overlaid series draw the 5–95 % band as two edge lines in the series' line style (filled
    bands of two colours would blend into a third); a single series fills it. With ``marks``
    the median carries sparse markers of the style's shape (several assets of one series).

    Returns:
        The median per tick, or ``None`` without runs.
    """
    values = paths.to_numpy(dtype=float) / scale
    if values.shape[1] == 0:
        return None
    qs = quantile_bands(values)
    label = f"{name} " if name else ""
    if overlaid:
        for k, q in enumerate((qs[0], qs[4])):
            ax.plot(
                x,
                q,
                color=s.color,
                linestyle=s.linestyle,
                linewidth=0.9,
                label=f"{label}5–95 % (edges)" if k == 0 else None,
            )
    else:
        ax.fill_between(
            x,
            qs[0],
            qs[4],
            color=s.color,
            alpha=st.BAND_ALPHA_OUTER,
            linewidth=0,
            label=f"{label}5–95 %",
        )
    ax.fill_between(
        x,
        qs[1],
        qs[3],
        color=s.color,
        alpha=st.BAND_ALPHA_INNER * (OVERLAID_ALPHA_FACTOR if overlaid else 1.0),
        linewidth=0,
        label=f"{label}25–75 %",
    )
    ax.plot(
        x,
        qs[2],
        color=s.color,
        linestyle=s.linestyle,
        linewidth=2.0 if overlaid else 1.6,
        label=f"{label}median",
        **(
            {"marker": s.marker, "markevery": max(1, len(x) // MARKS_PER_LINE), "markersize": 4}
            if marks
            else {}
        ),
    )
    return qs[2]


def _x_axis(timeseries: pd.DataFrame, row: Row, *, hours: bool) -> tuple[pd.Index, np.ndarray, str]:
    """The row's ticks, their x values and the axis kind: ``dates``, ``h``, ``d`` or ``tick``.

    Dates when every run of the row starts at the same time (and ``hours`` is not asked for);
    else the time since each run's start, in days beyond :data:`DAYS_FROM_H` hours.
    """
    mine = timeseries[timeseries["run_id"].isin(row.run_ids)]
    ticks = pd.Index(np.sort(mine["tick"].unique()), name="tick")
    if "time" not in mine:
        return ticks, ticks.to_numpy(), "tick"
    starts = {pd.Timestamp(t) for t in mine.groupby("run_id")["time"].min()}
    if len(starts) == 1 and not hours:
        first = mine.groupby("tick")["time"].min().reindex(ticks)
        return ticks, st.times(first.to_frame("time")), "dates"
    steps = mine.groupby("run_id")["time"].apply(lambda t: t.diff().dropna().min()).dropna()
    dt = pd.Timedelta(steps.min()).total_seconds() if len(steps) else 1.0
    h = ticks.to_numpy() * dt * HOURS_PER_S
    if len(h) and h[-1] > DAYS_FROM_H:
        return ticks, h / 24.0, "d"
    return ticks, h, "h"


def _time_label(ax: Axes, kind: str, label: bool = True) -> None:
    if kind == "dates":
        st.date_axis(ax, label=label)
    elif label:
        ax.set_xlabel(
            {
                "h": "time since the start [h]",
                "d": "time since the start [d]",
                "tick": "tick [-]",
            }[kind]
        )


def _price_columns(
    timeseries: pd.DataFrame, run_ids: Sequence[str], scenarios: Mapping[str, Mapping[str, Any]]
) -> dict[str, str]:
    """``price[ILK]`` column per collateral (the first ilk that locks it) these runs recorded."""
    mine = timeseries[timeseries["run_id"].isin(run_ids)]
    out: dict[str, str] = {}
    for c in timeseries.columns:
        if c.startswith("price[") and mine[c].notna().any():
            ilk = c[len("price[") : -1]
            asset = ilk
            for scenario in scenarios.values():
                spec = (scenario.get("ilks") or {}).get(ilk)
                if spec:
                    asset = str(spec.get("collateral", ilk))
                    break
            out.setdefault(asset, c)
    return out


def _series_styles(names: Sequence[str]) -> dict[str, st.Style]:
    return {name: st.style(k) for k, name in enumerate(names)}


def _quantity_style(quantity: str, series: str, styles: Mapping[str, st.Style]) -> st.Style:
    """One series: the quantity's own colour; several: the series' colour and line style."""
    if len(styles) > 1:
        return styles[series]
    colour = {
        "bad_debt": st.SERIES["bad_debt"],
        "liquidated": st.SERIES["liquidated_debt"],
        "dai_supply": st.SERIES["dai_supply"],
    }.get(quantity, st.SERIES["price"])
    return st.Style(colour, "-", "o")


def _prices(
    ax: Axes,
    timeseries: pd.DataFrame,
    row: Row,
    ticks: pd.Index,
    x: np.ndarray,
    scenarios: Mapping[str, Mapping[str, Any]],
    styles: Mapping[str, st.Style],
    *,
    relative: bool | None,
) -> list[str]:
    """The price fan of each collateral; several collaterals are named at their line's end.

    Returns:
        The collaterals drawn, in order.
    """
    prices = _price_columns(timeseries, row.run_ids, scenarios)
    overlaid = len(styles) > 1
    if relative is None:
        firsts = [
            float(timeseries.loc[timeseries["run_id"].isin(row.run_ids), c].dropna().iloc[0])
            for c in prices.values()
        ]
        relative = len(firsts) > 1 and max(firsts) / max(min(firsts), 1e-12) > RELATIVE_PRICE_RATIO
    starts: dict[str, float] = {}
    # (median at the end, x at the end: a number or a date, text, colour) per asset
    ends: list[tuple[float, Any, str, str]] = []
    for k, (asset, column) in enumerate(prices.items()):
        for name, members in row.series.items():
            paths = run_paths(timeseries, column, members, ticks)
            start = float(paths.bfill().iloc[0].median()) if len(paths) else float("nan")
            if relative:
                paths = percent_of_start(paths)
            # overlaid: the series' colour and line style, several assets apart by markers
            s = (
                st.Style(styles[name].color, styles[name].linestyle, st.MARKERS[k])
                if overlaid
                else st.style(k)
            )
            label = f"{name} {asset}" if overlaid else asset
            median = _fan(
                ax, x, paths, s, label, 1.0, overlaid=overlaid, marks=overlaid and len(prices) > 1
            )
            starts[asset] = start
            if median is not None and len(prices) > 1 and name == next(iter(row.series)):
                last = np.flatnonzero(np.isfinite(median))
                if last.size:
                    j = int(last[-1])
                    text = f"{asset} (start {start:,.0f} USD)" if relative else asset
                    ends.append((float(median[j]), x[j], text, s.color))
    # the highest line's name above its end, the others' below theirs: they do not collide
    for rank, (y, x_end, text, colour) in enumerate(sorted(ends, reverse=True)):
        ax.annotate(
            text,
            (x_end, y),
            xytext=(-2, 4 if rank == 0 else -4),
            textcoords="offset points",
            ha="right",
            va="bottom" if rank == 0 else "top",
            fontsize=7.5,
            color=st.text_colour(colour),
            bbox=LABEL_BOX,
        )
    if relative and len(starts) == 1:
        ((asset, start),) = starts.items()
        ax.set_ylabel(f"{asset} [% of {start:,.0f} USD]")
    elif len(starts) == 1:
        (asset,) = starts
        ax.set_ylabel(f"{asset} price [USD/{asset}]")
    else:
        ax.set_ylabel("price [% of start]" if relative else "price [USD/token]")
    st.plain_numbers(ax)
    return list(prices)


def _price_title(assets: Sequence[str]) -> str:
    """``ETH market price over the runs``; ``ETH and WBTC market prices over the runs``."""
    if not assets:
        return "Market price over the runs"
    if len(assets) == 1:
        return f"{assets[0]} market price over the runs"
    names = ", ".join(assets[:-1]) + f" and {assets[-1]}"
    return f"{names} market prices over the runs"


def _amount_paths(
    quantity: str,
    row: Row,
    ticks: pd.Index,
    timeseries: pd.DataFrame,
    auctions: pd.DataFrame | None,
) -> dict[str, pd.DataFrame]:
    """Bad debt, cumulative liquidated debt or Dai supply of the row's runs (ticks × runs) [Dai]."""
    per_series: dict[str, pd.DataFrame] = {}
    if quantity == "liquidated":
        mine = timeseries[timeseries["run_id"].isin(row.run_ids)]
        liquidated = liquidated_debt_paths(
            None if auctions is None else auctions[auctions["run_id"].isin(row.run_ids)],
            ticks,
            last_ticks=mine.groupby("run_id")["tick"].max(),
        )
        for name, members in row.series.items():
            # a run without time series has no length to draw (NaN), as in the other panels
            per_series[name] = liquidated.reindex(columns=members)
    else:
        for name, members in row.series.items():
            per_series[name] = run_paths(timeseries, quantity, members, ticks)
    return per_series


def _values(per_series: Mapping[str, pd.DataFrame]) -> np.ndarray:
    return np.concatenate([p.to_numpy(dtype=float).ravel() for p in per_series.values()])


def _amounts(
    ax: Axes,
    quantity: str,
    row: Row,
    ticks: pd.Index,
    x: np.ndarray,
    timeseries: pd.DataFrame,
    auctions: pd.DataFrame | None,
    styles: Mapping[str, st.Style],
    *,
    small: bool,
    paths: Mapping[str, pd.DataFrame] | None = None,
    scale: tuple[float, str] | None = None,
) -> None:
    """Bad debt, cumulative liquidated debt or Dai supply of the row's runs, per series.

    ``paths`` (:func:`_amount_paths`) and ``scale`` (divisor, prefix) are given when the rows
    of a figure share them; by default both are the row's own.
    """
    per_series = (
        paths if paths is not None else _amount_paths(quantity, row, ticks, timeseries, auctions)
    )
    values = _values(per_series)
    divisor, prefix = scale if scale is not None else st.amount_scale(values)
    for name, paths in per_series.items():
        _fan(
            ax,
            x,
            paths,
            _quantity_style(quantity, name, styles),
            name if len(styles) > 1 else "",
            divisor,
            overlaid=len(styles) > 1,
        )
    what = {"bad_debt": "bad debt", "liquidated": "liquidated debt", "dai_supply": "Dai supply"}
    ax.set_ylabel(f"{what[quantity]} [{prefix}Dai]")
    st.plain_numbers(ax)
    finite = values[np.isfinite(values)]
    if quantity == "dai_supply":
        st.min_relative_span(ax)
    elif finite.size == 0 or np.all(finite == 0):
        ax.set_ylim(-0.05, 1.0)
        none = "no bad debt" if quantity == "bad_debt" else "no liquidation"
        st.note(ax, none if small else f"zero in every run ({none})")
    elif finite.min() >= 0:
        ax.set_ylim(bottom=0)


def _distribution(ax_hist: Axes, ax_ecdf: Axes, runs: pd.DataFrame, group: str) -> None:
    """Histogram and ECDF of each run's largest bad debt, per value of ``group``, with VaR95."""
    styles = _series_styles(list(dict.fromkeys(runs[group])))
    values = runs[BAD_DEBT_KPI].to_numpy(dtype=float)
    divisor, prefix = st.amount_scale(values)
    finite = values[np.isfinite(values)] / divisor
    if finite.size == 0:
        for ax in (ax_hist, ax_ecdf):
            st.note(ax, f"no {BAD_DEBT_KPI} in the runs table")
        return
    low, high = float(finite.min()), float(finite.max())
    if high > low:
        edges = np.histogram_bin_edges(finite, bins=min(MAX_BINS, max(5, finite.size // 2)))
    else:  # every run the same (often: no bad debt at all): one bar on a sane axis
        width = max(abs(high) * DEGENERATE_WIDTH, 1.0 / divisor)
        edges = np.array([low, low + width])
    for k, (name, rows) in enumerate(runs.groupby(group, sort=False)):
        s = styles[name]
        mine = rows[BAD_DEBT_KPI].to_numpy(dtype=float) / divisor
        mine = mine[np.isfinite(mine)]
        if mine.size == 0:
            continue
        level = value_at_risk(mine, VAR_LEVEL)
        share = probability_of_bad_debt(mine)
        label = f"{name}: {counted(mine.size, 'run')}, {share:.0%} with bad debt"
        ax_hist.hist(
            mine,
            bins=edges,
            histtype="stepfilled" if len(styles) == 1 else "step",
            color=s.color,
            alpha=0.55 if len(styles) == 1 else 1.0,
            linestyle=s.linestyle,
            linewidth=1.6,
            hatch=None if k == 0 or len(styles) == 1 else "//",
            label=label,
        )
        var_label = f"{name} VaR95 = {level:,.3g} {prefix}Dai {runs_mark(mine.size)}"
        for ax in (ax_hist, ax_ecdf):
            ax.axvline(
                level,
                color=s.color if len(styles) > 1 else st.SERIES["var"],
                linestyle=":" if k == 0 else "-.",
                linewidth=1.8,
                label=var_label if ax is ax_hist else None,
            )
        xs = np.sort(mine)
        ys = np.arange(1, xs.size + 1) / xs.size
        ax_ecdf.step(
            np.concatenate([[xs[0]], xs]),
            np.concatenate([[0.0], ys]) * 100,
            where="post",
            color=s.color,
            linestyle=s.linestyle,
            label=f"{name} ECDF",
        )
    if high == low:
        text = f"every run: {low:,.4g} {prefix}Dai" + (" (no bad debt)" if high == 0 else "")
        for ax in (ax_hist, ax_ecdf):
            ax.set_xlim(min(0.0, low), edges[-1] + (edges[-1] - edges[0]) * 4)
            ax.text(0.5, 0.55, text, transform=ax.transAxes, ha="center", fontsize=10, color="0.3")
    else:  # room on the right, so that a VaR at the largest value stays visible
        left = min(0.0, low)
        for ax in (ax_hist, ax_ecdf):
            ax.set_xlim(left, high + (high - left) * X_MARGIN)
    ax_ecdf.axhline(
        VAR_LEVEL * 100, color="0.4", linestyle="--", linewidth=0.9, label="95 % of runs"
    )
    ax_hist.set_xlabel(f"largest bad debt of a run ({BAD_DEBT_KPI}) [{prefix}Dai]")
    ax_hist.set_ylabel("runs [count]")
    st.panel_title(ax_hist, "Bad debt over the runs: histogram")
    ax_ecdf.set_xlabel(f"largest bad debt of a run ({BAD_DEBT_KPI}) [{prefix}Dai]")
    ax_ecdf.set_ylabel("runs at or below [%]")
    ax_ecdf.set_ylim(0, 102)
    st.panel_title(ax_ecdf, "Bad debt over the runs: empirical CDF")
    st.top_legend(ax_hist, ncols=1, fontsize=7.5)
    st.legend(ax_ecdf, fontsize=7.5, loc="lower right")


def _strip(
    ax: Axes,
    runs: pd.DataFrame,
    rows: Sequence[Row],
    styles: Mapping[str, st.Style],
) -> None:
    """Every run's largest bad debt, one line per scenario (and series), VaR95 marked."""
    by_id = runs.set_index("run_id")[BAD_DEBT_KPI].astype(float)
    values = by_id.to_numpy(dtype=float)
    divisor, prefix = st.amount_scale(values)
    finite = values[np.isfinite(values)] / divisor
    top = float(finite.max()) if finite.size else 0.0
    several = len(styles) > 1
    pitch = STRIP_PITCH_OVERLAID if several else 1.0  # room for a text above and one below
    ticks, names = [], []
    for i, row in enumerate(rows):
        for j, (name, members) in enumerate(row.series.items()):
            # the first series on top, as in the key
            base = -i * pitch
            y = base - (j - (len(row.series) - 1) / 2) * STRIP_SERIES_GAP if several else base
            mine = by_id.reindex(members).to_numpy(dtype=float) / divisor
            mine = np.sort(mine[np.isfinite(mine)])
            s = styles[name] if several else st.Style(st.SERIES["bad_debt"], "-", "o")
            if mine.size == 0:
                continue
            jitter = (STRIP_JITTER * (0.5 if several else 1.0)) if mine.size > 1 else 0.0
            ax.scatter(
                mine,
                y + np.linspace(-jitter, jitter, mine.size),
                s=STRIP_DOT_AREA,
                color=s.color,
                marker=s.marker,
                alpha=0.75,
                edgecolors="none",
                zorder=3,
                label=f"{row.name} {name} runs" if several else f"{row.name} runs",
            )
            level = value_at_risk(mine, VAR_LEVEL)
            share = probability_of_bad_debt(mine)
            bar = (STRIP_BAR_OVERLAID if several else STRIP_BAR) if share > 0 else 0.0
            ax.plot(
                [level, level] if share > 0 else [],
                [y - bar, y + bar] if share > 0 else [],
                color=st.BLACK,
                linewidth=2.2,
                solid_capstyle="butt",
                zorder=4,
                label=f"{row.name} {name} VaR95" if several else f"{row.name} VaR95",
            )
            runs_text = counted(mine.size, "run")
            text = (
                f"{runs_text} · {share:.0%} with bad debt · VaR95 " + amount_text(level * divisor)
                if share > 0
                else f"{runs_text} · no bad debt"
            )
            # inside the panel, right-aligned, in the free band above (first series) or below
            # (second) the series' line, clear of its dots and bar however tall the panel is
            # drawn (the offset is measured at drawing time): the largest value sits at the
            # axis end, under the text, so a fixed offset in rows would touch it; and no width
            # is taken from the panels above
            above = j % 2 == 0
            ax.annotate(
                f"{name}: {text}" if several else f"{row.name}: {text}",  # whose, at a glance
                (1.0, y),
                xycoords=("axes fraction", "data"),
                xytext=(1.0, y),
                textcoords=_beside_data(ax, max(bar, jitter), above),
                ha="right",
                va="bottom" if above else "top",
                fontsize=STRIP_FONT_SIZE,
                color=st.text_colour(s.color) if several else "0.2",
            )
        ticks.append(-i * pitch)
        names.append(row.name)
    ax.set_yticks(ticks, names)
    # room above the first line for its text (with two series each line has room around it)
    ax.set_ylim(
        -(len(rows) - 1) * pitch - 0.55 * pitch, 0.55 * pitch if several else STRIP_TOP_ROOM
    )
    ax.grid(axis="y", visible=False)
    if top > 0:
        ax.set_xlim(min(0.0, float(finite.min())), top * (1 + X_MARGIN))
    else:
        ax.set_xlim(-0.05, 1.0)
        st.note(ax, "no bad debt in any run")
    ax.set_xlabel(f"largest bad debt of a run ({BAD_DEBT_KPI}) [{prefix}Dai]")
    st.panel_title(ax, "Bad debt over the runs: each run's largest (dots) and VaR95 (bar)")


def _beside_data(ax: Axes, reach: float, above: bool) -> Callable[[RendererBase], Transform]:
    """Where a text by a line of the distribution panel goes: clear of the line's data.

    The text is placed at (``1.0`` axes fraction, the line's ``y``) through the returned
    transform, which moves it :data:`STRIP_TEXT_INSET_PT` left of the panel's right edge and,
    vertically, past the dots and the bar (``reach`` rows from the line, plus a dot's radius)
    and :data:`STRIP_TEXT_GAP_PT` more. It is evaluated when the figure is drawn, with the
    final layout, so the gap holds at any figure size.

    Args:
        ax: the distribution panel.
        reach: how far the line's dots and bar reach from it [rows, data units].
        above: the text above the line (else below).

    Returns:
        A ``textcoords`` callable of :meth:`matplotlib.axes.Axes.annotate`.
    """
    radius_pt = np.sqrt(STRIP_DOT_AREA) / 2

    def transform(_renderer: RendererBase) -> Transform:
        fig = ax.get_figure(root=True)
        assert fig is not None
        y0, y1 = ax.transData.transform([(0.0, 0.0), (0.0, 1.0)])[:, 1]
        points_per_row = abs(y1 - y0) * POINTS_PER_INCH / fig.dpi
        rise = reach * points_per_row + radius_pt + STRIP_TEXT_GAP_PT
        shift = ScaledTranslation(
            -STRIP_TEXT_INSET_PT / POINTS_PER_INCH,
            (rise if above else -rise) / POINTS_PER_INCH,
            fig.dpi_scale_trans,
        )
        return ax.get_yaxis_transform() + shift

    return transform


def _of_runs(counts: Mapping[str, int] | None, name: str) -> str:
    """Whose runs a band is of: ``3 runs`` (one scenario), ``each scenario's runs`` (several)."""
    if counts is None or name not in counts:
        return "each scenario's runs"
    return counted(counts[name], "run")


def _key_handles(
    styles: Mapping[str, st.Style],
    *,
    strip: bool,
    bands: bool = True,
    counts: Mapping[str, int] | None = None,
) -> list[Artist]:
    """The shared key: what the bands mean, per series when there are several.

    Args:
        styles: the series' looks.
        strip: add the distribution strip's dot and VaR bar.
        bands: add the bands' and medians' entries (not when only the strip is drawn).
        counts: the runs of each series (``""`` for a single one) when the figure draws one
            scenario (``5–95 % of 20 runs``); ``None`` with several (each row's title says).
    """
    if not bands:
        handles: list[Artist] = []
    elif len(styles) <= 1:
        of = _of_runs(counts, next(iter(counts)) if counts and len(counts) == 1 else "")
        handles = [
            Patch(color="0.45", alpha=st.BAND_ALPHA_OUTER, label=f"5–95 % of {of}"),
            Patch(color="0.45", alpha=st.BAND_ALPHA_INNER, label=f"25–75 % of {of}"),
            Line2D([], [], color="0.25", linewidth=1.6, label="median over the runs"),
        ]
    else:  # the key fills column by column: one kind per column, one series per row
        handles = []
        for name, s in styles.items():
            of = f" of {counted(counts[name], 'run')}" if counts and name in counts else ""
            handles += [
                Line2D(
                    [],
                    [],
                    color=s.color,
                    linestyle=s.linestyle,
                    linewidth=0.9,
                    label=f"{name}: 5–95 %{of} (edges)",
                ),
                Patch(
                    color=s.color,
                    alpha=st.BAND_ALPHA_INNER * OVERLAID_ALPHA_FACTOR,
                    label=f"{name}: 25–75 %",
                ),
                Line2D(
                    [],
                    [],
                    color=s.color,
                    linestyle=s.linestyle,
                    linewidth=2.0,
                    label=f"{name}: median",
                ),
            ]
        n = len(styles)
        handles = [handles[k * 3 + kind] for kind in range(3) for k in range(n)]
    if strip:
        handles += [
            Line2D(
                [],
                [],
                color="0.35",
                marker="o",
                linestyle="none",
                markersize=5,
                label="a run's largest bad debt",
            ),
            Line2D([], [], color=st.BLACK, linewidth=2.2, label="VaR95 (95 % of the runs)"),
        ]
    return handles


def fewest_runs(rows: Sequence[Row]) -> int:
    """The fewest runs behind a band or a VaR95 of the figure: its smallest series (0: none)."""
    counts = [len(m) for row in rows for m in row.series.values() if m]
    return min(counts) if counts else 0


def _rows(runs: pd.DataFrame, group: str, series: str | None) -> list[Row]:
    rows = []
    for name, members in runs.groupby(group, sort=False):
        if series is None:
            split = {str(name): [str(r) for r in members["run_id"]]}
        else:
            split = {
                str(s): [str(r) for r in m["run_id"]]
                for s, m in members.groupby(series, sort=False)
            }
        rows.append(Row(str(name), split))
    return rows


def _one_row(
    fig: Figure,
    row: Row,
    runs: pd.DataFrame,
    timeseries: pd.DataFrame | None,
    auctions: pd.DataFrame | None,
    scenarios: Mapping[str, Mapping[str, Any]],
    styles: Mapping[str, st.Style],
    series_column: str,
) -> None:
    full = timeseries is not None and len(timeseries) > 0
    mine = runs[runs["run_id"].isin(row.run_ids)]
    if not full:
        gs = fig.add_gridspec(1, 2)
        _distribution(fig.add_subplot(gs[0, 0]), fig.add_subplot(gs[0, 1]), mine, series_column)
        return
    assert timeseries is not None
    gs = fig.add_gridspec(4, 2, height_ratios=[KEY_IN, *([st.ROW_HEIGHT_IN] * 3)])
    key_ax = fig.add_subplot(gs[0, :])
    grid = np.array([[fig.add_subplot(gs[r + 1, c]) for c in range(2)] for r in range(3)])
    ticks, x, kind = _x_axis(timeseries, row, hours=False)
    assets = _prices(grid[0, 0], timeseries, row, ticks, x, scenarios, styles, relative=None)
    st.panel_title(grid[0, 0], _price_title(assets))
    for ax, quantity, title in (
        (grid[0, 1], "bad_debt", "Bad debt over the runs"),
        (grid[1, 0], "liquidated", "Liquidated debt, cumulative (Σ due of auctions started)"),
        (grid[1, 1], "dai_supply", "Dai supply over the runs"),
    ):
        _amounts(ax, quantity, row, ticks, x, timeseries, auctions, styles, small=False)
        st.panel_title(ax, title)
    for ax in grid[:2].ravel():
        if ax is not grid[0, 0]:
            ax.sharex(grid[0, 0])
        _time_label(ax, kind)
    _distribution(grid[2, 0], grid[2, 1], mine, series_column)
    counts = {name: len(members) for name, members in row.series.items()}
    st.key(key_ax, _key_handles(styles, strip=False, counts=counts), ncols=3)


def _small_multiples(
    fig: Figure,
    rows: Sequence[Row],
    runs: pd.DataFrame,
    timeseries: pd.DataFrame | None,
    auctions: pd.DataFrame | None,
    scenarios: Mapping[str, Mapping[str, Any]],
    styles: Mapping[str, st.Style],
) -> None:
    full = timeseries is not None and len(timeseries) > 0
    n_series = max(len(r.series) for r in rows)
    pitch = STRIP_PITCH_OVERLAID if n_series > 1 else 1.0
    strip_in = STRIP_ROW_IN * len(rows) * pitch + 0.9
    heights = [KEY_IN, *([SMALL_ROW_IN] * len(rows) if full else []), strip_in]
    fig.set_figheight(sum(heights) + 1.0)
    gs = fig.add_gridspec(len(heights), len(QUANTITIES), height_ratios=heights)
    key_ax = fig.add_subplot(gs[0, :])
    if full:
        assert timeseries is not None
        axes = [
            [fig.add_subplot(gs[i + 1, j]) for j in range(len(QUANTITIES))]
            for i in range(len(rows))
        ]
        spans = []
        axes_of = [(row, *_x_axis(timeseries, row, hours=True)) for row in rows]
        paths = {
            (i, q): _amount_paths(q, row, ticks, timeseries, auctions)
            for i, (row, ticks, _x, _kind) in enumerate(axes_of)
            for q in QUANTITIES[1:]
        }
        for i, (row, ticks, x, kind) in enumerate(axes_of):
            spans.append((kind, float(np.nanmax(x)) if len(x) else 0.0))
            for j, quantity in enumerate(QUANTITIES):
                ax = axes[i][j]
                if quantity == "price":
                    _prices(ax, timeseries, row, ticks, x, scenarios, styles, relative=True)
                else:
                    _amounts(
                        ax,
                        quantity,
                        row,
                        ticks,
                        x,
                        timeseries,
                        auctions,
                        styles,
                        small=True,
                        paths=paths[i, quantity],
                        scale=(1.0, ""),
                    )
                    # each tick in its own scale (20 M, 500 k, 20): never M Dai in one row
                    # and k Dai in the next, nor 0.00002 M Dai
                    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: compact(v)))
                ax.tick_params(labelsize=7.5)
                ax.yaxis.label.set_size(8.5)
            n = sum(len(m) for m in row.series.values())
            st.panel_title(axes[i][0], f"{row.name} ({counted(n, 'run')})")
        notes = share_y_scales(
            axes, [[paths[i, q] for q in QUANTITIES[1:]] for i in range(len(rows))]
        )
        if notes:
            fig.supxlabel(st.wrap(notes, 160), fontsize=8, color="0.3", gid=ROW_SCALE_GID)
        shared = len(set(spans)) == 1
        for i, row_axes in enumerate(axes):
            for j, ax in enumerate(row_axes):
                if shared and i > 0:
                    ax.sharex(axes[0][j])
                last = i == len(axes) - 1
                if shared and not last:
                    ax.tick_params(labelbottom=False)
                _time_label(ax, spans[i][0], label=last or not shared)
    _strip(fig.add_subplot(gs[-1, :]), runs, rows, styles)
    handles = _key_handles(styles, strip=True, bands=full)
    st.key(key_ax, handles, ncols=5 if len(styles) <= 1 else 4)


def share_y_scales(
    axes: Sequence[Sequence[Axes]], paths: Sequence[Sequence[Mapping[str, pd.DataFrame]]]
) -> str:
    """One y range per amount column of the small multiples where the rows compare.

    Args:
        axes: the panels, per row: price, bad debt, liquidated debt, Dai supply.
        paths: per row, the amount columns' paths (:func:`_amount_paths`), in that order.

    Returns:
        The note for the figure on the columns whose rows keep their own ranges
        (:func:`sim.plots.scales.share_rows`), or ``""``.
    """
    said = []
    for j, quantity in enumerate(QUANTITIES[1:], start=1):
        peaks = [peak(_values(row[j - 1])) for row in paths]
        what = {"bad_debt": "bad debt", "liquidated": "liquidated debt"}.get(quantity)
        column = [row[j] for row in axes]
        if not share_rows(column, peaks, from_zero=what is not None):
            said.append(own_ranges_note(what or "Dai supply", peaks, "Dai", level=what is None))
    return "; ".join(said) + "." if said else ""


def ensemble_fan(
    runs: pd.DataFrame,
    timeseries: pd.DataFrame | None = None,
    auctions: pd.DataFrame | None = None,
    *,
    scenarios: Mapping[str, Mapping[str, Any]] | None = None,
    group: str = "scenario",
    series: str | None = None,
    title: str | None = None,
    max_rows: int = MAX_ROWS,
    row_layout: bool = False,
) -> Figure:
    """The fan chart of an ensemble (layouts in the module docstring).

    Args:
        runs: the runs table (``runs.parquet``: ``run_id``, ``status``, ``bad_debt_max``, and
            the ``group`` and ``series`` columns).
        timeseries: the runs' time series stacked, with a ``run_id`` column (``tick``,
            ``time``, ``price[ILK]``, ``bad_debt``, ``dai_supply``); ``None`` for a
            summary-only batch.
        auctions: the runs' auctions stacked, with a ``run_id`` column (``start_tick``,
            ``due``).
        scenarios: resolved scenarios by name (the collateral of each ilk, for labels).
        group: the runs-table column whose values get a row each (never pooled).
        series: a runs-table column whose values are overlaid within each row (``batch``).
        title: the figure title.
        max_rows: most rows drawn; the title names the ones shown.
        row_layout: a row of four panels per scenario and the distribution panel even for a
            single scenario (a page of a chart whose other pages have several: every page
            looks alike).

    Returns:
        The figure: six panels for one row (two without time series) unless ``row_layout``,
        else four panels per row (none without time series) and the distribution panel (the
        shared key is an axes labelled :data:`sim.plots.style.KEY_LABEL`).
    """
    scenarios = scenarios or {}
    runs = runs.copy()
    if group not in runs:
        runs[group] = "runs"
    runs[group] = runs[group].fillna("runs").astype(str)
    if series is not None:
        runs[series] = runs[series].fillna("runs").astype(str)
    runs["run_id"] = runs["run_id"].astype(str)
    left_out = 0
    if "status" in runs:
        ok = is_ok(runs)
        left_out = int((~ok).sum())
        runs = runs[ok]
    rows = _rows(runs, group, series)
    shown = rows[:max_rows]
    series_names = list(dict.fromkeys(s for r in shown for s in r.series))
    # Series overlaid only with a series column (batches); else one look per quantity.
    styles = _series_styles(series_names) if series is not None else {}
    if timeseries is not None and len(timeseries):
        keep = {r for row in shown for r in row.run_ids}
        timeseries = timeseries[timeseries["run_id"].astype(str).isin(keep)].copy()
        timeseries["run_id"] = timeseries["run_id"].astype(str)
    if auctions is not None and len(auctions):
        auctions = auctions.copy()
        auctions["run_id"] = auctions["run_id"].astype(str)
    full = timeseries is not None and len(timeseries) > 0
    n_runs = sum(len(r.run_ids) for r in shown)
    names = [r.name for r in shown]
    head = title or (
        f"Ensemble over {counted(n_runs, 'run')} — {', '.join(names)}"
        if len(names) <= 3
        else f"Ensemble over {counted(n_runs, 'run')} of {len(names)} scenarios"
    )
    notes = []
    fewest = fewest_runs(shown)
    if 0 < fewest < MIN_TAIL_RUNS:  # the bands' 5 % and 95 % and VaR95 of so few runs
        notes.append(f"5–95 % bands and VaR95 {runs_mark(fewest)}")
    if len(rows) > len(shown):
        notes.append(
            f"scenarios 1–{len(shown)} of {len(rows)} shown; not shown: "
            + ", ".join(r.name for r in rows[len(shown) :])
        )
    if left_out:
        notes.append(f"{counted(left_out, 'failed or interrupted run')} left out")
    with st.styled():
        fig = Figure(
            figsize=(st.FIG_WIDTH_IN, KEY_IN + 3 * st.ROW_HEIGHT_IN + 1.3), layout="constrained"
        )
        if not shown:
            ax = fig.add_subplot()
            st.note(ax, "no ok runs to draw")
        elif len(shown) == 1 and not row_layout:
            if not full:
                fig.set_figheight(st.ROW_HEIGHT_IN * 1.3 + 1.6)
            column = series if series is not None else group
            mine = runs.copy()
            if series is None:
                mine[column] = mine[group]
            _one_row(fig, shown[0], mine, timeseries, auctions, scenarios, styles, column)
        else:
            _small_multiples(
                fig, shown, runs, timeseries if full else None, auctions, scenarios, styles
            )
        if not full:
            fig.supxlabel(SUMMARY_ONLY_NOTE, fontsize=9, color="0.3")
        fig.suptitle(st.wrap("\n".join([head, *notes]), 110))
        st.make_room(fig)
    return fig
