"""The ensemble fan chart of a batch over seeds (or of two batches overlaid).

With the runs kept in full (``runs/<run_id>/timeseries.parquet``), six panels: quantile bands
over the runs (5–95 %, 25–75 %, median) per tick of the market price [USD/token], bad debt
[Dai], liquidated debt (cumulative Σ ``due`` by ``start_tick`` of each run's auctions) [Dai] and
Dai supply [Dai]; then the distribution of each run's ``bad_debt_max`` (histogram, and ECDF)
with VaR95 (its 95 % quantile over the runs) marked. With ``--keep summary`` batches only the
two distribution panels, and the figure says why.

Runs are grouped by a column of the runs table (``scenario`` by default): each group gets its
own bands in its own colour, so a batch of two scenarios, or two batches, overlay.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.metrics import RISK_LEVEL, value_at_risk
from sim.plots import style as st

#: Quantiles of the bands: the outer band, the inner band, the median.
OUTER, INNER, MEDIAN = (0.05, 0.95), (0.25, 0.75), 0.5
#: Overlaid groups' 25–75 % bands are this much lighter, so that two of them stay apart [-].
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
#: Why the time panels are missing from a summary-only batch.
SUMMARY_ONLY_NOTE = (
    "Runs kept as summaries only (--keep summary): no time series, so only the distribution "
    "of bad debt over the runs is shown. Run the batch with --keep full for the bands."
)


def var(values: Sequence[float] | np.ndarray, level: float = VAR_LEVEL) -> float:
    """Value at risk of a loss over runs: :func:`sim.metrics.value_at_risk` (one definition).

    Args:
        values: one loss per run (NaN ignored) [Dai].
        level: the quantile [-].

    Returns:
        The ``level`` quantile (NaN without finite values) [Dai].
    """
    return value_at_risk(values, level)


def liquidated_debt_paths(auctions: pd.DataFrame | None, ticks: pd.Index) -> pd.DataFrame:
    """Cumulative liquidated debt per run and tick: Σ ``due`` of the auctions started so far.

    Args:
        auctions: the auctions of every run, with a ``run_id`` column.
        ticks: the ticks to report (the index of the result).

    Returns:
        A (ticks × runs) table [Dai]; runs without auctions are absent (0 throughout).
    """
    if auctions is None or len(auctions) == 0:
        return pd.DataFrame(index=ticks)
    per_tick = auctions.groupby(["start_tick", "run_id"], observed=True)["due"].sum().unstack()
    per_tick = per_tick.reindex(ticks.union(per_tick.index)).fillna(0.0).cumsum()
    return per_tick.reindex(ticks)


def _fan(
    ax: Axes,
    x: np.ndarray,
    paths: pd.DataFrame,
    s: st.Style,
    name: str,
    scale: float,
    *,
    overlaid: bool = False,
) -> None:
    """Quantile bands of paths (ticks × runs) over the runs, and their median.

    Overlaid groups draw the 5–95 % band as two edge lines in the group's line style (filled
    bands of two colours would blend into a third); a single group fills it.
    """
    values = paths.to_numpy(dtype=float) / scale
    if values.shape[1] == 0:
        return
    with np.errstate(all="ignore"):
        qs = np.nanquantile(values, [OUTER[0], INNER[0], MEDIAN, INNER[1], OUTER[1]], axis=1)
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
    )


def _group_styles(groups: Sequence[str]) -> dict[str, st.Style]:
    return {g: st.style(k) for k, g in enumerate(groups)}


def _panel_paths(
    timeseries: pd.DataFrame, runs: Sequence[str], column: str, ticks: pd.Index
) -> pd.DataFrame:
    mine = timeseries[timeseries["run_id"].isin(runs)]
    return mine.pivot(index="tick", columns="run_id", values=column).reindex(ticks)


def _x_axis(
    timeseries: pd.DataFrame, groups: Mapping[str, list[str]]
) -> tuple[pd.Index, np.ndarray, bool]:
    """The ticks, their x values and whether they are dates (all groups start together)."""
    ticks = pd.Index(np.sort(timeseries["tick"].unique()), name="tick")
    if "time" in timeseries:
        starts = {
            pd.Timestamp(timeseries.loc[timeseries["run_id"].isin(runs), "time"].min())
            for runs in groups.values()
        }
        if len(starts) == 1:
            first = timeseries.groupby("tick")["time"].min().reindex(ticks)
            return ticks, st.times(first.to_frame("time")), True
        dt = timeseries.groupby("run_id")["time"].apply(lambda t: t.diff().dropna().min()).min()
        return ticks, ticks.to_numpy() * pd.Timedelta(dt).total_seconds() * HOURS_PER_S, False
    return ticks, ticks.to_numpy(), False


def _time_label(ax: Axes, dates: bool, has_time: bool) -> None:
    if dates:
        st.date_axis(ax)
    elif has_time:
        ax.set_xlabel("time since the start [h]")
    else:
        ax.set_xlabel("tick [-]")


def _distribution(ax_hist: Axes, ax_ecdf: Axes, runs: pd.DataFrame, group: str) -> None:
    styles = _group_styles(list(dict.fromkeys(runs[group])))
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
        level = var(mine)
        share = float(np.mean(mine > 0))
        label = f"{name}: {mine.size} runs, {share:.0%} with bad debt"
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
        var_label = f"{name} VaR95 = {level:,.3g} {prefix}Dai"
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
    st.legend(ax_hist, fontsize=7.5)
    st.legend(ax_ecdf, fontsize=7.5, loc="lower right")


def _price_columns(timeseries: pd.DataFrame, scenarios: Mapping[str, Mapping[str, Any]]) -> dict:
    """``price[ILK]`` column per collateral (the first ilk that locks it)."""
    out: dict[str, str] = {}
    for c in timeseries.columns:
        if c.startswith("price["):
            ilk = c[len("price[") : -1]
            asset = ilk
            for scenario in scenarios.values():
                spec = (scenario.get("ilks") or {}).get(ilk)
                if spec:
                    asset = str(spec.get("collateral", ilk))
                    break
            out.setdefault(asset, c)
    return out


def ensemble_fan(
    runs: pd.DataFrame,
    timeseries: pd.DataFrame | None = None,
    auctions: pd.DataFrame | None = None,
    *,
    scenarios: Mapping[str, Mapping[str, Any]] | None = None,
    group: str = "scenario",
    title: str | None = None,
) -> Figure:
    """The fan chart of an ensemble (panels in the module docstring).

    Args:
        runs: the runs table (``runs.parquet``: ``run_id``, ``status``, ``bad_debt_max``, and
            the ``group`` column).
        timeseries: the runs' time series stacked, with a ``run_id`` column (``tick``,
            ``time``, ``price[ILK]``, ``bad_debt``, ``dai_supply``); ``None`` for a
            summary-only batch.
        auctions: the runs' auctions stacked, with a ``run_id`` column (``start_tick``,
            ``due``).
        scenarios: resolved scenarios by name (the collateral of each ilk, for labels).
        group: the runs-table column whose values get one set of bands each.
        title: the figure title.

    Returns:
        The figure: six panels, or two (distribution only) without time series.
    """
    scenarios = scenarios or {}
    runs = runs.copy()
    runs[group] = runs[group].fillna("runs").astype(str)
    groups = {str(g): list(rows["run_id"]) for g, rows in runs.groupby(group, sort=False)}
    full = timeseries is not None and len(timeseries) > 0
    n_runs = len(runs)
    head = title or (
        f"Ensemble over {n_runs} runs — {', '.join(groups)}"
        if len(groups) <= 3
        else f"Ensemble over {n_runs} runs of {len(groups)} groups"
    )
    with st.styled():
        if not full:
            fig = st.new_figure(1, 2, height=st.ROW_HEIGHT_IN * 1.3 + 1.4)
            _distribution(fig.axes[0], fig.axes[1], runs, group)
            fig.suptitle(head)
            fig.supxlabel(SUMMARY_ONLY_NOTE, fontsize=9, color="0.3")
            return fig
        fig = st.new_figure(3, 2)
        grid = np.asarray(fig.axes).reshape(3, 2)
        ticks, x, dates = _x_axis(timeseries, groups)
        styles = _group_styles(list(groups))
        prices = _price_columns(timeseries, scenarios)
        liquidated = liquidated_debt_paths(auctions, ticks)
        amounts = {
            "bad_debt": timeseries["bad_debt"].to_numpy(dtype=float),
            "dai_supply": timeseries["dai_supply"].to_numpy(dtype=float),
            "liquidated": liquidated.to_numpy(dtype=float),
        }
        scales = {k: st.amount_scale(v) for k, v in amounts.items()}
        several = len(groups) > 1
        for name, members in groups.items():
            s = styles[name]
            label = name if several else ""
            for k, (asset, column) in enumerate(prices.items()):
                p_style = s if several else st.style(k)  # groups apart, or assets apart
                tag = f"{label} {asset}".strip() if len(prices) > 1 or several else asset
                paths = _panel_paths(timeseries, members, column, ticks)
                _fan(grid[0, 0], x, paths, p_style, tag, 1, overlaid=several)
            _fan(
                grid[0, 1],
                x,
                _panel_paths(timeseries, members, "bad_debt", ticks),
                st.Style(s.color if several else st.SERIES["bad_debt"], s.linestyle, s.marker),
                label,
                scales["bad_debt"][0],
                overlaid=several,
            )
            mine = liquidated[[r for r in members if r in liquidated.columns]]
            mine = mine.reindex(columns=members, fill_value=0.0)
            _fan(
                grid[1, 0],
                x,
                mine,
                st.Style(
                    s.color if several else st.SERIES["liquidated_debt"], s.linestyle, s.marker
                ),
                label,
                scales["liquidated"][0],
                overlaid=several,
            )
            _fan(
                grid[1, 1],
                x,
                _panel_paths(timeseries, members, "dai_supply", ticks),
                st.Style(s.color if several else st.SERIES["dai_supply"], s.linestyle, s.marker),
                label,
                scales["dai_supply"][0],
                overlaid=several,
            )
        grid[0, 0].set_ylabel("price [USD/token]")
        st.panel_title(grid[0, 0], "Market price over the runs")
        grid[0, 1].set_ylabel(f"bad debt [{scales['bad_debt'][1]}Dai]")
        st.panel_title(grid[0, 1], "Bad debt over the runs")
        grid[1, 0].set_ylabel(f"liquidated debt [{scales['liquidated'][1]}Dai]")
        st.panel_title(grid[1, 0], "Liquidated debt, cumulative (Σ due of auctions started)")
        grid[1, 1].set_ylabel(f"Dai supply [{scales['dai_supply'][1]}Dai]")
        st.panel_title(grid[1, 1], "Dai supply over the runs")
        for ax, key in ((grid[0, 1], "bad_debt"), (grid[1, 0], "liquidated")):
            finite = amounts[key][np.isfinite(amounts[key])]
            if finite.size == 0 or np.all(finite == 0):
                ax.set_ylim(-0.05, 1.0)
                st.note(
                    ax,
                    f"zero in every run ({'no bad debt' if key == 'bad_debt' else 'no liquidation'})",
                )
            elif finite.min() >= 0:
                ax.set_ylim(bottom=0)
        for ax in grid[:2].ravel():
            if ax is not grid[0, 0]:
                ax.sharex(grid[0, 0])
            _time_label(ax, dates, "time" in timeseries)
            st.plain_numbers(ax)
            st.legend(ax, fontsize=7.5)
        _distribution(grid[2, 0], grid[2, 1], runs, group)
        fig.suptitle(head + "\nbands: 5–95 % and 25–75 % of the runs at each tick; line: median")
    return fig
