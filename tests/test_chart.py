"""The live chart's layout and data (sim/app/chart.py): its panels and traces for a scenario, the
points of a span of ticks (times, cumulative counts, gaps), and the "so far" notes."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("plotly")

from sim.app.chart import live_figure, notes, points
from sim.model import ProtocolModel
from sim.scenario import load_scenario
from tests.conftest import SMALL


@pytest.fixture
def model(tmp_path) -> ProtocolModel:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    return ProtocolModel(load_scenario(path))


def _spec(model: ProtocolModel):
    return live_figure(
        model.spec.to_dict(),
        n_ticks=model.n_ticks,
        dt=model.dt,
        start=model.spec.clock.start,
        quantiles=model.spec.record.cr_quantiles,
    )


def test_the_figure_has_a_trace_per_series_and_spans_the_whole_run(model):
    spec = _spec(model)
    data, layout = spec.figure["data"], spec.figure["layout"]
    assert [t.name for t in spec.traces] == [d["name"] for d in data[: len(spec.traces)]]
    assert all(d["x"] == [] and d["y"] == [] for d in data[: len(spec.traces)])
    # mat is drawn whole, after the growing traces, at the scenario's value
    assert data[len(spec.traces)]["y"] == [1.5, 1.5]
    assert "mat = 1.5" in data[len(spec.traces)]["name"]
    end = spec.start_ms + model.n_ticks * spec.dt_ms
    assert layout["xaxis"]["range"] == [spec.start_ms, end]
    assert layout["xaxis"]["type"] == "date" and spec.dt_ms == 600_000.0
    titles = [a["text"] for a in layout["annotations"]]
    assert titles == [p.title for p in spec.panels] and len(titles) == 6
    assert {"price[ETH-A]", "cr_p50[ETH-A]", "bad_debt", "liquidations[ETH-A]"} <= set(spec.columns)


def test_a_dai_market_and_a_network_add_their_panels(model):
    scenario = model.spec.to_dict()
    scenario["dai"] = {"market": {}}
    scenario["network"] = {"gas": {}}
    spec = live_figure(scenario, n_ticks=10, dt=60.0, start="2021-05-19T00:00:00Z")
    assert [p.title for p in spec.panels][-2:] == ["Dai price", "Network gas price"]
    assert {"dai_price", "gas_price_gwei"} <= set(spec.columns)
    assert spec.start_ms == 1621382400000.0  # 2021-05-19 00:00 UTC


def test_points_are_the_recorded_values_of_the_ticks_asked_for(model):
    spec = _spec(model)
    for _ in range(30):
        model.step()
    rows = model.recorder.rows
    series = {c: model.recorder.series[c][:rows] for c in spec.columns}
    whole = points(spec, series, 0, rows)
    parts = [points(spec, series, 0, 12), points(spec, series, 12, rows)]
    for k, trace in enumerate(spec.traces):
        joined = parts[0]["y"][k] + parts[1]["y"][k]
        assert joined == whole["y"][k], trace.name  # cumulative sums continue across spans
        values = np.asarray(series[trace.column], dtype=float)
        expected = np.cumsum(values) if trace.cumulative else values
        got = np.array([math.nan if v is None else v for v in whole["y"][k]])
        np.testing.assert_array_equal(got, expected)
    assert whole["x"][0][5] == spec.start_ms + 5 * spec.dt_ms
    assert whole["traces"] == list(range(len(spec.traces)))


def test_a_nan_is_sent_as_a_gap(model):
    spec = _spec(model)
    series = {c: np.zeros(3) for c in spec.columns}
    series["cr_p50[ETH-A]"] = np.array([2.0, np.nan, 1.9])  # no open vault at tick 1
    k = [t.column for t in spec.traces].index("cr_p50[ETH-A]")
    assert points(spec, series, 0, 3)["y"][k] == [2.0, None, 1.9]


def test_an_empty_panel_says_so_far_until_the_run_ends(model):
    spec = _spec(model)
    series = {c: np.zeros(5) for c in spec.columns}
    running = notes(spec, series, finished=False)
    assert "no liquidation so far" in running and "no bad debt so far" in running
    assert "no unsafe vault so far" in running
    assert not any("in this run" in n for n in running)
    ended = notes(spec, series, finished=True)
    assert "no liquidation in this run" in ended and not any("so far" in n for n in ended)
    series["liquidations[ETH-A]"] = np.array([0, 0, 3, 0, 0])
    assert not any("liquidation" in n for n in notes(spec, series, finished=False))
    assert len(running) == len(spec.panels)
