"""The plotting package as a whole (sim/plots/), and what the tests of its modules share.

The package: only it imports matplotlib (never pyplot), and drawing a figure leaves
matplotlib's settings as they were. Each module has its own test file: test_overview.py,
test_ensemble.py, test_compare.py, test_plots_sweep.py, test_figures.py, test_output.py,
test_style.py, test_labels.py.

Shared: the outputs (runs, batches, sweeps) made once per session by :func:`outputs`, which
the other plot, report and CLI tests import, and helpers that read a figure's panels, labels
and texts.
"""

from __future__ import annotations

import ast
import colorsys
import itertools
import re
import warnings
from pathlib import Path
from types import SimpleNamespace

import matplotlib as mpl
import matplotlib.colors as mcolors
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

import sim
from sim.plots import BatchTables, RunTables, run_overview
from sim.plots import style as st
from sim.results import load_folder
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


def batch_tables(folder: Path) -> BatchTables:
    x = load_folder(folder)
    return BatchTables(x.label, x.runs, x.timeseries, x.auctions, x.scenarios)


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
