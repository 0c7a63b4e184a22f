"""Sweep views (sim/plots/sweep.py), from synthetic tables with the sweep folder's columns.

The same views drawn from real small sweep folders, through the figure a folder gets, are
tested in tests/test_figures.py.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection
from matplotlib.container import BarContainer, ErrorbarContainer
from matplotlib.image import AxesImage

from sim.plots import (
    morris_scatter,
    sobol_bars,
    sweep_heatmap,
    sweep_line,
)
from sim.plots import style as st
from sim.plots.sweep import (
    CONSTANT_KPI,
    SUBTITLE_CHARS,
    SweepPlotError,
    parameter_order,
    scatter_bins,
    stat_column,
    tail_note,
)
from tests import test_plots
from tests.test_plots import data_axes, drawn, has_unit, labels, overlap, title_artist

BUF, DAI, SCALE = "ilks.ETH-A.liquidation.buf", "keepers.0.dai", "debt_scale"
#: Their axis labels: the schema fields' labels and units.
BUF_LABEL, DAI_LABEL = "start price over OSM (ETH-A) [-]", "capital per keeper (keepers 0) [Dai]"
#: Their human names (the labels without units), as points and rows are named.
BUF_NAME, DAI_NAME = "start price over OSM (ETH-A)", "capital per keeper (keepers 0)"
PARAMETERS = [
    {"name": BUF, "kind": "value", "paths": [BUF], "range": [1.05, 1.5], "dist": "uniform"},
    {"name": DAI, "kind": "value", "paths": [DAI], "values": [1e6, 5e6, 2e7]},
    {"name": SCALE, "kind": "scale", "paths": ["borrowers.0.debt"], "range": [0.5, 2.0]},
]
KPIS = ("bad_debt_max", "liquidated_debt")


def kpi_columns(values: np.ndarray, kpi: str) -> dict[str, np.ndarray]:
    return {
        f"{kpi}_mean": values,
        f"{kpi}_std": values / 3,
        f"{kpi}_p05": values * 0.5,
        f"{kpi}_p50": values * 0.9,
        f"{kpi}_p95": values * 1.6,
    }


def grid_points() -> pd.DataFrame:
    """A 4 × 3 grid (buf × keeper Dai), one row per point, the sweep's columns."""
    buf, dai = np.meshgrid(np.linspace(1.05, 1.5, 4), [1e6, 5e6, 2e7])
    buf, dai = buf.ravel(), dai.ravel()
    bad = 1e6 * (buf - 1) * 5e6 / dai
    table = {"point": np.arange(len(buf)), BUF: buf, DAI: dai, "n": 4, "n_failed": 0}
    table |= kpi_columns(bad, "bad_debt_max") | kpi_columns(bad * 50 + 1e8, "liquidated_debt")
    table |= {
        "bad_debt_var95": bad * 1.6,
        "bad_debt_var99": bad * 1.8,
        "bad_debt_es95": bad * 1.9,
        "p_bad_debt": (bad > 0).astype(float),
        "liquidated_debt_lar95": bad * 80 + 1e8,
    }
    return pd.DataFrame(table)


def scattered_points(n: int = 80) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    buf, dai, scale = rng.uniform(1.05, 1.5, n), rng.uniform(1e6, 2e7, n), rng.uniform(0.5, 2, n)
    bad = 1e6 * (buf - 1) * 5e6 / dai * scale
    table = {"point": np.arange(n), BUF: buf, DAI: dai, SCALE: scale, "n": 2, "n_failed": 0}
    table |= kpi_columns(bad, "bad_debt_max") | {"bad_debt_var95": bad * 1.6}
    return pd.DataFrame(table)


def sensitivity(method: str) -> pd.DataFrame:
    rows = []
    for kpi in KPIS:
        for k, p in enumerate((BUF, DAI, SCALE)):
            s1, st = [0.5, 0.2, 0.05][k], [0.65, 0.3, 0.1][k]
            sobol = method == "sobol"
            rows.append(
                {
                    "method": method,
                    "kpi": kpi,
                    "parameter": p,
                    "S1": s1 if sobol else np.nan,
                    "S1_conf": 0.05 if sobol else np.nan,
                    "ST": st if sobol else np.nan,
                    "ST_conf": 0.07 if sobol else np.nan,
                    "mu_star": np.nan if sobol else st * 3e6,
                    "mu_star_conf": np.nan if sobol else st * 5e5,
                    "sigma": np.nan if sobol else s1 * 4e6,
                }
            )
    return pd.DataFrame(rows)


