"""The dashboard's Solara components: the live run, and the run, batch and sweep folders.

Every figure comes from :mod:`sim.plots` (through :func:`sim.app.render.png`), every table from
the folder readers of :mod:`sim.results`, every scenario change from
:mod:`sim.app.controls`; the components only arrange them and pass clicks on. Elements the
browser tests look for carry a ``cdpsim-…`` CSS class.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import solara
import solara.lab

from sim.app.controls import Control, Value, shown
from sim.app.live import MAX_EVERY, Frame, LiveSession
from sim.app.plotly_chart import PlotlyChart
from sim.app.render import Drawable, png
from sim.app.tables import (
    ROWS_PER_PAGE,
    STATUSES,
    filter_help,
    filter_runs,
    headers,
    kpi_columns,
    kpi_table_html,
    risk_rows,
    risk_table_html,
    shown_columns,
    table_items,
)
from sim.app.targets import Target, TargetError, check_inside, scenario_of_run
from sim.filters import FilterError
from sim.plots import fan_pages, figures_for
from sim.plots.ensemble import SUMMARY_ONLY_NOTE
from sim.plots.figures import available_kinds, fan_warning
from sim.plots.sweep import SweepPlotError, stat_column, tail_note
from sim.results import BatchData, FolderError, RunData, SweepData, load_folder
from sim.scenario import Scenario, ScenarioError

if TYPE_CHECKING:
    import pandas as pd

#: Statistics the sweep view offers (those the sweep's table has).
SWEEP_STATS = ("mean", "p50", "p95", "std", "var95", "var99", "es95", "lar95")
#: The page's own look (the figures bring theirs).
CSS = """
.cdpsim-label { font-size: 0.85rem; font-weight: 500; margin-top: 6px; }
.cdpsim-changed { color: #d55e00; }
.cdpsim-help { font-size: 0.75rem; color: #666; }
.cdpsim-status { font-size: 0.95rem; }
.cdpsim-title { font-weight: 400; margin: 4px 0 8px 0; }
.cdpsim-kpis { font-size: 0.8rem; border-collapse: collapse; }
.cdpsim-kpis td { padding: 1px 6px; }
.cdpsim-kpis .kpi-name { font-family: monospace; cursor: help; }
.cdpsim-kpis .kpi-value { text-align: right; font-family: monospace; }
.cdpsim-kpis .kpi-unit { color: #666; padding-right: 24px; }
img.cdpsim-figure { max-width: 100% !important; height: auto !important; }
.cdpsim-risk { font-size: 0.8rem; border-collapse: collapse; margin: 6px 0; }
.cdpsim-risk td, .cdpsim-risk th { padding: 1px 8px; text-align: right; }
.cdpsim-risk td:first-child, .cdpsim-risk th:first-child { text-align: left; }
"""


@dataclass(frozen=True)
class LiveRequest:
    """A live run asked for from a folder view: the scenario, the seed and where it came from."""

    scenario: Scenario
    seed: int
    source: str


# ---------------------------------------------------------------------------------------- live


@solara.component
def KpiTable(summary: Mapping[str, float], title: str) -> None:
    """The KPIs with their units (definitions on hover), a few to a row."""
    with solara.Card(title):
        solara.HTML(tag="table", unsafe_innerHTML=kpi_table_html(summary), classes=["cdpsim-kpis"])


@solara.component
def ControlInput(control: Control, value: Value, applied: Value, on_value: Callable) -> None:
    """One control: its label (marked when it differs from the model's value) and its input."""
    changed = value != applied
    mark = " • changed, Reset applies it" if changed else ""
    with solara.Column(gap="0px", classes=[f"cdpsim-control-{control.key}"]):
        if control.widget == "slider":
            solara.Text(
                f"{control.label}: {shown(control, value)}{mark}",
                classes=["cdpsim-label", "cdpsim-changed" if changed else ""],
            )
            solara.SliderFloat(
                "",
                value=float(value if value is not None else control.lo),
                min=control.lo,
                max=control.hi,
                step=control.step,
                on_value=on_value,
                thumb_label=False,
            )
        elif control.widget == "integer":
            solara.InputInt(
                control.label + mark,
                value=int(value or 0),
                on_value=on_value,
                continuous_update=False,
            )
        else:
            solara.InputFloat(
                control.label + mark,
                value=value,
                on_value=on_value,
                optional=control.optional,
                clearable=control.optional,
                continuous_update=False,
            )
        note = control.help
        if control.widget == "number":
            note = f"{note} (now {shown(control, value)})" if note else shown(control, value)
        if note:
            solara.Text(note, classes=["cdpsim-help"])


def _status(frame: Frame) -> str:
    """``eth_crash_liq2 · 3,000 vaults · seed 7 · tick 12 / 2880 · 2021-05-19 00:12 UTC``."""
    return (
        f"{frame.name} · {frame.vaults:,} vaults · seed {frame.seed} · "
        f"tick {frame.tick} / {frame.n_ticks} · {frame.time}"
    )


def _built_with(controls: list[Control], values: Mapping[str, Value]) -> str:
    """The model's control values, as the page lists them.

    By scenario path, as ``--set`` names them (``ilks.ETH-A.mat = 1.45``), so that in a scenario
    of several ilks each value says whose it is.
    """
    return " · ".join(
        f"{c.path} = {shown(c, values.get(c.key))}" for c in controls if c.key in values
    )


def _kpi_title(frame: Frame) -> str:
    """``KPIs so far (tick 145 of 2,880)`` while the run goes on, ``KPIs of the whole run`` after.

    The tick is the one the KPIs were computed at (:attr:`Frame.kpi_tick`).
    """
    if frame.kpi_tick >= frame.n_ticks:
        return "KPIs of the whole run"
    return f"KPIs so far (tick {frame.kpi_tick:,} of {frame.n_ticks:,})"


@solara.component
def LiveChart(frame: Frame) -> None:
    """The run's interactive chart (zoom, pan, hover), grown by the points of each frame."""
    element = PlotlyChart.element()

    def show() -> None:
        chart = solara.get_widget(element)
        assert isinstance(chart, PlotlyChart) and frame.chart is not None
        chart.show(frame.generation, frame.chart, frame.series, list(frame.notes))

    solara.use_effect(show, [frame])


@solara.component
def LiveView(scenario: Scenario, values: Mapping[str, Value] | None = None) -> None:
    """A live run of ``scenario``: controls, step / play / reset, the chart and the KPIs.

    The worker publishes a frame every few ticks; only the components that show a frame
    (:func:`RunCard`, :func:`LiveResults`) read it, so a frame does not rebuild the controls.
    The controls read the model's values from their own reactive, which changes on a reset.

    Args:
        scenario: the scenario the controls start from.
        values: control values for the first model instead of the scenario's (e.g. a seed).
    """
    frame = solara.use_reactive(None)
    applied = solara.use_reactive({})

    def publish(new: Frame) -> None:
        frame.set(new)
        applied.set(dict(new.values))  # unchanged values: no re-render

    def make_session() -> LiveSession:
        return LiveSession(scenario, publish, values)

    session: LiveSession = solara.use_memo(make_session, [])
    pending = solara.use_reactive(dict(session.initial_values))
    solara.use_thread(session.run, dependencies=[], intrusive_cancel=False)

    with solara.Columns([1, 3]):
        with solara.Column():
            RunCard(session, frame, pending)
            ParameterCard(session, pending, applied)
        with solara.Column():
            LiveResults(session, frame)


@solara.component
def RunCard(session: LiveSession, frame: solara.Reactive, pending: solara.Reactive) -> None:
    """The run's status, Reset / Play / Step and the render interval."""
    current: Frame | None = frame.value
    with solara.Card("Run"):
        if current is None:
            solara.Text("building the model…", classes=["cdpsim-status"])
        else:
            solara.Text(_status(current), classes=["cdpsim-status"])
            solara.ProgressLinear(value=100 * current.tick / max(current.n_ticks, 1))
        playing = current is not None and current.playing
        done = current is None or current.finished
        with solara.Row():
            solara.Button(
                "Reset",
                color="primary",
                on_click=lambda: session.reset(pending.value),
                classes=["cdpsim-reset"],
            )
            solara.Button(
                "Pause" if playing else "Play",
                color="primary",
                on_click=session.pause if playing else session.play,
                disabled=done and not playing,
                classes=["cdpsim-play"],
            )
            solara.Button(
                "Step",
                color="primary",
                on_click=session.step,
                disabled=playing or done,
                classes=["cdpsim-step"],
            )
        every = current.every if current is not None else 1
        top = max(1, min(MAX_EVERY, current.n_ticks if current is not None else 1))
        solara.Text(
            f"render every {every} tick(s) (also the length of a Step)",
            classes=["cdpsim-label"],
        )
        with solara.Column(classes=["cdpsim-every"]):
            solara.SliderInt(
                "",
                value=min(every, top),
                min=1,
                max=top,
                on_value=session.render_every,
                thumb_label=False,
            )
        solara.Text(
            "Reset rebuilds the model from the parameters' current values.",
            classes=["cdpsim-help"],
        )


@solara.component
def ParameterCard(session: LiveSession, pending: solara.Reactive, applied: solara.Reactive) -> None:
    """The scenario's controls: the values Reset will apply, marked where the model differs."""
    built = applied.value

    def set_value(key: str) -> Callable[[Value], None]:
        return lambda v: pending.set({**pending.value, key: v})

    with solara.Card("Scenario parameters"):
        for control in session.controls:
            ControlInput(
                control,
                pending.value.get(control.key),
                built.get(control.key, pending.value.get(control.key)),
                set_value(control.key),
            ).key(control.key)
        if session.base.network is None and session.base.keepers:
            solara.Text(
                "No gas bid controls: the scenario has no network section, so every "
                "transaction lands and gas bids are ignored.",
                classes=["cdpsim-help"],
            )


@solara.component
def LiveResults(session: LiveSession, frame: solara.Reactive) -> None:
    """The frame's messages, the values the model was built with, the KPIs and the chart."""
    current: Frame | None = frame.value
    if current is None:
        return
    for message in current.errors:
        solara.Error(message, classes=["cdpsim-error"])
    if current.failed:
        solara.Error(f"the run stopped at {current.failed}", classes=["cdpsim-error"])
    solara.Text(
        "model built with: " + _built_with(session.controls, current.values),
        classes=["cdpsim-built", "cdpsim-help"],
    )
    KpiTable(current.kpis, _kpi_title(current))
    if current.chart is not None:
        LiveChart(current)


# ---------------------------------------------------------------------------------------- folders


@solara.component
def Figure(draw: Callable[[], Drawable], key: str, classes: list[str] | None = None) -> None:
    """A :mod:`sim.plots` figure as an image, drawn once per ``key`` (or why it cannot be)."""

    def make() -> tuple[bytes, str]:
        try:
            return png(draw, tight=True), ""
        except (FolderError, SweepPlotError) as exc:
            return b"", str(exc)

    picture, problem = solara.use_memo(make, [key])
    if problem:
        solara.Info(problem, classes=["cdpsim-error"])
        return
    solara.Image(picture, classes=["cdpsim-figure", *(classes or [])])


@solara.component
def RunPanel(folder: Path, roots: tuple[Path, ...], on_live: Callable[[LiveRequest], None]) -> None:
    """One run folder: its run overview, its KPIs and a button to run it again live.

    Args:
        folder: the run folder (refused unless it lies under ``roots``: a batch's runs table
            names its runs, and the table is data from the folder).
        roots: the folders the dashboard may read (:attr:`sim.app.targets.Target.roots`).
        on_live: called with the run's scenario and seed when "Run it live" is clicked.
    """
    error = solara.use_reactive("")
    try:
        check_inside(folder, roots)
        run = load_folder(folder)
    except (FolderError, TargetError) as exc:
        solara.Error(str(exc), classes=["cdpsim-error"])
        return
    assert isinstance(run, RunData)

    def go_live() -> None:
        try:
            scenario, seed = scenario_of_run(folder, roots)
        except (ScenarioError, TargetError) as exc:
            error.set(f"cannot run {run.label} live: {exc}")
            return
        on_live(LiveRequest(scenario, seed, str(folder)))

    with solara.Row():
        solara.Text(f"Run {run.label} · status {run.manifest.get('status', '?')}")
        solara.Button("Run it live", color="primary", on_click=go_live, classes=["cdpsim-live"])
    if error.value:
        solara.Error(error.value, classes=["cdpsim-error", "cdpsim-live-error"])
    if run.summary:
        KpiTable(run.summary, "KPIs")
    Figure(
        lambda: figures_for(run, "overview")[0].figure,
        key=f"run:{folder}",
        classes=["cdpsim-run-figure"],
    )


@solara.component
def RunsTable(batch: BatchData, on_pick: Callable[[str], None]) -> None:
    """The runs table: a status filter, a row filter, sortable columns; a click picks a run."""
    query = solara.use_reactive("")
    status = solara.use_reactive("all")
    kpis = solara.use_reactive(shown_columns(batch.runs)[4:])
    try:
        rows = filter_runs(batch.runs, query.value, status.value)
        problem = ""
    except FilterError as exc:
        rows, problem = batch.runs.iloc[0:0], str(exc)
    with solara.Columns([1, 3, 4]):
        solara.Select("status", values=list(STATUSES), value=status)
        with solara.Column(gap="0px"):
            solara.InputText(
                "filter, e.g. bad_debt_max > 1e6 and seed != 3",
                value=query,
                continuous_update=False,
                classes=["cdpsim-filter"],
            )
            solara.Text(filter_help(batch.runs), classes=["cdpsim-help", "cdpsim-filter-help"])
        solara.SelectMultiple("KPI columns", values=kpis, all_values=kpi_columns(batch.runs))
    with solara.Column():  # always there, so that the table below keeps its place
        if problem:
            solara.Error(problem, classes=["cdpsim-error"])
    columns = shown_columns(batch.runs, kpis.value)
    solara.Text(
        f"{len(rows)} of {len(batch.runs)} runs · click a row for its run overview",
        classes=["cdpsim-help", "cdpsim-count"],
    )
    heads, divisors = headers(batch.runs, columns)
    with solara.Column(style={"overflow-x": "auto"}):
        RunsDataTable(table_items(rows, columns, divisors), heads, on_pick)


@solara.component
def RunsDataTable(
    items: list[dict], heads: list[dict[str, str]], on_pick: Callable[[str], None]
) -> None:
    """The table itself (sortable, paged); a click on a row calls ``on_pick`` with its run id."""
    table = solara.v.DataTable(
        headers=heads,
        items=items,
        item_key="run_id",
        items_per_page=ROWS_PER_PAGE,
        dense=True,
        class_="cdpsim-runs",
    )
    solara.v.use_event(table, "click:row", lambda _w, _e, item: on_pick(str(item["run_id"])))


def fan_page_labels(pages: list[list[str]]) -> list[str]:
    """One label per page of a batch's fan chart, e.g. ``9–16 of 20: a, b, c, …``.

    Args:
        pages: the scenario names of each page (:func:`sim.plots.fan_pages`).
    """
    total = sum(len(page) for page in pages)
    labels, first = [], 1
    for page in pages:
        shown = ", ".join(page[:3]) + (", …" if len(page) > 3 else "")
        span = f"{first}" if len(page) == 1 else f"{first}–{first + len(page) - 1}"
        labels.append(f"{span} of {total}: {shown}")
        first += len(page)
    return labels


def _loaded(path: Path) -> RunData | BatchData | SweepData | str:
    """A folder's tables, or why they cannot be read (a damaged folder is a message, not a crash)."""
    try:
        return load_folder(path)
    except FolderError as exc:
        return str(exc)


@solara.component
def BatchView(target: Target, on_live: Callable[[LiveRequest], None]) -> None:
    """A batch folder: the fan chart, the runs table and the picked run's overview."""
    data = solara.use_memo(lambda: _loaded(target.path), [str(target.path)])
    if isinstance(data, BatchData):
        BatchPanel(target, data, on_live)
    else:
        solara.Error(str(data), classes=["cdpsim-error"])


@solara.component
def RiskTable(runs: pd.DataFrame) -> None:
    """Each scenario's VaR, ES, LaR and P(bad debt) with ``n_runs``, and the warning of few runs."""
    rows, warning = risk_rows(runs)
    if not rows:
        return
    solara.HTML(tag="table", unsafe_innerHTML=risk_table_html(rows), classes=["cdpsim-risk"])
    if warning:
        solara.Warning(warning, classes=["cdpsim-tail-warning"])


def _warning_note(text: str | None) -> None:
    """A figure's tail warning (:attr:`sim.plots.figures.NamedFigure.warning`) under it."""
    if text:
        solara.Warning(f"Warning: {text}.", classes=["cdpsim-tail-warning"])


@solara.component
def BatchPanel(target: Target, data: BatchData, on_live: Callable[[LiveRequest], None]) -> None:
    """The views of a batch folder that could be read."""
    tab = solara.use_reactive(0)
    picked = solara.use_reactive("")
    labels = fan_page_labels(fan_pages(data))
    page = solara.use_reactive(labels[0])

    def pick(run_id: str) -> None:
        picked.set(run_id)
        tab.set(1)

    with solara.lab.Tabs(value=tab):
        with solara.lab.Tab("Runs"):
            RunsTable(data, pick)
            RiskTable(data.runs)
            if not data.kept_full:
                solara.Info(SUMMARY_ONLY_NOTE)
            number = labels.index(page.value) if page.value in labels else 0
            if len(labels) > 1:
                solara.Select(
                    "fan chart of the scenarios", values=labels, value=page, classes=["cdpsim-page"]
                )
            Figure(
                lambda: figures_for(data, "fan", page=number)[0].figure,
                key=f"fan:{target.path}:{number}",
                classes=["cdpsim-fan"],
            )
            _warning_note(fan_warning(data.runs))
        with solara.lab.Tab(f"Run {picked.value}" if picked.value else "Run"):
            if picked.value:
                folder = data.run_folder(picked.value)
                RunPanel(folder, target.roots, on_live).key(str(folder))
            else:
                solara.Info("Pick a run in the runs table.")


def _stats(sweep: SweepData, kpi: str) -> list[str]:
    """The statistics of a KPI the sweep's points table has."""
    found = []
    for stat in SWEEP_STATS:
        try:
            stat_column(sweep.points, kpi, stat)
        except SweepPlotError:
            continue
        found.append(stat)
    return found


@solara.component
def SweepView(target: Target, on_live: Callable[[LiveRequest], None]) -> None:
    """A sweep folder: a heatmap of a KPI over two parameters, the indices, the runs."""
    data = solara.use_memo(lambda: _loaded(target.path), [str(target.path)])
    if isinstance(data, SweepData):
        SweepPanel(target, data, on_live)
    else:
        solara.Error(str(data), classes=["cdpsim-error"])


@solara.component
def SweepPanel(target: Target, data: SweepData, on_live: Callable[[LiveRequest], None]) -> None:
    """The views of a sweep folder that could be read."""
    kinds = available_kinds(data)
    names = data.parameter_names
    kpi = solara.use_reactive(data.kpis[0] if data.kpis else "")
    stat = solara.use_reactive("mean")
    x = solara.use_reactive(names[0] if names else "")
    y = solara.use_reactive(names[1] if len(names) > 1 else "")
    tab = solara.use_reactive(0)
    picked = solara.use_reactive("")
    sensitivity = [k for k in ("sobol", "morris") if k in kinds]

    def pick(run_id: str) -> None:
        picked.set(run_id)
        tab.set(2)

    view = "heatmap" if "heatmap" in kinds else "line"
    params = [x.value, y.value] if view == "heatmap" else [x.value]
    with solara.lab.Tabs(value=tab):
        with solara.lab.Tab("Overview"):
            with solara.Row():
                solara.Select("KPI", values=data.kpis, value=kpi, classes=["cdpsim-kpi"])
                solara.Select("statistic", values=_stats(data, kpi.value) or ["mean"], value=stat)
                solara.Select("x", values=names, value=x)
                if view == "heatmap":
                    solara.Select("y", values=names, value=y)
            Figure(
                lambda: (
                    figures_for(data, view, kpi=kpi.value, stat=stat.value, params=params)[0].figure
                ),
                key=f"{view}:{target.path}:{kpi.value}:{stat.value}:{params}",
                classes=["cdpsim-heatmap"],
            )
            # the line view draws the 5–95 % band; the heatmap the statistic chosen
            shown_stat = stat.value if view == "heatmap" else "p95"
            _warning_note(tail_note(data.points, kpi.value, shown_stat))
            if sensitivity:
                Figure(
                    lambda: figures_for(data, sensitivity[0])[0].figure,
                    key=f"{sensitivity[0]}:{target.path}",
                    classes=["cdpsim-sensitivity"],
                )
            else:
                solara.Info("No sensitivity indices: the sweep's design is not Sobol or Morris.")
        with solara.lab.Tab("Runs"):
            RunsTable(data, pick)
        with solara.lab.Tab(f"Run {picked.value}" if picked.value else "Run"):
            if picked.value:
                folder = data.run_folder(picked.value)
                RunPanel(folder, target.roots, on_live).key(str(folder))
            else:
                solara.Info("Pick a run in the Runs tab.")


# ---------------------------------------------------------------------------------------- page


@solara.component
def ScenarioLive(target: Target) -> None:
    """The live run of a scenario file (or why the file is refused)."""
    loaded = solara.use_memo(lambda: _load(target), [str(target.path)])
    if isinstance(loaded, str):
        solara.Error(loaded, classes=["cdpsim-error"])
        return
    LiveView(loaded)


def _load(target: Target) -> Scenario | str:
    try:
        return target.scenario()
    except ScenarioError as exc:
        return str(exc)


@solara.component
def Dashboard(target: Target | None, problem: str = "") -> None:
    """The page: the live run of a scenario, or a folder to explore (and runs from it, live)."""
    live = solara.use_reactive(None)
    solara.Style(CSS)
    title = "cdpsim dashboard" + (f" — {target.path}" if target is not None else "")
    solara.Title(title)
    with solara.Column(style={"padding": "12px 20px"}):
        solara.HTML(tag="h2", unsafe_innerHTML=html.escape(title), classes=["cdpsim-title"])
        if target is None:
            solara.Error(problem or "nothing to show")
            return
        request: LiveRequest | None = live.value
        if request is not None:
            with solara.Row():
                solara.Button(
                    f"← back to {target.path}",
                    on_click=lambda: live.set(None),
                    classes=["cdpsim-back"],
                )
                solara.Text(f"live run of {request.source}")
            LiveView(request.scenario, {"seed": request.seed}).key(f"live:{request.source}")
            return
        if target.kind == "scenario":
            ScenarioLive(target).key(f"live:{target.path}")
        elif target.kind == "run":
            RunPanel(target.path, target.roots, live.set)
        elif target.kind == "sweep":
            SweepView(target, live.set)
        else:
            BatchView(target, live.set)
