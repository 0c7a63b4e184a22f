"""The dashboard's views (sim/app/views.py) without a browser: the fan chart's page labels, and
components rendered with ``solara.render``: the page without a target or with a bad scenario
(its title escaped), a figure drawn once per key or the reason it cannot be, a run folder
outside the roots and a folder that cannot be read as messages, a control marked when Reset
would change the model, the KPI table.

The page itself, driven by a user (live runs, the runs table, sweeps), is tested in a real
browser in tests/test_app_browser.py.
"""

from __future__ import annotations

import html

import pytest
from matplotlib.figure import Figure as MplFigure

pytest.importorskip("solara")  # the dashboard extra

import ipyvuetify as v
import ipywidgets as widgets
import solara

from sim.app.controls import controls_for
from sim.app.tables import kpi_table_html
from sim.app.targets import Target
from sim.app.views import (
    BatchPanel,
    BatchView,
    ControlInput,
    Dashboard,
    Figure,
    KpiTable,
    RiskTable,
    RunPanel,
    SweepPanel,
    SweepView,
    _loaded,
    fan_page_labels,
)
from sim.results import FolderError, load_folder
from sim.scenario import load_scenario
from tests import test_plots
from tests.conftest import SCENARIOS
from tests.test_tables import _batch_runs

#: The session's output folders (a fixture of tests/test_plots.py).
outputs = test_plots.outputs


def test_fan_pages_are_labelled_by_their_scenarios():
    pages = [[f"s{k}" for k in range(8)], ["s8", "s9"]]
    assert fan_page_labels(pages) == ["1–8 of 10: s0, s1, s2, …", "9–10 of 10: s8, s9"]
    assert fan_page_labels([["only"]]) == ["1 of 1: only"]
    assert fan_page_labels([["a", "b"], ["c"]])[1] == "3 of 3: c"


# ---------------------------------------------------------------------------------------- components
# Rendered with solara.render (no browser, no server): the widgets they make, found by type and
# by their public traits.


@pytest.fixture
def render():
    """``render(element)``: the element rendered; a finder over its widgets (closed after)."""
    contexts = []

    def rendering(element):
        _box, context = solara.render(element, handle_error=False)
        contexts.append(context)
        return context

    yield rendering
    for context in contexts:
        context.close()


def _alerts(found, kind: str) -> list[str]:
    return [" ".join(map(str, a.children)) for a in found.find(v.Alert, type=kind).widgets]


def _texts(found) -> list[str]:
    return [" ".join(map(str, w.children)) for w in found.find(v.Html).widgets]


def _small_figure() -> MplFigure:
    fig = MplFigure(figsize=(1, 1))
    fig.subplots().plot([0, 1], [1, 0])
    return fig


def test_a_page_without_a_target_says_why(render):
    found = render(Dashboard(None, "CDPSIM_DASHBOARD_TARGET is not set"))
    assert _alerts(found, "error") == ["CDPSIM_DASHBOARD_TARGET is not set"]
    assert _alerts(render(Dashboard(None)), "error") == ["nothing to show"]


def test_the_page_title_is_escaped_and_a_bad_scenario_is_a_message(render, tmp_path):
    path = tmp_path / "<img src=x onerror=alert(1)>.yaml"
    path.write_text("name: broken\nclock: {tick: 10m}\n")  # not a valid scenario
    found = render(Dashboard(Target("scenario", path)))
    (title,) = found.find(tag="h2").widgets
    assert title.unsafe_innerHTML == html.escape(f"cdpsim dashboard — {path}")
    assert "<img" not in title.unsafe_innerHTML
    (message,) = _alerts(found, "error")  # a text node of the alert, not HTML
    assert message.startswith(f"{path}:2: clock.duration: required field is missing")
    assert found.find(v.Btn).widgets == []  # no live run: no Reset, Play or Step


def test_a_figure_is_drawn_once_per_key(render):
    calls = []

    def draw() -> MplFigure:
        calls.append(1)
        return _small_figure()

    key, other = solara.reactive("a"), solara.reactive(0)

    @solara.component
    def Page():
        solara.Text(f"{other.value}")
        Figure(draw, key=key.value)

    found = render(Page())
    (image,) = found.find(widgets.Image).widgets
    assert bytes(image.value).startswith(b"\x89PNG") and len(calls) == 1
    other.value = 1  # the page draws again, the figure's key is the same: not redrawn
    assert _texts(found) == ["1"] and len(calls) == 1
    key.value = "b"
    assert len(calls) == 2


