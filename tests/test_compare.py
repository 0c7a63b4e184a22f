"""Two runs, or two batches, overlaid (sim/plots/compare.py), from real small outputs: shared
axes and units, bands per batch, scenarios paired by name, runs of different lengths, same-named
scenarios run differently, batches that share no scenario refused.
"""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.collections import PolyCollection

from sim.plots import BatchTables, compare_batches, compare_runs, figures
from sim.plots import style as st
from sim.plots.compare import ComparisonError, pair_scenarios
from sim.results import load_folder
from tests import test_plots
from tests.test_plots import (
    SHORT_HOURS,
    assert_legible_in_grayscale,
    batch_tables,
    data_axes,
    has_unit,
    key_labels,
    labels,
    read_run,
)

#: The session's output folders (a fixture of tests/test_plots.py).
outputs = test_plots.outputs


def test_compared_batches_of_different_lengths_end_where_their_runs_end(outputs):
    short, full = batch_tables(outputs.batch_short), batch_tables(outputs.batch)
    fig = compare_batches([short, full])
    end = short.timeseries["tick"].max()
    for ax in data_axes(fig)[:4]:
        medians = {
            ln.get_label().split(" ")[0]: ln
            for ln in ax.get_lines()
            if ln.get_label().endswith("median")
        }
        ys = np.asarray(medians["batch-short"].get_ydata(), dtype=float)
        assert np.isfinite(ys[: end + 1]).all(), ax.get_title(loc="left")
        assert np.isnan(ys[end + 1 :]).all(), ax.get_title(loc="left")
        assert np.isfinite(medians["batch"].get_ydata()).all()


def test_compare_batches_says_when_same_named_scenarios_differ(outputs):
    short, full = batch_tables(outputs.batch_short), batch_tables(outputs.batch)
    title = compare_batches([short, full]).get_suptitle()
    assert "eth_crash_liq2 differs between the batches" in title.replace("\n", " ")
    assert f"clock.duration: {SHORT_HOURS}h vs 12h" in title
    named = figures.comparison(load_folder(outputs.batch_short), load_folder(outputs.batch))
    assert "clock.duration" in named.note
    # the same scenario file with the same overrides: nothing to say
    mixed = batch_tables(outputs.mixed)
    assert "differ" not in compare_batches([mixed, full]).get_suptitle()
    # two batches of one scenario each are two designs compared on purpose: not flagged
    liq1 = batch_tables(outputs.batch1)
    assert "differ" not in compare_batches([liq1, full]).get_suptitle()


def test_compare_two_runs(outputs):
    a, b = read_run(outputs.liq1), read_run(outputs.liq2)
    fig = compare_runs([a, b])
    assert len(fig.axes) == 8
    assert "eth_crash_liq1" in fig.get_suptitle() and "eth_crash_liq2" in fig.get_suptitle()
    for ax in fig.axes:
        assert has_unit(ax.get_ylabel()), ax.get_title()
        assert ax.get_xlabel() == "time (UTC)"
        names = " ".join(labels(ax))
        assert "eth_crash_liq1" in names and "eth_crash_liq2" in names, ax.get_title()
    supply = next(ax for ax in fig.axes if ax.get_title(loc="left") == "Dai supply")
    low, high = supply.get_ylim()
    level = max(r.timeseries["dai_supply"].max() for r in (a, b)) / 1e6
    assert high - low >= st.MIN_RELATIVE_SPAN * level * 0.999
    assert_legible_in_grayscale(fig)
    with pytest.raises(ValueError, match="2 runs"):
        compare_runs([a])


def test_compare_two_batches_of_one_scenario_each_overlays_their_bands(outputs):
    fig = compare_batches([batch_tables(outputs.batch1), batch_tables(outputs.batch)])
    panels = data_axes(fig)
    assert len(panels) == 6
    assert "eth_crash_liq1 vs eth_crash_liq2" in fig.get_suptitle()
    liquidated = labels(panels[2])
    expected = {"batch1 median", "batch median", "batch1 5–95 % (edges)", "batch 5–95 % (edges)"}
    assert expected <= set(liquidated)
    bands = [c for c in panels[2].collections if isinstance(c, PolyCollection)]
    assert len(bands) == 2  # the 25–75 % band of each batch; 5–95 % as edge lines
    edges = [ln for ln in panels[2].get_lines() if ln.get_linewidth() < 1]
    assert len(edges) == 4
    # the key: a kind per column, a batch per row
    assert key_labels(fig) == [
        "batch1: 5–95 % of 3 runs (edges)",  # the runs behind each batch's band
        "batch: 5–95 % of 3 runs (edges)",
        "batch1: 25–75 %",
        "batch: 25–75 %",
        "batch1: median",
        "batch: median",
    ]
    assert_legible_in_grayscale(fig)


def test_compare_batches_pairs_scenarios_by_name(outputs):
    mixed, single = batch_tables(outputs.mixed), batch_tables(outputs.batch)
    pairing = pair_scenarios([mixed, single])
    assert pairing.rows == [("eth_crash_liq2", "eth_crash_liq2", "eth_crash_liq2")]
    assert pairing.only_a == ["multi_collateral", "black_thursday_liq2"]
    assert pairing.left_out == "left out (only in A: multi_collateral, black_thursday_liq2)"
    fig = compare_batches([mixed, single])
    assert pairing.left_out in fig.get_suptitle()
    median = next(
        ln for ln in data_axes(fig)[1].get_lines() if ln.get_label() == "batch-mixed median"
    )
    mine = mixed.runs.loc[mixed.runs["scenario"] == "eth_crash_liq2", "run_id"]
    wide = mixed.timeseries[mixed.timeseries["run_id"].isin(mine)].pivot(
        index="tick", columns="run_id", values="bad_debt"
    )
    divisor = st.amount_scale(
        np.concatenate([wide.to_numpy().ravel(), single.timeseries["bad_debt"].to_numpy()])
    )[0]
    # only the mixed batch's eth_crash_liq2 runs, not its other scenarios
    np.testing.assert_allclose(
        median.get_ydata()[: len(wide)], wide.median(axis=1) / divisor, equal_nan=True
    )


def test_compare_batches_row_by_row_when_both_hold_several(outputs):
    mixed = batch_tables(outputs.mixed)
    other = BatchTables("other", mixed.runs, mixed.timeseries, mixed.auctions, mixed.scenarios)
    fig = compare_batches([mixed, other])
    panels = data_axes(fig)
    assert len(panels) == 3 * 4 + 1
    assert [panels[4 * i].get_title(loc="left") for i in range(3)] == [
        "eth_crash_liq2 (4 runs)",
        "multi_collateral (4 runs)",
        "black_thursday_liq2 (4 runs)",
    ]
    strip = panels[-1]
    texts = [t.get_text() for t in strip.texts]
    assert sum(t.startswith("batch-mixed: 2 runs") for t in texts) == 3
    assert sum(t.startswith("other: 2 runs") for t in texts) == 3


def test_compare_batches_that_share_no_scenario_is_refused(outputs):
    mixed, liq1 = batch_tables(outputs.mixed), batch_tables(outputs.batch1)
    with pytest.raises(ComparisonError, match="share no scenario"):
        compare_batches([mixed, liq1])
