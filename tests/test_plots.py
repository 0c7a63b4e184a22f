"""The figures of runs and batches, drawn from real small runs: panels, series, units, style.

The outputs (runs, batches, sweeps) are made once per session by :func:`outputs`, which the
other plot, report and CLI tests import.
"""

from __future__ import annotations

import ast
import colorsys
import itertools
import json
import re
import shutil
import warnings
from pathlib import Path
from types import SimpleNamespace

import matplotlib as mpl
import matplotlib.colors as mcolors
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.text import Text

import sim
from sim.derived import auction_outcomes
from sim.metrics import value_at_risk
from sim.plots import (
    BatchTables,
    PlotError,
    RunTables,
    compare_batches,
    compare_runs,
    ensemble_fan,
    figures,
    figures_for,
    run_overview,
)
from sim.plots import style as st
from sim.plots.compare import ComparisonError, pair_scenarios
from sim.plots.ensemble import SUMMARY_ONLY_NOTE
from sim.plots.output import MARKER, OutputFileError, made_by_cdpsim, save_figure
from sim.report import write_report
from sim.results import held_after, load_folder
from tests.conftest import ROOT, SCENARIOS

#: A small crash: 72 ten-minute ticks, the fall from hour 1 to hour 7, few vaults.
SMALL_CRASH = (
    "clock.tick=10m",
    "clock.duration=12h",
    "collateral.ETH.price.crash.at=1h",
    "collateral.ETH.price.crash.over=6h",
    "borrowers.0.vaults=40",
    "borrowers.1.vaults=20",
    "borrowers.3.vaults=10",
)
#: multi_collateral.yaml small: two ilks, a Dai market and gas.
SMALL_MULTI = (
    "clock.duration=12h",
    "borrowers.0.vaults=40",
    "borrowers.1.vaults=20",
    "borrowers.2.vaults=20",
    "borrowers.3.vaults=20",
    "borrowers.4.vaults=20",
)
#: black_thursday_2020.yaml small: English auctions won by a lowballer (zero bids).
SMALL_BLACK_THURSDAY = (
    "clock.duration=1d",
    "clock.tick=5m",
    "borrowers.0.vaults=100",
    "borrowers.2.vaults=50",
)
#: Duration of the short batch's runs (the others run 12 h) [h].
SHORT_HOURS = 8
#: Sweep files (``base`` is filled in), small: tiny grids, Sobol with 2 base samples.
SWEEP_BASE = {
    "overrides": {
        "clock.tick": "10m",
        "clock.duration": "12h",
        "collateral.ETH.price.crash.at": "1h",
        "collateral.ETH.price.crash.over": "6h",
        "borrowers.0.vaults": 30,
        "borrowers.1.vaults": 10,
        "borrowers.3.vaults": 10,
    },
    "seeds": 1,
    "kpis": ["bad_debt_max", "liquidated_debt"],
}
SWEEPS = {
    "grid": {
        "design": {"kind": "grid"},
        "parameters": {
            "ilks.ETH-A.liquidation.buf": {"values": [1.05, 1.3]},
            "keepers.0.dai": {"values": [100000.0, 5000000.0]},
        },
    },
    "sobol": {
        "design": {"kind": "sobol", "n": 2},
        "parameters": {
            "ilks.ETH-A.liquidation.buf": {"range": [1.05, 1.5]},
            "keepers.0.dai": {"range": [100000.0, 5000000.0], "dist": "loguniform"},
        },
    },
    "morris": {
        "design": {"kind": "morris", "n": 2},
        "parameters": {
            "ilks.ETH-A.liquidation.buf": {"range": [1.05, 1.5]},
            "keepers.0.dai": {"range": [100000.0, 5000000.0]},
        },
    },
}

_CACHE: dict[str, SimpleNamespace] = {}


