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

import sim
from sim.metrics import value_at_risk
from sim.plots import (
    BatchTables,
    RunTables,
    auction_outcomes,
    compare_batches,
    compare_runs,
    crash_dashboard,
    ensemble_fan,
    load_folder,
)
from sim.plots import style as st
from sim.plots.ensemble import SUMMARY_ONLY_NOTE, liquidated_debt_paths
from sim.plots.labels import kpi_label, parameter_label
from sim.plots.output import MARKER, OutputFileError, made_by_cdpsim, save_figure
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
    from sim.experiments.analysis import discover
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
    sim.run_batch(
        crash / "eth_crash_liq2.yaml",
        seeds=2,
        overrides=noisy,
        workers=0,
        out=out.summary_batch,
        keep="summary",
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
    """Panels, without colour bars."""
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


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
    crash_dashboard(run.timeseries, run.auctions, run.scenario)
    assert dict(mpl.rcParams) == before


# ---------------------------------------------------------------------------------------- dashboard


def test_crash_dashboard_of_a_run(outputs):
    run = load_folder(outputs.liq2)
    fig = crash_dashboard(run.timeseries, run.auctions, run.scenario, seed=run.seed)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 8  # no Dai market and no gas in this scenario
    title = fig._suptitle.get_text()
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
        "Vow surplus (buffer)",
    ):
        assert expected in found, expected
    assert any(label.startswith("ETH-A CR 5 %–95 %") for label in found)
    assert any(label.startswith("ETH-A auctions started per") for label in found)
    units = {ax.get_ylabel() for ax in fig.axes}
    assert {"price [USD/token]", "collateral ratio [-]", "unsafe vaults [count]"} <= units
    assert "price paid / market price [%]" in units
    assert_legible_in_grayscale(fig)


def test_dashboard_series_are_the_run_s_data(outputs):
    run = load_folder(outputs.liq2)
    fig = crash_dashboard(run.timeseries, run.auctions, run.scenario)
    price_ax = fig.axes[0]
    market = next(ln for ln in price_ax.get_lines() if ln.get_label() == "ETH market")
    np.testing.assert_allclose(market.get_ydata(), run.timeseries["price[ETH-A]"])
    mat = next(ln for ln in fig.axes[1].get_lines() if ln.get_label().startswith("liquidation"))
    assert mat.get_ydata()[0] == run.scenario["ilks"]["ETH-A"]["mat"]
    # the OSM updates are marked where the OSM price changes
    steps = next(ln for ln in price_ax.get_lines() if ln.get_label() == "ETH OSM update")
    osm = run.timeseries["osm_price[ETH-A]"].to_numpy()
    assert len(steps.get_xdata()) == np.count_nonzero(np.diff(osm))


def test_dashboard_with_a_dai_market_gas_and_two_ilks(outputs):
    run = load_folder(outputs.multi)
    fig = crash_dashboard(run.timeseries, run.auctions, run.scenario)
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


def test_zero_bid_auctions_are_marked(outputs):
    run = load_folder(outputs.thursday)
    table = auction_outcomes(run.timeseries, run.auctions)
    assert int(table["zero_bid"].sum()) == run.summary["auctions_zero_bid"] > 0
    fig = crash_dashboard(run.timeseries, run.auctions, run.scenario)
    outcome = next(ax for ax in fig.axes if ax.get_title(loc="left").startswith("Auction outcomes"))
    assert any(label.startswith("zero-bid auction") for label in labels(outcome))
    legend_title = outcome.get_legend().get_title().get_text()
    assert f"{int(table['zero_bid'].sum())} zero-bid" in legend_title


