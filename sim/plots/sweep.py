"""Views of a parameter sweep: KPI maps over parameters, sensitivity indices, discovered boxes.

- :func:`sweep_heatmap`: a KPI statistic (mean, a quantile, VaR95, ...) over two swept
  parameters, one cell per grid point (scattered designs are binned);
- :func:`sweep_line`: a KPI's mean over one parameter with its 5–95 % band over seeds;
- :func:`sobol_bars`: first-order (S1) and total (ST) Sobol indices with confidence intervals;
- :func:`morris_scatter`: Morris μ* against σ with μ*'s confidence interval;
- :func:`discovery_boxes`: boxes where a KPI exceeds a threshold (PRIM / CART): the
  coverage–density trade-off (PRIM's peeling trajectory) and each box's limits within the swept
  ranges.

Inputs are the sweep folder's tables (``points.parquet``, ``sensitivity.parquet``,
``discovery/*.parquet``) and the ``sweep`` section of ``batch.json`` for parameter units.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.plots import style as st
from sim.plots.labels import kpi_label, kpi_unit, parameter_label
from sim.units import parse_duration

#: A parameter with at most this many distinct values is a grid axis; more are binned.
MAX_GRID_LEVELS = 15
#: Bins per axis of a heatmap of scattered points.
SCATTER_BINS = 8
#: Heatmap cells get their value written in when there are at most this many.
MAX_ANNOTATED_CELLS = 120
#: Compact parameter values on ticks: (from, divisor, suffix), largest first.
COMPACT_SUFFIXES = ((1e9, 1e9, "bn"), (1e6, 1e6, "M"), (1e4, 1e3, "k"))
#: A cell smaller than this fraction of the largest is shown as 0 (float noise) [-].
ZERO_RELATIVE = 1e-9
#: Width of a single-panel sweep figure [inches] (its title wraps at style.TITLE_CHARS).
SINGLE_WIDTH_IN = 9.6
#: Size of the values written in heatmap cells [points].
CELL_FONT_SIZE = 9
#: Colour map of heatmaps: perceptually uniform, colour-blind safe, monotonic in grayscale.
CMAP = "viridis"
#: Most KPIs shown side by side in one sensitivity figure.
MAX_KPI_PANELS = 4
#: Room around the Sobol axis's [0, 1] [-].
SOBOL_MARGIN = 0.05
#: Morris reference lines σ/μ* (linear and monotonic below 0.1, non-linear or interacting above 1).
MORRIS_RATIOS = (0.1, 0.5, 1.0)
#: Most boxes whose limits are drawn.
MAX_BOXES = 6
#: Percent per unit.
PERCENT = 100.0
#: Statistics that exist for every KPI in ``points.parquet`` (``<kpi>_<stat>``).
KPI_STATS = ("mean", "std", "p05", "p50", "p95")


class SweepPlotError(ValueError):
    """A sweep view cannot be drawn from these tables (the message says why)."""


def stat_column(points: pd.DataFrame, kpi: str, stat: str = "mean") -> str:
    """The ``points.parquet`` column of a KPI statistic.

    ``<kpi>_<stat>`` (``bad_debt_max_mean``); a risk statistic of the bad-debt family by its
    own name (``var95`` of ``bad_debt_max`` → ``bad_debt_var95``; ``lar95`` of
    ``liquidated_debt`` → ``liquidated_debt_lar95``); or a column named outright
    (``p_bad_debt``).

    Raises:
        SweepPlotError: no such column; the message lists the statistics there are.
    """
    candidates = [f"{kpi}_{stat}"]
    if kpi.startswith("bad_debt"):
        candidates.append(f"bad_debt_{stat}")
    if kpi.startswith("liquidated_debt"):
        candidates.append(f"liquidated_debt_{stat}")
    candidates.append(kpi if stat in ("", "value") else "")
    for name in candidates:
        if name and name in points.columns:
            return name
    there = sorted(c[len(kpi) + 1 :] for c in points.columns if c.startswith(f"{kpi}_"))
    for family in ("bad_debt", "liquidated_debt"):
        if kpi.startswith(family):
            there += sorted(
                c[len(family) + 1 :]
                for c in points.columns
                if c.startswith(f"{family}_")
                and not c.startswith(f"{kpi}_")
                and not c[len(family) + 1 :].startswith(("max", "final"))
            )
    raise SweepPlotError(
        f"no {stat!r} of {kpi!r} in points.parquet (there are: {', '.join(there) or 'none'})"
    )


def _spec(parameters: Sequence[Mapping[str, Any]] | None, name: str) -> Mapping[str, Any]:
    for p in parameters or ():
        if p.get("name") == name:
            return p
    return {}


def _varying(
    points: pd.DataFrame, parameters: Sequence[Mapping[str, Any]] | None, shown: Sequence[str]
) -> list[str]:
    """The swept parameters not on the axes that take more than one value in ``points``."""
    names = [str(p.get("name")) for p in parameters or ()]
    return [n for n in names if n not in shown and n in points and points[n].nunique() > 1]


def _levels(values: pd.Series, log: bool = False) -> tuple[np.ndarray, np.ndarray, bool]:
    """Cell index of each value, the cell centres, and whether the axis is a grid.

    A scattered axis is cut into :data:`SCATTER_BINS` equal bins, in log space for a
    parameter drawn ``loguniform``.
    """
    unique = np.sort(values.dropna().unique())
    if len(unique) <= MAX_GRID_LEVELS:
        return np.searchsorted(unique, values.to_numpy()), unique, True
    log = log and unique[0] > 0
    ends = np.log(unique[[0, -1]]) if log else unique[[0, -1]]
    edges = np.linspace(ends[0], ends[1], SCATTER_BINS + 1)
    data = np.log(values.to_numpy(dtype=float)) if log else values.to_numpy(dtype=float)
    index = np.clip(np.searchsorted(edges, data, side="right") - 1, 0, SCATTER_BINS - 1)
    centres = (edges[:-1] + edges[1:]) / 2
    return index, np.exp(centres) if log else centres, False


def _format(value: float, top: float) -> str:
    """A cell's value: 3 significant digits; rounding noise next to the largest value is 0."""
    if not np.isfinite(value):
        return ""
    if abs(value) <= ZERO_RELATIVE * abs(top):
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _tick_text(value: float) -> str:
    """A parameter value, compact: 20 000 000 → ``20M``, 1.0625 → ``1.062``."""
    for threshold, divisor, suffix in COMPACT_SUFFIXES:
        if abs(value) >= threshold:
            return f"{value / divisor:.3g}{suffix}"
    return f"{value:.4g}"


