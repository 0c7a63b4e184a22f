"""Which figure fits an output folder, and drawing it from the folder's tables.

Kinds of figure per folder (:data:`KINDS`; the first that applies is the default):

- a run: ``overview``;
- a batch: ``fan``;
- a sweep: ``sobol`` or ``morris`` (when its design computed indices), ``heatmap`` (two or more
  parameters), ``line``, ``boxes`` (after ``cdpsim discover``);
- two runs or two batches: ``compare``.

:func:`figure_for` draws one kind; :func:`all_figures` draws every kind that applies (the report).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from sim.derived import is_ok
from sim.experiments.discovery import METHODS as DISCOVERY_METHODS
from sim.experiments.discovery import Discovery
from sim.formatting import compact_amount
from sim.metrics import tail_warning, unit_of
from sim.plots.compare import (
    BatchTables,
    ComparisonError,
    RunTables,
    compare_batches,
    compare_runs,
    differences_note,
    pair_scenarios,
)
from sim.plots.discovery import discovery_boxes
from sim.plots.ensemble import MAX_ROWS, SUMMARY_ONLY_NOTE, ensemble_fan
from sim.plots.labels import counted, parameter_infos
from sim.plots.overview import overview_title, run_overview, status_banner
from sim.plots.sweep import (
    SweepPlotError,
    morris_scatter,
    sobol_bars,
    sweep_heatmap,
    sweep_line,
    tail_note,
)
from sim.results import (
    BatchData,
    FolderError,
    Outputs,
    RunData,
    SweepData,
    governance_marks,
    held_after,
)

#: Figure kinds per folder kind, default first.
KINDS = {
    "run": ("overview",),
    "batch": ("fan",),
    "sweep": ("sobol", "morris", "heatmap", "line", "boxes"),
    "compare": ("compare",),
}
#: The options of ``cdpsim plot`` each figure kind reads, besides ``--out`` and ``--kind``
#: (:func:`check_options` refuses the others rather than ignoring them).
KIND_OPTIONS: dict[str, tuple[str, ...]] = {
    "overview": (),
    "fan": (),
    "compare": (),
    "heatmap": ("kpi", "stat", "params"),
    "line": ("kpi", "params"),
    "sobol": ("kpi",),
    "morris": ("kpi",),
    "boxes": ("kpi",),
}
#: Characters kept in a default file name; others become ``_``.
_FILE_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")


class PlotError(FolderError):
    """This figure cannot be drawn from this folder (a one-line message for the user)."""


@dataclass
class NamedFigure:
    """A figure with a short name (file names, anchors) and a caption (the report).

    Attributes:
        kind: the figure kind (``overview``, ``heatmap``, ...).
        name: unique within a report (``heatmap-bad_debt_max-mean``); ``cdpsim plot`` names
            a sweep's figure file after it, so that each KPI and statistic gets its own file.
        caption: one sentence saying what it shows.
        figure: the figure.
        note: something the reader must know (e.g. only summaries were kept), or ``None``.
        warning: a tail statistic it draws rests on fewer than
            :data:`sim.metrics.MIN_TAIL_RUNS` runs (:func:`sim.metrics.tail_warning`), or
            ``None``.
    """

    kind: str
    name: str
    caption: str
    figure: Figure
    note: str | None = None
    warning: str | None = None


def folder_kind_of(outputs: Outputs) -> str:
    """``run``, ``batch`` or ``sweep``."""
    if isinstance(outputs, SweepData):
        return "sweep"
    if isinstance(outputs, BatchData):
        return "batch"
    return "run"


def available_kinds(outputs: Outputs) -> list[str]:
    """The kinds of figure this folder can give, default first."""
    kind = folder_kind_of(outputs)
    if kind != "sweep":
        return list(KINDS[kind])
    assert isinstance(outputs, SweepData)
    found = []
    methods = (
        set(outputs.sensitivity["method"].astype(str)) if outputs.sensitivity is not None else set()
    )
    numeric = _numeric_parameters(outputs)
    for name in KINDS["sweep"]:
        if (
            (name in ("sobol", "morris") and name in methods)
            or (name == "heatmap" and len(numeric) >= 2)
            or (name == "line" and numeric)
            or (name == "boxes" and outputs.discoveries)
        ):
            found.append(name)
    return found


def _numeric_parameters(sweep: SweepData) -> list[str]:
    points = sweep.points
    return [
        n
        for n in sweep.parameter_names
        if n in points.columns and points[n].dtype.kind in "iuf" and points[n].nunique() > 1
    ]


def _overview(run: RunData) -> NamedFigure:
    if run.timeseries is None:
        raise PlotError(
            f"{run.path}: no timeseries.parquet (the run was kept as a summary only); nothing to "
            "draw an overview from"
        )
    banner = status_banner(run.manifest)
    fig = run_overview(
        run.timeseries,
        run.auctions,
        run.scenario,
        title=overview_title(run.scenario, run.seed),
        banner=banner,
        held=held_after(run),
        marks=governance_marks(run),
    )
    caption = (
        f"Run overview of {run.label}: prices and the oracle, the CR distribution against "
        "the liquidation ratio, unsafe vaults and debt, liquidations and auction outcomes, "
        "Dai supply, bad debt and the Vow's surplus."
    )
    return NamedFigure("overview", "overview", caption, fig, banner)


def fan_warning(runs: pd.DataFrame, series: str | None = None) -> str | None:
    """The warning of a fan chart whose bands and VaR95 rest on too few runs, or ``None``.

    Args:
        runs: the runs drawn (rows of the runs table); each scenario's ok runs (and, with
            ``series``, each batch's of it) make a band.
        series: a column whose values are overlaid (``batch``), if any.
    """
    ok = runs[is_ok(runs)] if "status" in runs else runs
    if not len(ok):
        return None
    keys = [c for c in ("scenario", series) if c is not None and c in ok]
    counts = ok.groupby(keys, sort=False).size() if keys else pd.Series([len(ok)])
    return tail_warning(
        int(counts.min()), "the 5–95 % bands and VaR95", fewest=counts.nunique() > 1
    )


def fan_pages(batch: BatchData) -> list[list[str]]:
    """The batch's scenario names in the fan chart's pages of at most :data:`MAX_ROWS` each.

    Scenarios come in the order of the runs table; a batch without scenarios has one empty page.
    """
    names = [str(n) for n in dict.fromkeys(batch.runs.get("scenario", pd.Series(dtype=str)))]
    return [names[k : k + MAX_ROWS] for k in range(0, len(names), MAX_ROWS)] or [names]


def _fan(batch: BatchData, only: int | None = None) -> list[NamedFigure]:
    """The fan chart, one page per :data:`MAX_ROWS` scenarios (``fan``, ``fan-2``, ...).

    Args:
        batch: the batch's tables.
        only: draw only this page (0-based); every page if None.
    """
    pages = fan_pages(batch)
    names = [name for page in pages for name in page]
    note = None if batch.kept_full else SUMMARY_ONLY_NOTE
    caption = (
        "Quantile bands over the runs (5–95 %, 25–75 %, median) of price, bad debt, "
        "liquidated debt and Dai supply, and the distribution of each run's largest bad debt "
        "with VaR95"
        if batch.kept_full
        else "The distribution of each run's largest bad debt with VaR95 (summaries only)"
    )
    caption += ", scenario by scenario." if len(names) > 1 else "."
    out = []
    for k, page in enumerate(pages):
        if only is not None and k != only:
            continue
        runs = batch.runs
        if len(pages) > 1:
            runs = runs[runs["scenario"].astype(str).isin(page)]
        title = f"Ensemble over {counted(len(runs), 'run')} — {batch.label}"
        if len(pages) > 1:
            first = k * MAX_ROWS + 1
            title += f", scenarios {first}–{first + len(page) - 1} of {len(names)}"
        if page and len(page) <= 3:
            title += f" ({', '.join(page)})"
        fig = ensemble_fan(
            runs,
            batch.timeseries,
            batch.auctions,
            scenarios=batch.scenarios,
            title=title,
            row_layout=len(pages) > 1,  # every page alike, even a last one of one scenario
        )
        name = "fan" if k == 0 else f"fan-{k + 1}"
        page_caption = caption
        if len(pages) > 1:
            page_caption += f" Page {k + 1} of {len(pages)}: {', '.join(page)}."
        out.append(NamedFigure("fan", name, page_caption, fig, note, fan_warning(runs)))
    return out


def _sweep_title(sweep: SweepData, what: str) -> str:
    name = sweep.sweep.get("name") or sweep.label
    design = (sweep.sweep.get("design") or {}).get("kind")
    return f"{what} — sweep {name}" + (f" ({design} design)" if design else "")


def _pick_kpi(sweep: SweepData, kpi: str | None) -> str:
    kpis = sweep.kpis
    if kpi is None:
        if not kpis:
            raise PlotError(f"{sweep.path}: points.parquet has no KPI statistics")
        return kpis[0]
    if kpi not in kpis and not any(c.startswith(f"{kpi}_") for c in sweep.points.columns):
        if kpi not in sweep.points.columns:
            raise PlotError(f"no KPI {kpi!r} in this sweep (there are: {', '.join(kpis)})")
    return kpi


def _pick_params(sweep: SweepData, params: Sequence[str] | None, n: int) -> list[str]:
    numeric = _numeric_parameters(sweep)
    if params:
        unknown = [p for p in params if p not in sweep.points.columns]
        if unknown:
            raise PlotError(
                f"no parameter {unknown[0]!r} in this sweep (there are: "
                f"{', '.join(sweep.parameter_names)})"
            )
        if len(params) > n:
            raise PlotError(
                f"this view takes {counted(n, 'parameter')}, not {len(params)} "
                f"({', '.join(params)}): give --params "
                + ("A,B (x and y)" if n == 2 else "A (the x axis)")
            )
        chosen = list(params)
    else:
        chosen = numeric
    if len(chosen) < n:
        raise PlotError(
            f"this view needs {counted(n, 'swept numeric parameter')}; the sweep has "
            f"{len(numeric)} ({', '.join(numeric) or 'none'})"
        )
    return chosen[:n]


def _sweep_figure(
    sweep: SweepData,
    kind: str,
    kpi: str | None,
    stat: str,
    params: Sequence[str] | None,
) -> list[NamedFigure]:
    parameters = sweep.parameters
    try:
        if kind == "heatmap":
            k = _pick_kpi(sweep, kpi)
            x, y = _pick_params(sweep, params, 2)
            names = parameter_infos(parameters, (x, y))
            fig = sweep_heatmap(
                sweep.points,
                x,
                y,
                k,
                stat,
                parameters=parameters,
                title=_sweep_title(sweep, f"{k} ({stat}) over {names[x].name} and {names[y].name}"),
            )
            caption = (
                f"{k} ({stat} over seeds) at each design point over {names[x].name} ({x}) and "
                f"{names[y].name} ({y})."
            )
            name = f"heatmap-{k}-{stat}" + (f"-{x}-{y}" if params else "")
            warning = tail_note(sweep.points, k, stat)
            return [NamedFigure(kind, name, caption, fig, warning=warning)]
        if kind == "line":
            k = _pick_kpi(sweep, kpi)
            (x,) = _pick_params(sweep, params, 1)
            names = parameter_infos(parameters, (x,))
            fig = sweep_line(
                sweep.points,
                x,
                k,
                parameters=parameters,
                title=_sweep_title(sweep, f"{k} over {names[x].name}"),
            )
            caption = (
                f"{k}: mean and median over seeds, and the 5–95 % band, against "
                f"{names[x].name} ({x})."
            )
            name = f"line-{k}" + (f"-{x}" if params else "")
            return [
                NamedFigure(kind, name, caption, fig, warning=tail_note(sweep.points, k, "p95"))
            ]
        if kind in ("sobol", "morris"):
            draw = sobol_bars if kind == "sobol" else morris_scatter
            what = "Sobol indices" if kind == "sobol" else "Morris screening"
            fig = draw(
                sweep.sensitivity, kpi, parameters=parameters, title=_sweep_title(sweep, what)
            )
            caption = (
                "First-order (S1) and total (ST) Sobol indices of each parameter, with their "
                "confidence intervals."
                if kind == "sobol"
                else "Morris μ* (effect size) against σ (non-linearity and interactions)."
            )
            return [NamedFigure(kind, kind + (f"-{kpi}" if kpi else ""), caption, fig)]
        if kind == "boxes":
            found = [d for d in sweep.discoveries if kpi is None or d.kpi == kpi]
            if not found:
                raise PlotError(
                    f"{sweep.path}: no discovery results"
                    + (f" for {kpi}" if kpi else "")
                    + " (run cdpsim discover first)"
                )
            return [_boxes_figure(sweep, group) for group in discovery_groups(found)]
    except SweepPlotError as exc:
        raise PlotError(f"{sweep.path}: {exc}") from None
    raise PlotError(f"unknown kind {kind!r}")


def discovery_groups(found: Sequence[Discovery]) -> list[list[Discovery]]:
    """The discoveries of one question together: same KPI, side and threshold, by method."""
    groups: dict[tuple[str, str, float], list[Discovery]] = {}
    for d in found:
        groups.setdefault((d.kpi, d.side, float(d.threshold)), []).append(d)
    return list(groups.values())


def partner_method(sweep: SweepData, saved: Discovery, method: str) -> Discovery:
    """The other method's boxes for a saved discovery, found now from the sweep's runs table.

    The figure shows PRIM beside CART; when the folder holds only one of them (``cdpsim
    discover`` ran one method), the other is found here, for the figure only (nothing is
    written). Without EMA Workbench (the ``prim`` extra) PRIM's panel says how to get it.

    Args:
        sweep: the sweep folder read back.
        saved: the discovery in the folder.
        method: the method to find (``cart`` or ``prim``).
    """
    from sim.experiments.discovery import find_boxes
    from sim.experiments.errors import AnalysisError

    try:
        return find_boxes(
            sweep.runs,
            sweep.parameters,
            kpi=saved.kpi,
            side=saved.side,
            threshold=saved.threshold,
            method=method,  # type: ignore[arg-type]
            complete=saved.complete,
            where=str(sweep.path),
        )
    except AnalysisError as exc:
        return Discovery(
            saved.kpi, saved.side, saved.threshold, method, pd.DataFrame(), note=str(exc)
        )


def _boxes_figure(sweep: SweepData, group: Sequence[Discovery]) -> NamedFigure:
    """One question's boxes: CART's beside PRIM's, the missing one found for the figure."""
    first = group[0]
    by_method = {d.method: d for d in group}
    computed = []
    for method in DISCOVERY_METHODS:
        if method not in by_method:
            by_method[method] = partner_method(sweep, first, method)
            if by_method[method].n_runs is not None:  # found (not: PRIM not installed)
                computed.append(method.upper())
    shown = [by_method[m] for m in DISCOVERY_METHODS]
    tables = [d.boxes for d in shown if d.boxes is not None and len(d.boxes)]
    boxes = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    prim = by_method["prim"]
    question = (  # "liquidated_debt above 214 M Dai"
        f"{first.kpi} {first.side} {compact_amount(first.threshold, unit_of(first.kpi))}"
    )
    fig = discovery_boxes(
        boxes,
        prim.trajectory,
        parameters=sweep.parameters,
        points=sweep.points,
        title=_sweep_title(sweep, f"Scenario discovery: {question} (CART and PRIM)"),
        note=first.note,
        methods=list(DISCOVERY_METHODS),
        notes={d.method: d.note for d in shown},
    )
    caption = f"Boxes of parameter space where {question}: CART's leaves beside PRIM's box."
    note = first.note or None
    if computed:
        found_now = (
            f"{' and '.join(computed)} found for this figure from the runs table, not saved "
            f"(cdpsim discover --method {computed[0].lower()} saves it)."
        )
        note = f"{note} {found_now}" if note else found_now
    return NamedFigure("boxes", f"boxes-{first.name}", caption, fig, note)