def boxes() -> pd.DataFrame:
    rows = []
    for box, (coverage, density) in enumerate([(0.8, 0.7), (0.4, 0.95)]):
        for p, lo, hi in [(BUF, 1.25 + 0.1 * box, 1.5), (DAI, 1e6, 6e6), (SCALE, 0.5, 2.0)]:
            rows.append(
                {
                    "box": box,
                    "method": "prim",
                    "coverage": coverage,
                    "density": density,
                    "mass": 0.2,
                    "parameter": p,
                    "lower": lo,
                    "upper": hi,
                }
            )
    return pd.DataFrame(rows)


def trajectory() -> pd.DataFrame:
    steps = np.arange(10)
    return pd.DataFrame(
        {
            "step": steps,
            "coverage": 1 - steps * 0.06,
            "density": 0.3 + steps * 0.07,
            "mass": 1 - steps * 0.08,
            "n_restricted": np.minimum(steps, 3),
        }
    )


# ---------------------------------------------------------------------------------------- synthetic


def test_heatmap_of_a_grid_shows_each_point():
    points = grid_points()
    fig = sweep_heatmap(points, BUF, DAI, "bad_debt_max", "mean", parameters=PARAMETERS)
    ax = data_axes(fig)[0]
    image = next(a for a in ax.get_images() if isinstance(a, AxesImage))
    values = image.get_array()
    expected = points.pivot(index=DAI, columns=BUF, values="bad_debt_max_mean").to_numpy()
    np.testing.assert_allclose(np.asarray(values), expected)  # in Dai, ticked in its own scale
    assert ax.get_xlabel() == BUF_LABEL
    assert ax.get_ylabel() == DAI_LABEL
    paths = sorted(t.get_text() for t in ax.texts if t.get_gid() == st.PATH_GID)
    assert paths == sorted([BUF, DAI])  # the paths in small type under the labels
    colorbar = next(a for a in fig.axes if a.get_label() == "<colorbar>")
    assert colorbar.get_ylabel() == "bad_debt_max, mean [Dai]"
    cells = [t for t in ax.texts if t.get_gid() != st.PATH_GID]
    assert len(cells) == len(points)  # every cell written in
    assert [t.get_text() for t in ax.get_yticklabels()] == ["1 M", "5 M", "20 M"]
    assert ax.get_title(loc="left") == "one cell per design point (4 runs each)"


def test_heatmap_of_var95_and_of_scattered_points():
    points = scattered_points()
    assert stat_column(points, "bad_debt_max", "var95") == "bad_debt_var95"
    fig = sweep_heatmap(points, BUF, DAI, "bad_debt_max", "var95", parameters=PARAMETERS)
    ax = data_axes(fig)[0]
    subtitle = ax.get_title(loc="left")
    bins = scatter_bins(len(points))
    assert bins == 6  # 80 points: about two per cell
    assert "averaged over debt_scale" in subtitle and f"binned {bins}×{bins}" in subtitle
    assert np.asarray(ax.get_images()[0].get_array()).shape == (bins, bins)
    # bins over the swept range, labelled at their edges
    edges = [t.get_text() for t in ax.get_xticklabels()]
    assert len(edges) == bins + 1 and (edges[0], edges[-1]) == ("1.05", "1.5")
    np.testing.assert_allclose(ax.get_xticks(), np.arange(bins + 1) - 0.5)
    colorbar = next(a for a in fig.axes if a.get_label() == "<colorbar>")
    assert colorbar.get_ylabel().startswith("bad_debt_max, VaR95")
    assert has_unit(colorbar.get_ylabel())
    with pytest.raises(SweepPlotError, match=r"there are: .*var95"):
        sweep_heatmap(points, BUF, DAI, "bad_debt_max", "var42")
    with pytest.raises(SweepPlotError, match="no parameter"):
        sweep_heatmap(points, BUF, "nope", "bad_debt_max")


def test_scatter_bins_follow_the_number_of_points():
    assert [scatter_bins(n) for n in (4, 18, 50, 144, 5000)] == [3, 3, 5, 8, 8]


