"""Which figure fits an output folder, and drawing it from the folder's tables
(sim/plots/figures.py): the kinds per folder and the default, the fan chart's pages, held
replay data from the run's manifest, sweep views from real small sweeps, and clear errors.
"""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from matplotlib.container import ErrorbarContainer

from sim.experiments import discover
from sim.formatting import compact_amount
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
    expected = sweep.points.pivot(index=DAI, columns=BUF, values="liquidated_debt_mean")
    np.testing.assert_allclose(image, expected.to_numpy())  # in Dai, ticked in its own scale
    assert "small_grid" in named.figure.get_suptitle()
    assert ax.get_title(loc="left") == "one cell per design point (1 run each)"  # seeds: 1
    assert named.warning is None  # a mean is no tail statistic
    (line,) = figures_for(sweep, "line", kpi="bad_debt_max", params=[DAI])
    assert data_axes(line.figure)[0].get_xlabel() == DAI_LABEL
    # the 5–95 % band and a 95 % quantile of one run a point: marked rough, and warned of
    assert line.warning is not None and "p95 of each point rest on 1 run" in line.warning
    (band,) = [x for x in labels(data_axes(line.figure)[0]) if x.startswith("5–95 %")]
    assert band.endswith(" (n = 1, < 50: rough; 95 % tail = largest run)")
    (p95,) = figures_for(sweep, "heatmap", kpi="bad_debt_max", stat="p95")
    subtitle = data_axes(p95.figure)[0].get_title(loc="left").replace("\n", " ")
    assert subtitle.endswith("; p95 of each point (n = 1, < 50: rough; 95 % tail = largest run)")
    assert p95.warning is not None and p95.warning.startswith(
        "bad_debt_max p95 of each point rest on 1 run (fewer than 50): read them as rough"
    )


def test_a_fan_chart_warns_of_its_few_runs(outputs):
    (fan,) = figures_for(load_folder(outputs.batch))  # 3 runs
    assert fan.warning is not None and fan.warning.startswith(
        "the 5–95 % bands and VaR95 rest on 3 runs (fewer than 50): read them as rough"
    )
    runs = pd.DataFrame({"scenario": "s", "status": "ok", "run_id": [f"r{k}" for k in range(60)]})
    assert figures.fan_warning(runs) is None  # 60 runs: enough
    mixed = load_folder(outputs.mixed).runs  # 2 runs of each scenario
    assert "rest on 2 runs (fewer than 50)" in (figures.fan_warning(mixed) or "")
    assert "rest on as few as 1 run" in (figures.fan_warning(mixed.iloc[1:]) or "")


def test_real_sobol_and_morris_sweeps(outputs):
    sobol = load_folder(outputs.sweep_sobol)
    assert available_kinds(sobol) == ["sobol", "heatmap", "line", "boxes"]
    (named,) = figures_for(sobol)
    assert named.kind == "sobol"
    assert len(data_axes(named.figure)) == len(sobol.kpis)
    (boxes_fig,) = figures_for(sobol, "boxes")
    expected = f"liquidated_debt above {compact_amount(outputs.threshold, 'Dai')} (CART and PRIM)"
    assert expected in boxes_fig.figure.get_suptitle()
    # the folder holds CART's boxes; PRIM's are found for the figure, beside them, and it says so
    _trade, cart, prim = data_axes(boxes_fig.figure)
    assert cart.get_title(loc="left").startswith("CART") and prim.get_title(loc="left").startswith(
        "PRIM"
    )
    assert "PRIM found for this figure from the runs table, not saved" in (boxes_fig.note or "")
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
    assert (named.note or "").startswith(result.note)
    texts = [t.get_text() for ax in named.figure.axes for t in ax.texts]
    assert " ".join(texts).replace("\n", " ") == result.note[0].upper() + result.note[1:]
    assert "liquidated_debt above -1 Dai (CART and PRIM)" in named.figure.get_suptitle()
