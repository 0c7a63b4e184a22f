"""The ensemble fan chart (sim/plots/ensemble.py), drawn from real small batches: bands over
the runs, a row per scenario, the distribution of each run's largest bad debt with VaR95 and
its texts clear of the data, the shared key, runs left out, summary-only batches, counts.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from sim.metrics import value_at_risk
from sim.plots import BatchTables, compare_batches, ensemble_fan, figures, figures_for
from sim.plots import style as st
from sim.plots.ensemble import SUMMARY_ONLY_NOTE
from sim.plots.output import save_figure
from sim.report import write_report
from sim.results import load_folder
from tests import test_plots
from tests.test_plots import (
    all_labels,
    batch_tables,
    data_axes,
    drawn,
    has_unit,
    key_labels,
    labels,
    overlap,
    suptitle,
)

#: The session's output folders (a fixture of tests/test_plots.py).
outputs = test_plots.outputs


def test_fan_chart_of_a_batch(outputs):
    batch = load_folder(outputs.batch)
    assert batch.kept_full and batch.timeseries["run_id"].nunique() == 3
    fig = ensemble_fan(batch.runs, batch.timeseries, batch.auctions, scenarios=batch.scenarios)
    panels = data_axes(fig)
    assert len(panels) == 6
    titles = [ax.get_title(loc="left") for ax in panels]
    assert titles[:4] == [
        "ETH market price over the runs",
        "Bad debt over the runs",
        "Liquidated debt, cumulative (Σ due of auctions started)",
        "Dai supply over the runs",
    ]
    assert panels[0].get_ylabel() == "ETH price [USD/ETH]"
    for ax in panels:
        assert has_unit(ax.get_ylabel()), ax.get_title()
        assert has_unit(ax.get_xlabel()) or ax.get_xlabel() == "time (UTC)", ax.get_title()
    for ax in panels[:4]:
        assert {"5–95 %", "25–75 %", "median"} <= {
            label.split(" ", 1)[-1] if label.startswith("ETH ") else label for label in labels(ax)
        }, ax.get_title()
        assert ax.get_legend() is None, ax.get_title()  # the shared key explains the bands
    assert key_labels(fig) == [
        "5–95 % of 3 runs",  # the runs behind the bands
        "25–75 % of 3 runs",
        "median over the runs",
    ]
    # 3 runs: the title says the tails are rough, and what a 95 % quantile of so few is
    assert fig.get_suptitle().endswith(
        "\n5–95 % bands and VaR95 (n = 3, < 50: rough; 95 % tail = largest run)"
    )
    var95 = value_at_risk(batch.runs["bad_debt_max"])
    divisor, prefix = st.amount_scale(batch.runs["bad_debt_max"].to_numpy())
    var_label = (
        f"eth_crash_liq2 VaR95 = {var95 / divisor:,.3g} {prefix}Dai "
        "(n = 3, < 50: rough; 95 % tail = largest run)"
    )
    assert var_label in labels(panels[4])
    var_line = next(ln for ln in panels[4].get_lines() if ln.get_label() == var_label)
    assert var_line.get_xdata()[0] == pytest.approx(var95 / divisor)
    assert any(label.endswith("ECDF") for label in labels(panels[5]))


def test_fan_of_one_scenario_of_two_collaterals_names_both(outputs):
    batch = load_folder(outputs.mixed)
    runs = batch.runs[batch.runs["scenario"] == "multi_collateral"]
    fig = drawn(ensemble_fan(runs, batch.timeseries, batch.auctions, scenarios=batch.scenarios))
    price = data_axes(fig)[0]
    assert price.get_title(loc="left") == "ETH and WBTC market prices over the runs"
    assert price.get_xlabel() == "time (UTC)"  # the runs start together: a date axis
    assert price.get_ylabel() == "price [% of start]"
    assert {"ETH (start 3,000 USD)", "WBTC (start 40,000 USD)"} <= {
        t.get_text() for t in price.texts
    }


def test_fan_median_is_the_median_over_runs(outputs):
    batch = load_folder(outputs.batch)
    fig = ensemble_fan(batch.runs, batch.timeseries, batch.auctions, scenarios=batch.scenarios)
    median = next(ln for ln in data_axes(fig)[0].get_lines() if ln.get_label() == "ETH median")
    wide = batch.timeseries.pivot(index="tick", columns="run_id", values="price[ETH-A]")
    np.testing.assert_allclose(median.get_ydata(), wide.median(axis=1))


def test_fan_dai_supply_axis_does_not_magnify_a_tiny_change(outputs):
    batch = load_folder(outputs.batch)
    supply = batch.timeseries["dai_supply"]
    assert (supply.max() - supply.min()) / supply.max() < 0.005  # the run barely moves it
    fig = ensemble_fan(batch.runs, batch.timeseries, batch.auctions, scenarios=batch.scenarios)
    ax = next(a for a in data_axes(fig) if a.get_title(loc="left") == "Dai supply over the runs")
    low, high = ax.get_ylim()
    assert (high - low) >= st.MIN_RELATIVE_SPAN * supply.max() / 1e6 * 0.999
    assert low < supply.min() / 1e6 and high > supply.max() / 1e6


def test_fan_of_a_batch_of_several_scenarios_has_a_row_each(outputs):
    batch = load_folder(outputs.mixed)
    names = ["eth_crash_liq2", "multi_collateral", "black_thursday_liq2"]
    assert list(dict.fromkeys(batch.runs["scenario"])) == names
    fig = drawn(
        ensemble_fan(batch.runs, batch.timeseries, batch.auctions, scenarios=batch.scenarios)
    )
    panels = data_axes(fig)
    assert len(panels) == 4 * len(names) + 1  # a row of four per scenario, the distribution
    rows = [panels[4 * i : 4 * i + 4] for i in range(len(names))]
    assert [row[0].get_title(loc="left") for row in rows] == [f"{n} (2 runs)" for n in names]
    for name, row in zip(names, rows, strict=True):
        mine = batch.runs.loc[batch.runs["scenario"] == name, "run_id"]
        wide = batch.timeseries[batch.timeseries["run_id"].isin(mine)].pivot(
            index="tick", columns="run_id", values="bad_debt"
        )
        median = next(ln for ln in row[1].get_lines() if ln.get_label() == "median")
        # this scenario's runs only: never pooled with the other scenarios; in Dai, each tick
        # in its own scale (no row in M Dai beside one in k Dai)
        np.testing.assert_allclose(median.get_ydata(), wide.median(axis=1))
        assert [ax.get_ylabel().split(" [")[0] for ax in row[1:]] == [
            "bad debt",
            "liquidated debt",
            "Dai supply",
        ]
        for ax in row:
            assert ax.get_legend() is None
            assert ax.bbox.height / fig.dpi >= 1.0, (name, ax.get_ylabel())  # no slivers
    # prices as % of each asset's start: one asset named on the axis, two at their lines
    assert rows[0][0].get_ylabel() == "ETH [% of 2,000 USD]"
    assert rows[1][0].get_ylabel() == "price [% of start]"
    assert {"ETH (start 3,000 USD)", "WBTC (start 40,000 USD)"} <= {
        t.get_text() for t in rows[1][0].texts
    }
    for line in rows[1][0].get_lines():
        if line.get_label().endswith("median"):
            assert line.get_ydata()[0] == pytest.approx(100.0)
    # the distribution: a line per scenario, VaR95 of its own runs
    strip = panels[-1]
    assert [t.get_text() for t in strip.get_yticklabels()] == names
    thursday = batch.runs.loc[batch.runs["scenario"] == "black_thursday_liq2", "bad_debt_max"]
    divisor, _prefix = st.amount_scale(batch.runs["bad_debt_max"].to_numpy())
    var_line = next(ln for ln in strip.get_lines() if ln.get_label() == "black_thursday_liq2 VaR95")
    assert var_line.get_xdata()[0] == pytest.approx(value_at_risk(thursday) / divisor)
    assert set(key_labels(fig)) >= {"5–95 % of each scenario's runs", "VaR95 (95 % of the runs)"}
    title = " ".join(fig.get_suptitle().split())
    assert "5–95 % bands and VaR95 (n = 2, < 50: rough; 95 % tail = largest run)" in title
    # the key and the title stay clear of every panel
    key = next(ax for ax in fig.axes if ax.get_label() == st.KEY_LABEL)
    legend_box = key.get_legend().get_window_extent()
    title_box = suptitle(fig).get_window_extent()
    for ax in panels:
        box = ax.get_tightbbox()
        assert not overlap(legend_box, box) and not overlap(title_box, box), ax.get_title()
    assert not overlap(legend_box, title_box)


def test_fan_of_many_scenarios_and_its_report_raise_no_warning(outputs, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (named,) = figures_for(load_folder(outputs.mixed))
        save_figure(named.figure, tmp_path / "fan.png")
        write_report(outputs.mixed, tmp_path / "report.html")


def test_fan_shows_a_bounded_number_of_scenarios_and_says_which(outputs, monkeypatch):
    batch = load_folder(outputs.mixed)
    fig = ensemble_fan(
        batch.runs, batch.timeseries, batch.auctions, scenarios=batch.scenarios, max_rows=2
    )
    assert len(data_axes(fig)) == 4 * 2 + 1
    assert "not shown: black_thursday_liq2" in fig.get_suptitle()
    monkeypatch.setattr(figures, "MAX_ROWS", 2)
    pages = figures_for(batch)
    assert [p.name for p in pages] == ["fan", "fan-2"]
    assert "scenarios 1–2 of 3" in pages[0].figure.get_suptitle()
    assert "black_thursday_liq2" in pages[1].caption
    # one scenario left on page 2: still a row of four and the distribution, as on page 1
    second = data_axes(pages[1].figure)
    assert len(second) == 4 + 1
    assert second[0].get_title(loc="left") == "black_thursday_liq2 (2 runs)"
    first = data_axes(pages[0].figure)
    quantities = [[ax.get_ylabel().split(" [")[0] for ax in page[1:4]] for page in (first, second)]
    assert quantities[0] == quantities[1] == ["bad debt", "liquidated debt", "Dai supply"]
    assert "% of" in first[0].get_ylabel() and "% of" in second[0].get_ylabel()


def test_fan_leaves_out_runs_that_did_not_finish(outputs):
    batch = load_folder(outputs.batch)
    runs = batch.runs.copy()
    runs.loc[runs.index[0], "status"] = "failed"
    fig = ensemble_fan(runs, batch.timeseries, batch.auctions, scenarios=batch.scenarios)
    assert "1 failed or interrupted run left out" in fig.get_suptitle()
    median = next(ln for ln in data_axes(fig)[0].get_lines() if ln.get_label() == "ETH median")
    kept = runs.loc[runs["status"] == "ok", "run_id"]
    wide = batch.timeseries[batch.timeseries["run_id"].isin(kept)].pivot(
        index="tick", columns="run_id", values="price[ETH-A]"
    )
    np.testing.assert_allclose(median.get_ydata(), wide.median(axis=1))


def test_counts_of_one_are_singular(outputs):
    batch = load_folder(outputs.mixed)
    runs = batch.runs.copy()
    first_multi = runs.index[runs["scenario"] == "multi_collateral"][0]
    runs.loc[first_multi, "status"] = "failed"  # multi_collateral is left with one run
    fig = ensemble_fan(runs, batch.timeseries, batch.auctions, scenarios=batch.scenarios)
    texts = [ax.get_title(loc="left") for ax in data_axes(fig)]
    assert "multi_collateral (1 run)" in texts and "eth_crash_liq2 (2 runs)" in texts
    strip = data_axes(fig)[-1]
    assert sum(t.get_text().startswith("multi_collateral: 1 run · ") for t in strip.texts) == 1
    assert "1 failed or interrupted run left out" in fig.get_suptitle()
    one = load_folder(outputs.batch)
    one.runs = one.runs.iloc[:1]
    (named,) = figures_for(one)
    title = named.figure.get_suptitle()
    assert title.startswith("Ensemble over 1 run — batch")
    assert any(label.startswith("eth_crash_liq2: 1 run,") for label in all_labels(named.figure))
    for text in [title, *all_labels(named.figure), *texts]:
        assert not re.search(r"\b1 (runs|seeds|points|scenarios)\b", text), text


#: Least room between a text and the data it sits by [points].
CLEARANCE_PT = 2.0


def strip_data_boxes(ax) -> list:
    """Display boxes of the distribution panel's dots (with their size) and VaR95 bars."""
    from matplotlib.collections import PathCollection
    from matplotlib.transforms import Bbox

    px_per_pt = ax.figure.dpi / 72
    boxes = []
    for dots in (c for c in ax.collections if isinstance(c, PathCollection)):
        r = np.sqrt(dots.get_sizes()[0]) / 2 * px_per_pt
        for x, y in ax.transData.transform(dots.get_offsets()):
            boxes.append(Bbox([[x - r, y - r], [x + r, y + r]]))
    for bar in ax.get_lines():
        xy = ax.transData.transform(np.column_stack([bar.get_xdata(), bar.get_ydata()]))
        if len(xy):
            w = bar.get_linewidth() / 2 * px_per_pt
            boxes.append(
                Bbox([[xy[:, 0].min() - w, xy[:, 1].min()], [xy[:, 0].max() + w, xy[:, 1].max()]])
            )
    return boxes