def test_auction_outcomes_price_paid_against_the_market():
    ts = pd.DataFrame(
        {
            "tick": [0, 1, 2],
            "time": pd.date_range("2021-01-01", periods=3, freq="h", tz="UTC"),
            "price[ETH-A]": [2000.0, 1800.0, 1500.0],
            "dai_price": [1.0, 1.0, 1.02],
        }
    )
    auctions = pd.DataFrame(
        {
            "ilk": ["ETH-A", "ETH-A", "ETH-A", "ETH-A"],
            "end_tick": [1, 2, -1, 2],
            "dai_raised": [1710.0, 1e-18, 0.0, 0.0],
            "collateral_sold": [1.0, 2.0, 0.0, 0.0],
        }
    )
    out = auction_outcomes(ts, auctions)
    assert len(out) == 2  # the running auction and the one that sold nothing are left out
    np.testing.assert_allclose(out["paid"], [1710.0, 1e-18 * 1.02 / 2])
    np.testing.assert_allclose(out["market"], [1800.0, 1500.0])
    assert out["zero_bid"].tolist() == [False, True]


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
    fig = crash_dashboard(ts, None, {"name": "calm", "ilks": {"ETH-A": {"mat": 1.5}}})
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "no collateral auctions in this run" in texts
    assert "no CR quantiles recorded (record.cr_quantiles)" in texts


# ---------------------------------------------------------------------------------------- ensemble


def test_fan_chart_of_a_batch(outputs):
    batch = load_folder(outputs.batch)
    assert batch.kept_full and batch.timeseries["run_id"].nunique() == 3
    fig = ensemble_fan(batch.runs, batch.timeseries, batch.auctions, scenarios=batch.scenarios)
    assert len(fig.axes) == 6
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert titles[:4] == [
        "Market price over the runs",
        "Bad debt over the runs",
        "Liquidated debt, cumulative (Σ due of auctions started)",
        "Dai supply over the runs",
    ]
    for ax in fig.axes:
        assert has_unit(ax.get_ylabel()), ax.get_title()
        assert has_unit(ax.get_xlabel()) or ax.get_xlabel() == "time (UTC)", ax.get_title()
    for ax in fig.axes[:4]:
        assert {"5–95 %", "25–75 %", "median"} <= {
            label.split(" ", 1)[-1] if label.startswith("ETH ") else label for label in labels(ax)
        }, ax.get_title()
    var95 = value_at_risk(batch.runs["bad_debt_max"])
    divisor, prefix = st.amount_scale(batch.runs["bad_debt_max"].to_numpy())
    var_label = f"eth_crash_liq2 VaR95 = {var95 / divisor:,.3g} {prefix}Dai"
    assert var_label in labels(fig.axes[4])
    var_line = next(ln for ln in fig.axes[4].get_lines() if ln.get_label() == var_label)
    assert var_line.get_xdata()[0] == pytest.approx(var95 / divisor)
    assert any(label.endswith("ECDF") for label in labels(fig.axes[5]))


def test_fan_median_is_the_median_over_runs(outputs):
    batch = load_folder(outputs.batch)
    fig = ensemble_fan(batch.runs, batch.timeseries, batch.auctions, scenarios=batch.scenarios)
    median = next(ln for ln in fig.axes[0].get_lines() if ln.get_label() == "ETH median")
    wide = batch.timeseries.pivot(index="tick", columns="run_id", values="price[ETH-A]")
    np.testing.assert_allclose(median.get_ydata(), wide.median(axis=1))


def test_liquidated_debt_paths_end_at_the_kpi(outputs):
    batch = load_folder(outputs.batch)
    ticks = pd.Index(np.sort(batch.timeseries["tick"].unique()))
    paths = liquidated_debt_paths(batch.auctions, ticks)
    final = paths.iloc[-1]
    kpi = batch.runs.set_index("run_id")["liquidated_debt"]
    for run_id, value in final.items():
        assert value == pytest.approx(kpi[run_id])
    assert (paths.diff().dropna() >= 0).all().all()  # cumulative


def test_summary_only_batch_shows_the_distribution_and_says_why(outputs):
    batch = load_folder(outputs.summary_batch)
    assert not batch.kept_full
    fig = ensemble_fan(batch.runs, batch.timeseries, batch.auctions, scenarios=batch.scenarios)
    assert len(fig.axes) == 2
    assert fig._supxlabel.get_text() == SUMMARY_ONLY_NOTE
    assert fig.axes[0].get_ylabel() == "runs [count]"
    assert has_unit(fig.axes[0].get_xlabel())