def sweep_heatmap(
    points: pd.DataFrame,
    x: str,
    y: str,
    kpi: str,
    stat: str = "mean",
    *,
    parameters: Sequence[Mapping[str, Any]] | None = None,
    title: str | None = None,
) -> Figure:
    """A KPI statistic over two swept parameters.

    On a grid design every (x, y) pair is a cell; a scattered design (random, LHS, Sobol) is
    binned into :data:`SCATTER_BINS` × :data:`SCATTER_BINS` cells. Other swept parameters, and
    points falling in the same cell, are averaged over (the subtitle says so).

    Args:
        points: ``points.parquet``.
        x: the parameter on the x axis (its column name).
        y: the parameter on the y axis.
        kpi: the KPI (``bad_debt_max``).
        stat: ``mean``, ``std``, ``p05``, ``p50``, ``p95`` or a risk statistic (``var95``,
            ``var99``, ``es95``, ``lar95``).
        parameters: ``batch.json``'s ``sweep.parameters`` (units of the axes).
        title: the figure title.

    Returns:
        One panel and a colour bar.

    Raises:
        SweepPlotError: a parameter or the statistic is not in ``points``.
    """
    for name in (x, y):
        if name not in points.columns:
            raise SweepPlotError(f"no parameter {name!r} in points.parquet")
    column = stat_column(points, kpi, stat)
    xi, xc, x_grid = _levels(points[x], _spec(parameters, x).get("dist") == "loguniform")
    yi, yc, y_grid = _levels(points[y], _spec(parameters, y).get("dist") == "loguniform")
    values = points[column].to_numpy(dtype=float)
    sums = np.zeros((len(yc), len(xc)))
    counts = np.zeros_like(sums)
    ok = np.isfinite(values)
    np.add.at(sums, (yi[ok], xi[ok]), values[ok])
    np.add.at(counts, (yi[ok], xi[ok]), 1)
    with np.errstate(invalid="ignore"):
        grid = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    divisor, prefix = (
        st.amount_scale(grid[np.isfinite(grid)])
        if kpi_unit(kpi)
        in (
            "Dai",
            "USD",
        )
        else (1.0, "")
    )
    grid = grid / divisor
    others = _varying(points, parameters, (x, y))
    with st.styled():
        fig = Figure(figsize=(SINGLE_WIDTH_IN, 6.4), layout="constrained")
        ax = fig.add_subplot()
        mesh = ax.imshow(
            np.ma.masked_invalid(grid),
            origin="lower",
            aspect="auto",
            cmap=CMAP,
            interpolation="nearest",
        )
        ax.set_xticks(range(len(xc)), [_tick_text(v) for v in xc])
        ax.set_yticks(range(len(yc)), [_tick_text(v) for v in yc])
        ax.grid(False)
        if grid.size <= MAX_ANNOTATED_CELLS:
            finite = grid[np.isfinite(grid)]
            middle = (finite.min() + finite.max()) / 2 if finite.size else 0.0
            for (r, c), value in np.ndenumerate(grid):
                if np.isfinite(value):
                    ax.text(
                        c,
                        r,
                        _format(value, float(np.nanmax(np.abs(grid)))),
                        ha="center",
                        va="center",
                        fontsize=CELL_FONT_SIZE,
                        color="black" if value > middle else "white",
                    )
        ax.set_xlabel(
            parameter_label(x, _spec(parameters, x)) + ("" if x_grid else ", bin centres")
        )
        ax.set_ylabel(
            parameter_label(y, _spec(parameters, y)) + ("" if y_grid else ", bin centres")
        )
        bar = fig.colorbar(mesh, ax=ax)
        bar.set_label(kpi_label(kpi, stat if column != kpi else None, prefix))
        notes = []
        if others:
            notes.append(f"averaged over {', '.join(others)}")
        if not (x_grid and y_grid):
            notes.append(f"design points binned {SCATTER_BINS}×{SCATTER_BINS}")
        if (counts == 0).any():
            notes.append("blank: no design point")
        head = title or f"{kpi} ({stat}) over {x} and {y}"
        seeds = points["n"].unique() if "n" in points else []
        per_point = f" ({int(seeds[0])} runs each)" if len(seeds) == 1 else ""
        st.panel_title(ax, "; ".join(notes) if notes else f"one cell per design point{per_point}")
        fig.suptitle(st.wrap(head))
    return fig


