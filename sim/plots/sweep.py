"""Views of a parameter sweep: KPI maps over parameters, sensitivity indices, discovered boxes.

- :func:`sweep_heatmap`: a KPI statistic (mean, a quantile, VaR95, ...) over two swept
  parameters, one cell per grid point (scattered designs — random, LHS, Sobol, Morris — are
  binned over the swept range, the bin edges labelled);
- :func:`sweep_line`: a KPI's mean over one parameter with its 5–95 % band over seeds; for a
  scattered design, every design point as a dot and the mean of the points in each bin along
  x with their 5–95 % band (never a line through single points);
- :func:`sobol_bars`: first-order (S1) and total (ST) Sobol indices with confidence intervals,
  the parameters in one order in every panel;
- :func:`morris_scatter`: Morris μ* against σ with μ*'s confidence interval, the points
  labelled where the labels do not collide;
- the boxes where a KPI exceeds a threshold (PRIM beside CART) are drawn by
  :mod:`sim.plots.discovery`.

Every parameter is named by its schema label and unit with its path in small type
(:func:`sim.plots.labels.parameter_info`); amounts carry the scale suffix of their own
magnitude (:func:`sim.formatting.compact`).

Inputs are the sweep folder's tables (``points.parquet``, ``sensitivity.parquet``) and the ``sweep`` section of ``batch.json`` for parameter units.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from sim.formatting import compact
from sim.metrics import MIN_TAIL_RUNS, N_RUNS, RISK_STATS, runs_mark, tail_warning
from sim.plots import style as st
from sim.plots.labels import ParameterLabel, counted, kpi_label, kpi_unit, parameter_info
from sim.units import parse_duration

#: A parameter with at most this many distinct values is a grid axis; more are binned.
MAX_GRID_LEVELS = 15
#: Most bins per axis of a heatmap (or line) of scattered points.
SCATTER_BINS = 8
#: Fewest bins per axis of scattered points.
MIN_SCATTER_BINS = 3
#: Design points wanted per heatmap cell on average (fewer points, fewer bins) [-].
POINTS_PER_CELL = 2.0
#: Characters per line of a heatmap's or line's subtitle (what is averaged, binned).
SUBTITLE_CHARS = 95
#: Tick labels longer than this (characters) on a crowded axis are turned.
TICK_TURN_CHARS = 5
#: Most Sobol panels side by side; more go to further rows.
SOBOL_COLUMNS = 2
#: Most Morris panels side by side; more go to further rows.
MORRIS_COLUMNS = 2
#: Largest Sobol index the axis reaches; estimates beyond it (few samples) are marked at it.
SOBOL_AXIS_MAX = 1.5
#: What a Sobol panel of a KPI that did not vary says.
CONSTANT_KPI = "KPI constant over the design: no indices"
#: Heatmap cells get their value written in when there are at most this many.
MAX_ANNOTATED_CELLS = 120
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


#: The statistics of a point that are tail statistics (quantiles beyond 10–90 %, VaR, ES, LaR):
#: over fewer than :data:`sim.metrics.MIN_TAIL_RUNS` runs they are marked rough.
TAIL_STATS = ("p05", "p95", "var95", "var99", "es95", "lar95")


class SweepPlotError(ValueError):
    """A sweep view cannot be drawn from these tables (the message says why)."""


def runs_column(points: pd.DataFrame, kpi: str, column: str) -> str | None:
    """The column of the runs behind a statistic's column of ``points.parquet``.

    ``n_runs`` for a risk statistic (``bad_debt_var95``), ``<kpi>_n_runs`` for a KPI's own
    (``bad_debt_max_p95``), else ``n`` (a points table without them: the ok runs); ``None``
    when the table has none.
    """
    risk = {k.name for k in RISK_STATS}
    for name in (N_RUNS if column in risk else f"{kpi}_{N_RUNS}", "n"):
        if name in points.columns:
            return name
    return None


def fewest_runs(points: pd.DataFrame, kpi: str, column: str) -> int:
    """The fewest runs behind a statistic over the points that have any (0: none)."""
    name = runs_column(points, kpi, column)
    if name is None:
        return 0
    counts = pd.to_numeric(points[name], errors="coerce").to_numpy(dtype=float)
    counts = counts[np.isfinite(counts) & (counts > 0)]
    return int(counts.min()) if counts.size else 0


def tail_note(points: pd.DataFrame, kpi: str, stat: str) -> str | None:
    """The warning of a view of a tail statistic (:data:`TAIL_STATS`) over too few runs.

    Returns:
        ``"bad_debt_max var95 of each point rest on 4 runs (fewer than 50): ..."``
        (:func:`sim.metrics.tail_warning`), or ``None``: not a tail statistic, not in the
        table, or enough runs.
    """
    if stat not in TAIL_STATS:
        return None
    try:
        column = stat_column(points, kpi, stat)
    except SweepPlotError:
        return None
    name = runs_column(points, kpi, column)
    n = fewest_runs(points, kpi, column)
    several = name is not None and points[name][points[name] > 0].nunique() > 1
    return tail_warning(n, f"{kpi} {stat} of each point", fewest=several)


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
    """The swept parameters not on the axes that take more than one value in ``points``.

    Each by its human name (``capital per keeper (keepers 0)``), as the notes print them.
    """
    names = [str(p.get("name")) for p in parameters or ()]
    return [
        parameter_info(n, _spec(parameters, n)).name
        for n in names
        if n not in shown and n in points and points[n].nunique() > 1
    ]


def scatter_bins(n_points: int) -> int:
    """Bins per axis for ``n_points`` scattered points: about :data:`POINTS_PER_CELL` per cell.

    Between :data:`MIN_SCATTER_BINS` and :data:`SCATTER_BINS`.
    """
    return int(
        np.clip(np.floor(np.sqrt(n_points / POINTS_PER_CELL)), MIN_SCATTER_BINS, SCATTER_BINS)
    )


def _levels(
    values: pd.Series,
    log: bool = False,
    span: tuple[float, float] | None = None,
    bins: int = SCATTER_BINS,
) -> tuple[np.ndarray, np.ndarray, bool, np.ndarray | None]:
    """Cell index of each value, the cell centres, whether the axis is a grid, the bin edges.

    A scattered axis is cut into ``bins`` equal bins over ``span`` (the swept range; the data's
    ends without it), in log space for a parameter drawn ``loguniform``.
    """
    unique = np.sort(values.dropna().unique())
    if len(unique) <= MAX_GRID_LEVELS:
        return np.searchsorted(unique, values.to_numpy()), unique, True, None
    low, high = (float(unique[0]), float(unique[-1])) if span is None else span
    low, high = min(low, float(unique[0])), max(high, float(unique[-1]))
    log = log and low > 0
    ends = np.log([low, high]) if log else np.array([low, high])
    edges = np.linspace(ends[0], ends[1], bins + 1)
    data = np.log(values.to_numpy(dtype=float)) if log else values.to_numpy(dtype=float)
    index = np.clip(np.searchsorted(edges, data, side="right") - 1, 0, bins - 1)
    centres = (edges[:-1] + edges[1:]) / 2
    if log:
        return index, np.exp(centres), False, np.exp(edges)
    return index, centres, False, edges


def _span(parameters: Sequence[Mapping[str, Any]] | None, name: str) -> tuple[float, float] | None:
    spec = _spec(parameters, name)
    if spec.get("range") is None:
        return None
    try:
        low, high = (_as_number(v) for v in spec["range"])
    except (TypeError, ValueError):
        return None
    return (low, high) if high > low else None


def _axis_ticks(ax: Axes, axis: str, centres: np.ndarray, edges: np.ndarray | None) -> None:
    """Cells of a grid labelled with their values; bins of scattered points with their edges."""
    if edges is None:
        positions, texts = np.arange(len(centres)), [_tick_text(v) for v in centres]
    else:
        positions, texts = np.arange(len(edges)) - 0.5, [_tick_text(v, 3) for v in edges]
    if axis == "x":
        turn = len(texts) > 6 and max(len(t) for t in texts) > TICK_TURN_CHARS
        ax.set_xticks(
            positions, texts, rotation=35 if turn else 0, ha="right" if turn else "center"
        )
    else:
        ax.set_yticks(positions, texts)


def _format(value: float, top: float) -> str:
    """A cell's value in its own scale (``37.2 M``, ``1.32 k``, ``388``: never ``0.000388`` M).

    3 significant digits (:func:`sim.formatting.compact`); rounding noise next to the largest
    value is 0; NaN is blank.
    """
    if not np.isfinite(value):
        return ""
    if abs(value) <= ZERO_RELATIVE * abs(top):
        return "0"
    return compact(value)


def _info(parameters: Sequence[Mapping[str, Any]] | None, name: str) -> ParameterLabel:
    """A swept parameter's human name, unit and path (:func:`sim.plots.labels.parameter_info`)."""
    return parameter_info(name, _spec(parameters, name))