@pytest.mark.parametrize("overlaid", [False, True])
def test_the_distribution_panel_s_texts_never_cover_its_data(outputs, overlaid):
    mixed = batch_tables(outputs.mixed)
    if overlaid:
        other = BatchTables("other", mixed.runs, mixed.timeseries, mixed.auctions, mixed.scenarios)
        fig = compare_batches([mixed, other])
    else:
        fig = ensemble_fan(mixed.runs, mixed.timeseries, mixed.auctions, scenarios=mixed.scenarios)
    fig = drawn(fig)
    strip = data_axes(fig)[-1]
    boxes = strip_data_boxes(strip)
    top = max(b.x1 for b in boxes)
    assert top > strip.bbox.x0 + 0.9 * strip.bbox.width  # the largest value near the axis end
    texts = [t for t in strip.texts if "run" in t.get_text()]
    assert len(texts) == (6 if overlaid else 3)
    clear = CLEARANCE_PT * fig.dpi / 72  # apart at a glance, not just not touching
    for text in texts:
        box = text.get_window_extent()
        assert strip.bbox.x0 <= box.x0 and box.x1 <= strip.bbox.x1, text.get_text()
        assert strip.bbox.y0 <= box.y0 and box.y1 <= strip.bbox.y1, text.get_text()
        for data in boxes:
            assert not overlap(box.padded(clear), data), text.get_text()