def _write_sweep(folder: Path, name: str) -> Path:
    import yaml

    spec = {
        "name": f"small_{name}",
        "base": str(SCENARIOS / "eth_crash_liq2.yaml"),
        **SWEEP_BASE,
        **SWEEPS[name],
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def make_outputs(root: Path) -> SimpleNamespace:
    """Small runs, batches and sweeps in ``root`` (each folder as cdpsim writes it)."""
    from sim.experiments import discover
    from sim.experiments.sweep import run_sweep

    out = SimpleNamespace(root=root)
    crash = ROOT / "scenarios"
    out.liq2 = root / "runs" / "liq2"
    out.liq1 = root / "runs" / "liq1"
    sim.run(sim.load_scenario(crash / "eth_crash_liq2.yaml", overrides=SMALL_CRASH), out=out.liq2)
    sim.run(sim.load_scenario(crash / "eth_crash_liq1.yaml", overrides=SMALL_CRASH), out=out.liq1)
    out.multi = root / "runs" / "multi"
    sim.run(
        sim.load_scenario(crash / "multi_collateral.yaml", overrides=SMALL_MULTI), out=out.multi
    )
    out.thursday = root / "runs" / "thursday"
    sim.run(
        sim.load_scenario(crash / "black_thursday_2020.yaml", overrides=SMALL_BLACK_THURSDAY),
        out=out.thursday,
    )
    noisy = (*SMALL_CRASH, "collateral.ETH.price.vol=0.8")
    out.batch = root / "batch"
    out.batch1 = root / "batch1"
    out.summary_batch = root / "batch-summary"
    sim.run_batch(crash / "eth_crash_liq2.yaml", seeds=3, overrides=noisy, workers=0, out=out.batch)
    sim.run_batch(
        crash / "eth_crash_liq1.yaml", seeds=3, overrides=noisy, workers=0, out=out.batch1
    )
    out.batch_short = root / "batch-short"  # eth_crash_liq2 again, but its runs end at 8 h
    sim.run_batch(
        crash / "eth_crash_liq2.yaml",
        seeds=2,
        overrides=(*noisy, f"clock.duration={SHORT_HOURS}h"),
        workers=0,
        out=out.batch_short,
    )
    sim.run_batch(
        crash / "eth_crash_liq2.yaml",
        seeds=2,
        overrides=noisy,
        workers=0,
        out=out.summary_batch,
        keep="summary",
    )
    out.mixed = root / "batch-mixed"  # three scenario files in one batch, as `batch scenarios/`
    sim.run_batch(
        [
            sim.load_scenario(crash / "eth_crash_liq2.yaml", overrides=noisy),
            sim.load_scenario(crash / "multi_collateral.yaml", overrides=SMALL_MULTI),
            sim.load_scenario(crash / "black_thursday_liq2.yaml", overrides=SMALL_BLACK_THURSDAY),
        ],
        seeds=2,
        workers=0,
        out=out.mixed,
    )
    for name in SWEEPS:
        folder = root / f"sweep-{name}"
        run_sweep(_write_sweep(root, name), workers=0, out=folder)
        setattr(out, f"sweep_{name}", folder)
    points = pd.read_parquet(out.sweep_sobol / "points.parquet")
    out.threshold = float(points["liquidated_debt_mean"].median())
    discover(out.sweep_sobol, kpi="liquidated_debt", above=out.threshold, method="cart")
    return out


@pytest.fixture(scope="session")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """Every kind of output folder, made once per session (other test modules import this)."""
    if "outputs" not in _CACHE:
        _CACHE["outputs"] = make_outputs(tmp_path_factory.mktemp("plot-outputs"))
    return _CACHE["outputs"]


# ---------------------------------------------------------------------------------------- helpers


def labels(ax) -> list[str]:
    """The legend labels of a panel's artists."""
    return [label for label in ax.get_legend_handles_labels()[1]]


def all_labels(fig: Figure) -> list[str]:
    return [label for ax in fig.axes for label in labels(ax)]


def has_unit(label: str) -> bool:
    """A label names its unit in brackets: ``price [USD/token]``, ``index [-] (...)``."""
    return re.search(r"\[[^\]]+\]", label) is not None


def data_axes(fig: Figure) -> list:
    """Panels, without colour bars and the shared key."""
    return st.panels(fig)


def suptitle(fig: Figure) -> Text:
    """The figure's title as an artist: the one of ``fig.texts`` that reads ``get_suptitle()``."""
    (title,) = [t for t in fig.texts if t.get_text() == fig.get_suptitle()]
    return title


def title_artist(ax, loc: str = "center") -> Text:
    """A panel's title at ``loc`` as an artist: the child text that reads ``get_title(loc)``."""
    text = ax.get_title(loc=loc)
    (title,) = [t for t in ax.get_children() if isinstance(t, Text) and t.get_text() == text]
    return title


def key_labels(fig: Figure) -> list[str]:
    """The labels of a figure's shared key (the legend row under the title)."""
    (key,) = [ax for ax in fig.axes if ax.get_label() == st.KEY_LABEL]
    return [t.get_text() for t in key.get_legend().get_texts()]


def drawn(fig: Figure) -> Figure:
    """The figure laid out as when saved (positions and text sizes final), no warning allowed."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig.draw_without_rendering()
    return fig


def overlap(a, b) -> bool:
    """Whether two display boxes share area."""
    return min(a.x1, b.x1) > max(a.x0, b.x0) and min(a.y1, b.y1) > max(a.y0, b.y0)


def gray(color) -> float:
    """Luminance of a colour (0 black, 1 white)."""
    r, g, b = mcolors.to_rgb(color)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def assert_legible_in_grayscale(fig: Figure) -> None:
    """On every panel, labelled lines differ by more than hue: style, width, marker or gray."""
    for ax in fig.axes:
        lines = [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]
        for a, b in itertools.combinations(lines, 2):
            same_look = (
                a.get_linestyle() == b.get_linestyle()
                and a.get_marker() == b.get_marker()
                and a.get_linewidth() == b.get_linewidth()
                and a.get_drawstyle() == b.get_drawstyle()
            )
            if same_look:
                assert abs(gray(a.get_color()) - gray(b.get_color())) > 0.15, (
                    ax.get_title(),
                    a.get_label(),
                    b.get_label(),
                )


def okabe_ito_or_gray(color) -> bool:
    r, g, b = mcolors.to_rgb(color)
    _, _, s = colorsys.rgb_to_hls(r, g, b)
    palette = {mcolors.to_hex(c) for c in st.OKABE_ITO}
    return mcolors.to_hex(color) in palette or s < 0.05


def read_run(folder: Path) -> RunTables:
    data = load_folder(folder)
    return RunTables(data.scenario["name"], data.timeseries, data.auctions, data.scenario)


# ---------------------------------------------------------------------------------------- package


def test_only_the_plots_package_imports_matplotlib():
    offenders, pyplot = [], []
    for path in (ROOT / "sim").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for name in names:
                if name.split(".")[0] == "matplotlib":
                    if "plots" not in path.relative_to(ROOT / "sim").parts:
                        offenders.append(str(path))
                    if name.startswith("matplotlib.pyplot"):
                        pyplot.append(str(path))
    assert offenders == []
    assert pyplot == [], "figures are built without pyplot's global state"


def test_drawing_a_figure_leaves_matplotlib_settings_alone(outputs):
    before = dict(mpl.rcParams)
    run = read_run(outputs.liq2)
    run_overview(run.timeseries, run.auctions, run.scenario)
    assert dict(mpl.rcParams) == before


# ----------------------------------------------------------------------------------------- overview


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


def test_held_data_are_what_the_run_recorded_wherever_it_is_plotted(outputs, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no data file reachable from here: the manifest says it all
    run = load_folder(outputs.thursday)
    assert run.manifest["data_held"] == {"gas": 23 * 3600.0}  # the run is a day; ETH's data two
    assert held_after(run) == {"gas": 23 * 3600.0}
    (named,) = figures_for(run)
    gas = next(ax for ax in named.figure.axes if ax.get_title(loc="left") == "Network gas price")
    assert "gas: data held (beyond: hold)" in labels(gas)


def test_the_model_records_when_each_replay_runs_out_of_data():
    from sim.model import ProtocolModel

    scenario = sim.load_scenario(
        SCENARIOS / "black_thursday_2020.yaml",
        overrides=["clock.duration=3d", *(f"borrowers.{i}.vaults=20" for i in range(4))],
    )
    assert ProtocolModel(scenario).data_held == {"ETH": 47 * 3600.0, "gas": 23 * 3600.0}


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


# ---------------------------------------------------------------------------------------- ensemble


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
        "5–95 % of the runs",
        "25–75 % of the runs",
        "median over the runs",
    ]
    var95 = value_at_risk(batch.runs["bad_debt_max"])
    divisor, prefix = st.amount_scale(batch.runs["bad_debt_max"].to_numpy())
    var_label = f"eth_crash_liq2 VaR95 = {var95 / divisor:,.3g} {prefix}Dai"
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
        divisor = st.amount_scale(wide.to_numpy())[0]
        # this scenario's runs only: never pooled with the other scenarios
        np.testing.assert_allclose(median.get_ydata(), wide.median(axis=1) / divisor)
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
    assert set(key_labels(fig)) >= {"5–95 % of the runs", "VaR95 (95 % of the runs)"}
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


# ---------------------------------------------------------------------------------------- compare


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


def batch_tables(folder: Path) -> BatchTables:
    x = load_folder(folder)
    return BatchTables(x.label, x.runs, x.timeseries, x.auctions, x.scenarios)


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
        "batch1: 5–95 % (edges)",
        "batch: 5–95 % (edges)",
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


# ---------------------------------------------------------------------------------------- output


def test_save_figure_formats_and_ownership(outputs, tmp_path):
    run = read_run(outputs.liq2)
    fig = run_overview(run.timeseries, run.auctions, run.scenario)
    magic = {".png": b"\x89PNG", ".svg": b"<?xml", ".pdf": b"%PDF"}
    for ext, head in magic.items():
        path = save_figure(fig, tmp_path / f"d{ext}")
        assert path.read_bytes().startswith(head)
        assert made_by_cdpsim(path)
        assert MARKER.encode() in path.read_bytes()
    with pytest.raises(OutputFileError, match=r"unknown image extension '\.gif'"):
        save_figure(fig, tmp_path / "d.gif")
    mine = tmp_path / "mine.png"
    mine.write_bytes(b"\x89PNG my holiday picture")
    with pytest.raises(OutputFileError, match="not made by cdpsim"):
        save_figure(fig, mine, explicit=False)
    assert mine.read_bytes() == b"\x89PNG my holiday picture"
    save_figure(fig, mine, explicit=True)  # the user named it
    assert made_by_cdpsim(mine)
    save_figure(fig, tmp_path / "d.png", explicit=False)  # cdpsim's own: replaced
    (tmp_path / "folder.png").mkdir()
    with pytest.raises(OutputFileError, match="is a folder"):
        save_figure(fig, tmp_path / "folder.png")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary files
