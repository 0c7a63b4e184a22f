"""One live run (sim/app/live.py): the session's commands carried out in order by its worker,
a frame after each (tick, KPIs, the chart's series so far, the values the model was built
with), a refused reset that keeps the model, the render interval, and the KPIs' pace while
playing.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import sim
from sim.app.live import Frame, LiveSession, default_every
from sim.scenario import load_scenario
from tests.conftest import SMALL


def _small(tmp_path: Path, text: str = SMALL) -> sim.Scenario:
    path = tmp_path / "small.yaml"
    path.write_text(text)
    return load_scenario(path)


class Frames(list):
    """The frames a session published, in order."""

    @property
    def last(self) -> Frame:
        return self[-1]


def _session(scenario: sim.Scenario, **kwargs) -> tuple[LiveSession, Frames]:
    frames = Frames()
    return LiveSession(scenario, frames.append, **kwargs), frames


def test_session_builds_steps_and_resets_with_the_controls_values(tmp_path):
    base = _small(tmp_path)
    session, frames = _session(base)
    session.drain()
    first = frames.last
    assert (first.tick, first.n_ticks, first.generation) == (0, base.n_ticks, 1)
    assert first.kpis["dai_supply_start"] == 3.0e6 and first.kpi_tick == 0
    assert first.chart is not None and set(first.series) == set(first.chart.columns)
    assert all(len(v) == 1 for v in first.series.values())  # tick 0: the initial state
    session.render_every(4)
    session.step()
    session.drain()
    assert frames.last.tick == 4 and frames.last.every == 4 and frames.last.kpi_tick == 4
    assert all(len(v) == 5 for v in frames.last.series.values())
    recorded = session.model.recorder.series
    for column, values in frames.last.series.items():
        assert list(values) == list(recorded[column][:5]), column
    values = {**session.initial_values, "mat": 1.52, "seed": 5}
    session.reset(values)
    session.drain()
    rebuilt = frames.last
    assert (rebuilt.tick, rebuilt.generation) == (0, 2)
    assert session.model.spec.ilks["ETH-A"].mat == 1.52 and session.model.seed == 5
    assert rebuilt.values["mat"] == 1.52 and rebuilt.values["seed"] == 5
    # a second reset with the same values keeps them (the trap of mesa's reset, #2505)
    session.reset(values)
    session.drain()
    assert frames.last.values["mat"] == 1.52 and frames.last.generation == 3


def test_a_refused_reset_keeps_the_model_and_reports(tmp_path):
    base = _small(tmp_path)
    session, frames = _session(base)
    session.step()
    session.drain()
    model = session.model
    session.reset({**session.initial_values, "mat": 0.9})
    session.drain()
    assert session.model is model
    assert frames.last.tick == 1 and frames.last.generation == 1
    assert any(
        "ilks.ETH-A.mat" in e and "--set ilks.ETH-A.mat=0.9" in e for e in frames.last.errors
    )
    session.reset(session.initial_values)
    session.drain()
    assert frames.last.errors == () and frames.last.generation == 2


def _wait_for(condition, what: str, timeout_s: float = 120.0) -> None:
    """Wait until ``condition()`` holds; fail (a hang, not a slow machine) after ``timeout_s``."""
    pause = threading.Event()
    for _ in range(int(timeout_s / 0.05)):
        if condition():
            return
        pause.wait(0.05)
    pytest.fail(f"timed out waiting for {what}")


def test_the_worker_plays_in_frames_of_k_ticks_until_paused_or_done(tmp_path):
    # long enough (7 200 ticks) that the pause comes before the end: a frame costs little now
    base = _small(tmp_path, SMALL.replace("{tick: 10m, duration: 12h}", "{tick: 1m, duration: 5d}"))
    session, frames = _session(base)
    cancel = threading.Event()
    worker = threading.Thread(target=session.run, args=(cancel,), daemon=True)
    worker.start()
    try:
        session.render_every(8)
        session.play()
        _wait_for(lambda: frames and frames.last.tick >= 16, "two frames of play")
        session.pause()
        _wait_for(lambda: not frames.last.playing, "the pause")
        paused = frames.last.tick
        assert all(f.tick % 8 == 0 for f in frames), [f.tick for f in frames]
        session.step()  # a step after the pause advances exactly one render interval
        _wait_for(lambda: frames.last.tick != paused, "the step")
        assert frames.last.tick == paused + 8 and not frames.last.playing
        session.play()  # then it plays to the end and stops by itself
        _wait_for(lambda: frames.last.finished and not frames.last.playing, "the end")
        assert frames.last.tick == base.n_ticks
    finally:
        cancel.set()
        worker.join(timeout=30)
    assert not worker.is_alive()


def test_default_render_interval():
    assert default_every(72) == 1
    assert default_every(2880) == 29
    assert default_every(10**7) == 500


def test_a_run_at_100k_vaults_steps_and_draws(tmp_path):
    text = (
        SMALL.replace("vaults: 200, debt: 2.0e6", "vaults: 80000, debt: 2.0e9")
        .replace("vaults: 50, debt: 1.0e6", "vaults: 20000, debt: 1.0e9")
        .replace("line: 1.0e9", "line: 1.0e11")
    )
    base = _small(tmp_path, text)
    session, frames = _session(base)
    session.render_every(12)
    session.step()
    session.drain()
    assert frames.last.vaults == 100_000 and frames.last.tick == 12
    assert len(frames.last.series["price[ETH-A]"]) == 13


def test_while_playing_the_kpis_are_recomputed_at_most_every_half_second(tmp_path, monkeypatch):
    """Frames come every few ticks; the KPIs (a tenth of a frame's cost) at most every
    KPI_EVERY_S of wall time, and for the tick reached whenever the run stops."""
    import sim.app.live as live

    clock = iter(range(0, 10**6))
    monkeypatch.setattr(live, "monotonic", lambda: next(clock) * 0.1)  # 0.1 s per frame
    base = _small(tmp_path)
    session, frames = _session(base)
    session.render_every(2)
    session.drain()
    session._playing = True  # as the play command leaves it, without the worker's thread
    for _ in range(12):
        session._advance()
    played = frames[1:]
    fresh = [f.tick for f in played if f.kpi_tick == f.tick]
    assert 2 <= len(fresh) <= 4, [(f.tick, f.kpi_tick) for f in played]  # 1.2 s of frames
    assert all(f.kpi_tick <= f.tick for f in played)
    session.pause()
    session.drain()
    assert frames.last.kpi_tick == frames.last.tick == 24