def test_heatmap_of_a_scattered_sweep_is_laid_out_whole():
    """Long parameter names: the panel keeps its width, nothing is cut off or overlaps."""
    long_names = {
        BUF: "ilks.ETH-A.liquidation.buf",
        DAI: "collateral.ETH.market.depth_usd_2pct",
        SCALE: "ilks.ETH-A.liquidation.tail",
    }
    points = scattered_points(144).rename(columns=long_names)
    extra = {f"keepers.{k}.dai": np.linspace(1e5, 1e7, 144) for k in range(4)}
    points = points.assign(**extra)
    parameters = [
        {**p, "name": long_names[p["name"]], "paths": [long_names[p["name"]]]} for p in PARAMETERS
    ] + [{"name": k, "range": [1e5, 1e7]} for k in extra]
    x, y = long_names[BUF], long_names[DAI]
    fig = drawn(sweep_heatmap(points, x, y, "bad_debt_max", parameters=parameters))
    ax = data_axes(fig)[0]
    assert ax.bbox.width / fig.bbox.width > 0.6  # the cells, not the margins, take the width
    figure_box = fig.bbox
    subtitle = title_artist(ax) if ax.get_title() else title_artist(ax, "left")
    box = subtitle.get_window_extent()
    assert figure_box.x0 <= box.x0 and box.x1 <= figure_box.x1  # not cut off at the right
    assert all(len(line) <= SUBTITLE_CHARS for line in subtitle.get_text().splitlines())
    ticks = [t.get_window_extent() for t in ax.get_xticklabels() if t.get_text()]
    for a, b in itertools.pairwise(ticks):
        assert not overlap(a, b)


def test_line_over_one_parameter():
    points = grid_points()
    fig = sweep_line(points, BUF, "liquidated_debt", parameters=PARAMETERS)
    ax = data_axes(fig)[0]
    # keeper Dai varies too: each x is the mean over its values, and the labels say so
    assert (
        {
            f"mean over seeds and over {DAI_NAME}",
            f"median over seeds, averaged over {DAI_NAME}",
            f"5–95 % over seeds, averaged over {DAI_NAME} (n = 4, < 50: rough; 95 % tail = largest run)",  # 4 runs a point
        }
        <= set(labels(ax))
    )
    assert not any("of the runs" in label for label in labels(ax))
    assert ax.get_xlabel() == BUF_LABEL and ax.get_ylabel() == "liquidated_debt [M Dai]"
    mean = next(ln for ln in ax.get_lines() if ln.get_label().startswith("mean over seeds"))
    expected = points.groupby(BUF)["liquidated_debt_mean"].mean() / 1e6
    np.testing.assert_allclose(mean.get_ydata(), expected)
    subtitle = ax.get_title(loc="left").replace("\n", " ")
    assert f"averaged over {DAI_NAME}" in subtitle and f"not the spread over {DAI_NAME}" in subtitle


def test_line_of_the_only_swept_parameter_keeps_the_plain_labels():
    points = grid_points()
    points = points[points[DAI] == 5e6].drop(columns=DAI)
    fig = sweep_line(points, BUF, "liquidated_debt", parameters=PARAMETERS[:1])
    ax = data_axes(fig)[0]
    band = "5–95 % of the runs (seeds) (n = 4, < 50: rough; 95 % tail = largest run)"
    assert {"mean over seeds", "median over seeds", band} <= set(labels(ax))
    assert ax.get_title(loc="left") == "one point per design value"


def test_line_of_a_scattered_sweep_bins_instead_of_joining_points():
    points = scattered_points(144)
    fig = sweep_line(points, BUF, "bad_debt_max", parameters=PARAMETERS)
    ax = data_axes(fig)[0]
    bins = scatter_bins(len(points))
    dots = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(dots) == 1 and len(dots[0].get_offsets()) == len(points)  # every point, no line
    raw = np.sort(points[BUF].to_numpy())
    for line in ax.get_lines():  # no polyline through the raw points
        xs = np.asarray(line.get_xdata(), dtype=float)
        assert not (len(xs) == len(raw) and np.allclose(np.sort(xs), raw))
    mean = next(ln for ln in ax.get_lines() if ln.get_label().startswith("mean of the design"))
    edges = np.linspace(1.05, 1.5, bins + 1)
    xs = np.asarray(mean.get_xdata(), dtype=float).reshape(-1, 3)
    np.testing.assert_allclose(xs[:, :2], np.column_stack([edges[:-1], edges[1:]]))
    index = np.clip(np.searchsorted(edges, points[BUF], side="right") - 1, 0, bins - 1)
    expected = points.groupby(index)["bad_debt_max_mean"].mean() / 1e6
    ys = np.asarray(mean.get_ydata(), dtype=float).reshape(-1, 3)[:, 0]
    np.testing.assert_allclose(ys[expected.index], expected)
    assert "5–95 % of the design points in the bin" in labels(ax)
    assert "binned along x" in ax.get_title(loc="left")


