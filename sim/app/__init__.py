"""The interactive dashboard in the browser (``cdpsim dashboard``), behind the ``dashboard`` extra.

A Solara web app around :mod:`sim` and :mod:`sim.plots`; it holds no model logic:

- **live run** of a scenario: the scenario's key parameters as controls, step / play / reset
  (reset rebuilds the model from the controls' current values through
  :func:`sim.scenario.with_overrides`, so a bad value is a message in the page), an
  interactive Plotly chart of the run that gets each frame's new ticks (every *k* ticks), and
  the KPI table;
- **explore a folder**: a run's overview, a batch's fan chart and runs table (filter, pick a
  run → its overview, or run it live), a sweep's heatmaps and sensitivity indices.

Plain Solara, not mesa's SolaraViz (built on Solara too): in mesa 3.5 SolaraViz's Reset rebuilds
``type(model)(**params)`` and passes a fresh mesa ``Scenario`` as ``scenario=``, the name of
:class:`~sim.model.ProtocolModel`'s own scenario argument, so the rebuilt model fails; and it has
no place for a validation message and no folder views.

Modules: :mod:`~sim.app.controls` (controls ↔ scenario overrides), :mod:`~sim.app.live` (one
live run and the worker thread that alone touches its model), :mod:`~sim.app.chart` and
:mod:`~sim.app.plotly_chart` (the live chart and its widget), :mod:`~sim.app.render` (the
folder views' figures to PNG, one at a time), :mod:`~sim.app.targets` (what was asked to
show), :mod:`~sim.app.views` (the Solara components), :mod:`~sim.app.app` (the page, as in mesa's examples' ``app.py``),
:mod:`~sim.app.guard` (who may talk to the server: Host, Origin, token) and
:mod:`~sim.app.server` (the web server). Only this package imports solara, and this module
imports nothing heavy: the CLI asks it whether the extra is installed.
"""

from __future__ import annotations

import importlib.util

#: The module Solara serves (its ``Page`` component).
APP_MODULE = "sim.app.app"
#: Environment variable that names what the server shows (a scenario file or an output folder).
TARGET_ENV = "CDPSIM_DASHBOARD_TARGET"
#: Environment variable with the extra data folders of a scenario target (``os.pathsep``-joined).
DATA_DIRS_ENV = "CDPSIM_DASHBOARD_DATA_DIRS"
#: Distributions of the ``dashboard`` extra that the app imports.
REQUIRED = ("solara", "uvicorn")
#: What to run to get the extra.
INSTALL_HINT = (
    'the dashboard needs the "dashboard" extra; install it with: pip install -e ".[dashboard]" '
    "(from the repository root; .venv/bin/pip in the quickstart's virtual environment)"
)


def missing_extra() -> str | None:
    """``None`` when the dashboard's dependencies are importable, else a message saying how."""
    missing = [name for name in REQUIRED if importlib.util.find_spec(name) is None]
    if not missing:
        return None
    return f"{INSTALL_HINT} (missing: {', '.join(missing)})"
