"""Regenerate the README's pictures (``docs/img/``) from real runs.

- ``crash_dashboard.png``: the crash dashboard of the quickstart scenario,
  ``scenarios/eth_crash_liq2.yaml``, run at full size with the file's seed;
- ``sweep_heatmap.png``: the sweep ``scenarios/sweeps/crash_grid.yaml`` (mat × crash depth,
  4 seeds per point), its VaR95 of bad debt as a heatmap.

Nothing is drawn by hand: both come from ``sim.run`` / ``sim.run_sweep`` and the figure
functions of ``sim.plots``, exactly as ``cdpsim plot`` draws them. The runs go to a temporary
folder (``--keep DIR`` keeps them). About a minute on two cores.

Usage (from the repository root)::

    .venv/bin/python scripts/make_figures.py
    .venv/bin/python scripts/make_figures.py --workers 8 --keep runs/figures
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

import sim  # noqa: E402
from sim.plots import crash_dashboard, load_folder, save_figure, sweep_heatmap  # noqa: E402

#: The quickstart scenario (the README's first command runs it).
QUICKSTART = ROOT / "scenarios" / "eth_crash_liq2.yaml"
#: The sweep behind the heatmap.
SWEEP = ROOT / "scenarios" / "sweeps" / "crash_grid.yaml"
#: Where the README's pictures live.
IMAGES = ROOT / "docs" / "img"
#: The heatmap's KPI and statistic over seeds.
HEATMAP_KPI, HEATMAP_STAT = "bad_debt_max", "var95"
#: The heatmap's axes: the two swept parameters of crash_grid.yaml.
HEATMAP_X, HEATMAP_Y = "ilks.ETH-A.mat", "collateral.ETH.price.crash.depth"


def dashboard(work: Path, images: Path) -> Path:
    """Run the quickstart scenario and draw its crash dashboard."""
    folder = work / "eth_crash_liq2"
    result = sim.run(QUICKSTART, out=folder)
    data = load_folder(folder)
    fig = crash_dashboard(
        data.timeseries, data.auctions, data.scenario, seed=result.manifest["seed"]
    )
    return save_figure(fig, images / "crash_dashboard.png")


def heatmap(work: Path, images: Path, workers: int | None) -> Path:
    """Run the crash_grid sweep and draw the VaR95 of bad debt over its two parameters."""
    result = sim.run_sweep(SWEEP, out=work / "sweep-crash_grid", workers=workers)
    data = load_folder(result.folder)
    fig = sweep_heatmap(
        data.points,
        HEATMAP_X,
        HEATMAP_Y,
        HEATMAP_KPI,
        HEATMAP_STAT,
        parameters=data.parameters,
        title=f"VaR95 of bad debt over mat and crash depth — sweep {data.sweep['name']}\n"
        f"{data.sweep.get('description', '')}",
    )
    return save_figure(fig, images / "sweep_heatmap.png")


def main(argv: list[str] | None = None) -> int:
    """Regenerate the pictures; print the files written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=IMAGES, help="image folder (docs/img)")
    parser.add_argument("--workers", type=int, default=None, help="sweep workers (every core)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the runs in this folder")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cdpsim-figures-") as tmp:
        work = args.keep or Path(tmp)
        for path in (dashboard(work, args.out), heatmap(work, args.out, args.workers)):
            print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