def _tick_text(value: float, digits: int = 4) -> str:
    """A parameter value, compact: 20 000 000 → ``20 M``, 1.0625 → ``1.062`` (``digits`` 4)."""
    return compact(value, digits)


def _subtitle(notes: Sequence[str]) -> str:
    """Notes under a sweep figure's title, wrapped to the panel's width (never cut off)."""
    return st.wrap("; ".join(notes), SUBTITLE_CHARS)


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

    On a grid design every (x, y) pair is a cell; a scattered design (random, LHS, Sobol,
    Morris) is binned over the swept ranges into :func:`scatter_bins` × :func:`scatter_bins`
    cells, the axes labelled with the bin edges. Other swept parameters, and points falling in
    the same cell, are averaged over (the subtitle says so).

    Args:
        points: ``points.parquet``.
        x: the parameter on the x axis (its column name).
        y: the parameter on the y axis.
        kpi: the KPI (``bad_debt_max``).
        stat: ``mean``, ``std``, ``p05``, ``p50``, ``p95`` or a risk statistic (``var95``,
            ``var99``, ``es95``, ``lar95``).
        parameters: ``batch.json``'s ``sweep.parameters`` (units and ranges of the axes).
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
    bins = scatter_bins(len(points))
    xi, xc, x_grid, x_edges = _levels(
        points[x], _spec(parameters, x).get("dist") == "loguniform", _span(parameters, x), bins
    )
    yi, yc, y_grid, y_edges = _levels(
        points[y], _spec(parameters, y).get("dist") == "loguniform", _span(parameters, y), bins
    )
    values = points[column].to_numpy(dtype=float)
    sums = np.zeros((len(yc), len(xc)))
    counts = np.zeros_like(sums)
    ok = np.isfinite(values)
    np.add.at(sums, (yi[ok], xi[ok]), values[ok])
    np.add.at(counts, (yi[ok], xi[ok]), 1)
    with np.errstate(invalid="ignore"):
        grid = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    others = _varying(points, parameters, (x, y))
    with st.styled():
        fig = Figure(figsize=(SINGLE_WIDTH_IN, 6.6), layout="constrained")
        ax = fig.add_subplot()
        mesh = ax.imshow(
            np.ma.masked_invalid(grid),
            origin="lower",
            aspect="auto",
            cmap=CMAP,
            interpolation="nearest",
        )
        _axis_ticks(ax, "x", xc, x_edges)
        _axis_ticks(ax, "y", yc, y_edges)
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
        for axis, name, on_grid in (("x", x, x_grid), ("y", y, y_grid)):
            info = _info(parameters, name)
            st.labelled_axis(ax, axis, info.text + ("" if on_grid else ", bins"), info.path)
        # the colour bar's ticks in their own scale, as the cells: 10 M, 20 M, 500 k
        bar = fig.colorbar(mesh, ax=ax, format=FuncFormatter(lambda v, _pos: compact(v)))
        bar.set_label(kpi_label(kpi, stat if column != kpi else None))
        notes = []
        if not (x_grid and y_grid):
            notes.append(
                f"{counted(len(points), 'design point')} binned {len(xc)}×{len(yc)} over the "
                "swept ranges, "
                "the mean of the points in each cell"
            )
        if others:
            notes.append(f"averaged over {', '.join(others)}")
        if (counts == 0).any():
            notes.append("blank: no design point")
        head = title or f"{kpi} ({stat}) over {x} and {y}"
        behind = runs_column(points, kpi, column)
        seeds = points[behind].unique() if behind is not None else []
        per_point = f" ({counted(int(seeds[0]), 'run')} each)" if len(seeds) == 1 else ""
        fewest = fewest_runs(points, kpi, column)
        if not per_point and fewest:
            per_point = f" (at least {counted(fewest, 'run')} each)"
        parts = notes or [f"one cell per design point{per_point}"]
        if stat in TAIL_STATS and 0 < fewest < MIN_TAIL_RUNS:  # a tail of so few runs
            parts = [*parts, f"{stat} of each point {runs_mark(fewest)}"]
        subtitle = _subtitle(parts)
        ax.set_title(subtitle, loc="left", fontsize=9, fontweight="normal")
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
    """A KPI over one swept parameter.

    On a grid axis: the KPI's mean over seeds with the 5–95 % band of its runs and the median,
    points sharing an x value (other parameters varying) averaged — the band is then the 5–95 %
    over seeds averaged over the other parameters, not their spread, and its label, the
    others' labels and the subtitle say so. On a
    scattered axis (random, LHS, Sobol, Morris): each design point's mean as a dot, and the
    points binned along x (:func:`scatter_bins` bins over the swept range) with the mean of each
    bin and the 5–95 % band of the points in it — a line through single points would draw a
    trend that the other parameters' variation made.

    Args:
        points: ``points.parquet``.
        x: the parameter (its column name).
        kpi: the KPI.
        parameters: ``batch.json``'s ``sweep.parameters`` (the axis unit and range).
        title: the figure title.

    Returns:
        One panel.

    Raises:
        SweepPlotError: the parameter or the KPI's statistics are not in ``points``.
    """
    if x not in points.columns:
        raise SweepPlotError(f"no parameter {x!r} in points.parquet")
    columns = {s: stat_column(points, kpi, s) for s in ("mean", "p05", "p50", "p95")}
    log = _spec(parameters, x).get("dist") == "loguniform"
    index, centres, grid, edges = _levels(
        points[x], log, _span(parameters, x), scatter_bins(len(points))
    )
    others = _varying(points, parameters, (x,))
    with st.styled():
        fig = Figure(figsize=(SINGLE_WIDTH_IN, 5.4), layout="constrained")
        ax = fig.add_subplot()
        if grid:
            # each x holds the points of every value of the other parameters: their mean,
            # median and 5–95 % band over seeds are averaged over those values
            table = points.groupby(x)[list(columns.values())].mean().sort_index()
            over = ", ".join(others)
            names = (
                {
                    "band": f"5–95 % over seeds, averaged over {over}",
                    "mean": f"mean over seeds and over {over}",
                    "median": f"median over seeds, averaged over {over}",
                }
                if others
                else {
                    "band": "5–95 % of the runs (seeds)",
                    "mean": "mean over seeds",
                    "median": "median over seeds",
                }
            )
            fewest = fewest_runs(points, kpi, columns["p95"])
            if fewest:  # the runs behind the band at the point with the fewest
                names["band"] += f" {runs_mark(fewest)}"
            divisor, prefix = (
                st.amount_scale(table.to_numpy()) if kpi_unit(kpi) in ("Dai", "USD") else (1.0, "")
            )
            xs = table.index.to_numpy(dtype=float)
            ax.fill_between(
                xs,
                table[columns["p05"]] / divisor,
                table[columns["p95"]] / divisor,
                color=st.BLUE,
                alpha=st.BAND_ALPHA_OUTER,
                linewidth=0,
                label=names["band"],
            )
            ax.plot(
                xs,
                table[columns["mean"]] / divisor,
                color=st.BLUE,
                marker="o",
                label=names["mean"],
            )
            ax.plot(
                xs,
                table[columns["p50"]] / divisor,
                color=st.VERMILLION,
                linestyle="--",
                marker="s",
                markersize=4,
                label=names["median"],
            )
            spread = f"the band is the spread over seeds, not the spread over {over}"
            notes = [f"averaged over {over}: {spread}"] if others else []
            subtitle = _subtitle(notes) if notes else "one point per design value"
        else:
            assert edges is not None
            means = points[columns["mean"]].to_numpy(dtype=float)
            divisor, prefix = (
                st.amount_scale(means) if kpi_unit(kpi) in ("Dai", "USD") else (1.0, "")
            )
            ax.scatter(
                points[x],
                means / divisor,
                s=14,
                color="0.45",
                alpha=0.55,
                edgecolors="none",
                label="a design point (mean over its seeds)",
                zorder=2,
            )
            rows = [means[(index == b) & np.isfinite(means)] / divisor for b in range(len(centres))]
            counts = np.array([r.size for r in rows])
            filled = counts > 0
            bin_mean = np.array([r.mean() if r.size else np.nan for r in rows])
            low = np.array([np.quantile(r, 0.05) if r.size else np.nan for r in rows])
            high = np.array([np.quantile(r, 0.95) if r.size else np.nan for r in rows])
            # each bin's mean and band span the bin (steps, apart): no trend drawn between bins
            step_x = np.column_stack([edges[:-1], edges[1:], np.full(len(centres), np.nan)])
            step_x = step_x.ravel()

            def steps(v: np.ndarray) -> np.ndarray:
                return np.column_stack([v, v, np.full(len(v), np.nan)]).ravel()

            ax.fill_between(
                step_x,
                steps(low),
                steps(high),
                color=st.BLUE,
                alpha=st.BAND_ALPHA_OUTER,
                linewidth=0,
                label="5–95 % of the design points in the bin",
            )
            ax.plot(
                step_x,
                steps(bin_mean),
                color=st.BLUE,
                linewidth=2.2,
                label=f"mean of the design points in the bin ({counted(len(centres), 'bin')})",
                zorder=3,
            )
            ax.plot(
                centres[filled],
                bin_mean[filled],
                color=st.BLUE,
                marker="o",
                linestyle="none",
                zorder=3,
            )
            for edge in edges[1:-1]:
                ax.axvline(edge, color="0.8", linewidth=0.6, zorder=0)
            if log:
                ax.set_xscale("log")
            ax.set_xlim(edges[0], edges[-1])
            notes = [
                f"{counted(len(points), 'scattered design point')} binned along x",
                f"within a bin, {', '.join(others)} vary" if others else "",
            ]
            subtitle = _subtitle([n for n in notes if n])
        info = _info(parameters, x)
        st.labelled_axis(ax, "x", info.text, info.path)
        ax.set_ylabel(kpi_label(kpi, None, prefix))
        st.plain_numbers(ax)
        st.top_legend(ax, ncols=2, fontsize=8)
        ax.set_title(subtitle, loc="left", fontsize=9, fontweight="normal")
        fig.suptitle(st.wrap(title or f"{kpi} over {x}"))
        st.make_room(fig)
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


