"""Regenerate the README's pictures (``docs/img/``) from real runs.

- ``run_overview.png``: the run overview of the quickstart scenario,
  ``scenarios/eth_crash_liq2.yaml``, run at full size with the file's seed;
- ``batch_fan.png``: the fan chart of a batch of every scenario in ``scenarios/`` (the README's
  ``cdpsim batch scenarios/``), 4 seeds each, cut to two days — a row per scenario;
- ``sweep_heatmap.png``: the sweep ``scenarios/sweeps/crash_grid.yaml`` (mat × crash depth,
  4 seeds per point), its VaR95 of bad debt as a heatmap.

Nothing is drawn by hand: all come from ``sim.run`` / ``sim.run_batch`` / ``sim.run_sweep`` and
the figures ``cdpsim plot`` draws (:func:`sim.plots.figures_for`; the heatmap with a title
naming the sweep). The runs go to a temporary folder (``--keep DIR`` keeps them). A few minutes
on two cores. The validation pictures (``docs/img/validation-*.png``) come from
``scripts/validate_black_thursday.py``, the web dashboard's screenshots from
``scripts.make_screenshots``.

Usage (from the repository root)::

    .venv/bin/python scripts/make_figures.py
    .venv/bin/python scripts/make_figures.py --workers 8 --keep runs/figures
    .venv/bin/python scripts/make_figures.py overview        # only run_overview.png
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

import sim  # noqa: E402
from sim.plots import figures_for, save_figure, sweep_heatmap  # noqa: E402
from sim.results import load_folder  # noqa: E402

#: The quickstart scenario (the README's first command runs it).
QUICKSTART = ROOT / "scenarios" / "eth_crash_liq2.yaml"
#: The scenarios of the batch behind the fan chart (the README's ``cdpsim batch scenarios/``).
SCENARIOS = ROOT / "scenarios"
#: Seeds per scenario of that batch, and the overrides that keep it to minutes.
FAN_SEEDS, FAN_OVERRIDES = 4, ("clock.duration=2d",)
#: The sweep behind the heatmap.
SWEEP = ROOT / "scenarios" / "sweeps" / "crash_grid.yaml"
#: Where the README's pictures live.
IMAGES = ROOT / "docs" / "img"
#: The heatmap's KPI and statistic over seeds.
HEATMAP_KPI, HEATMAP_STAT = "bad_debt_max", "var95"
#: The heatmap's axes: the two swept parameters of crash_grid.yaml.
HEATMAP_X, HEATMAP_Y = "ilks.ETH-A.mat", "collateral.ETH.price.crash.depth"


def overview(work: Path, images: Path, workers: int | None) -> Path:
    """Run the quickstart scenario and draw its run overview (as ``cdpsim plot`` does).

    ``workers`` is not used (one run); it is taken as the other pictures take it.
    """
    folder = work / "eth_crash_liq2"
    sim.run(QUICKSTART, out=folder)
    (named,) = figures_for(load_folder(folder), "overview")
    return save_figure(named.figure, images / "run_overview.png")


def fan(work: Path, images: Path, workers: int | None) -> Path:
    """Run every scenario × 4 seeds for two days and draw the batch's fan chart."""
    folder = work / "batch-scenarios"
    sim.run_batch(
        [SCENARIOS], seeds=FAN_SEEDS, overrides=FAN_OVERRIDES, workers=workers, out=folder
    )
    named = figures_for(load_folder(folder), "fan")[0]
    return save_figure(named.figure, images / "batch_fan.png")


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


#: Each picture by name, in the order they are made.
PICTURES: dict[str, Callable[[Path, Path, int | None], Path]] = {
    "overview": overview,
    "fan": fan,
    "heatmap": heatmap,
}


def main(argv: list[str] | None = None) -> int:
    """Regenerate the pictures; print the files written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "pictures",
        nargs="*",
        choices=list(PICTURES),
        metavar="PICTURE",
        help=f"the pictures to make, of {', '.join(PICTURES)} (default: all)",
    )
    parser.add_argument("--out", type=Path, default=IMAGES, help="image folder (docs/img)")
    parser.add_argument("--workers", type=int, default=None, help="workers (every core)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the runs in this folder")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cdpsim-figures-") as tmp:
        work = args.keep or Path(tmp)
        for name in args.pictures or PICTURES:
            path = PICTURES[name](work, args.out, args.workers)
            print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