def test_summary_only_batch_of_several_scenarios_keys_only_what_it_draws(outputs):
    batch = load_folder(outputs.mixed)
    fig = ensemble_fan(batch.runs, None, None, scenarios=batch.scenarios)
    key = next(ax for ax in fig.axes if ax.get_label() == st.KEY_LABEL)
    entries = [t.get_text() for t in key.get_legend().get_texts()]
    assert entries == ["a run's largest bad debt", "VaR95 (95 % of the runs)"]


def test_summary_only_batch_shows_the_distribution_and_says_why(outputs):
    batch = load_folder(outputs.summary_batch)
    assert not batch.kept_full
    fig = ensemble_fan(batch.runs, batch.timeseries, batch.auctions, scenarios=batch.scenarios)
    panels = data_axes(fig)
    assert len(panels) == 2
    assert fig.get_supxlabel() == SUMMARY_ONLY_NOTE
    assert panels[0].get_ylabel() == "runs [count]"
    assert has_unit(panels[0].get_xlabel())


def test_a_fan_of_60_runs_shows_n_without_calling_its_tail_rough():
    runs = pd.DataFrame(
        {
            "run_id": [f"r{k}" for k in range(60)],
            "scenario": "s",
            "status": "ok",
            "bad_debt_max": np.linspace(0.0, 5.9e6, 60),
        }
    )
    fig = ensemble_fan(runs)  # summaries only: the distribution of bad debt
    assert "rough" not in fig.get_suptitle()
    (var_label,) = [x for x in all_labels(fig) if "VaR95 = " in x]
    assert var_label.endswith("(n = 60)")
    few = ensemble_fan(runs.iloc[:30])
    assert few.get_suptitle().endswith("\n5–95 % bands and VaR95 (n = 30, < 50: rough)")