def sweep_line(
    points: pd.DataFrame,
    x: str,
    kpi: str,
    *,
    parameters: Sequence[Mapping[str, Any]] | None = None,
    title: str | None = None,
) -> Figure:
    """A KPI's mean over one swept parameter, with the 5–95 % band of its runs and the median.

    Points sharing an x value (other parameters varying) are averaged; the subtitle says so.

    Args:
        points: ``points.parquet``.
        x: the parameter (its column name).
        kpi: the KPI.
        parameters: ``batch.json``'s ``sweep.parameters`` (the axis unit).
        title: the figure title.

    Returns:
        One panel.

    Raises:
        SweepPlotError: the parameter or the KPI's statistics are not in ``points``.
    """
    if x not in points.columns:
        raise SweepPlotError(f"no parameter {x!r} in points.parquet")
    columns = {s: stat_column(points, kpi, s) for s in ("mean", "p05", "p50", "p95")}
    table = points.groupby(x)[list(columns.values())].mean().sort_index()
    xs = table.index.to_numpy(dtype=float)
    divisor, prefix = (
        st.amount_scale(table.to_numpy()) if kpi_unit(kpi) in ("Dai", "USD") else (1.0, "")
    )
    others = _varying(points, parameters, (x,))
    with st.styled():
        fig = Figure(figsize=(SINGLE_WIDTH_IN, 5.2), layout="constrained")
        ax = fig.add_subplot()
        ax.fill_between(
            xs,
            table[columns["p05"]] / divisor,
            table[columns["p95"]] / divisor,
            color=st.BLUE,
            alpha=st.BAND_ALPHA_OUTER,
            linewidth=0,
            label="5–95 % of the runs (seeds)",
        )
        ax.plot(
            xs, table[columns["mean"]] / divisor, color=st.BLUE, marker="o", label="mean over seeds"
        )
        ax.plot(
            xs,
            table[columns["p50"]] / divisor,
            color=st.VERMILLION,
            linestyle="--",
            marker="s",
            markersize=4,
            label="median over seeds",
        )
        ax.set_xlabel(parameter_label(x, _spec(parameters, x)))
        ax.set_ylabel(kpi_label(kpi, None, prefix))
        st.plain_numbers(ax)
        st.legend(ax)
        st.panel_title(
            ax, f"averaged over {', '.join(others)}" if others else "one point per design value"
        )
        fig.suptitle(st.wrap(title or f"{kpi} over {x}"))
    return fig


