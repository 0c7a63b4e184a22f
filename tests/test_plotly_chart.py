"""The live chart's widget (sim/app/plotly_chart.py): what it sends the page. A figure and every
point so far when the view asks (``ready``) or the model changes; then only the ticks each frame
adds, whatever frames were skipped; the notes when they change; the panels' notes placed in
their panels. The page drawing it is tested in tests/test_app_browser.py."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("ipyvue")
pytest.importorskip("plotly")

from sim.app.chart import live_figure
from sim.app.plotly_chart import SCRIPT_PATH, PlotlyChart, annotations


@pytest.fixture
def spec():
    scenario = {"ilks": {"ETH-A": {"collateral": "ETH", "mat": 1.45}}}
    return live_figure(scenario, n_ticks=100, dt=60.0, start="2021-05-19", quantiles=(0.5,))


def _series(spec, rows: int) -> dict[str, np.ndarray]:
    return {c: np.arange(rows, dtype=float) for c in spec.columns}


class Sent(list):
    def methods(self) -> list[str]:
        return [m["method"] for m in self]


@pytest.fixture
def chart(monkeypatch) -> tuple[PlotlyChart, Sent]:
    widget = PlotlyChart()
    sent = Sent()
    monkeypatch.setattr(widget, "send", sent.append)
    yield widget, sent
    widget.close()


def test_nothing_is_sent_before_the_view_is_ready_then_everything_so_far(chart, spec):
    widget, sent = chart
    assert widget.script == SCRIPT_PATH.lstrip("/")  # relative: the page's own server
    widget.show(1, spec, _series(spec, 3), [""] * len(spec.panels))
    widget.show(1, spec, _series(spec, 7), [""] * len(spec.panels))
    assert sent == []
    widget.vue_ready()
    ((reset),) = sent
    figure, points, notes = reset["args"]
    assert reset["method"] == "reset" and figure == spec.figure
    assert points["y"][0] == list(range(7)) and len(points["x"][0]) == 7
    assert notes == spec.figure["layout"]["annotations"]


def test_each_frame_sends_only_the_ticks_it_adds(chart, spec):
    widget, sent = chart
    widget.vue_ready()
    quiet = [""] * len(spec.panels)
    widget.show(1, spec, _series(spec, 1), quiet)
    assert sent.methods() == ["reset"]
    widget.show(1, spec, _series(spec, 5), quiet)
    widget.show(1, spec, _series(spec, 5), quiet)  # same tick: nothing new
    widget.show(1, spec, _series(spec, 12), quiet)  # frames in between skipped by the page
    assert sent.methods() == ["reset", "extend", "extend"]
    assert sent[1]["args"][0]["y"][0] == [1.0, 2.0, 3.0, 4.0]
    assert sent[2]["args"][0]["y"][0] == [float(k) for k in range(5, 12)]
    # a new model: its figure again, from its first tick
    widget.show(2, spec, _series(spec, 1), quiet)
    assert sent.methods()[-1] == "reset" and sent[-1]["args"][1]["y"][0] == [0.0]
    # a view mounted again (a reload) asks again and gets everything so far
    widget.show(2, spec, _series(spec, 4), quiet)
    widget.vue_ready()
    assert sent.methods()[-1] == "reset" and sent[-1]["args"][1]["y"][0] == [0, 1, 2, 3]


def test_notes_are_sent_when_they_change(chart, spec):
    widget, sent = chart
    widget.vue_ready()
    empty = [p.empty + " so far" if p.empty else "" for p in spec.panels]
    widget.show(1, spec, _series(spec, 2), empty)
    widget.show(1, spec, _series(spec, 3), empty)
    assert sent.methods() == ["reset", "extend"]
    ended = [n.replace("so far", "in this run") for n in empty]
    widget.show(1, spec, _series(spec, 3), ended)
    assert sent.methods() == ["reset", "extend", "annotate"]
    texts = [a["text"] for a in sent[-1]["args"][0]]
    assert "no liquidation in this run" in texts


def test_a_note_sits_in_the_middle_of_its_panel(spec):
    texts = [""] * len(spec.panels)
    texts[3] = "no liquidation so far"
    found = annotations(spec, texts)
    titles = spec.figure["layout"]["annotations"]
    assert found[: len(titles)] == titles
    (note,) = found[len(titles) :]
    assert note["text"] == "no liquidation so far"
    assert (note["xref"], note["yref"], note["x"], note["y"]) == (
        "x4 domain",
        "y4 domain",
        0.5,
        0.5,
    )
    assert annotations(spec, [""] * len(spec.panels)) == titles
