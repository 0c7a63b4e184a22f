"""The run overview (sim/plots/overview.py), drawn from real small runs: its panels, units
and series, the run's own data, the CR legend above the bands, held replay data shaded, a
banner over a run that did not finish, zero-bid auctions marked, a run without auctions.
"""

from __future__ import annotations

import json
import shutil

import matplotlib.colors as mcolors
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from sim.derived import auction_outcomes
from sim.plots import figures_for, run_overview
from sim.plots import style as st
from sim.results import load_folder
from tests import test_plots
from tests.test_plots import (
    all_labels,
    assert_legible_in_grayscale,
    drawn,
    has_unit,
    labels,
    okabe_ito_or_gray,
    suptitle,
)

#: The session's output folders (a fixture of tests/test_plots.py).
outputs = test_plots.outputs


def test_run_overview_of_a_run(outputs):
    run = load_folder(outputs.liq2)
    fig = run_overview(run.timeseries, run.auctions, run.scenario, seed=run.seed)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 8  # no Dai market and no gas in this scenario
    title = fig.get_suptitle()
    assert "eth_crash_liq2" in title and f"seed {run.seed}" in title
    for ax in fig.axes:
        assert has_unit(ax.get_ylabel()), ax.get_title()
        assert ax.get_xlabel() == "time (UTC)"
        assert isinstance(ax.xaxis.get_major_formatter(), mdates.ConciseDateFormatter)
        assert ax.get_title(loc="left")
    found = all_labels(fig)
    for expected in (
        "ETH market",
        "ETH OSM (updates every 1h)",
        "ETH-A median CR",
        "liquidation ratio mat = 1.45",
        "ETH-A before keepers act",
        "ETH-A at the tick's end",
        "ETH-A auctions running",
        "ETH-A auction",
        "market price",
        "Dai supply",
        "bad debt (uncovered Vow debt)",
        "Vow surplus: its Dai above its debt",
    ):
        assert expected in found, expected
    assert any(label.startswith("ETH-A CR 5 %–95 %") for label in found)
    assert any(label.startswith("ETH-A auctions started per") for label in found)
    units = {ax.get_ylabel() for ax in fig.axes}
    assert {"price [USD/token]", "collateral ratio [-]", "unsafe vaults [count]"} <= units
    assert "price paid / market price [%]" in units
    assert_legible_in_grayscale(fig)


def test_overview_series_are_the_run_s_data(outputs):
    run = load_folder(outputs.liq2)
    fig = run_overview(run.timeseries, run.auctions, run.scenario)
    price_ax = fig.axes[0]
    market = next(ln for ln in price_ax.get_lines() if ln.get_label() == "ETH market")
    np.testing.assert_allclose(market.get_ydata(), run.timeseries["price[ETH-A]"])
    mat = next(ln for ln in fig.axes[1].get_lines() if ln.get_label().startswith("liquidation"))
    assert mat.get_ydata()[0] == run.scenario["ilks"]["ETH-A"]["mat"]
    # the OSM updates are marked where the OSM price changes
    steps = next(ln for ln in price_ax.get_lines() if ln.get_label() == "ETH OSM update")
    osm = run.timeseries["osm_price[ETH-A]"].to_numpy()
    assert len(steps.get_xdata()) == np.count_nonzero(np.diff(osm))


def test_overview_with_a_dai_market_gas_and_two_ilks(outputs):
    run = load_folder(outputs.multi)
    fig = run_overview(run.timeseries, run.auctions, run.scenario)
    assert len(fig.axes) == 10
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert "Dai price" in titles and "Network gas price" in titles
    units = [ax.get_ylabel() for ax in fig.axes]
    assert "Dai price [USD/Dai]" in units and "gas price [gwei]" in units
    # ETH and WBTC are priced far apart: one panel, relative to their start
    assert fig.axes[0].get_ylabel() == "price [% of the first market price]"
    # an ilk keeps its colour in every panel
    colours: dict[str, set[str]] = {}
    for ax in fig.axes:
        for line in ax.get_lines():
            for ilk in ("ETH-A", "WBTC-A"):
                if line.get_label().startswith(f"{ilk} "):
                    colours.setdefault(ilk, set()).add(mcolors.to_hex(line.get_color()))
    assert len(colours["ETH-A"]) == 1 and len(colours["WBTC-A"]) == 1
    assert colours["ETH-A"] != colours["WBTC-A"]
    for ax in fig.axes:
        for line in ax.get_lines():
            assert okabe_ito_or_gray(line.get_color()), (ax.get_title(), line.get_label())
    assert_legible_in_grayscale(fig)


def test_overview_dai_supply_axis_spans_a_sane_range(outputs):
    run = load_folder(outputs.liq2)
    supply = run.timeseries["dai_supply"] / 1e6
    assert (supply.max() - supply.min()) / supply.max() < 0.005
    fig = run_overview(run.timeseries, run.auctions, run.scenario)
    ax = next(a for a in fig.axes if a.get_ylabel() == "Dai supply [M Dai]")
    low, high = ax.get_ylim()
    assert high - low >= st.MIN_RELATIVE_SPAN * supply.max() * 0.999
    assert low <= supply.min() and high >= supply.max()