def figures_for(
    outputs: Outputs,
    kind: str | None = None,
    *,
    kpi: str | None = None,
    stat: str = "mean",
    params: Sequence[str] | None = None,
    page: int | None = None,
) -> list[NamedFigure]:
    """The figure(s) of one kind for a folder (usually one; ``boxes`` gives one per result).

    Args:
        outputs: the folder's tables (:func:`sim.results.load_folder`).
        kind: one of :func:`available_kinds` (default: the first).
        kpi: for sweep views, the KPI (default: the sweep's first).
        stat: for the heatmap, the statistic (``mean``, ``p95``, ``var95``, ...).
        params: for the heatmap (two) and the line (one), the parameters.
        page: for a batch's fan chart, only this page of :func:`fan_pages` (0-based); all
            pages if None.

    Raises:
        PlotError: the kind does not apply to this folder, or its tables lack what it needs,
            or the page does not exist.
    """
    folder = folder_kind_of(outputs)
    kinds = available_kinds(outputs)
    if kind is None:
        if not kinds:
            raise PlotError(f"{outputs.path}: nothing to plot in this {folder} folder")
        kind = kinds[0]
    if kind not in kinds:
        possible = ", ".join(kinds) or "none"
        raise PlotError(
            f"--kind {kind} does not apply to the {folder} folder {outputs.path} "
            f"(kinds here: {possible})"
        )
    if isinstance(outputs, SweepData):
        return _sweep_figure(outputs, kind, kpi, stat, params)
    if isinstance(outputs, BatchData):
        count = len(fan_pages(outputs))
        if page is not None and not 0 <= page < count:
            raise PlotError(f"{outputs.path}: no fan chart page {page + 1} (pages: 1–{count})")
        return _fan(outputs, only=page)
    return [_overview(outputs)]


