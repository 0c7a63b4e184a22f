"""The scenario-discovery figure: where in parameter space a KPI crosses a threshold.

:func:`discovery_boxes` draws, from the discovery tables of a sweep folder
(``discovery/<kpi>-<side>-<X>-<method>.parquet``, :mod:`sim.experiments.discovery`):

- the coverage–density trade-off: PRIM's peeling trajectory and every box's coverage and
  density;
- one panel of box limits per method, side by side — CART's leaves (scikit-learn's decision
  tree) beside PRIM's box (EMA Workbench) — each parameter's limits as a bar within its swept
  range, the restricted ones written out with their unit. Both panels list the parameters on
  the same rows, by their schema labels with the path in small type
  (:func:`sim.plots.labels.parameter_info`). A method without a box says why in its panel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.formatting import compact, duration_text
from sim.plots import style as st
from sim.plots.labels import parameter_infos
from sim.plots.sweep import SINGLE_WIDTH_IN, SweepPlotError, _as_number

#: Most boxes whose limits are drawn per method.
MAX_BOXES = 6
#: Percent per unit.
PERCENT = 100.0
#: The methods' panels, in this order, and what each panel's title says a box is.
METHOD_TITLES = {
    "cart": "CART boxes\n(tree leaves where most runs cross)",
    "prim": "PRIM box\n(chosen on the peeling trajectory)",
}
#: Right end of a limits panel's x axis: room for the limits written after the bars [%].
LIMITS_X_MAX = 150.0
#: Characters per line of the note in a method's panel without a box.
NOTE_CHARS = 42


def parameter_spans(
    parameters: Sequence[Mapping[str, Any]] | None, points: pd.DataFrame | None = None
) -> dict[str, tuple[float, float]]:
    """Each swept parameter's whole span: its ``range``, else its values' (or the points') ends.

    Durations written with a unit (``"30m"``) are read in seconds, as the tables hold them. A
    parameter of values that are not numbers (``[clip, flip]``) has no span.
    """
    spans: dict[str, tuple[float, float]] = {}
    for p in parameters or ():
        name = str(p.get("name"))
        if p.get("range") is not None:
            low, high = (_as_number(v) for v in p["range"])
        elif p.get("values"):
            try:
                numbers = [_as_number(v) for v in p["values"]]
            except ValueError:  # categorical values
                continue
            low, high = min(numbers), max(numbers)
        elif points is not None and name in points:
            low, high = float(points[name].min()), float(points[name].max())
        else:
            continue
        spans[name] = (low, high)
    return spans


def limits_text(lower: float, upper: float, unit: str) -> str:
    """A box's limits on one parameter, each in its own scale, with the unit.

    ``1.35 – 1.5``, ``1 M – 6 M Dai``, ``30m – 2h`` (a duration).

    Args:
        lower: the lower limit [the parameter's unit].
        upper: the upper limit.
        unit: the parameter's unit (``-``, ``Dai``, ``s``, ``× base value``).
    """
    if unit == "s":
        return f"{duration_text(lower)} – {duration_text(upper)}"
    text = f"{compact(lower)} – {compact(upper)}"
    return text if unit in ("", "-", "count") else f"{text} {unit}"


def _trade_off(ax: Axes, boxes: pd.DataFrame, trajectory: pd.DataFrame | None) -> None:
    if trajectory is not None and len(trajectory):
        ax.plot(
            trajectory["coverage"] * PERCENT,
            trajectory["density"] * PERCENT,
            color=st.BLUE,
            marker="o",
            markersize=3.5,
            label="PRIM peeling trajectory (each step: a smaller box)",
        )
    if boxes.empty or not {"coverage", "density"} <= set(boxes.columns):
        summary = pd.DataFrame(columns=["coverage", "density"])  # no box to place
    else:
        summary = boxes.groupby(["method", "box"], sort=False)[["coverage", "density"]].first()
    for k, ((method, box), row) in enumerate(summary.iterrows()):
        s = st.style(k + 1)
        ax.scatter(
            row["coverage"] * PERCENT,
            row["density"] * PERCENT,
            s=90,
            color=s.color,
            marker=s.marker,
            edgecolors="black",
            linewidths=0.6,
            zorder=4,
            label=f"{method} box {box}",
        )
    ax.set_xlabel("coverage [%] (share of the cases of interest inside the box)")
    ax.set_ylabel("density [%] (share of the box's runs that are of interest)")
    ax.set_xlim(0, 103)
    ax.set_ylim(0, 103)
    st.panel_title(ax, "Coverage–density trade-off")
    st.legend(ax, fontsize=7.5, loc="lower left")


def _limits(
    ax: Axes,
    boxes: pd.DataFrame,
    names: Sequence[str],
    spans: Mapping[str, tuple[float, float]],
    units: Mapping[str, str],
    first_style: int,
) -> None:
    """One method's boxes: a bar per box and parameter within the swept range (rows ``names``)."""
    keys = list(boxes.groupby(["method", "box"], sort=False).groups)[:MAX_BOXES]
    height = 0.8 / max(len(keys), 1)
    for k, key in enumerate(keys):
        s = st.style(first_style + k)
        mine = boxes[(boxes["method"] == key[0]) & (boxes["box"] == key[1])]
        for row in mine.itertuples():
            name = str(row.parameter)
            if name not in names:
                continue
            low, high = spans.get(name, (row.lower, row.upper))
            width = (high - low) or 1.0
            lo = (max(row.lower, low) - low) / width * PERCENT
            hi = (min(row.upper, high) - low) / width * PERCENT
            y = names.index(name) + (k - (len(keys) - 1) / 2) * height
            ax.barh(
                y,
                hi - lo,
                height * 0.9,
                left=lo,
                color=s.color,
                alpha=0.75,
                hatch=None if k == 0 else "//",
                edgecolor="black",
                linewidth=0.5,
                label=f"{key[0]} box {key[1]}" if row.Index == mine.index[0] else None,
            )
            restricted = getattr(row, "restricted", lo > 0 or hi < PERCENT)
            if restricted:
                ax.text(
                    min(hi, PERCENT) + 1,
                    y,
                    limits_text(row.lower, row.upper, units.get(name, "-")),
                    va="center",
                    fontsize=7.5,
                )
    st.legend(ax, fontsize=7.5, loc="lower right")


def _method_panel(
    ax: Axes,
    method: str,
    boxes: pd.DataFrame,
    note: str,
    names: Sequence[str],
    spans: Mapping[str, tuple[float, float]],
    units: Mapping[str, str],
    first_style: int,
) -> None:
    mine = boxes[boxes["method"].astype(str) == method] if len(boxes) else boxes
    if len(mine):
        _limits(ax, mine, names, spans, units, first_style)
    else:
        said = note or f"no {method.upper()} box"
        st.note(ax, st.wrap(said[0].upper() + said[1:], NOTE_CHARS))
    ax.set_ylim(len(names) - 0.5, -0.5)  # the first parameter on top, box 0 above box 1
    ax.set_xlim(0, LIMITS_X_MAX)
    ax.set_xticks([0, 25, 50, 75, 100])
    ax.set_xlabel("position within the swept range [%]\n(0 = its low end, 100 = its high end)")
    ax.grid(axis="y", visible=False)
    st.panel_title(ax, METHOD_TITLES.get(method, f"{method.upper()} boxes"))


def discovery_boxes(
    boxes: pd.DataFrame,
    trajectory: pd.DataFrame | None = None,
    *,
    parameters: Sequence[Mapping[str, Any]] | None = None,
    points: pd.DataFrame | None = None,
    title: str | None = None,
    note: str = "",
    methods: Sequence[str] | None = None,
    notes: Mapping[str, str] | None = None,
) -> Figure:
    """Boxes of parameter space where a KPI is above (or below) a threshold (``cdpsim discover``).

    Args:
        boxes: ``discovery/<kpi>-<above|below>-<X>-<method>.parquet`` (one row per box and
            parameter), the tables of several methods stacked (their ``method`` column tells
            them apart).
        trajectory: PRIM's ``...-trajectory.parquet``, if any.
        parameters: ``batch.json``'s ``sweep.parameters`` (ranges, units and labels).
        points: ``points.parquet`` (the spans of parameters without a ``range``).
        title: the figure title (say which KPI and threshold).
        note: why no box was found, when the table is empty (every method alike).
        methods: the methods to give a limits panel each, side by side (default: those in
            ``boxes``); a method without boxes says why in its panel (``notes``).
        notes: per method, why it found no box.

    Returns:
        The trade-off and one limits panel per method (the note alone when no method found a
        box and they agree why).

    Raises:
        SweepPlotError: the box table is empty and there is no note saying why.
    """
    notes = dict(notes or {})
    empty = boxes is None or len(boxes) == 0
    methods = list(methods or (dict.fromkeys(boxes["method"].astype(str)) if not empty else []))
    said = {notes.get(m) or note for m in methods} if methods else {note}
    if empty and len(said) <= 1:
        (only,) = said or {note}
        if not only:
            raise SweepPlotError("no boxes were found (the discovery table is empty)")
        with st.styled():
            has_trajectory = trajectory is not None and len(trajectory) > 0
            fig = st.new_figure(1, 2 if has_trajectory else 1, height=3.2)
            if not has_trajectory:
                fig.set_figwidth(SINGLE_WIDTH_IN)
            if has_trajectory:
                _trade_off(fig.axes[0], pd.DataFrame(columns=["method", "box"]), trajectory)
            panel = fig.axes[-1]
            panel.set_axis_off()
            st.note(panel, st.wrap(only[0].upper() + only[1:], 70))
            fig.suptitle(st.wrap(title or "Scenario discovery: no box", st.TITLE_CHARS))
        return fig
    boxes = boxes if not empty else pd.DataFrame(columns=["method", "box", "parameter"])
    spans = parameter_spans(parameters, points)
    order = [str(p.get("name")) for p in parameters or ()]
    found = list(dict.fromkeys(boxes["parameter"].astype(str)))
    names = [n for n in order if n in found] + [n for n in found if n not in order]
    info = parameter_infos(parameters, names)
    units = {n: i.unit for n, i in info.items()}
    with st.styled():
        fig = st.new_figure(
            1,
            1 + len(methods),
            height=max(4.8, 0.6 * len(names) + 2.4),
            gridspec_kw={"width_ratios": [1, *([1.15] * len(methods))]},
        )
        _trade_off(fig.axes[0], boxes, trajectory)
        first = 1
        for k, method in enumerate(methods):
            ax = fig.axes[1 + k]
            _method_panel(ax, method, boxes, notes.get(method, note), names, spans, units, first)
            first += boxes.loc[boxes["method"].astype(str) == method, "box"].nunique()
            if k == 0:
                st.row_labels(ax, range(len(names)), [(info[n].text, info[n].path) for n in names])
            else:  # the same rows as the first method's panel, which names them
                ax.set_yticks(range(len(names)), [""] * len(names))
        fig.suptitle(title or "Scenario discovery: where the KPI exceeds the threshold")
    return fig


__all__ = ["MAX_BOXES", "discovery_boxes", "limits_text", "parameter_spans"]