def _kpis(sensitivity: pd.DataFrame, kpi: str | Sequence[str] | None) -> list[str]:
    found = list(dict.fromkeys(sensitivity["kpi"].astype(str)))
    if kpi is None:
        return found[:MAX_KPI_PANELS]
    wanted = [kpi] if isinstance(kpi, str) else list(kpi)
    missing = [k for k in wanted if k not in found]
    if missing:
        raise SweepPlotError(
            f"no sensitivity indices of {', '.join(missing)} (there are: {', '.join(found)})"
        )
    return wanted


def _method_rows(sensitivity: pd.DataFrame | None, method: str) -> pd.DataFrame:
    if sensitivity is None or len(sensitivity) == 0:
        raise SweepPlotError("no sensitivity indices (sensitivity.parquet)")
    rows = sensitivity[sensitivity["method"].astype(str) == method]
    if len(rows) == 0:
        there = ", ".join(sorted(sensitivity["method"].astype(str).unique()))
        raise SweepPlotError(f"no {method} indices in sensitivity.parquet (there are: {there})")
    return rows


def sobol_bars(
    sensitivity: pd.DataFrame,
    kpi: str | Sequence[str] | None = None,
    *,
    title: str | None = None,
) -> Figure:
    """First-order (S1) and total (ST) Sobol indices per parameter, with confidence intervals.

    Args:
        sensitivity: ``sensitivity.parquet`` (rows with ``method == "sobol"``).
        kpi: the KPI(s) to show (default: each KPI in the table, up to :data:`MAX_KPI_PANELS`).
        title: the figure title.

    Returns:
        One panel per KPI, parameters sorted by ST.

    Raises:
        SweepPlotError: no Sobol indices (of that KPI).
    """
    rows = _method_rows(sensitivity, "sobol")
    kpis = _kpis(rows, kpi)
    n_params = rows["parameter"].nunique()
    with st.styled():
        fig = st.new_figure(1, len(kpis), height=max(3.6, 0.55 * n_params + 1.8), sharex=False)
        fig.set_figwidth(max(6.5, 5.2 * len(kpis)))
        for ax, name in zip(fig.axes, kpis, strict=True):
            mine = rows[rows["kpi"] == name].sort_values("ST", ascending=True)
            ys = np.arange(len(mine))
            height = 0.38
            ax.barh(
                ys + height / 2,
                mine["ST"],
                height,
                xerr=mine["ST_conf"],
                color=st.BLUE,
                edgecolor="white",
                hatch="//",
                capsize=3,
                label="ST: total effect (with interactions)",
            )
            ax.barh(
                ys - height / 2,
                mine["S1"],
                height,
                xerr=mine["S1_conf"],
                color=st.ORANGE,
                capsize=3,
                label="S1: first-order effect (alone)",
            )
            ax.set_yticks(ys, mine["parameter"].astype(str))
            ax.axvline(0, color="0.3", linewidth=0.8)
            estimates = mine[["S1", "ST"]].to_numpy(dtype=float)
            finite = estimates[np.isfinite(estimates)]
            if finite.size == 0:
                st.note(ax, "no indices: the KPI is the same at every point (or a point failed)")
            else:  # indices lie in [0, 1]; very wide whiskers (few samples) are cut at the axis
                ax.set_xlim(
                    min(-SOBOL_MARGIN, finite.min() - SOBOL_MARGIN),
                    max(1 + SOBOL_MARGIN, finite.max() + SOBOL_MARGIN),
                )
            ax.set_xlabel("Sobol index [-] (share of the KPI's variance)")
            st.panel_title(ax, f"{name} [{kpi_unit(name)}]")
            ax.grid(axis="y", visible=False)
            st.legend(ax, loc="lower right", fontsize=7.5)
        fig.suptitle(
            (title or "Sobol sensitivity indices: which parameters drive the KPI")
            + "\nwhiskers: confidence intervals (bootstrap), cut at the axis ends"
        )
    return fig


