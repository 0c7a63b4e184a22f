"""Figures of cdpsim outputs — the only package that imports matplotlib.

The figure functions are pure: DataFrames (and the resolved scenario as a mapping) in, a
:class:`matplotlib.figure.Figure` out, drawn with the object-oriented API (no pyplot, no global
state; rendered by the Agg, SVG or PDF canvas when saved):

- :func:`run_overview` — one run (:mod:`sim.plots.overview`);
- :func:`ensemble_fan` — a batch over seeds (:mod:`sim.plots.ensemble`);
- :func:`sweep_heatmap`, :func:`sweep_line`, :func:`sobol_bars`, :func:`morris_scatter` — a
  sweep (:mod:`sim.plots.sweep`); :func:`discovery_boxes` — its discovered boxes, PRIM beside
  CART (:mod:`sim.plots.discovery`);
- :func:`compare_runs`, :func:`compare_batches` — two of them overlaid (:mod:`sim.plots.compare`).

Around them: :mod:`sim.plots.figures` picks the figure that fits a folder (``cdpsim plot``, the report);
:mod:`sim.plots.output` writes files (format by extension, never replacing a file cdpsim did not
make unless named); :mod:`sim.plots.style` holds the shared look (Okabe–Ito colours, line
styles, units, date axes). The tables come from :mod:`sim.results` (a run, batch or sweep folder
read back) and the quantities drawn from them from :mod:`sim.derived`.

Example::

    from sim.plots import run_overview, save_figure
    from sim.results import load_run

    run = load_run("runs/eth_crash_liq2")
    save_figure(run_overview(run.timeseries, run.auctions, run.scenario), "overview.png")
"""

from sim.plots.compare import BatchTables, RunTables, compare_batches, compare_runs
from sim.plots.discovery import discovery_boxes
from sim.plots.ensemble import ensemble_fan
from sim.plots.figures import (
    KINDS,
    NamedFigure,
    PlotError,
    all_figures,
    available_kinds,
    comparison,
    fan_pages,
    figures_for,
)
from sim.plots.output import OutputFileError, save_figure
from sim.plots.overview import run_overview
from sim.plots.sweep import (
    SweepPlotError,
    morris_scatter,
    sobol_bars,
    sweep_heatmap,
    sweep_line,
)

__all__ = [
    "KINDS",
    "BatchTables",
    "NamedFigure",
    "OutputFileError",
    "PlotError",
    "RunTables",
    "SweepPlotError",
    "all_figures",
    "available_kinds",
    "compare_batches",
    "compare_runs",
    "comparison",
    "discovery_boxes",
    "ensemble_fan",
    "fan_pages",
    "figures_for",
    "morris_scatter",
    "run_overview",
    "save_figure",
    "sobol_bars",
    "sweep_heatmap",
    "sweep_line",
]
