"""The live chart's widget: Plotly in the browser, fed only the points each frame adds.

:class:`PlotlyChart` is an ipyvue template (``plotly_chart.vue``; ipyvue comes with Solara) that
loads Plotly's JavaScript from the dashboard's own server (:data:`SCRIPT_PATH`, the
``plotly.min.js`` the ``plotly`` package ships: no CDN, the page works without internet
access), draws the figure :func:`sim.app.chart.live_figure` laid out, and appends points with
``Plotly.extendTraces``. Python sends three messages: ``reset`` (the figure and every point so
far: a new model, or a view that (re)mounted and asked with ``ready``), ``extend`` (the ticks
since the last message) and ``annotate`` (the panels' titles and "so far" notes).

Why not ``solara.FigurePlotly`` (plotly's ``FigureWidget``): a ``FigureWidget`` sends a trace's
whole array on every change (its restyle has no append), so at tick 2 880 each frame would carry
every point of the run again.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ipyvue
import numpy as np
import plotly
import traitlets

from sim.app.chart import ChartSpec, points

#: Where the dashboard's server serves Plotly's JavaScript (:mod:`sim.app.server`); the version
#: in the name lets the browser cache it for good.
SCRIPT_PATH = f"/_cdpsim/plotly-{plotly.__version__}.min.js"


def script_file() -> Path:
    """The ``plotly.min.js`` of the installed ``plotly`` package (Plotly.js, the same version)."""
    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def annotations(spec: ChartSpec, texts: list[str]) -> list[dict[str, Any]]:
    """The figure's annotations: its panel titles, then each panel's note in its middle.

    Args:
        spec: the chart.
        texts: per panel, its note (:func:`sim.app.chart.notes`; ``""`` for none).
    """
    titles = list(spec.figure["layout"].get("annotations", []))
    for k, text in enumerate(texts):
        if not text:
            continue
        axis = "" if k == 0 else str(k + 1)
        titles.append(
            {
                "text": text,
                "xref": f"x{axis} domain",
                "yref": f"y{axis} domain",
                "x": 0.5,
                "y": 0.5,
                "showarrow": False,
                "font": {"size": 13, "color": "#666"},
            }
        )
    return titles


class PlotlyChart(ipyvue.VueTemplate):
    """The live chart in the page: a model's figure, grown by the points of each frame.

    :meth:`show` is called with each frame's series (from any thread); the widget remembers
    what it sent, so a frame the page skipped costs nothing, and a view that mounts late (a tab
    shown again, a reload) asks for everything so far.
    """

    template_file = (__file__, "plotly_chart.vue")
    #: Where the page loads Plotly from.
    script = traitlets.Unicode(SCRIPT_PATH.lstrip("/")).tag(sync=True)
    #: Why the chart cannot be drawn ("" when it can), shown in its place.
    problem = traitlets.Unicode("").tag(sync=True)

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._lock = threading.Lock()
        self._spec: ChartSpec | None = None
        self._key: object = None
        self._series: Mapping[str, np.ndarray] = {}
        self._rows = 0
        self._sent = 0
        self._notes: list[str] = []
        self._ready = False

    def show(
        self, key: object, spec: ChartSpec, series: Mapping[str, np.ndarray], notes: list[str]
    ) -> None:
        """Show a frame: its model's figure and the points recorded so far.

        Args:
            key: the model (a new key lays the figure out again).
            spec: the model's chart.
            series: the chart's columns, one value per tick recorded (tick 0 first).
            notes: per panel, its note (:func:`sim.app.chart.notes`).
        """
        with self._lock:
            rows = len(next(iter(series.values()))) if series else 0
            self._series, self._rows = series, rows
            if key != self._key:
                self._key, self._spec, self._notes = key, spec, notes
                if self._ready:
                    self._send_all()
                return
            if self._ready and rows > self._sent:
                self.send({"method": "extend", "args": [points(spec, series, self._sent, rows)]})
                self._sent = rows
            if notes != self._notes:
                self._notes = notes
                if self._ready:
                    self.send({"method": "annotate", "args": [annotations(spec, notes)]})

    def vue_ready(self, *_args: Any) -> None:
        """The view has Plotly and asks for the figure (called from the page)."""
        with self._lock:
            self._ready = True
            if self._spec is not None:
                self._send_all()

    def _send_all(self) -> None:
        spec = self._spec
        assert spec is not None
        rows = self._rows
        payload = points(spec, self._series, 0, rows)
        self.send(
            {
                "method": "reset",
                "args": [spec.figure, payload, annotations(spec, self._notes)],
            }
        )
        self._sent = rows
