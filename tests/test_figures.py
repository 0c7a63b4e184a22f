"""Which figure fits an output folder, and drawing it from the folder's tables
(sim/plots/figures.py): the kinds per folder and the default, the fan chart's pages, held
replay data from the run's manifest, sweep views from real small sweeps, and clear errors.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from matplotlib.container import ErrorbarContainer

from sim.experiments import discover
from sim.plots import PlotError, available_kinds, figures, figures_for
from sim.plots.figures import all_figures
from sim.results import held_after, load_folder
from tests import test_plots
from tests.test_plots import data_axes, labels
from tests.test_plots_sweep import BUF, DAI, DAI_LABEL

#: The session's output folders (a fixture of tests/test_plots.py).
outputs = test_plots.outputs


def test_held_data_are_what_the_run_recorded_wherever_it_is_plotted(outputs, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no data file reachable from here: the manifest says it all
    run = load_folder(outputs.thursday)
    assert run.manifest["data_held"] == {"gas": 23 * 3600.0}  # the run is a day; ETH's data two
    assert held_after(run) == {"gas": 23 * 3600.0}
    (named,) = figures_for(run)
    gas = next(ax for ax in named.figure.axes if ax.get_title(loc="left") == "Network gas price")
    assert "gas: data held (beyond: hold)" in labels(gas)


def test_one_page_of_the_fan_chart_on_request(outputs, monkeypatch):
    batch = load_folder(outputs.mixed)
    monkeypatch.setattr(figures, "MAX_ROWS", 2)
    pages = figures.fan_pages(batch)
    assert [len(p) for p in pages] == [2, 1]
    (second,) = figures_for(batch, "fan", page=1)
    assert second.name == "fan-2"
    assert pages[1][0] in second.caption and pages[0][0] not in second.caption
    with pytest.raises(PlotError, match="no fan chart page 3"):
        figures_for(batch, "fan", page=2)


def test_real_grid_sweep_heatmap(outputs):
    sweep = load_folder(outputs.sweep_grid)
    assert available_kinds(sweep) == ["heatmap", "line"]
    (named,) = figures_for(sweep, kpi="liquidated_debt")
    assert named.kind == "heatmap"
    ax = data_axes(named.figure)[0]
    image = np.asarray(ax.get_images()[0].get_array())
    assert image.shape == (2, 2)
    divisor = 1e6
    expected = sweep.points.pivot(index=DAI, columns=BUF, values="liquidated_debt_mean")
    np.testing.assert_allclose(image, expected.to_numpy() / divisor)
    assert "small_grid" in named.figure.get_suptitle()
    assert ax.get_title(loc="left") == "one cell per design point (1 run each)"  # seeds: 1
    (line,) = figures_for(sweep, "line", kpi="bad_debt_max", params=[DAI])
    assert data_axes(line.figure)[0].get_xlabel() == DAI_LABEL


def test_real_sobol_and_morris_sweeps(outputs):
    sobol = load_folder(outputs.sweep_sobol)
    assert available_kinds(sobol) == ["sobol", "heatmap", "line", "boxes"]
    (named,) = figures_for(sobol)
    assert named.kind == "sobol"
    assert len(data_axes(named.figure)) == len(sobol.kpis)
    (boxes_fig,) = figures_for(sobol, "boxes")
    expected = f"liquidated_debt above {outputs.threshold:,.0f} Dai"
    assert expected in boxes_fig.figure.get_suptitle()
    morris = load_folder(outputs.sweep_morris)
    assert available_kinds(morris)[0] == "morris"
    (named,) = figures_for(morris)
    ax = data_axes(named.figure)[0]
    assert len([c for c in ax.containers if isinstance(c, ErrorbarContainer)]) == 2
    names = [f.name for f in all_figures(sobol)]
    assert names == [
        "sobol",
        "heatmap-bad_debt_max-mean",
        "heatmap-liquidated_debt-mean",
        f"boxes-{sobol.discoveries[0].name}",
    ]


def test_a_kind_the_sweep_lacks_is_a_clear_error(outputs):
    grid = load_folder(outputs.sweep_grid)
    with pytest.raises(
        PlotError, match=r"--kind sobol does not apply .* \(kinds here: heatmap, line\)"
    ):
        figures_for(grid, "sobol")
    with pytest.raises(PlotError, match="no KPI 'nope'"):
        figures_for(grid, "heatmap", kpi="nope")


def test_a_discovery_without_a_box_says_why(outputs, tmp_path):
    sweep = tmp_path / "sweep"
    shutil.copytree(outputs.sweep_sobol, sweep)
    result = discover(sweep, kpi="liquidated_debt", above=-1.0, method="cart")  # every run
    assert len(result.boxes) == 0 and result.note
    named = next(
        f for f in figures_for(load_folder(sweep), "boxes") if f.name.endswith("above--1-cart")
    )
    assert named.note == result.note
    texts = [t.get_text() for ax in named.figure.axes for t in ax.texts]
    assert " ".join(texts).replace("\n", " ") == result.note[0].upper() + result.note[1:]
    assert "liquidated_debt above -1 Dai (CART)" in named.figure.get_suptitle()