def morris_scatter(
    sensitivity: pd.DataFrame,
    kpi: str | Sequence[str] | None = None,
    *,
    title: str | None = None,
) -> Figure:
    """Morris screening: μ* (mean absolute elementary effect) against σ, per parameter.

    Dotted lines mark σ/μ* = 0.1, 0.5 and 1: near the x axis a parameter's effect is close to
    linear; above the steepest line it is non-linear or interacts with others.

    Args:
        sensitivity: ``sensitivity.parquet`` (rows with ``method == "morris"``).
        kpi: the KPI(s) to show (default: each KPI in the table, up to :data:`MAX_KPI_PANELS`).
        title: the figure title.

    Returns:
        One panel per KPI.

    Raises:
        SweepPlotError: no Morris indices (of that KPI).
    """
    rows = _method_rows(sensitivity, "morris")
    kpis = _kpis(rows, kpi)
    with st.styled():
        fig = st.new_figure(1, len(kpis), height=5.0)
        fig.set_figwidth(max(6.5, 5.6 * len(kpis)))
        for ax, name in zip(fig.axes, kpis, strict=True):
            mine = rows[rows["kpi"] == name]
            values = mine[["mu_star", "sigma"]].to_numpy(dtype=float)
            divisor, prefix = (
                st.amount_scale(values) if kpi_unit(name) in ("Dai", "USD") else (1.0, "")
            )
            unit = f"{prefix}{kpi_unit(name)}"
            for k, row in enumerate(mine.itertuples()):
                s = st.style(k)
                ax.errorbar(
                    row.mu_star / divisor,
                    row.sigma / divisor,
                    xerr=row.mu_star_conf / divisor,
                    color=s.color,
                    marker=s.marker,
                    markersize=7,
                    capsize=3,
                    linestyle="none",
                    label=str(row.parameter),
                )
                ax.annotate(
                    str(row.parameter),
                    (row.mu_star / divisor, row.sigma / divisor),
                    xytext=(5, 5),
                    textcoords="offset points",
                    fontsize=7.5,
                    color=s.color,
                )
            reach = np.concatenate(
                [
                    (mine["mu_star"] + mine["mu_star_conf"].fillna(0)).to_numpy(dtype=float),
                    mine["sigma"].to_numpy(dtype=float),
                ]
            )
            top = float(np.nanmax(reach)) / divisor if reach.size else 1.0
            top = top * 1.15 if top > 0 else 1.0
            line = np.array([0.0, top])
            for k, ratio in enumerate(MORRIS_RATIOS):
                ax.plot(
                    line,
                    line * ratio,
                    color="0.45",
                    linestyle=st.LINESTYLES[(k + 1) % len(st.LINESTYLES)],
                    linewidth=0.9,
                    label=f"σ/μ* = {ratio:g}",
                )
            ax.set_xlim(0, top)
            ax.set_ylim(0, top)
            ax.set_xlabel(f"μ*: mean |elementary effect| [{unit} per parameter range]")
            ax.set_ylabel(f"σ: spread of the effects [{unit} per parameter range]")
            st.panel_title(ax, f"{name} [{kpi_unit(name)}]")
            st.legend(ax, fontsize=7.5, loc="upper left")
        fig.suptitle(title or "Morris screening: effect size (μ*) vs non-linearity (σ)")
    return fig