def parameter_order(rows: pd.DataFrame, kpis: Sequence[str]) -> list[str]:
    """The parameters in one order for every Sobol panel: by the first KPI's ST, largest first.

    Parameters without a finite ST for that KPI (a constant KPI) follow in the table's order;
    the first KPI with finite indices decides when the first has none.
    """
    names = list(dict.fromkeys(rows["parameter"].astype(str)))
    for name in kpis:
        mine = rows[rows["kpi"] == name].set_index(
            rows.loc[rows["kpi"] == name, "parameter"].astype(str)
        )
        st_values = pd.to_numeric(mine["ST"], errors="coerce")
        if st_values.notna().any():
            ranked = st_values.dropna().sort_values(ascending=False, kind="stable").index.tolist()
            return ranked + [n for n in names if n not in ranked]
    return names


def _grid(n: int, columns: int) -> tuple[int, int]:
    cols = min(n, columns)
    return -(-n // cols), cols


def sobol_bars(
    sensitivity: pd.DataFrame,
    kpi: str | Sequence[str] | None = None,
    *,
    parameters: Sequence[Mapping[str, Any]] | None = None,
    title: str | None = None,
) -> Figure:
    """First-order (S1) and total (ST) Sobol indices per parameter, with confidence intervals.

    Every panel lists the parameters in the same order (:func:`parameter_order`: by the first
    KPI's ST), so a parameter sits on the same line across KPIs. A KPI that did not vary over
    the design has no indices; its panel says so. Estimates beyond :data:`SOBOL_AXIS_MAX`
    (too few samples) are cut at the axis and their value written there.

    Args:
        sensitivity: ``sensitivity.parquet`` (rows with ``method == "sobol"``).
        kpi: the KPI(s) to show (default: each KPI in the table, up to :data:`MAX_KPI_PANELS`).
        parameters: ``batch.json``'s ``sweep.parameters`` (their labels and paths: each row
            is named by its schema label, the path in small type under it).
        title: the figure title.

    Returns:
        One panel per KPI (at most :data:`SOBOL_COLUMNS` side by side).

    Raises:
        SweepPlotError: no Sobol indices (of that KPI).
    """
    rows = _method_rows(sensitivity, "sobol")
    kpis = _kpis(rows, kpi)
    order = parameter_order(rows, kpis)
    n_params = len(order)
    nrows, ncols = _grid(len(kpis), SOBOL_COLUMNS)
    with st.styled():
        fig = st.new_figure(
            nrows,
            ncols,
            height=nrows * max(3.0, 0.62 * n_params + 1.4) + 1.2,
            sharey=True,
        )
        if ncols == 1:
            fig.set_figwidth(SINGLE_WIDTH_IN)
        axes = fig.axes
        ys = np.arange(n_params)[::-1]  # the first parameter on top
        height = 0.38
        names = [(i.name, i.path) for i in (_info(parameters, n) for n in order)]
        for k, (ax, name) in enumerate(zip(axes, kpis, strict=False)):
            mine = (
                rows[rows["kpi"] == name]
                .assign(parameter=lambda t: t["parameter"].astype(str))
                .set_index("parameter")
                .reindex(order)
            )
            estimates = mine[["S1", "ST"]].to_numpy(dtype=float)
            finite = estimates[np.isfinite(estimates)]
            if k % ncols == 0:  # the rows are named once per row of panels (shared y)
                st.row_labels(ax, ys, names)
            else:
                ax.set_yticks(ys, [""] * len(ys))
            ax.axvline(0, color="0.3", linewidth=0.8)
            ax.set_xlabel("Sobol index [-] (share of the KPI's variance)")
            st.panel_title(ax, f"{name} [{kpi_unit(name)}]")
            ax.grid(axis="y", visible=False)
            if finite.size == 0:
                ax.set_xlim(-SOBOL_MARGIN, 1 + SOBOL_MARGIN)
                st.note(ax, CONSTANT_KPI)
                continue
            right = min(SOBOL_AXIS_MAX, max(1 + SOBOL_MARGIN, finite.max() + SOBOL_MARGIN))
            left = max(-0.5, min(-SOBOL_MARGIN, finite.min() - SOBOL_MARGIN))
            for key, offset, kwargs in (
                (
                    "ST",
                    height / 2,
                    {
                        "color": st.BLUE,
                        "edgecolor": "white",
                        "hatch": "//",
                        "label": "ST: total effect (with interactions)",
                    },
                ),
                (
                    "S1",
                    -height / 2,
                    {"color": st.ORANGE, "label": "S1: first-order effect (alone)"},
                ),
            ):
                values = mine[key].to_numpy(dtype=float)
                ax.barh(
                    ys + offset,
                    np.clip(values, left, right),
                    height,
                    xerr=mine[f"{key}_conf"].to_numpy(dtype=float),
                    capsize=3,
                    **kwargs,
                )
                for y, value in zip(ys + offset, values, strict=True):
                    if np.isfinite(value) and value > right:
                        ax.annotate(
                            f"{key} {value:.2g} ▸",
                            (right, y),
                            xytext=(-3, 0),
                            textcoords="offset points",
                            ha="right",
                            va="center",
                            fontsize=7,
                            color="white",
                            fontweight="bold",
                        )
            ax.set_xlim(left, right)
            st.legend(ax, loc="lower right", fontsize=7.5)
        st.hide_unused(axes[len(kpis) :])
        fig.suptitle(
            (title or "Sobol sensitivity indices: which parameters drive the KPI")
            + "\n"
            + st.wrap(
                f"parameters in the order of {kpis[0]}'s total index (ST) in every panel; "
                "whiskers: confidence intervals (bootstrap), cut at the axis ends",
                SUBTITLE_CHARS if ncols > 1 else st.TITLE_CHARS,
            )
        )
    return fig


def morris_scatter(
    sensitivity: pd.DataFrame,
    kpi: str | Sequence[str] | None = None,
    *,
    parameters: Sequence[Mapping[str, Any]] | None = None,
    title: str | None = None,
) -> Figure:
    """Morris screening: μ* (mean absolute elementary effect) against σ, per parameter.

    Dotted lines mark σ/μ* = 0.1, 0.5 and 1 (labelled at their ends): near the x axis a
    parameter's effect is close to linear; above the steepest line it is non-linear or
    interacts with others. Each point is labelled with its parameter, in dark text, the labels
    moved apart (with a leader line when moved far) so that none covers another.

    Args:
        sensitivity: ``sensitivity.parquet`` (rows with ``method == "morris"``).
        kpi: the KPI(s) to show (default: each KPI in the table, up to :data:`MAX_KPI_PANELS`).
        parameters: ``batch.json``'s ``sweep.parameters`` (each point is labelled with its
            parameter's schema label; the paths are listed in small type under the panels).
        title: the figure title.

    Returns:
        One panel per KPI (at most :data:`MORRIS_COLUMNS` side by side).

    Raises:
        SweepPlotError: no Morris indices (of that KPI).
    """
    rows = _method_rows(sensitivity, "morris")
    kpis = _kpis(rows, kpi)
    nrows, ncols = _grid(len(kpis), MORRIS_COLUMNS)
    with st.styled():
        fig = st.new_figure(nrows, ncols, height=5.2 * nrows + 0.8)
        if ncols == 1:
            fig.set_figwidth(SINGLE_WIDTH_IN)
        names = list(dict.fromkeys(rows["parameter"].astype(str)))
        styles = {n: st.style(k) for k, n in enumerate(names)}
        info = {n: _info(parameters, n) for n in names}
        labelled: list[tuple[Axes, list[float], list[float], list[str], list[str], list]] = []
        for ax, name in zip(fig.axes, kpis, strict=False):
            mine = rows[rows["kpi"] == name]
            values = mine[["mu_star", "sigma"]].to_numpy(dtype=float)
            divisor, prefix = (
                st.amount_scale(values) if kpi_unit(name) in ("Dai", "USD") else (1.0, "")
            )
            unit = f"{prefix}{kpi_unit(name)}"
            xs, ys, texts, colours, whiskers = [], [], [], [], []
            for row in mine.itertuples():
                s = styles[str(row.parameter)]
                ax.errorbar(
                    row.mu_star / divisor,
                    row.sigma / divisor,
                    xerr=row.mu_star_conf / divisor,
                    color=s.color,
                    marker=s.marker,
                    markersize=7,
                    capsize=3,
                    linestyle="none",
                    label=info[str(row.parameter)].name,
                )
                if np.isfinite(row.mu_star) and np.isfinite(row.sigma):
                    xs.append(row.mu_star / divisor)
                    ys.append(row.sigma / divisor)
                    texts.append(info[str(row.parameter)].name)
                    colours.append(s.color)
                    half = row.mu_star_conf / divisor if np.isfinite(row.mu_star_conf) else 0.0
                    y = row.sigma / divisor
                    whiskers.append(
                        (row.mu_star / divisor - half, y, row.mu_star / divisor + half, y)
                    )
            reach = np.concatenate(
                [
                    (mine["mu_star"] + mine["mu_star_conf"].fillna(0)).to_numpy(dtype=float),
                    mine["sigma"].to_numpy(dtype=float),
                ]
            )
            top = float(np.nanmax(reach)) / divisor if np.isfinite(reach).any() else 1.0
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
                end = min(top, top / ratio)
                ax.annotate(
                    f"σ/μ* = {ratio:g}",
                    (end, end * ratio),
                    xytext=(-3, -3),
                    textcoords="offset points",
                    ha="right",
                    va="top",
                    fontsize=7,
                    color="0.35",
                )
            ax.set_xlim(0, top)
            ax.set_ylim(0, top)
            ax.set_xlabel(f"μ*: mean |elementary effect| [{unit} per parameter range]")
            ax.set_ylabel(f"σ: spread of the effects [{unit} per parameter range]")
            st.panel_title(ax, f"{name} [{kpi_unit(name)}]")
            labelled.append((ax, xs, ys, texts, colours, whiskers))
        st.hide_unused(fig.axes[len(kpis) :])
        fig.suptitle(title or "Morris screening: effect size (μ*) vs non-linearity (σ)")
        paths = st.paths_note([(i.name, i.path) for i in info.values()])
        if paths:  # what each label sets, in small type under the panels
            fig.supxlabel(
                st.wrap(f"parameters: {paths}", 150 if ncols > 1 else 110),
                fontsize=st.PATH_FONT_SIZE,
                color=st.PATH_COLOUR,
                gid=st.PATH_GID,
            )
        for ax, xs, ys, texts, colours, whiskers in labelled:  # after the layout: measured
            st.repel_labels(ax, xs, ys, texts, colours, avoid=whiskers)
    return fig


def _as_number(value: Any) -> float:
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return parse_duration(value)
    return float(value)
