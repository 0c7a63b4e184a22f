"""One live run in the dashboard: a model, its controls, and the one thread that touches it.

The page never steps or builds the model itself. Its buttons put commands on a queue
(:meth:`LiveSession.reset`, :meth:`~LiveSession.step`, :meth:`~LiveSession.play`,
:meth:`~LiveSession.pause`, :meth:`~LiveSession.render_every`); one worker
(:meth:`LiveSession.run`, in a thread the page starts) carries them out in order and, after
each, hands the page a :class:`Frame`: an immutable picture of the run (tick, KPI table, the
chart's series so far, the values the model was built with). So a click never waits for a
tick, a reset can never interleave with a step, and a frame always belongs to the model that
is current. While playing, the worker advances *k* ticks (``render_every``) between frames; the
page appends the new points to its interactive chart (:mod:`sim.app.chart`) rather than drawing
a picture of the whole run, so a frame costs milliseconds, not the half second a matplotlib
run overview takes to draw (five seconds at tick 2 880 of the shipped crash).

Reset builds a new model from the controls' current values through
:func:`sim.app.controls.apply` (:func:`sim.scenario.with_overrides`): a value the scenario
refuses leaves the current model as it was, and the frame carries the messages. No solara here.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from time import monotonic
from typing import Any

import numpy as np
import pandas as pd

from sim.app.chart import ChartSpec, live_figure, notes
from sim.app.controls import Control, Value, apply, controls_for, values_of
from sim.market.prices import DataError
from sim.metrics import keeper_profits, summarize
from sim.model import ProtocolModel
from sim.protocol.vat import ProtocolError
from sim.record import auctions_frame, timeseries_frame
from sim.scenario import Scenario, ScenarioError

#: Frames the default render interval aims at over a whole run.
FRAMES_PER_RUN = 100
#: Longest render interval the page offers [ticks].
MAX_EVERY = 500
#: Shortest wall time between two computations of the KPIs while playing [s].
KPI_EVERY_S = 0.5
#: How long the idle worker waits for a command before looking at its cancel flag again [s].
IDLE_WAIT_S = 0.2
#: Errors building a model from a valid scenario that are the scenario's fault (as the CLI's).
BUILD_ERRORS = (ProtocolError, DataError, ValueError)


def default_every(n_ticks: int) -> int:
    """The render interval that draws about :data:`FRAMES_PER_RUN` frames over a run [ticks]."""
    return max(1, min(MAX_EVERY, round(n_ticks / FRAMES_PER_RUN)))


@dataclass(frozen=True, eq=False)
class Frame:
    """What the page shows of a live run at one moment.

    Attributes:
        generation: models built so far in this session (each successful reset adds one).
        name: the scenario's name.
        seed: the model's seed.
        vaults: vaults in the model's book [count].
        tick: ticks completed.
        n_ticks: ticks in the run.
        time: the simulated time reached (``2021-05-19 06:00 UTC``).
        values: each control's value in the model's scenario (what it was built with).
        kpis: the KPIs so far (:func:`sim.metrics.summarize`; units in
            :data:`sim.metrics.KPI_BY_NAME`).
        kpi_tick: the tick the KPIs were computed at: while playing they are recomputed at
            most every :data:`KPI_EVERY_S` (a tenth of the shipped crash's time went into
            them, at every frame); a paused, stepped or finished run's are its tick's.
        chart: the model's live chart (its figure and what each trace plots).
        series: the chart's columns so far, one value per tick recorded (tick 0 first).
        notes: per panel of the chart, its note (``no liquidation so far``; ``""`` for none).
        playing: the worker is advancing the run.
        every: ticks between frames while playing, and per Step.
        errors: why the last reset was refused (empty: it was applied).
        failed: the error that stopped the run at a tick, if one did.
    """

    generation: int
    name: str
    seed: int
    vaults: int
    tick: int
    n_ticks: int
    time: str
    values: Mapping[str, Value]
    kpis: Mapping[str, float]
    kpi_tick: int
    chart: ChartSpec | None
    series: Mapping[str, np.ndarray]
    notes: tuple[str, ...]
    playing: bool
    every: int
    errors: tuple[str, ...] = ()
    failed: str | None = None

    @property
    def finished(self) -> bool:
        """The run reached its last tick (or stopped at an error)."""
        return self.tick >= self.n_ticks or self.failed is not None


@dataclass
class _Command:
    name: str
    values: Mapping[str, Value] = field(default_factory=dict)
    every: int = 1


class LiveSession:
    """A live run of one scenario, driven by commands, carried out by :meth:`run`.

    Args:
        base: the scenario the controls start from (their values are read from it).
        publish: called with each new :class:`Frame`, from the worker's thread.
        values: control values to build the first model with instead of the scenario's
            (a run opened from a batch passes its seed).
    """

    def __init__(
        self,
        base: Scenario,
        publish: Callable[[Frame], None],
        values: Mapping[str, Value] | None = None,
    ):
        self.base = base
        self.controls: list[Control] = controls_for(base)
        self._publish = publish
        self._commands: queue.Queue[_Command] = queue.Queue()
        #: The control values the first model is built with.
        self.initial_values: dict[str, Value] = {
            **values_of(self.controls, base),
            **(values or {}),
        }
        self.model: ProtocolModel | None = None
        self._scenario: dict[str, Any] = {}
        self._generation = 0
        self._playing = False
        self._every = default_every(base.n_ticks)
        self._errors: tuple[str, ...] = ()
        self._failed: str | None = None
        self._last: Frame | None = None
        self._chart: ChartSpec | None = None
        self._kpis_at = 0.0

    # ------------------------------------------------------------------ commands (any thread)
    def reset(self, values: Mapping[str, Value]) -> None:
        """Rebuild the model from these control values (its current values stay if refused)."""
        self._commands.put(_Command("reset", values=dict(values)))

    def step(self) -> None:
        """Advance the run by the render interval."""
        self._commands.put(_Command("step"))

    def play(self) -> None:
        """Advance the run frame after frame until it ends or is paused."""
        self._commands.put(_Command("play"))

    def pause(self) -> None:
        """Stop playing after the current frame."""
        self._commands.put(_Command("pause"))

    def render_every(self, ticks: int) -> None:
        """Draw a frame every ``ticks`` ticks (also the length of a Step)."""
        self._commands.put(_Command("every", every=max(1, min(MAX_EVERY, int(ticks)))))

    # ------------------------------------------------------------------ the worker
    def run(self, cancel: threading.Event) -> None:
        """The worker: build the first model, then carry out commands until ``cancel`` is set.

        While playing and no command waits, advance the render interval and publish a frame.
        """
        if self.model is None:
            self._handle(_Command("reset", values=self.initial_values))
        while not cancel.is_set():
            try:
                command = (
                    self._commands.get_nowait()
                    if self._playing
                    else self._commands.get(timeout=IDLE_WAIT_S)
                )
            except queue.Empty:
                if self._playing:
                    self._advance()
                continue
            self._handle(command)

    def drain(self) -> None:
        """Carry out the commands waiting, in this thread (no playing: for scripts and tests)."""
        if self.model is None:
            self._handle(_Command("reset", values=self.initial_values))
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return
            self._handle(command)

    def _handle(self, command: _Command) -> None:
        if command.name == "reset":
            self._playing = False
            self._build(command.values)
        elif command.name == "step":
            self._playing = False
            if not self._finished():
                self._advance()
                return
        elif command.name == "play":
            self._playing = not self._finished()
        elif command.name == "pause":
            self._playing = False
        elif command.name == "every":
            self._every = command.every
        self._publish_frame(redraw=command.name == "reset")

    def _finished(self) -> bool:
        return self.model is None or self.model.finished or self._failed is not None

    def _build(self, values: Mapping[str, Value]) -> None:
        try:
            scenario = apply(self.controls, values, self.base)
            model = ProtocolModel(scenario)
        except ScenarioError as exc:
            self._errors = tuple(str(exc).splitlines())
            return
        except BUILD_ERRORS as exc:
            self._errors = (f"the scenario cannot be built: {exc}",)
            return
        self.model = model
        self._scenario = scenario.to_dict()
        self._chart = live_figure(
            self._scenario,
            n_ticks=model.n_ticks,
            dt=model.dt,
            start=scenario.clock.start,
            quantiles=scenario.record.cr_quantiles,
        )
        self._generation += 1
        self._errors = ()
        self._failed = None

    def _advance(self) -> None:
        model = self.model
        assert model is not None
        try:
            for _ in range(self._every):
                if model.finished:
                    break
                model.step()
        except Exception as exc:  # the run stops at this tick, as a run folder's "failed"
            self._failed = f"tick {model.tick}: {type(exc).__name__}: {exc}"
        if self._finished():
            self._playing = False
        self._publish_frame(redraw=True)

    def _publish_frame(self, *, redraw: bool) -> None:
        model = self.model
        if model is None:  # the first build was refused: nothing to draw
            self._publish(self._empty_frame())
            return
        last = self._last
        fresh = last is None or last.generation != self._generation
        if redraw or fresh or last.tick != model.tick:
            assert self._chart is not None
            recorded, rows = model.recorder.series, model.recorder.rows
            series = {c: recorded[c][:rows] for c in self._chart.columns}
            texts = tuple(notes(self._chart, series, finished=self._finished()))
            start = pd.Timestamp(model.spec.clock.start)
            time = (start + pd.Timedelta(seconds=model.tick * model.dt)).strftime(
                "%Y-%m-%d %H:%M UTC"
            )
        else:
            assert last is not None
            series, texts, time = last.series, last.notes, last.time
        now = monotonic()
        stale = fresh or last.kpi_tick != model.tick
        due = not self._playing or now - self._kpis_at >= KPI_EVERY_S
        if stale and (due or fresh):
            ts = timeseries_frame(model)
            auctions = auctions_frame(model)
            kpis = summarize(ts, auctions, keeper_profit=sum(keeper_profits(model).values()))
            kpi_tick, self._kpis_at = model.tick, now
        else:
            assert last is not None
            kpis, kpi_tick = last.kpis, last.kpi_tick
        frame = Frame(
            generation=self._generation,
            name=model.spec.name,
            seed=model.seed,
            vaults=sum(c.vaults for c in model.spec.borrowers),
            tick=model.tick,
            n_ticks=model.n_ticks,
            time=time,
            values=values_of(self.controls, model.spec),
            kpis=kpis,
            kpi_tick=kpi_tick,
            chart=self._chart,
            series=series,
            notes=texts,
            playing=self._playing,
            every=self._every,
            errors=self._errors,
            failed=self._failed,
        )
        self._last = frame
        self._publish(frame)

    def _empty_frame(self) -> Frame:
        return Frame(
            generation=0,
            name=self.base.name,
            seed=self.base.seed,
            vaults=sum(c.vaults for c in self.base.borrowers),
            tick=0,
            n_ticks=self.base.n_ticks,
            time="",
            values={},
            kpis={},
            kpi_tick=0,
            chart=None,
            series={},
            notes=(),
            playing=False,
            every=self._every,
            errors=self._errors,
        )