# ---------------------------------------------------------------------------------------- compare


def test_compare_two_runs(outputs):
    a, b = read_run(outputs.liq1), read_run(outputs.liq2)
    fig = compare_runs([a, b])
    assert len(fig.axes) == 8
    assert (
        "eth_crash_liq1" in fig._suptitle.get_text()
        and "eth_crash_liq2" in fig._suptitle.get_text()
    )
    for ax in fig.axes:
        assert has_unit(ax.get_ylabel()), ax.get_title()
        assert ax.get_xlabel() == "time (UTC)"
        names = " ".join(labels(ax))
        assert "eth_crash_liq1" in names and "eth_crash_liq2" in names, ax.get_title()
    assert_legible_in_grayscale(fig)
    with pytest.raises(ValueError, match="2 runs"):
        compare_runs([a])


def test_compare_two_batches_overlays_their_bands(outputs):
    a, b = load_folder(outputs.batch1), load_folder(outputs.batch)
    fig = compare_batches(
        [BatchTables(x.label, x.runs, x.timeseries, x.auctions, x.scenarios) for x in (a, b)]
    )
    assert len(fig.axes) == 6
    liquidated = labels(fig.axes[2])
    expected = {"batch1 median", "batch median", "batch1 5–95 % (edges)", "batch 5–95 % (edges)"}
    assert expected <= set(liquidated)
    bands = [c for c in fig.axes[2].collections if isinstance(c, PolyCollection)]
    assert len(bands) == 2  # the 25–75 % band of each batch; 5–95 % as edge lines
    edges = [ln for ln in fig.axes[2].get_lines() if ln.get_linewidth() < 1]
    assert len(edges) == 4
    assert_legible_in_grayscale(fig)


# ---------------------------------------------------------------------------------------- labels


@pytest.mark.parametrize(
    ("name", "spec", "label"),
    [
        ("ilks.ETH-A.line", None, "ilks.ETH-A.line [Dai]"),
        ("ilks.ETH-A.liquidation.buf", None, "ilks.ETH-A.liquidation.buf [-]"),
        ("ilks.ETH-A.liquidation.tail", None, "ilks.ETH-A.liquidation.tail [s]"),
        ("ilks.ETH-A.stability_fee", None, "ilks.ETH-A.stability_fee [1/yr]"),
        (
            "collateral.ETH.market.depth_usd_2pct",
            None,
            "collateral.ETH.market.depth_usd_2pct [USD]",
        ),
        ("ilks.ETH-A.liquidation.lump", None, "ilks.ETH-A.liquidation.lump [tokens]"),
        ("debt", {"kind": "scale", "paths": ["borrowers.0.debt"]}, "debt [× base value]"),
        ("tail", {"kind": "value", "unit": "s", "paths": ["x"]}, "tail [s]"),
    ],
)
def test_parameter_labels_carry_the_schema_unit(name, spec, label):
    assert parameter_label(name, spec) == label


def test_kpi_labels_carry_units():
    assert kpi_label("bad_debt_max", "mean", "M ") == "bad_debt_max, mean [M Dai]"
    assert kpi_label("auctions", "p50") == "auctions, median [count]"
    assert kpi_label("bad_debt_var95") == "bad_debt_var95 [Dai]"
    assert kpi_label("p_bad_debt") == "p_bad_debt [-]"


# ---------------------------------------------------------------------------------------- output


def test_save_figure_formats_and_ownership(outputs, tmp_path):
    run = read_run(outputs.liq2)
    fig = crash_dashboard(run.timeseries, run.auctions, run.scenario)
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


def test_outputs_manifest_is_what_the_figures_read(outputs):
    manifest = json.loads((outputs.liq2 / "manifest.json").read_text())
    assert load_folder(outputs.liq2).scenario == manifest["scenario"]
