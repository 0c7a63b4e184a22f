"""The live run's interactive chart: which series it plots, and the points each frame adds.

The live page draws the run with Plotly in the browser (zoom, pan, hover with the values of
every series at a time), not as a picture redrawn on the server: a picture of the whole run
costs about as much to draw at tick 2 880 as the model costs to run 2 880 ticks, so a page that
redraws it cannot keep up with the model. Here the figure is laid out once per model
(:func:`live_figure`: panels, axes over the whole run, empty traces), and each frame sends only
the points recorded since the last one (:func:`points`), which the browser appends
(``Plotly.extendTraces``).

The panels follow the run overview of :mod:`sim.plots.overview` (the folder views and ``cdpsim
plot``): prices and the oracle, the CR quantiles against ``mat``, unsafe vaults, auctions, Dai
supply, bad debt and the Vow's surplus, and the Dai price and gas price when the scenario has a
Dai market or a network. While the run is incomplete an empty panel says so *so far*
(:func:`notes`). No solara here; plotly only lays the figure out (its JavaScript, shipped in the
same package, draws it: :mod:`sim.app.plotly_chart`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import plotly.io
from plotly.subplots import make_subplots

from sim.plots.style import OKABE_ITO, SERIES
from sim.record import col, quantile_name

#: Height of one row of panels in the page [CSS pixels].
ROW_PX = 250
#: Colours of the CR bands (5–95 %, 25–75 %), as the run overview's.
BAND_ALPHA = (0.18, 0.35)


@dataclass(frozen=True)
class Trace:
    """One series of the chart.

    Attributes:
        name: the legend's and the hover's label.
        column: the recorder's column it plots (:mod:`sim.record`).
        panel: the panel's position, from 0 (row by row, two to a row).
        cumulative: plot the running sum of the column (auctions started so far).
    """

    name: str
    column: str
    panel: int
    cumulative: bool = False


@dataclass(frozen=True)
class Panel:
    """One panel: its title, its y axis' label, and the note it shows while it has no data.

    Attributes:
        title: what it shows.
        unit: the y axis' label with its unit.
        empty: the note, without its ending (``no liquidation`` → ``no liquidation so far`` while
            the run goes on, ``no liquidation in this run`` at its end); ``""`` for none.
        columns: the recorder's columns that must all be zero for the note to show.
    """

    title: str
    unit: str
    empty: str = ""
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChartSpec:
    """The live chart of one model: its Plotly figure (traces empty) and what each trace plots.

    Attributes:
        figure: the Plotly figure as JSON-ready dicts (``data``, ``layout``); its first
            ``len(traces)`` traces grow, any after them (``mat``) are drawn whole at once.
        traces: what each growing trace plots, in the figure's order.
        panels: the panels, in order.
        columns: every recorder column the chart reads.
        start_ms: the run's start [ms since 1970, UTC]; tick ``k`` is at ``start_ms + k·dt_ms``.
        dt_ms: a tick [ms].
    """

    figure: dict[str, Any]
    traces: tuple[Trace, ...]
    panels: tuple[Panel, ...]
    columns: tuple[str, ...]
    start_ms: float
    dt_ms: float


def _ilks(scenario: Mapping[str, Any]) -> list[str]:
    return list(scenario.get("ilks") or {})


def _collateral(scenario: Mapping[str, Any], ilk: str) -> str:
    return str(scenario["ilks"][ilk].get("collateral", ilk))


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[k : k + 2], 16) for k in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _panels(scenario: Mapping[str, Any], ilks: list[str]) -> list[Panel]:
    unsafe = tuple(col("unsafe_vaults", i) for i in ilks)
    started = tuple(col("liquidations", i) for i in ilks)
    panels = [
        Panel("Market price vs oracle (OSM) price", "price [USD/token]"),
        Panel("Collateral ratio of open vaults (market price) vs mat", "collateral ratio [-]"),
        Panel(
            "Unsafe vaults (at the oracle price)",
            "unsafe vaults [count]",
            "no unsafe vault",
            unsafe,
        ),
        Panel(
            "Liquidations: auctions started and running",
            "auctions [count]",
            "no liquidation",
            started,
        ),
        Panel("Dai supply (Vat debt, unbacked Dai included)", "Dai supply [Dai]"),
        Panel("Bad debt and the Vow's surplus", "amount [Dai]", "no bad debt", ("bad_debt",)),
    ]
    if scenario.get("dai"):
        panels.append(Panel("Dai price", "Dai price [USD/Dai]"))
    if scenario.get("network"):
        panels.append(Panel("Network gas price", "gas price [gwei]"))
    return panels


def _traces(
    scenario: Mapping[str, Any], ilks: list[str], quantiles: Sequence[float]
) -> list[tuple[Trace, dict[str, Any]]]:
    """The growing traces with their Plotly style, panel by panel."""
    several = len(ilks) > 1
    out: list[tuple[Trace, dict[str, Any]]] = []
    seen: set[str] = set()
    for k, ilk in enumerate(ilks):
        asset = _collateral(scenario, ilk)
        if asset in seen:
            continue
        seen.add(asset)
        colour = OKABE_ITO[k % len(OKABE_ITO)]
        out.append((Trace(f"{asset} market", col("price", ilk), 0), {"line": {"color": colour}}))
        out.append(
            (
                Trace(f"{asset} OSM", col("osm_price", ilk), 0),
                {"line": {"color": colour, "dash": "dash", "shape": "hv"}},
            )
        )
    qs = sorted(quantiles)
    names = [quantile_name(q) for q in qs]
    pct = [f"{100 * q:g}" for q in qs]
    pairs = [(j, len(qs) - 1 - j) for j in range(len(qs) // 2)]
    for k, ilk in enumerate(ilks):
        colour = OKABE_ITO[k % len(OKABE_ITO)]
        label = f"{ilk} " if several else ""
        for j, (lo, hi) in enumerate(pairs[:2]):
            fill = _rgba(colour, BAND_ALPHA[min(j, 1)])
            out.append(
                (
                    Trace(f"{label}CR {pct[lo]} %", col(names[lo], ilk), 1),
                    {"line": {"width": 0, "color": fill}, "showlegend": False},
                )
            )
            out.append(
                (
                    Trace(f"{label}CR {pct[lo]}–{pct[hi]} %", col(names[hi], ilk), 1),
                    {"line": {"width": 0, "color": fill}, "fill": "tonexty", "fillcolor": fill},
                )
            )
        if "cr_p50" in names:
            out.append(
                (Trace(f"{label}median CR", col("cr_p50", ilk), 1), {"line": {"color": colour}})
            )
    for k, ilk in enumerate(ilks):
        colour = OKABE_ITO[k % len(OKABE_ITO)]
        label = f"{ilk} " if several else ""
        out.append(
            (
                Trace(f"{ilk} unsafe vaults", col("unsafe_vaults", ilk), 2),
                {"line": {"color": colour, "shape": "hv"}},
            )
        )
        out.append(
            (
                Trace(f"{label}auctions started", col("liquidations", ilk), 3, cumulative=True),
                {"line": {"color": colour, "shape": "hv"}},
            )
        )
        out.append(
            (
                Trace(f"{label}auctions running", col("auctions_active", ilk), 3),
                {"line": {"color": colour, "shape": "hv", "dash": "dot"}},
            )
        )
    out.append((Trace("Dai supply", "dai_supply", 4), {"line": {"color": SERIES["dai_supply"]}}))
    out.append(
        (
            Trace("Vow surplus", "surplus", 5),
            {"line": {"color": SERIES["surplus"], "width": 0}, "fill": "tozeroy"},
        )
    )
    out.append((Trace("bad debt", "bad_debt", 5), {"line": {"color": SERIES["bad_debt"]}}))
    panel = 6
    if scenario.get("dai"):
        out.append(
            (Trace("Dai price", "dai_price", panel), {"line": {"color": SERIES["dai_price"]}})
        )
        panel += 1
    if scenario.get("network"):
        out.append(
            (Trace("gas price", "gas_price_gwei", panel), {"line": {"color": SERIES["gas"]}})
        )
    return out


def live_figure(
    scenario: Mapping[str, Any],
    *,
    n_ticks: int,
    dt: float,
    start: Any,
    quantiles: Sequence[float] = (),
) -> ChartSpec:
    """Lay out the live chart of a model: panels, axes over the whole run, empty traces.

    Args:
        scenario: the resolved scenario (``Scenario.to_dict()``): ilks, collateral, ``mat``,
            whether it has ``dai`` and ``network`` sections.
        n_ticks: ticks in the run.
        dt: a tick [s].
        start: the run's start (a ``datetime`` or ISO 8601 text; naive means UTC).
        quantiles: the CR quantiles the recorder keeps (``record.cr_quantiles``) [-].

    Returns:
        The chart's spec; its figure's time axis spans the whole run, so the chart fills from
        the left as the run goes on.
    """
    ilks = _ilks(scenario)
    panels = _panels(scenario, ilks)
    growing = _traces(scenario, ilks, quantiles)
    rows = (len(panels) + 1) // 2
    fig = make_subplots(
        rows=rows,
        cols=2,
        shared_xaxes="all",
        subplot_titles=[p.title for p in panels],
        vertical_spacing=0.32 / rows,
        horizontal_spacing=0.08,
    )
    for trace, style in growing:
        fig.add_scatter(
            x=[],
            y=[],
            name=trace.name,
            mode="lines",
            legendgroup=str(trace.panel),
            legendgrouptitle_text=panels[trace.panel].title.split(":")[0].split(" (")[0],
            row=trace.panel // 2 + 1,
            col=trace.panel % 2 + 1,
            **style,
        )
    start_ms = pd.Timestamp(start).value / 1e6
    dt_ms = dt * 1000.0
    end_ms = start_ms + n_ticks * dt_ms
    for ilk in ilks:  # mat: drawn whole at once, over the whole run
        mat = (scenario["ilks"][ilk] or {}).get("mat")
        if mat is None:
            continue
        fig.add_scatter(
            x=[start_ms, end_ms],
            y=[float(mat)] * 2,
            name=f"{ilk} mat = {float(mat):g}"
            if len(ilks) > 1
            else f"liquidation ratio mat = {float(mat):g}",
            mode="lines",
            line={"color": SERIES["mat"], "dash": "dash", "width": 1},
            legendgroup="1",
            row=1,
            col=2,
        )
    for k, panel in enumerate(panels):
        fig.update_yaxes(title_text=panel.unit, row=k // 2 + 1, col=k % 2 + 1)
    fig.update_xaxes(type="date", range=[start_ms, end_ms], showticklabels=True)
    fig.update_layout(
        height=ROW_PX * rows + 60,
        margin={"l": 60, "r": 20, "t": 40, "b": 30},
        hovermode="x unified",
        legend={"groupclick": "toggleitem", "font": {"size": 10}},
        template="plotly_white",
        uirevision="live",  # a zoom survives new points
    )
    columns = tuple(dict.fromkeys(t.column for t, _ in growing))
    return ChartSpec(
        figure=json.loads(plotly.io.to_json(fig)),
        traces=tuple(t for t, _ in growing),
        panels=tuple(panels),
        columns=columns,
        start_ms=start_ms,
        dt_ms=dt_ms,
    )


def _listed(values: np.ndarray) -> list[float | None]:
    """Floats for JSON: ``NaN`` (no open vault: no CR quantile) as ``None``, a gap."""
    return [None if v != v else float(v) for v in values.tolist()]


def points(
    spec: ChartSpec, series: Mapping[str, np.ndarray], begin: int, end: int
) -> dict[str, Any]:
    """The points of ticks ``begin … end − 1`` of every growing trace, for ``extendTraces``.

    Args:
        spec: the chart.
        series: the recorder's columns up to at least ``end`` (:attr:`ChartSpec.columns`).
        begin: the first tick to send.
        end: one past the last.

    Returns:
        ``{"x": [[ms, …], …], "y": [[value, …], …], "traces": [0, 1, …]}``: per growing trace,
        times [ms since 1970, UTC] and values (``None`` for a gap).
    """
    x = (spec.start_ms + np.arange(begin, end) * spec.dt_ms).tolist()
    ys = []
    for trace in spec.traces:
        column = np.asarray(series[trace.column], dtype=float)
        if trace.cumulative:
            base = float(column[:begin].sum()) if begin else 0.0
            ys.append(_listed(base + np.cumsum(column[begin:end])))
        else:
            ys.append(_listed(column[begin:end]))
    return {"x": [x] * len(spec.traces), "y": ys, "traces": list(range(len(spec.traces)))}


def notes(spec: ChartSpec, series: Mapping[str, np.ndarray], *, finished: bool) -> list[str]:
    """Per panel, the note it shows: ``no liquidation so far`` (``… in this run`` at the end).

    Args:
        spec: the chart.
        series: the recorder's columns up to the tick reached.
        finished: the run reached its last tick (else what is empty is empty *so far*).

    Returns:
        One text per panel, ``""`` where the panel has data or no note.
    """
    ending = "in this run" if finished else "so far"
    out = []
    for panel in spec.panels:
        empty = bool(panel.empty) and all(
            not np.any(np.asarray(series[c], dtype=float)) for c in panel.columns if c in series
        )
        out.append(f"{panel.empty} {ending}" if empty else "")
    return out