def test_sobol_bars_with_confidence_intervals():
    fig = sobol_bars(sensitivity("sobol"))
    axes = data_axes(fig)
    assert len(axes) == len(KPIS)
    for ax, kpi in zip(axes, KPIS, strict=True):
        assert ax.get_title(loc="left") == f"{kpi} [Dai]"
        bars = [c for c in ax.containers if isinstance(c, BarContainer)]
        assert [len(b) for b in bars] == [3, 3]  # ST and S1 for each parameter
        assert all(b.errorbar is not None for b in bars)
        assert ax.get_shared_y_axes().joined(axes[0], ax)  # one parameter order: one axis
        assert has_unit(ax.get_xlabel())
        assert labels(ax) == [
            "ST: total effect (with interactions)",
            "S1: first-order effect (alone)",
        ]
    with pytest.raises(SweepPlotError, match="no morris indices"):
        morris_scatter(sensitivity("sobol"))


def test_sobol_panels_share_one_parameter_order_and_say_when_a_kpi_is_constant():
    table = sensitivity("sobol")
    # the second KPI ranks the parameters the other way round, the third never varied
    flipped = table["kpi"] == "liquidated_debt"
    table.loc[flipped, "ST"] = table.loc[flipped, "ST"].to_numpy()[::-1]
    constant = table[table["kpi"] == "bad_debt_max"].assign(
        kpi="auctions", S1=np.nan, ST=np.nan, S1_conf=np.nan, ST_conf=np.nan
    )
    table = pd.concat([table, constant], ignore_index=True)
    fig = sobol_bars(table, parameters=PARAMETERS)
    axes = data_axes(fig)
    assert len(axes) == 3
    expected = [BUF, DAI, SCALE]  # by bad_debt_max's ST, largest on top
    assert parameter_order(table, ["bad_debt_max", "liquidated_debt"]) == expected
    names = {BUF: BUF_NAME, DAI: DAI_NAME, SCALE: SCALE}
    for ax in axes[::2]:  # the first panel of each row names the parameters, paths under them
        rows = sorted((t.xy[1], t.get_text()) for t in ax.texts if t.get_gid() == st.ROW_NAME_GID)
        assert [name for _y, name in rows][::-1] == [names[n] for n in expected]
        paths = sorted((t.xy[1], t.get_text()) for t in ax.texts if t.get_gid() == st.PATH_GID)
        assert [p for _y, p in paths][::-1] == [BUF, DAI, "borrowers.0.debt"]
    assert not [t for t in axes[1].texts if t.get_gid() == st.ROW_NAME_GID]
    for ax in axes[1:]:
        assert ax.get_shared_y_axes().joined(axes[0], ax)
    flipped_ax = axes[1]
    st_bars = next(c for c in flipped_ax.containers if isinstance(c, BarContainer))
    widths = {round(b.get_y() + b.get_height() / 2 - 0.19, 6): b.get_width() for b in st_bars}
    assert widths[2.0] == pytest.approx(0.1)  # BUF on top, with liquidated_debt's own ST
    constant_ax = axes[2]
    said = [t.get_text() for t in constant_ax.texts if t.get_gid() not in st_gids()]
    assert said == [CONSTANT_KPI]
    assert not [c for c in constant_ax.containers if isinstance(c, BarContainer)]


def test_morris_labels_are_dark_and_do_not_overlap():
    table = sensitivity("morris")
    near = table["kpi"] == "bad_debt_max"  # three points close together
    table.loc[near, "mu_star"] = [1.0e6, 1.05e6, 1.1e6]
    table.loc[near, "sigma"] = [1.0e6, 1.02e6, 0.98e6]
    fig = drawn(morris_scatter(table, "bad_debt_max"))
    ax = data_axes(fig)[0]
    names = [t for t in ax.texts if t.get_text() in (BUF_NAME, DAI_NAME, SCALE)]
    assert sorted(t.get_text() for t in names) == sorted([BUF_NAME, DAI_NAME, SCALE])
    boxes = [t.get_window_extent() for t in names]
    for a, b in itertools.combinations(boxes, 2):
        assert not overlap(a, b)
    for t in names:
        assert test_plots.gray(t.get_color()) < 0.5, t.get_text()  # legible, not yellow
    frame = ax.get_window_extent()
    for box in boxes:
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0
    assert {"σ/μ* = 0.1", "σ/μ* = 0.5", "σ/μ* = 1"} <= {t.get_text() for t in ax.texts}