def test_a_figure_that_cannot_be_drawn_says_why_instead(render):
    def damaged() -> MplFigure:
        raise FolderError("runs.parquet: not a Parquet file")

    found = render(Figure(damaged, key="k"))
    assert _alerts(found, "info") == ["runs.parquet: not a Parquet file"]
    assert found.find(widgets.Image).widgets == []


def test_a_run_folder_outside_the_roots_is_refused_in_the_page(render, tmp_path):
    roots = (tmp_path / "batch",)
    found = render(RunPanel(tmp_path / "elsewhere", roots, on_live=lambda _request: None))
    (message,) = _alerts(found, "error")
    assert "outside the folders this dashboard reads" in message and str(roots[0]) in message
    assert found.find(widgets.Image).widgets == []


@pytest.mark.parametrize("view", [BatchView, SweepView])
def test_a_folder_that_cannot_be_read_is_a_message_not_a_crash(render, tmp_path, view):
    found = render(view(Target("batch", tmp_path), on_live=lambda _request: None))
    (message,) = _alerts(found, "error")
    assert "not a cdpsim run, batch or sweep folder" in message
    assert _loaded(tmp_path) == message


def test_a_control_says_when_reset_would_change_the_model(render):
    scenario = load_scenario(SCENARIOS / "eth_crash_liq2.yaml")
    mat = next(c for c in controls_for(scenario) if c.key == "mat")
    changed = render(ControlInput(mat, 1.53, 1.45, on_value=lambda _value: None))
    (label,) = changed.find(v.Html, class_="cdpsim-label cdpsim-changed").widgets
    assert label.children == [f"{mat.label}: 1.53 • changed, Reset applies it"]
    same = render(ControlInput(mat, 1.45, 1.45, on_value=lambda _value: None))
    assert same.find(v.Html, class_="cdpsim-label cdpsim-changed").widgets == []
    assert "changed" not in " ".join(_texts(same))


def test_the_kpi_table_is_the_tables_html(render):
    summary = {"bad_debt_max": 1234567.8, "auctions": 3}
    found = render(KpiTable(summary, "KPIs so far"))
    (table,) = found.find(tag="table").widgets
    assert table.unsafe_innerHTML == kpi_table_html(summary)


def test_the_risk_table_shows_n_runs_and_warns_below_50_runs(render):
    found = render(RiskTable(_batch_runs(4)))
    (table,) = found.find(tag="table").widgets
    assert "<th>n_runs</th>" in table.unsafe_innerHTML and "<td>4</td>" in table.unsafe_innerHTML
    (warning,) = _alerts(found, "warning")
    assert warning.startswith("Warning: VaR/ES/LaR at 95 % rest on 4 runs (fewer than 50)")
    assert _alerts(render(RiskTable(_batch_runs(60))), "warning") == []


def test_a_batch_and_a_sweep_say_their_tails_rest_on_few_runs(render, outputs):
    batch = load_folder(outputs.batch)  # 3 runs
    found = render(BatchPanel(Target("batch", outputs.batch), batch, on_live=lambda _r: None))
    (table,) = found.find(tag="table").widgets
    assert "<td>3</td>" in table.unsafe_innerHTML  # n_runs
    warnings = sorted(_alerts(found, "warning"))  # under the risk table, under the fan chart
    assert len(warnings) == 2
    assert warnings[0].startswith("Warning: VaR/ES/LaR at 95 % rest on 3 runs (fewer than 50)")
    assert warnings[1].startswith(
        "Warning: the 5–95 % bands and VaR95 rest on 3 runs (fewer than 50)"
    )
    sweep = load_folder(outputs.sweep_grid)  # 1 seed: the default view, a mean, is no tail
    found = render(SweepPanel(Target("sweep", outputs.sweep_grid), sweep, on_live=lambda _r: 0))
    assert _alerts(found, "warning") == []