def test_overview_cr_legend_sits_above_the_bands(outputs):
    run = load_folder(outputs.multi)
    fig = drawn(run_overview(run.timeseries, run.auctions, run.scenario))
    ax = fig.axes[1]
    assert ax.get_title(loc="left").startswith("Collateral ratio")
    legend_bottom = ax.get_legend().get_window_extent().y0
    top = max(float(np.nanmax(run.timeseries[c])) for c in run.timeseries if c.startswith("cr_p"))
    assert ax.transData.transform((0, top))[1] < legend_bottom


def test_overview_shades_where_replayed_data_are_held(outputs):
    run = load_folder(outputs.liq2)
    fig = run_overview(run.timeseries, run.auctions, run.scenario, held={"ETH": 6 * 3600.0})
    price = fig.axes[0]
    (span,) = [p for p in price.patches if p.get_label() == "ETH: data held (beyond: hold)"]
    start = pd.Timestamp(run.timeseries["time"].iloc[0]).tz_localize(None)
    x0 = mdates.num2date(span.get_x()).replace(tzinfo=None)
    assert x0 == start + pd.Timedelta(hours=6)
    assert "ETH: data held (beyond: hold)" in labels(price)


@pytest.mark.parametrize("status", ["failed", "interrupted"])
def test_a_run_that_did_not_finish_says_so_over_the_title(outputs, tmp_path, status):
    run = tmp_path / "stopped"
    shutil.copytree(outputs.liq2, run)
    manifest = json.loads((run / "manifest.json").read_text())
    manifest.update(status=status, ticks=40, error="tick 40: RuntimeError: boom\nTraceback")
    (run / "manifest.json").write_text(json.dumps(manifest))
    (named,) = figures_for(load_folder(run))
    banner = f"RUN {status.upper()} at tick 40 of 72 — partial results"
    assert named.figure.get_suptitle().splitlines()[0] == banner
    assert mcolors.to_hex(suptitle(named.figure).get_color()) == mcolors.to_hex(st.VERMILLION)
    assert named.note == banner


def test_zero_bid_auctions_are_marked(outputs):
    run = load_folder(outputs.thursday)
    table = auction_outcomes(run.timeseries, run.auctions)
    assert int(table["zero_bid"].sum()) == run.summary["auctions_zero_bid"] > 0
    fig = run_overview(run.timeseries, run.auctions, run.scenario)
    outcome = next(ax for ax in fig.axes if ax.get_title(loc="left").startswith("Auction outcomes"))
    assert any(label.startswith("zero-bid auction") for label in labels(outcome))
    legend_title = outcome.get_legend().get_title().get_text()
    assert f"{int(table['zero_bid'].sum())} zero-bid" in legend_title


def test_a_run_without_auctions_says_so():
    ts = pd.DataFrame(
        {
            "tick": [0, 1],
            "time": pd.date_range("2021-01-01", periods=2, freq="h", tz="UTC"),
            **{
                f"{f}[ETH-A]": [1.0, 1.0]
                for f in (
                    "price",
                    "osm_price",
                    "unsafe_vaults",
                    "unsafe_debt",
                    "unsafe_vaults_after",
                    "unsafe_debt_after",
                    "liquidations",
                    "auctions_active",
                )
            },
            "dai_supply": [1.0, 1.0],
            "surplus": [0.0, 0.0],
            "bad_debt": [0.0, 0.0],
        }
    )
    fig = run_overview(ts, None, {"name": "calm", "ilks": {"ETH-A": {"mat": 1.5}}})
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "no collateral auctions in this run" in texts
    assert "no CR quantiles recorded (record.cr_quantiles)" in texts
    # a run still going (the live dashboard) says "so far", never "in this run"
    ts.loc[:, "liquidations[ETH-A]"] = 0.0
    ts.loc[:, "auctions_active[ETH-A]"] = 0.0
    scenario = {"name": "calm", "ilks": {"ETH-A": {"mat": 1.5}}}
    going = [
        t.get_text()
        for ax in run_overview(ts, None, scenario, complete=False).axes
        for t in ax.texts
    ]
    assert {"no liquidation so far", "no collateral auctions so far"} <= set(going)
    assert not any("in this run" in t for t in going)
    done = [t.get_text() for ax in run_overview(ts, None, scenario).axes for t in ax.texts]
    assert "no liquidation in this run" in done


def test_every_panel_marks_the_spells_the_run_put_in_force(tmp_path):
    import sim
    from sim.plots.overview import SPELL_COLOUR
    from tests.conftest import SMALL

    path = tmp_path / "spells.yaml"
    path.write_text(
        SMALL
        + "governance:\n  spells:\n"
        + "    - {name: lower-chop, at: 2h, set: {ilks.ETH-A.liquidation.chop: 0.05}}\n"
        + "    - {name: too-late, at: 20h, set: {ilks.ETH-A.liquidation.tip: 50}}\n"
    )
    result = sim.run(sim.load_scenario(path, overrides=["borrowers.0.vaults=20"]))
    fig = run_overview(result.timeseries, result.auctions, result.manifest["scenario"])
    when = mdates.date2num(pd.Timestamp("2020-01-01T02:00:00"))
    for ax in fig.axes:
        marks = [
            line
            for line in ax.get_lines()
            if line.get_color() == SPELL_COLOUR and line.get_linestyle() == ":"
        ]
        assert len(marks) == 1, ax.get_title(loc="left")  # the spell after the end is not drawn
        assert mdates.date2num(marks[0].get_xdata()[0]) == pytest.approx(when)
    names = [t.get_text() for ax in fig.axes[:2] for t in ax.texts]
    assert names.count("lower-chop") == 2 and "too-late" not in names