def _flags(options: Sequence[str]) -> str:
    """``--kpi``, ``--kpi and --stat``, ``--kpi, --stat and --params``."""
    flags = [f"--{o}" for o in options]
    return flags[0] if len(flags) == 1 else ", ".join(flags[:-1]) + f" and {flags[-1]}"


def check_options(
    folder: str, kind: str | None, given: Sequence[str], *, default: bool = False
) -> None:
    """Refuse ``cdpsim plot`` options the figure does not read, rather than ignore them.

    Args:
        folder: ``run``, ``batch``, ``sweep``, or ``compare`` for two folders.
        kind: for a sweep, the figure kind drawn (:data:`KIND_OPTIONS`); ``None`` when the
            sweep has none (nothing is refused: drawing fails with its own message).
        given: the options given: ``kpi``, ``stat``, ``params``.
        default: ``kind`` is the sweep's default, not asked for with ``--kind``.

    Raises:
        PlotError: an option that does not apply; the message says which options do.
    """
    if folder != "sweep":
        unused = list(given)
        if not unused:
            return
        verb = "does" if len(unused) == 1 else "do"
        takes = (
            "a comparison takes --out"
            if folder == "compare"
            else f"a {folder} folder takes --out and --kind {KINDS[folder][0]}"
        )
        where = "a comparison of two folders" if folder == "compare" else f"a {folder} folder"
        raise PlotError(
            f"{_flags(unused)} {verb} not apply to {where}: {takes} (--kpi, --stat and "
            "--params are for a sweep folder on its own)"
        )
    if kind is None:
        return
    reads = KIND_OPTIONS.get(kind, ())
    unused = [o for o in given if o not in reads]
    if not unused:
        return
    verb = "does" if len(unused) == 1 else "do"
    which = f"--kind {kind}" + (" (this sweep's default figure)" if default else "")
    takes = ", ".join([*(f"--{o}" for o in reads), "--out"])
    elsewhere = "; ".join(
        f"--{o} is for --kind " + ", ".join(k for k in KINDS["sweep"] if o in KIND_OPTIONS[k])
        for o in unused
    )
    raise PlotError(
        f"{_flags(unused)} {verb} not apply to {which}: {kind} takes {takes} ({elsewhere})"
    )


