"""The run overview: what the crash did in one run, panel by panel, on one time axis.

Panels (two columns):

- market vs OSM price per collateral [USD/token], the OSM's steps marked;
- the CR distribution of open vaults per ilk (5–95 % band, 25–75 % band, median) [-] against the
  liquidation ratio ``mat`` from the scenario;
- unsafe vaults [count] and unsafe debt [Dai] per ilk, sampled before the keepers act (solid)
  and at the tick's end (dashed);
- auctions started (cumulative) and auctions running [count];
- auction outcomes: the price each finished auction paid (``dai_raised`` at the Dai price /
  ``collateral_sold``) at its end against the market price [USD/token], zero-bid auctions marked;
- Dai supply [Dai];
- bad debt and the Vow's surplus (``surplus``: its Dai above its debt) [Dai];
- the Dai price [USD/Dai] when the scenario has a ``dai`` market, gas [gwei] when it has a
  ``network`` section.

Where a replayed series (``process: replay`` with ``beyond: hold``) has run out of data, its
panel shades the rest of the run "data held". A run that failed or was interrupted says so in a
banner over the title (``banner``), since its panels end early. Every panel marks each
governance spell the run put in force with a dotted vertical line at its tick (its name on the
top panels).

The panels draw what :mod:`sim.derived` computes from the run's tables (auction outcomes,
auctions started per bin, prices relative to the start).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.derived import PERCENT, auction_counts, auction_outcomes, percent_of, started_per_bin
from sim.metrics import ZERO_BID_FRACTION
from sim.plots import style as st
from sim.record import col, quantile_name
from sim.scenario.governance import spell_marks
from sim.units import parse_duration

#: OSM updates marked with a dot when there are at most this many (more would be a smear).
MAX_OSM_MARKERS = 80
#: Prices of several collaterals are shown relative to their start when their first prices
#: differ by more than this factor.
RELATIVE_PRICE_RATIO = 4.0
#: Room above and below the outcome panel's dots [percentage points].
OUTCOME_MARGIN_PCT = 8.0
#: Markers along a line when several ilks share a panel.
MARKS_PER_LINE = 12
#: Opacity of the "auctions started" bars.
BAR_ALPHA = 0.4
#: Most bars in the "auctions started" panel.
MAX_BINS = 120
#: Bins of the "auctions started" panel: (seconds, name), shortest first.
BINS = (
    (60.0, "minute"),
    (300.0, "5 min"),
    (600.0, "10 min"),
    (1800.0, "30 min"),
    (3600.0, "hour"),
    (6 * 3600.0, "6 h"),
    (86400.0, "day"),
    (7 * 86400.0, "week"),
)
#: Dot size of an auction in the outcome panel [points²].
AUCTION_DOT_SIZE = 22.0
#: Size of a zero-bid cross [points²].
ZERO_BID_SIZE = 70.0
#: Shade of the "data held" span of a replayed series.
HELD_COLOUR, HELD_ALPHA = "0.55", 0.16
#: Fill behind the banner of a failed or interrupted run.
BANNER_FILL = "#FBE3D6"
#: Colour of the lines marking governance spells.
SPELL_COLOUR = "0.25"
#: Key of the gas series in ``held`` (the other keys are collaterals).
GAS = "gas"


def ilks_of(timeseries: pd.DataFrame, scenario: Mapping[str, Any]) -> list[str]:
    """The ilks of a run, in the scenario's order (the timeseries' when the scenario is bare)."""
    ilks = [i for i in (scenario.get("ilks") or {}) if col("price", i) in timeseries]
    if ilks:
        return ilks
    return [c[len("price[") : -1] for c in timeseries.columns if c.startswith("price[")]


def collateral_of(scenario: Mapping[str, Any], ilk: str) -> str:
    """The collateral an ilk locks (the ilk's name when the scenario does not say)."""
    spec = (scenario.get("ilks") or {}).get(ilk) or {}
    return str(spec.get("collateral", ilk))


def _marks(s: st.Style, n: int, several: bool) -> dict[str, Any]:
    """With several ilks, sparse markers of the ilk's shape: ilks differ without colour."""
    if not several:
        return {}
    return {"marker": s.marker, "markevery": max(1, n // MARKS_PER_LINE), "markersize": 4}


def _x(timeseries: pd.DataFrame) -> np.ndarray:
    return st.times(timeseries) if "time" in timeseries else timeseries["tick"].to_numpy()


def _time_axis(ax: Axes, timeseries: pd.DataFrame) -> None:
    if "time" in timeseries:
        st.date_axis(ax)
    else:
        ax.set_xlabel("tick [-]")


def _held_span(ax: Axes, ts: pd.DataFrame, seconds: float | None, what: str) -> None:
    """Shade the run from ``seconds`` after its start on: the replayed data had ended."""
    if seconds is None or len(ts) == 0 or "time" not in ts:
        return
    start = pd.to_datetime(ts["time"].iloc[0], utc=True).tz_localize(None)
    begin = np.datetime64(start + pd.Timedelta(seconds=float(seconds)))
    end = _x(ts)[-1]
    if begin >= end:
        return
    ax.axvspan(
        begin,
        end,
        color=HELD_COLOUR,
        alpha=HELD_ALPHA,
        linewidth=0,
        zorder=0,
        label=f"{what}: data held (beyond: hold)",
    )


def _spells(
    axes: list[Axes],
    ts: pd.DataFrame,
    scenario: Mapping[str, Any],
    marks: list[tuple[str, float]] | None,
) -> None:
    """A vertical line where each spell took effect, on every panel; its name on the top ones."""
    if marks is None:
        marks = spell_marks(scenario)
    if not marks or len(ts) == 0:
        return
    tick_s = _tick_seconds(scenario)
    for name, seconds in marks:
        if "time" in ts:
            start = pd.to_datetime(ts["time"].iloc[0], utc=True).tz_localize(None)
            x: Any = np.datetime64(start + pd.Timedelta(seconds=float(seconds)))
        elif tick_s:
            x = seconds / tick_s
        else:
            continue
        for k, ax in enumerate(axes):
            if not ax.get_visible():
                continue
            ax.axvline(x, color=SPELL_COLOUR, linestyle=":", linewidth=1.0, zorder=1)
            if k < 2:
                ax.annotate(
                    name,
                    (x, 1.0),
                    xycoords=("data", "axes fraction"),
                    xytext=(2, -2),
                    textcoords="offset points",
                    rotation=90,
                    va="top",
                    ha="left",
                    fontsize="x-small",
                    color=SPELL_COLOUR,
                )


def _prices(
    ax: Axes,
    ts: pd.DataFrame,
    scenario: Mapping[str, Any],
    ilks: list[str],
    held: Mapping[str, float],
) -> None:
    x = _x(ts)
    by_collateral: dict[str, str] = {}
    for ilk in ilks:
        by_collateral.setdefault(collateral_of(scenario, ilk), ilk)
    styles = st.ilk_colours(ilks)
    hop = ((scenario.get("system") or {}).get("oracle") or {}).get("hop")
    firsts = [float(ts[col("price", ilk)].iloc[0]) for ilk in by_collateral.values()]
    # Collaterals priced far apart share the panel as an index of their first price.
    index = len(firsts) > 1 and max(firsts) / max(min(firsts), 1e-12) > RELATIVE_PRICE_RATIO
    for asset, ilk in by_collateral.items():
        s = styles[ilk]
        market = ts[col("price", ilk)].to_numpy(dtype=float)
        osm = ts[col("osm_price", ilk)].to_numpy(dtype=float)
        start = market[0]
        # both relative to the market's first price when the collaterals are priced far apart
        shown_market = percent_of(market, start) if index else market
        shown_osm = percent_of(osm, start) if index else osm
        name = f"{asset} (start {start:,.0f} USD)" if index else asset
        marks = _marks(s, len(x), len(by_collateral) > 1)
        ax.plot(x, shown_market, color=s.color, linestyle="-", label=f"{name} market", **marks)
        osm_label = f"{asset} OSM" + (f" (updates every {hop})" if hop else "")
        ax.plot(
            x,
            shown_osm,
            color=s.color,
            linestyle="--",
            drawstyle="steps-post",
            alpha=0.9,
            label=osm_label,
            **marks,
        )
        steps = np.flatnonzero(np.diff(osm) != 0) + 1
        if 0 < len(steps) <= MAX_OSM_MARKERS:
            ax.plot(
                x[steps],
                shown_osm[steps],
                linestyle="none",
                color=s.color,
                marker=s.marker,
                markersize=3.5,
                markerfacecolor="white",
                markeredgecolor=s.color,
                label=f"{asset} OSM update",
            )
    for asset in by_collateral:
        _held_span(ax, ts, held.get(asset), asset)
    if index:
        ax.set_ylabel("price [% of the first market price]")
        st.panel_title(ax, "Market price vs oracle (OSM) price, relative to the start")
    else:
        ax.set_ylabel("price [USD/token]")
        st.panel_title(ax, "Market price vs oracle (OSM) price")
    st.plain_numbers(ax)
    st.legend(ax, fontsize=7.5)


def _quantile_columns(ts: pd.DataFrame, ilk: str) -> list[tuple[float, str]]:
    """(quantile, column) of the ilk's recorded CR quantiles, in increasing order."""
    found = []
    prefix, suffix = "cr_p", f"[{ilk}]"
    for c in ts.columns:
        if c.startswith(prefix) and c.endswith(suffix):
            found.append((float(c[len(prefix) : -len(suffix)]) / 100, c))
    return sorted(found)


def _cr(ax: Axes, ts: pd.DataFrame, scenario: Mapping[str, Any], ilks: list[str]) -> None:
    x = _x(ts)
    styles = st.ilk_colours(ilks)
    drawn = False
    mats: dict[float, list[str]] = {}
    for ilk in ilks:
        s = styles[ilk]
        qs = _quantile_columns(ts, ilk)
        mat = ((scenario.get("ilks") or {}).get(ilk) or {}).get("mat")
        if mat is not None:
            mats.setdefault(float(mat), []).append(ilk)
        if not qs:
            continue
        drawn = True
        lo, hi = qs[0], qs[-1]
        if lo[0] < hi[0]:
            ax.fill_between(
                x,
                ts[lo[1]],
                ts[hi[1]],
                color=s.color,
                alpha=st.BAND_ALPHA_OUTER,
                linewidth=0,
                label=f"{ilk} CR {st.quantile_label(lo[0])}–{st.quantile_label(hi[0])}",
            )
            if len(ilks) > 1:  # band edges tell overlapping ilks apart without colour
                for q in (lo, hi):
                    ax.plot(x, ts[q[1]], color=s.color, linestyle=s.linestyle, linewidth=0.8)
        q25, q75 = quantile_name(0.25), quantile_name(0.75)
        if col(q25, ilk) in ts and col(q75, ilk) in ts:
            ax.fill_between(
                x,
                ts[col(q25, ilk)],
                ts[col(q75, ilk)],
                color=s.color,
                alpha=st.BAND_ALPHA_INNER,
                linewidth=0,
                label=f"{ilk} CR 25–75 %",
            )
        median = col(quantile_name(0.5), ilk)
        if median in ts:
            ax.plot(
                x,
                ts[median],
                color=s.color,
                linestyle=s.linestyle,
                label=f"{ilk} median CR",
                **_marks(s, len(x), len(ilks) > 1),
            )
    for k, (mat, names) in enumerate(mats.items()):
        which = f" ({', '.join(names)})" if len(ilks) > 1 else ""
        ax.axhline(
            mat,
            color=st.SERIES["mat"],
            linestyle=st.LINESTYLES[(k + 1) % len(st.LINESTYLES)],
            linewidth=1.2,
            label=f"liquidation ratio mat = {mat:g}{which}",
        )
    if not drawn:
        st.note(ax, "no CR quantiles recorded (record.cr_quantiles)")
    ax.set_ylabel("collateral ratio [-]")
    st.panel_title(ax, "Collateral ratio of open vaults (market price) vs liquidation ratio")
    # Along the top, over room made for it (make_room): bands of two ilks fill the panel.
    st.top_legend(ax, ncols=3 if len(ilks) > 1 else 2, fontsize=7.5)


def in_run(complete: bool) -> str:
    """How an empty panel ends its sentence: ``in this run``, or ``so far`` in a running one."""
    return "in this run" if complete else "so far"


def _per_ilk_before_after(
    ax: Axes, ts: pd.DataFrame, ilks: list[str], field: str, *, amount: bool, complete: bool = True
) -> None:
    x = _x(ts)
    styles = st.ilk_colours(ilks)
    cols = [col(f, ilk) for ilk in ilks for f in (field, f"{field}_after")]
    divisor, prefix = st.amount_scale(ts[cols].to_numpy()) if amount else (1.0, "")
    for ilk in ilks:
        s = styles[ilk]
        marks = _marks(s, len(x), len(ilks) > 1)
        ax.plot(
            x,
            ts[col(field, ilk)] / divisor,
            color=s.color,
            linestyle="-",
            label=f"{ilk} before keepers act",
            **marks,
        )
        ax.plot(
            x,
            ts[col(f"{field}_after", ilk)] / divisor,
            color=s.color,
            linestyle=":",
            linewidth=2.0,
            label=f"{ilk} at the tick's end",
            **marks,
        )
    if amount:
        ax.set_ylabel(f"unsafe debt [{prefix}Dai]")
        st.panel_title(ax, "Debt of unsafe vaults (at the oracle price)")
    else:
        ax.set_ylabel("unsafe vaults [count]")
        st.panel_title(ax, "Unsafe vaults (at the oracle price)")
    _from_zero(ax, ts[cols].to_numpy(dtype=float), f"no unsafe vault {in_run(complete)}")
    st.legend(ax, fontsize=7.5)


def _from_zero(ax: Axes, values: np.ndarray, empty: str) -> None:
    """Counts and debts start at 0; all zero gives a 0–1 axis and says so."""
    finite = values[np.isfinite(values)]
    if finite.size == 0 or np.all(finite == 0):
        ax.set_ylim(-0.02, 1.0)
        st.note(ax, empty)
    elif finite.min() >= 0:
        ax.set_ylim(bottom=0)


def bin_ticks(timeseries: pd.DataFrame, tick_s: float | None) -> tuple[int, str]:
    """Ticks per bin of the "auctions started" bars, and the bin's name (``"hour"``).

    The bin is the shortest of :data:`BINS` (at least one tick) that gives at most
    :data:`MAX_BINS` bins over the run.

    Args:
        timeseries: the run's per-tick table.
        tick_s: the scenario's tick [s] (``None``: read from the ``time`` column, else 1 tick).
    """
    if tick_s is None and "time" in timeseries and len(timeseries) > 1:
        t = pd.to_datetime(timeseries["time"], utc=True)
        tick_s = float((t.iloc[1] - t.iloc[0]).total_seconds())
    if not tick_s or tick_s <= 0:
        return max(1, -(-len(timeseries) // MAX_BINS)), "bin"
    span = tick_s * len(timeseries)
    for seconds, name in BINS:
        if seconds >= tick_s and span / seconds <= MAX_BINS:
            return max(1, round(seconds / tick_s)), name
    seconds, name = BINS[-1]
    return max(1, round(seconds / tick_s)), name


def _tick_seconds(scenario: Mapping[str, Any]) -> float | None:
    tick = (scenario.get("clock") or {}).get("tick")
    if isinstance(tick, int | float):
        return float(tick)
    if isinstance(tick, str):
        try:
            return parse_duration(tick)
        except ValueError:
            return None
    return None


def _auctions(
    ax: Axes, ts: pd.DataFrame, scenario: Mapping[str, Any], ilks: list[str], complete: bool
) -> None:
    x = _x(ts)
    styles = st.ilk_colours(ilks)
    per_bin, bin_name = bin_ticks(ts, _tick_seconds(scenario))
    for k, ilk in enumerate(ilks):
        s = styles[ilk]
        started = ts[col("liquidations", ilk)].to_numpy(dtype=float)
        starts, counts = started_per_bin(started, per_bin)  # tick 0 is the initial state
        edges = np.append(x[starts - 1], x[-1]) if len(starts) else x[:1]
        ax.stairs(
            counts,
            edges,
            fill=True,
            color=s.color,
            alpha=BAR_ALPHA,
            linewidth=0,
            hatch=None if k == 0 else "//",
            label=f"{ilk} auctions started per {bin_name}",
        )
        ax.plot(
            x,
            ts[col("auctions_active", ilk)],
            color=st.BLACK if len(ilks) == 1 else s.color,  # dark line over light bars
            linestyle="-" if k == 0 else s.linestyle,
            linewidth=1.0,
            label=f"{ilk} auctions running",
            **_marks(s, len(x), len(ilks) > 1),
        )
    ax.set_ylabel("auctions [count]")
    st.panel_title(ax, f"Liquidations: auctions started per {bin_name} and running")
    cols = [col(f, ilk) for ilk in ilks for f in ("liquidations", "auctions_active")]
    _from_zero(ax, ts[cols].to_numpy(dtype=float), f"no liquidation {in_run(complete)}")
    st.legend(ax, fontsize=7.5)


def _outcomes(
    ax: Axes, ts: pd.DataFrame, auctions: pd.DataFrame | None, ilks: list[str], complete: bool
) -> None:
    styles = st.ilk_colours(ilks)
    outcomes = auction_outcomes(ts, auctions)
    ax.axhline(PERCENT, color=st.BLACK, linestyle="--", linewidth=1.0, label="market price")
    for ilk in ilks:
        mine = outcomes[(outcomes["ilk"] == ilk) & ~outcomes["zero_bid"]]
        if len(mine):
            ax.scatter(
                mine["time"],
                mine["ratio"] * PERCENT,
                s=AUCTION_DOT_SIZE,
                color=styles[ilk].color,
                marker=styles[ilk].marker,
                alpha=0.6,
                edgecolors="none",
                zorder=3,
                label=f"{ilk} auction",
            )
    zero = outcomes[outcomes["zero_bid"]]
    if len(zero):
        ax.scatter(
            zero["time"],
            zero["ratio"] * PERCENT,
            s=ZERO_BID_SIZE,
            color=st.SERIES["zero_bid"],
            marker="X",
            zorder=4,
            label=f"zero-bid auction (< {ZERO_BID_FRACTION:.0%} of market value)",
        )
    counts = auction_counts(auctions, outcomes)
    if counts["started"] == 0:
        st.note(ax, f"no collateral auctions {in_run(complete)}")
    summary = (
        f"{counts['sold']} finished with a sale · {counts['zero_bid']} zero-bid · "
        f"{counts['running']} still running"
    )
    ratios = outcomes["ratio"].to_numpy(dtype=float)
    ratios = ratios[np.isfinite(ratios)]  # a sale at a market price of 0 has no finite ratio
    top = float(ratios.max()) * PERCENT if len(ratios) else PERCENT
    ax.set_ylim(-OUTCOME_MARGIN_PCT, max(PERCENT, top) + OUTCOME_MARGIN_PCT)
    ax.set_ylabel("price paid / market price [%]")
    st.panel_title(ax, "Auction outcomes: price paid vs market price at the auction's end")
    # "best" keeps the legend off the dots (zero-bid auctions sit at the bottom, early).
    st.legend(ax, fontsize=7.5, title=summary, title_fontsize=7.5, loc="best")


def _supply(ax: Axes, ts: pd.DataFrame) -> None:
    divisor, prefix = st.amount_scale(ts["dai_supply"].to_numpy())
    ax.plot(_x(ts), ts["dai_supply"] / divisor, color=st.SERIES["dai_supply"], label="Dai supply")
    ax.set_ylabel(f"Dai supply [{prefix}Dai]")
    st.plain_numbers(ax)
    st.min_relative_span(ax)
    st.panel_title(ax, "Dai supply (Vat debt, unbacked Dai included)")
    st.legend(ax, fontsize=7.5)


def _bad_debt(ax: Axes, ts: pd.DataFrame) -> None:
    x = _x(ts)
    divisor, prefix = st.amount_scale(ts[["bad_debt", "surplus"]].to_numpy())
    ax.fill_between(
        x,
        0,
        ts["surplus"] / divisor,
        color=st.SERIES["surplus"],
        alpha=0.35,
        linewidth=0,
        step="post",
        label="Vow surplus: its Dai above its debt",
    )
    ax.plot(
        x,
        ts["bad_debt"] / divisor,
        color=st.SERIES["bad_debt"],
        linewidth=2.0,
        label="bad debt (uncovered Vow debt)",
    )
    ax.set_ylabel(f"amount [{prefix}Dai]")
    st.plain_numbers(ax)
    st.panel_title(ax, "Bad debt and the Vow's surplus")
    st.legend(ax, fontsize=7.5)


def _dai_price(ax: Axes, ts: pd.DataFrame) -> None:
    ax.axhline(1.0, color=st.BLACK, linestyle="--", linewidth=1.0, label="par (1 USD)")
    ax.plot(_x(ts), ts["dai_price"], color=st.SERIES["dai_price"], label="Dai market price")
    ax.set_ylabel("Dai price [USD/Dai]")
    st.plain_numbers(ax)
    st.panel_title(ax, "Dai price")
    st.legend(ax, fontsize=7.5)


def _gas(ax: Axes, ts: pd.DataFrame, scenario: Mapping[str, Any], held: float | None) -> None:
    _held_span(ax, ts, held, "gas")
    ax.plot(
        _x(ts),
        ts["gas_price_gwei"],
        color=st.SERIES["gas"],
        label="gas price (what everyone else pays)",
        lw=1.6,
    )
    limit = ((scenario.get("system") or {}).get("oracle") or {}).get("gas_limit_gwei")
    if limit is not None:
        ax.axhline(
            limit,
            color=st.BLACK,
            linestyle="--",
            linewidth=1.0,
            label=f"oracle gas limit {limit:g} gwei",
        )
    ax.set_ylabel("gas price [gwei]")
    st.panel_title(ax, "Network gas price")
    st.legend(ax, fontsize=7.5)


def overview_title(scenario: Mapping[str, Any], seed: int | None) -> str:
    """``"Run overview — NAME (seed N)"`` and the scenario's description on a second line."""
    name = scenario.get("name") or "run"
    head = f"Run overview — {name}" + (f" (seed {seed})" if seed is not None else "")
    description = scenario.get("description")
    return f"{head}\n{description}" if description else head


def run_overview(
    timeseries: pd.DataFrame,
    auctions: pd.DataFrame | None,
    scenario: Mapping[str, Any],
    *,
    seed: int | None = None,
    title: str | None = None,
    banner: str | None = None,
    held: Mapping[str, float] | None = None,
    marks: list[tuple[str, float]] | None = None,
    complete: bool = True,
) -> Figure:
    """The run overview: a run's time series panel by panel (listed in the module docstring).

    Args:
        timeseries: the run's ``timeseries.parquet``.
        auctions: the run's ``auctions.parquet`` (``None`` or empty: no auctions).
        scenario: the resolved scenario (``manifest["scenario"]``): ilk order, collateral,
            ``mat``, the OSM ``hop``, and whether it has ``dai`` / ``network`` sections.
        seed: the run's seed, for the title.
        title: the figure title (default :func:`overview_title`).
        banner: a warning shown over the title, framed in red (e.g. ``"RUN FAILED at tick 120
            of 2880 — partial results"``), or ``None``.
        held: per collateral (and :data:`GAS`), the time from which a replayed series holds
            its last value because its data ended [s since the start]
            (:func:`sim.results.held_after`); that span is shaded.
        marks: the governance changes to mark, ``(name, seconds since the start)``
            (:func:`sim.results.governance_marks`, which knows the governors' firings); default:
            the scenario's spells.
        complete: the run has ended; a run still going (the live dashboard) says "no
            liquidation so far" in an empty panel, not "in this run".

    Returns:
        The figure: 8 panels, 9 with a Dai market, 10 with a Dai market and gas.
    """
    held = held or {}
    ilks = ilks_of(timeseries, scenario)
    extra = []
    if scenario.get("dai") and "dai_price" in timeseries:
        extra.append("dai")
    if scenario.get("network") and "gas_price_gwei" in timeseries:
        extra.append("gas")
    rows = 4 + (len(extra) + 1) // 2
    with st.styled():
        fig = st.new_figure(rows, 2)
        grid = np.asarray(fig.axes).reshape(rows, 2)
        _prices(grid[0, 0], timeseries, scenario, ilks, held)
        _cr(grid[0, 1], timeseries, scenario, ilks)
        for ax, field, amount in (
            (grid[1, 0], "unsafe_vaults", False),
            (grid[1, 1], "unsafe_debt", True),
        ):
            _per_ilk_before_after(ax, timeseries, ilks, field, amount=amount, complete=complete)
        _auctions(grid[2, 0], timeseries, scenario, ilks, complete)
        _outcomes(grid[2, 1], timeseries, auctions, ilks, complete)
        _supply(grid[3, 0], timeseries)
        _bad_debt(grid[3, 1], timeseries)
        cells = list(grid[4:].ravel())
        for what, ax in zip(extra, cells, strict=False):
            if what == "dai":
                _dai_price(ax, timeseries)
            else:
                _gas(ax, timeseries, scenario, held.get(GAS))
        st.hide_unused(cells[len(extra) :])
        for ax in fig.axes:
            if ax is not fig.axes[0]:
                ax.sharex(fig.axes[0])
            _time_axis(ax, timeseries)
        _spells(fig.axes, timeseries, scenario, marks)
        head = title or overview_title(scenario, seed)
        if banner:
            fig.suptitle(
                f"{banner}\n{head}",
                color=st.VERMILLION,
                bbox={"facecolor": BANNER_FILL, "edgecolor": st.VERMILLION, "pad": 6},
            )
        else:
            fig.suptitle(head)
        st.make_room(fig)
    return fig


def status_banner(manifest: Mapping[str, Any]) -> str | None:
    """``"RUN FAILED at tick 120 of 2880 — partial results"`` for a run that did not finish.

    Args:
        manifest: the run's ``manifest.json`` (``status``, ``ticks``, ``scenario.clock``).

    Returns:
        The banner, or ``None`` for a finished run (status ``ok`` or none recorded).
    """
    status = manifest.get("status")
    if not status or status == "ok":
        return None
    ticks = manifest.get("ticks")
    clock = (manifest.get("scenario") or {}).get("clock") or {}
    planned = None
    tick_s = _tick_seconds({"clock": clock})
    duration = clock.get("duration")
    if tick_s and duration is not None:
        try:
            seconds = (
                float(duration) if isinstance(duration, int | float) else parse_duration(duration)
            )
            planned = round(seconds / tick_s)
        except ValueError:
            planned = None
    where = f" at tick {ticks}" if ticks is not None else ""
    of = f" of {planned}" if planned and where else ""
    return f"RUN {str(status).upper()}{where}{of} — partial results"