def test_small_multiples_tick_amounts_in_their_own_scale_and_say_when_rows_differ(outputs):
    """One shared scale over the rows, or a note: never M Dai in one row and k Dai in the next."""
    from sim.plots.scales import ROW_SCALE_GID

    batch = load_folder(outputs.mixed)
    fig = drawn(
        ensemble_fan(batch.runs, batch.timeseries, batch.auctions, scenarios=batch.scenarios)
    )
    panels = data_axes(fig)
    rows = [panels[4 * i : 4 * i + 4] for i in range(3)]
    for row in rows:
        assert [ax.get_ylabel() for ax in row[1:]] == [
            "bad debt [Dai]",
            "liquidated debt [Dai]",
            "Dai supply [Dai]",
        ]
        for ax in row[1:]:  # a tick reads its amount: "2 M", "500 k", "20", never "0.00002"
            ticks = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
            assert all(
                len(t.split(" ")[0].replace("-", "").replace(".", "")) <= 4 for t in ticks
            ), ticks
    peaks = batch.runs.groupby("scenario", sort=False)["bad_debt_max"].max()
    tops = {ax.get_ylim()[1] for ax in (row[1] for row in rows)}
    note = next((t.get_text() for t in fig.texts if t.get_gid() == ROW_SCALE_GID), "")
    if peaks[peaks > 0].max() > 20 * peaks[peaks > 0].min():  # rows far apart: said so
        assert "bad debt: each row on its own y range (peaks from" in note.replace("\n", " ")
        assert len(tops) > 1
    else:  # rows that compare: one range
        assert len(tops) == 1 and "bad debt:" not in note