def all_figures(outputs: Outputs) -> list[NamedFigure]:
    """Every figure that applies to a folder, each with its defaults (the report's figures).

    For a sweep: the heatmap (or line) of each KPI, the indices and every discovery result.
    """
    if not isinstance(outputs, SweepData):
        return figures_for(outputs)
    out: list[NamedFigure] = []
    kinds = available_kinds(outputs)
    for kind in kinds:
        if kind in ("heatmap", "line"):
            if kind == "line" and "heatmap" in kinds:
                continue
            for kpi in outputs.kpis:
                out += figures_for(outputs, kind, kpi=kpi)
        else:
            out += figures_for(outputs, kind)
    return out


def comparison(a: Outputs, b: Outputs) -> NamedFigure:
    """Two runs, or two batches, overlaid.

    Raises:
        PlotError: not two runs or two batches (a sweep is never compared), or a run without
            time series.
    """
    kinds = (folder_kind_of(a), folder_kind_of(b))
    for x in (a, b):
        if isinstance(x, SweepData):
            raise PlotError(
                f"{x.path} is a sweep folder: its runs are design points, different "
                "parameterisations rather than seeds of one scenario, so it is not overlaid "
                "as an ensemble; sweeps are compared by their points tables (points.parquet), "
                "or plot each sweep on its own (cdpsim plot SWEEP)"
            )
    if kinds == ("run", "run"):
        assert isinstance(a, RunData) and isinstance(b, RunData)
        for run in (a, b):
            if run.timeseries is None:
                raise PlotError(f"{run.path}: no timeseries.parquet to compare")
        labels = [_compare_label(r) for r in (a, b)]
        if labels[0] == labels[1]:
            labels = [f"{labels[0]} [{a.path.name}]", f"{labels[1]} [{b.path.name}]"]
        fig = compare_runs(
            [
                RunTables(label, r.timeseries, r.auctions, r.scenario)
                for label, r in zip(labels, (a, b), strict=True)
            ]
        )
        caption = f"{labels[0]} and {labels[1]} overlaid on shared axes."
        return NamedFigure("compare", "compare", caption, fig)
    if "run" not in kinds:
        assert isinstance(a, BatchData) and isinstance(b, BatchData)
        tables = [
            BatchTables(x.label, x.runs, x.timeseries, x.auctions, x.scenarios) for x in (a, b)
        ]
        try:
            pairing = pair_scenarios(tables)
            fig = compare_batches(tables)
        except ComparisonError as exc:
            raise PlotError(f"{a.path} vs {b.path}: {exc}") from None
        notes = [] if a.kept_full and b.kept_full else [SUMMARY_ONLY_NOTE]
        if pairing.left_out:
            notes.append(f"Scenarios in one batch only are {pairing.left_out}.")
        differ = differences_note(tables, pairing)
        if differ:
            notes.append(f"{differ}.")
        if len(pairing.rows) > MAX_ROWS:
            notes.append(
                f"Only the first {MAX_ROWS} of {len(pairing.rows)} shared scenarios drawn."
            )
        caption = f"The ensembles of {a.label} and {b.label} overlaid, scenario by scenario."
        drawn = [  # the runs of the compared scenarios, a series per batch
            x.runs[x.runs["scenario"].astype(str).isin([row[k] for row in pairing.rows])]
            if "scenario" in x.runs
            else x.runs
            for k, x in ((1, a), (2, b))
        ]
        both = pd.concat([runs.assign(batch=k) for k, runs in enumerate(drawn)])
        warning = fan_warning(both, "batch")
        return NamedFigure("compare", "compare", caption, fig, " ".join(notes) or None, warning)
    raise PlotError(
        f"a comparison takes two runs or two batches, not a {kinds[0]} ({a.path}) and a "
        f"{kinds[1]} ({b.path})"
    )


def _compare_label(run: RunData) -> str:
    return str(run.scenario.get("name") or run.path.name)


def default_output(folder: Path, kind: str, other: Path | None = None, ext: str = ".png") -> Path:
    """The default file of ``cdpsim plot``: next to the folder, ``<folder>-<kind>.png``.

    With two folders: ``<folder>-vs-<other>.png`` next to the first.

    Args:
        folder: the plotted folder.
        kind: the figure's kind, or for a sweep its :attr:`NamedFigure.name`
            (``heatmap-bad_debt_max-mean``), so that each KPI, statistic and choice of
            parameters gets a file of its own; characters unsafe in a file name become ``_``.
        other: the second folder of a comparison.
        ext: the file extension.
    """
    folder = folder.resolve()
    name = (
        f"{folder.name}-vs-{other.resolve().name}"
        if other is not None
        else f"{folder.name}-{_FILE_NAME_UNSAFE.sub('_', kind)}"
    )
    return folder.parent / f"{name}{ext}"


__all__ = [
    "KINDS",
    "NamedFigure",
    "PlotError",
    "all_figures",
    "available_kinds",
    "check_options",
    "comparison",
    "default_output",
    "figures_for",
]