def test_morris_scatter():
    table = sensitivity("morris")
    fig = morris_scatter(table, "bad_debt_max")
    ax = data_axes(fig)[0]
    points = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert len(points) == 3
    assert {BUF_NAME, DAI_NAME, SCALE} <= set(labels(ax))
    paths = next(t for t in fig.texts if t.get_gid() == st.PATH_GID).get_text().replace("\n", " ")
    assert f"{BUF_NAME} = {BUF}" in paths and f"{DAI_NAME} = {DAI}" in paths
    assert {"σ/μ* = 0.1", "σ/μ* = 0.5", "σ/μ* = 1"} <= set(labels(ax))
    assert ax.get_xlabel() == "μ*: mean |elementary effect| [M Dai per parameter range]"
    assert has_unit(ax.get_ylabel())
    mine = table[(table["kpi"] == "bad_debt_max")]
    xs = sorted(c.lines[0].get_xdata()[0] for c in points)
    np.testing.assert_allclose(xs, sorted(mine["mu_star"] / 1e6))


def test_a_tail_statistic_of_points_with_few_runs_is_marked_rough():
    points = grid_points().assign(n_runs=4, bad_debt_max_n_runs=4)
    fig = sweep_heatmap(points, BUF, DAI, "bad_debt_max", "var95", parameters=PARAMETERS)
    subtitle = data_axes(fig)[0].get_title(loc="left").replace("\n", " ")
    assert subtitle == (
        "one cell per design point (4 runs each); var95 of each point (n = 4, < 50: rough; "
        "95 % tail = largest run)"
    )
    note = tail_note(points, "bad_debt_max", "var95")
    assert note is not None and note.startswith(
        "bad_debt_max var95 of each point rest on 4 runs (fewer than 50): read them as rough"
    )
    assert tail_note(points, "bad_debt_max", "mean") is None  # not a tail statistic
    # the KPI's own quantiles rest on its finite values: a point with fewer says so
    points.loc[0, "bad_debt_max_n_runs"] = 3
    assert "as few as 3 runs" in (tail_note(points, "bad_debt_max", "p95") or "")
    # 60 runs a point: n is shown, and nothing is rough
    many = grid_points().assign(n=60, n_runs=60, bad_debt_max_n_runs=60)
    fig = sweep_heatmap(many, BUF, DAI, "bad_debt_max", "var95", parameters=PARAMETERS)
    assert data_axes(fig)[0].get_title(loc="left") == "one cell per design point (60 runs each)"
    assert tail_note(many, "bad_debt_max", "var95") is None
    line = sweep_line(many, BUF, "bad_debt_max", parameters=PARAMETERS)
    assert f"5–95 % over seeds, averaged over {DAI_NAME} (n = 60)" in labels(data_axes(line)[0])


def st_gids() -> tuple[str, str]:
    """The gids of the row names and paths :func:`sim.plots.style.row_labels` writes."""
    return (st.ROW_NAME_GID, st.PATH_GID)


def test_a_heatmap_cell_reads_its_own_amount_in_its_own_scale():
    """388 Dai next to 37 M Dai reads 388, not 0.000388 (cells once shared the bar's M)."""
    points = grid_points()
    points.loc[0, "bad_debt_max_mean"] = 388.0
    points.loc[1, "bad_debt_max_mean"] = 37.2e6
    points.loc[2, "bad_debt_max_mean"] = 1320.0
    fig = sweep_heatmap(points, BUF, DAI, "bad_debt_max", "mean", parameters=PARAMETERS)
    ax = data_axes(fig)[0]
    cells = {round(t.get_position()[0]): t.get_text() for t in ax.texts if t.get_position()[1] == 0}
    assert (cells[0], cells[1], cells[2]) == ("388", "37.2 M", "1.32 k")
    colorbar = next(a for a in fig.axes if a.get_label() == "<colorbar>")
    drawn(fig)
    ticks = [t.get_text() for t in colorbar.get_yticklabels() if t.get_text()]
    assert ticks and all(t.endswith(" M") or t == "0" for t in ticks), ticks