def _as_number(value: Any) -> float:
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return parse_duration(value)
    return float(value)


def parameter_spans(
    parameters: Sequence[Mapping[str, Any]] | None, points: pd.DataFrame | None = None
) -> dict[str, tuple[float, float]]:
    """Each swept parameter's whole span: its ``range``, else its values' (or the points') ends.

    Durations written with a unit (``"30m"``) are read in seconds, as the tables hold them.
    """
    spans: dict[str, tuple[float, float]] = {}
    for p in parameters or ():
        name = str(p.get("name"))
        if p.get("range") is not None:
            low, high = (_as_number(v) for v in p["range"])
        elif p.get("values"):
            numbers = [_as_number(v) for v in p["values"]]
            low, high = min(numbers), max(numbers)
        elif points is not None and name in points:
            low, high = float(points[name].min()), float(points[name].max())
        else:
            continue
        spans[name] = (low, high)
    return spans


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
    summary = boxes.groupby(["method", "box"], sort=True)[["coverage", "density"]].first()
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
    spans: Mapping[str, tuple[float, float]],
    parameters: Sequence[Mapping[str, Any]] | None,
) -> None:
    keys = list(boxes.groupby(["method", "box"], sort=True).groups)[:MAX_BOXES]
    names = list(dict.fromkeys(boxes["parameter"].astype(str)))
    height = 0.8 / max(len(keys), 1)
    for k, key in enumerate(keys):
        s = st.style(k + 1)
        mine = boxes[(boxes["method"] == key[0]) & (boxes["box"] == key[1])]
        for row in mine.itertuples():
            name = str(row.parameter)
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
                    f"{_tick_text(row.lower)} – {_tick_text(row.upper)}",
                    va="center",
                    fontsize=7.5,
                )
    ax.set_yticks(
        range(len(names)), [parameter_label(n, _spec(parameters, n)) for n in names], fontsize=8
    )
    ax.invert_yaxis()  # the first parameter on top, box 0 above box 1
    ax.set_xlim(0, 135)
    ax.set_xticks([0, 25, 50, 75, 100])
    ax.set_xlabel("position within the swept range [%] (0 = its low end, 100 = its high end)")
    ax.grid(axis="y", visible=False)
    st.panel_title(ax, "Box limits (restricted parameters labelled with their limits)")
    st.legend(ax, fontsize=7.5, loc="lower right")


def discovery_boxes(
    boxes: pd.DataFrame,
    trajectory: pd.DataFrame | None = None,
    *,
    parameters: Sequence[Mapping[str, Any]] | None = None,
    points: pd.DataFrame | None = None,
    title: str | None = None,
) -> Figure:
    """Boxes of parameter space where a KPI exceeds a threshold (``cdpsim discover``).

    Args:
        boxes: ``discovery/<kpi>-above-<X>.parquet`` (one row per box and parameter).
        trajectory: PRIM's ``...-trajectory.parquet``, if any.
        parameters: ``batch.json``'s ``sweep.parameters`` (ranges and units).
        points: ``points.parquet`` (the spans of parameters without a ``range``).
        title: the figure title (say which KPI and threshold).

    Returns:
        Two panels: the trade-off and the box limits.

    Raises:
        SweepPlotError: the box table is empty.
    """
    if boxes is None or len(boxes) == 0:
        raise SweepPlotError("no boxes were found (the discovery table is empty)")
    spans = parameter_spans(parameters, points)
    n_params = boxes["parameter"].nunique()
    with st.styled():
        fig = st.new_figure(
            1,
            2,
            height=max(4.6, 0.5 * n_params + 2.0),
            gridspec_kw={"width_ratios": [1, 1.35]},
        )
        _trade_off(fig.axes[0], boxes, trajectory)
        _limits(fig.axes[1], boxes, spans, parameters)
        fig.suptitle(title or "Scenario discovery: where the KPI exceeds the threshold")
    return fig
