"""The report: one self-contained HTML page of a run, batch or sweep folder.

The page (rendered from the Jinja2 template ``sim/templates/report.html.j2``, installed with the
package) holds:

- a banner when a run failed or was interrupted (or a batch holds such runs): its figures
  and tables are partial;
- the headline (:class:`Headline`, first on the page): what happened in words and numbers —
  for a run its worst deficit, when, and why (its story's crash, liquidations and zero-bid
  causes, :mod:`sim.story`); for a batch the worst run (with the why of its own story when
  its time series were kept) and the spread over the runs with ``n_runs``, then the scenario ×
  KPI comparison table (:func:`comparison_table`: medians and the tail per scenario, with
  units and runs); for a sweep the most influential parameter (its Sobol ST or Morris μ*) and
  the range of each KPI over the design points;
- what the folder is (kind, scenario, seed, status, versions, the command);
- for a run, "What happened": its story read from its tables (:func:`sim.story.story`);
- the resolved scenario as YAML (from the run manifest(s));
- the KPI table with units and definitions (:data:`sim.metrics.KPIS`) of a run, or, for a
  batch, each KPI's mean, standard deviation and 5/50/95 % quantiles over the runs per scenario
  with the risk statistics (:data:`sim.metrics.RISK_STATS`), each with the runs it rests on and
  a warning when a tail statistic rests on fewer than :data:`sim.metrics.MIN_TAIL_RUNS`; for a
  sweep, the points table (with ``n_runs``), the sensitivity indices and the discovered boxes;
- every figure that applies (:func:`sim.plots.figures.all_figures`), embedded as base64 PNG.

Nothing on the page is fetched: no external images, stylesheets or scripts.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
import yaml
from markupsafe import Markup

from sim.derived import is_ok
from sim.formatting import compact_amount, percent_text, value_text
from sim.metrics import (
    KPI_BY_NAME,
    KPIS,
    N_RUNS,
    QUANTILES_WHAT,
    RISK_STATS,
    ensemble_kpi_stats,
    finite_count,
    risk_stats,
    tail_warning,
)
from sim.plots.figures import NamedFigure, PlotError, all_figures, folder_kind_of
from sim.plots.labels import counted, kpi_unit, parameter_info, parameter_label
from sim.plots.output import MARKER, check_target, figure_bytes, save_text
from sim.plots.overview import status_banner
from sim.results import BatchData, Outputs, RunData, SweepData, load_folder, load_run
from sim.story import Story, story

#: The template, in the package's ``templates`` folder.
TEMPLATE = "report.html.j2"
#: Most rows of a long table (runs, design points) shown; the page says how many were left out.
MAX_ROWS = 60
#: Ensemble statistics of a batch's KPI table, by column suffix.
BATCH_STATS = ("mean", "std", "p05", "p50", "p95")
#: The heading of a run's story.
STORY_TITLE = "What happened"
#: The scenario × KPI comparison of a batch: (KPI, statistics over its runs), in columns.
COMPARED = (
    ("bad_debt_max", ("p50", "p95")),
    ("liquidated_debt", ("p50", "p95")),
    ("vaults_liquidated", ("p50",)),
    ("auctions_zero_bid", ("p50",)),
    ("dai_supply_min", ("p50",)),
)
#: How a statistic of the comparison reads in its column's header.
STAT_HEADERS = {"p50": "median", "p95": "95 %"}
#: The story findings that say why, under a run's headline (in the story's order).
WHY_KINDS = ("crash", "liquidations", "zero_bid", "zero_bid_causes")
#: Markdown code spans in KPI definitions.
_CODE = re.compile(r"`([^`]+)`")


@dataclass
class Table:
    """A table of the page: a caption, column headers and rows of cell text.

    Attributes:
        caption: what the table shows.
        columns: header cells.
        rows: body cells (already formatted).
        note: said under the table (e.g. rows left out), or ``None``.
        numeric: per column, whether it is right-aligned.
        warning: shown under the table as a warning (a tail statistic over too few runs:
            :func:`sim.metrics.tail_warning`), or ``None``.
    """

    caption: str
    columns: list[str]
    rows: list[list[str]]
    note: str | None = None
    numeric: list[bool] = field(default_factory=list)
    warning: str | None = None


def fmt(value: Any) -> str:
    """A cell: thousands separated from 1 000, 4 significant digits below, ``n/a`` for NaN."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    return value_text(value)  # a float by sim.formatting's rule (NaN: n/a), the rest as text


def _definition(text: str) -> Markup:
    """A KPI definition: HTML-escaped, with Markdown backticks as ``<code>``."""
    return Markup(_CODE.sub(r"<code>\1</code>", html.escape(text)))


def _kpi_table(summary: Mapping[str, Any]) -> Table:
    rows = [
        [k.name, fmt(summary[k.name]), k.unit, _definition(k.definition)]
        for k in KPIS
        if k.name in summary
    ]
    return Table(
        "KPIs of the run (summary.json)",
        ["KPI", "value", "unit", "definition"],
        rows,
        numeric=[False, True, False, False],
    )


def _keeper_table(summary: Mapping[str, Any]) -> Table | None:
    keepers = summary.get("keepers")
    if not isinstance(keepers, Mapping) or not keepers:
        return None
    return Table(
        "Profit of each keeper",
        ["keeper", "profit", "unit"],
        [[str(name), fmt(value), "Dai"] for name, value in keepers.items()],
        numeric=[False, True, False],
    )


def ensemble_table(runs: pd.DataFrame, caption: str) -> Table:
    """Each KPI's statistics over the ok runs (one table per scenario of a batch).

    Args:
        runs: the runs (rows of the runs table).
        caption: the table's caption.

    Returns:
        Rows: KPI, unit, runs (the finite values the statistics rest on), mean, std, 5 %,
        50 %, 95 %; a warning when the 5 % and 95 % quantiles rest on fewer than
        :data:`sim.metrics.MIN_TAIL_RUNS` runs.
    """
    ok = runs[is_ok(runs)]
    rows: list[list[Any]] = []
    counts = []
    for kpi in KPIS:
        if kpi.name not in ok.columns:
            continue
        values = pd.to_numeric(ok[kpi.name], errors="coerce").to_numpy(dtype=float)
        stats = ensemble_kpi_stats(kpi.name, values)
        n = int(stats[f"{kpi.name}_{N_RUNS}"])
        counts.append(n)
        rows.append(
            [kpi.name, kpi.unit, fmt(n)] + [fmt(stats[f"{kpi.name}_{s}"]) for s in BATCH_STATS]
        )
    failed = len(runs) - len(ok)
    note = f"{counted(failed, 'failed run')} left out." if failed else None
    shown = [n for n in counts if n > 0]
    warning = (
        tail_warning(min(shown), QUANTILES_WHAT, fewest=len(set(shown)) > 1) if shown else None
    )
    return Table(
        caption,
        ["KPI", "unit", "runs", "mean", "std", "5 %", "median", "95 %"],
        rows,
        note=note,
        numeric=[False, False, True, True, True, True, True, True],
        warning=_warning(warning),
    )


def _warning(text: str | None) -> str | None:
    """A warning of the page (``Warning: <text>.``), or ``None`` without a text."""
    return f"Warning: {text}." if text else None


def risk_table(runs: pd.DataFrame, caption: str) -> Table | None:
    """The risk statistics (:data:`sim.metrics.RISK_STATS`) over the ok runs, if computable.

    Each row says the runs the statistic rests on; a warning follows the table when they are
    fewer than :data:`sim.metrics.MIN_TAIL_RUNS`.
    """
    ok = runs[is_ok(runs)]
    if not {"bad_debt_max", "liquidated_debt"} <= set(ok.columns):
        return None
    bad = pd.to_numeric(ok["bad_debt_max"], errors="coerce").to_numpy(dtype=float)
    liquidated = pd.to_numeric(ok["liquidated_debt"], errors="coerce").to_numpy(dtype=float)
    risk = risk_stats(bad, liquidated)
    # the runs behind each: the finite values of the KPI it is a statistic of
    n = {
        k.name: finite_count(liquidated if k.name.startswith("liquidated") else bad)
        for k in RISK_STATS
    }
    return Table(
        caption,
        ["statistic", "value", "runs", "unit", "definition"],
        [
            [k.name, fmt(risk[k.name]), fmt(n[k.name]), k.unit, _definition(k.definition)]
            for k in RISK_STATS
        ],
        numeric=[False, True, True, False, False],
        warning=_warning(tail_warning(int(risk[N_RUNS]))),
    )


def _frame_table(frame: pd.DataFrame, caption: str, columns: Sequence[str] | None = None) -> Table:
    columns = [c for c in (columns or frame.columns) if c in frame.columns]
    shown = frame[columns].head(MAX_ROWS)
    rows = [[fmt(v.item() if hasattr(v, "item") else v) for v in row] for row in shown.to_numpy()]
    numeric = [frame[c].dtype.kind in "iuf" for c in columns]
    note = f"the first {MAX_ROWS} of {len(frame)} rows" if len(frame) > MAX_ROWS else None
    headers = [_header(c) for c in columns]
    return Table(caption, headers, rows, note=note, numeric=numeric)


def _header(column: str) -> str:
    unit = kpi_unit(column)
    base = column
    for stat in BATCH_STATS:
        if column.endswith(f"_{stat}") and column[: -len(stat) - 1] in KPI_BY_NAME:
            base = column
            unit = KPI_BY_NAME[column[: -len(stat) - 1]].unit
    return f"{base} [{unit}]" if unit not in ("-", "") and column not in ("point",) else base


def _failures(runs: pd.DataFrame) -> Table | None:
    finished = is_ok(runs)
    if finished.all():
        return None
    bad = runs[~finished]
    return _frame_table(bad, "Runs that did not finish", ["run_id", "seed", "status", "error"])


@dataclass
class Section:
    """A part of the page: a heading, paragraphs, tables, a YAML block."""

    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    yaml: str | None = None
    open: bool = True


def scenario_yaml(scenario: Mapping[str, Any]) -> str:
    """The resolved scenario as YAML, in its own key order."""
    return yaml.safe_dump(dict(scenario), sort_keys=False, allow_unicode=True, width=100)


def _story_section(run: RunData) -> Section:
    """The "What happened" section: the run's story, one paragraph a finding (:mod:`sim.story`)."""
    if run.timeseries is None:
        return Section(STORY_TITLE, paragraphs=["No time series was kept: no story to tell."])
    found = story(run)
    return Section(STORY_TITLE, paragraphs=[f.text for f in found] or ["Nothing to tell."])


def _run_sections(run: RunData) -> tuple[list[str], list[Section]]:
    m = run.manifest
    facts = [
        f"Scenario {run.scenario.get('name', '?')}, seed {run.seed}, status {m.get('status')}, "
        f"{m.get('ticks')} ticks, wall time {fmt(m.get('wall_time_s'))} s.",
        f"cdpsim {m.get('cdpsim_version', '?')}, git {m.get('git_revision') or 'n/a'}, "
        f"Python {m.get('python', '?')}.",
    ]
    if m.get("error"):
        facts.append(f"Error: {str(m['error']).splitlines()[0]}")
    tables = [_kpi_table(run.summary)]
    keepers = _keeper_table(run.summary)
    if keepers is not None:
        tables.append(keepers)
    sections = [
        _story_section(run),
        Section("KPIs", tables=tables),
        Section(
            "Scenario (resolved, from manifest.json)",
            yaml=scenario_yaml(run.scenario),
            open=False,
        ),
    ]
    return facts, sections


def _batch_sections(batch: BatchData) -> tuple[list[str], list[Section]]:
    m = batch.manifest
    runs = batch.runs
    ok = int(is_ok(runs).sum())
    facts = [
        f"{counted(len(runs), 'run')} ({ok} ok) of "
        f"{counted(len(batch.scenarios), 'scenario') if batch.scenarios else '? scenarios'}; keep "
        f"{m.get('keep', '?')}; master seed {m.get('master_seed', '?')}.",
    ]
    if m.get("command"):
        facts.append(f"Command: {m['command']}")
    if m.get("overrides"):
        facts.append(f"Overrides: {', '.join(map(str, m['overrides']))}")
    if not batch.kept_full and not isinstance(batch, SweepData):
        facts.append(
            "The runs were kept as summaries (--keep summary): the figures show distributions "
            "over the runs, not time series."
        )
    tables = []
    group = "scenario" if "scenario" in runs else None
    # A sweep's ensembles are its design points (its points table), not its scenario.
    if not isinstance(batch, SweepData):
        several = group is not None and runs[group].nunique() > 1
        groups = runs.groupby(group, sort=False) if several else [("", runs)]
        for name, rows in groups:
            of = f" of {name}" if several else ""
            tables.append(ensemble_table(rows, f"KPIs over the runs{of}"))
            risk = risk_table(rows, f"Risk statistics over the runs{of}")
            if risk is not None:
                tables.append(risk)
    failures = _failures(runs)
    if failures is not None:
        tables.append(failures)
    sections = [Section("Ensemble KPIs", tables=tables)] if tables else []
    if not isinstance(batch, SweepData):
        columns = ["run_id", "seed", "status", "bad_debt_max", "liquidated_debt", "auctions"]
        sections.append(Section("Runs", tables=[_frame_table(runs, "The runs", columns)]))
    for name, scenario in batch.scenarios.items():
        sections.append(
            Section(f"Scenario {name} (resolved)", yaml=scenario_yaml(scenario), open=False)
        )
    return facts, sections


def _values(parameter: Mapping[str, Any]) -> str:
    """A parameter's range (``1.05 – 1.5``) or values (``1, 5, 10``)."""
    if parameter.get("range") is not None:
        low, high = parameter["range"]
        return f"{fmt(low)} – {fmt(high)}"
    return ", ".join(fmt(v) for v in parameter.get("values") or [])


def _points_warning(points: pd.DataFrame, kpis: Sequence[str]) -> str | None:
    """The warning when a point's tail statistics rest on too few runs (the fewest points)."""
    columns = [c for c in (N_RUNS, *(f"{k}_{N_RUNS}" for k in kpis)) if c in points]
    if not columns or not len(points):
        return None
    counts = points[columns].to_numpy().ravel()
    counts = counts[counts > 0]
    if not counts.size:
        return None
    what = "VaR/ES/LaR at 95 % and the 5 % and 95 % quantiles of each point"
    return tail_warning(int(counts.min()), what, fewest=len(set(counts.tolist())) > 1)


def _sweep_sections(sweep: SweepData) -> tuple[list[str], list[Section]]:
    facts, sections = _batch_sections(sweep)
    section = sweep.sweep
    design = section.get("design") or {}
    facts.insert(
        0,
        f"Sweep {section.get('name', '?')}: {design.get('kind', '?')} design, "
        f"{counted(len(sweep.points), 'point')} × "
        f"{counted(len(section.get('seeds') or []), 'seed')}, base "
        f"{section.get('base', '?')}.",
    )
    params = Table(
        "Swept parameters",
        ["parameter", "kind", "paths", "range or values", "distribution", "unit"],
        [
            [
                str(p.get("name")),
                str(p.get("kind", "value")),
                ", ".join(map(str, p.get("paths") or [])),
                _values(p),
                str(p.get("dist") or ""),
                str(p.get("unit") or ("× base" if p.get("kind") == "scale" else "")),
            ]
            for p in sweep.parameters
        ],
    )
    table = sweep.points
    columns = ["point", *sweep.parameter_names, "n", "n_failed", N_RUNS]
    for kpi in sweep.kpis:
        columns += [f"{kpi}_mean", f"{kpi}_p95"]
        behind = f"{kpi}_{N_RUNS}"  # shown where it differs from n_runs (NaN in some runs)
        if behind in table and N_RUNS in table and (table[behind] != table[N_RUNS]).any():
            columns.append(behind)
    columns += [k.name for k in RISK_STATS]
    columns = [c for c in columns if c in table.columns]
    labels = {p["name"]: parameter_label(str(p["name"]), p) for p in sweep.parameters}
    points = _frame_table(
        sweep.points,
        "Design points (points.parquet): each KPI's statistics over the point's seeds",
        columns,
    )
    points.columns = [labels.get(c, h) for c, h in zip(columns, points.columns, strict=True)]
    points.warning = _warning(_points_warning(table, sweep.kpis))
    tables = [params, points]
    if sweep.sensitivity is not None and len(sweep.sensitivity):
        sens = sweep.sensitivity
        method = set(sens["method"].astype(str))
        cols = (
            ["method", "kpi", "parameter"]
            + (["S1", "S1_conf", "ST", "ST_conf"] if "sobol" in method else [])
            + (["mu_star", "mu_star_conf", "sigma"] if "morris" in method else [])
        )
        tables.append(_frame_table(sens, "Sensitivity indices (sensitivity.parquet)", cols))
    for d in sweep.discoveries:
        table = _frame_table(
            d.boxes,
            f"Discovered boxes: {d.label}",
            ["method", "box", "coverage", "density", "mass", "parameter", "lower", "upper"],
        )
        if d.note:
            table.note = d.note if table.note is None else f"{d.note} {table.note}"
        tables.append(table)
    sections.insert(0, Section("Sweep", tables=tables))
    return facts, sections


@dataclass
class EmbeddedFigure:
    """A figure of the page: its anchor, caption, note, warning and PNG as base64."""

    name: str
    caption: str
    note: str | None
    png_base64: str
    warning: str | None = None


def _embed(named: NamedFigure) -> EmbeddedFigure:
    png = figure_bytes(named.figure, "png")
    return EmbeddedFigure(
        named.name,
        named.caption,
        named.note,
        base64.b64encode(png).decode("ascii"),
        _warning(named.warning),
    )


@dataclass
class Headline:
    """The first thing on the page: what happened, in words and numbers.

    Attributes:
        text: one sentence with the outcome's numbers (``Worst deficit 13.8 M Dai at
            2020-03-13 02:10 UTC.``).
        why: the sentences that explain it (a run's story), or that spread it (a batch).
        table: a batch's scenario × KPI comparison (:func:`comparison_table`), or ``None``.
    """

    text: str
    why: list[str] = field(default_factory=list)
    table: Table | None = None


def _when(stamp: pd.Timestamp | None) -> str:
    return f" at {stamp.strftime('%Y-%m-%d %H:%M')} UTC" if stamp is not None else ""


def story_headline(found: Story, summary: Mapping[str, Any]) -> Headline:
    """A run's headline from its story: the worst deficit, when, and the findings that say why.

    Args:
        found: the run's story (:func:`sim.story.story`).
        summary: the run's KPIs (``bad_debt_max`` when the story has no outcome).

    Returns:
        ``Worst deficit 13.8 M Dai at 2020-03-13 02:10 UTC; 4.1 M Dai at the end.`` (or ``No
        bad debt: ...``) and the crash, liquidation and zero-bid sentences of the story.
    """
    outcome = found.of_kind("outcome")
    values = outcome[0].values if outcome else {}
    worst = float(values.get("bad_debt_max", summary.get("bad_debt_max", float("nan"))))
    final = values.get("bad_debt_final", summary.get("bad_debt_final"))
    if worst > 0:
        text = f"Worst deficit {compact_amount(worst, 'Dai')}{_when(outcome[0].start if outcome else None)}"
        if isinstance(final, int | float):
            text += f"; {compact_amount(float(final), 'Dai')} at the end"
    elif worst == 0:
        text = "No bad debt: the system's collateral covered every liquidation"
    else:
        text = "Bad debt not known (no bad_debt_max in the run's KPIs)"
    why = [f.text for f in found if f.kind in WHY_KINDS]
    return Headline(text + ".", why)


def _run_headline(run: RunData) -> Headline:
    if run.timeseries is None:
        return story_headline(Story(str(run.scenario.get("name")), []), run.summary)
    return story_headline(story(run), run.summary)


def comparison_table(runs: pd.DataFrame) -> Table:
    """The scenario × KPI comparison of a batch: one row per scenario, the key KPIs in columns.

    Each cell is a statistic over the scenario's ok runs with a finite value (the median and
    95 % quantile of ``bad_debt_max`` and ``liquidated_debt``, the median of the others,
    :data:`COMPARED`), amounts in their own scale (``16.4 M``); the headers carry the units;
    ``runs`` is the ok runs of each scenario and ``P(bad debt)`` the share of them with any.
    A warning follows when the tail rests on fewer than :data:`sim.metrics.MIN_TAIL_RUNS`.

    Args:
        runs: the runs table (``scenario``, ``status``, the KPIs).
    """
    ok = runs[is_ok(runs)]
    group = ok["scenario"].astype(str) if "scenario" in ok else pd.Series("runs", ok.index)
    columns = ["scenario", "runs", "P(bad debt)"]
    wanted = [(k, s) for k, stats in COMPARED if k in ok for s in stats]
    columns += [f"{k} {STAT_HEADERS[s]} [{KPI_BY_NAME[k].unit}]" for k, s in wanted]
    rows, counts = [], []
    for name, mine in ok.groupby(group, sort=False):
        bad = pd.to_numeric(mine.get("bad_debt_max"), errors="coerce")
        row = [
            str(name),
            fmt(len(mine)),
            percent_text(float((bad > 0).mean())) if len(mine) else "n/a",
        ]
        for kpi, stat in wanted:
            values = pd.to_numeric(mine[kpi], errors="coerce").to_numpy(dtype=float)
            stats = ensemble_kpi_stats(kpi, values)
            counts.append(int(stats[f"{kpi}_{N_RUNS}"]))
            value = stats[f"{kpi}_{stat}"]
            unit = KPI_BY_NAME[kpi].unit
            row.append(compact_amount(value, "") if unit not in ("count", "-") else fmt(value))
        rows.append(row)
    shown = [n for n in counts if n > 0]
    warning = (
        tail_warning(min(shown), "the 95 % quantiles", fewest=len(set(shown)) > 1)
        if shown
        else None
    )
    return Table(
        "Scenarios compared: each KPI over the scenario's runs (median and 95 % quantile)",
        columns,
        rows,
        numeric=[False] + [True] * (len(columns) - 1),
        warning=_warning(warning),
        note=f"{counted(len(runs) - len(ok), 'failed run')} left out."
        if len(runs) > len(ok)
        else None,
    )


def _batch_headline(batch: BatchData) -> Headline | None:
    runs = batch.runs
    ok = runs[is_ok(runs)]
    bad = pd.to_numeric(ok.get("bad_debt_max"), errors="coerce") if len(ok) else None
    table = comparison_table(runs) if not isinstance(batch, SweepData) else None
    if bad is None or not bad.notna().any():
        return Headline("No finished run with a bad_debt_max to compare.", table=table)
    worst = ok.loc[bad.idxmax()]
    n = int(bad.notna().sum())
    where = f" (scenario {worst['scenario']}, seed {worst.get('seed')})" if "scenario" in ok else ""
    if float(bad.max()) > 0:
        text = f"Worst deficit {compact_amount(float(bad.max()), 'Dai')} in run {worst['run_id']}{where}"
    else:
        text = f"No bad debt in any of the {counted(n, 'run')}"
    q05, q50, q95 = (float(bad.quantile(q)) for q in (0.05, 0.5, 0.95))
    why = [
        f"Over the {counted(n, 'run')} (n_runs = {n}): median {compact_amount(q50, 'Dai')}, "
        f"5–95 % {compact_amount(q05, 'Dai')} – {compact_amount(q95, 'Dai')}; "
        f"{percent_text(float((bad > 0).sum()) / n)} of the runs had bad debt."
    ]
    if float(bad.max()) > 0:
        why += _worst_run_why(batch, str(worst["run_id"]))
    return Headline(text + ".", why, table)


def _worst_run_why(batch: BatchData, run_id: str) -> list[str]:
    """The story of a batch's worst run (its time, crash, zero-bid causes), when it was kept."""
    if not batch.kept_full:
        return []
    try:
        run = load_run(batch.run_folder(run_id))
    except (OSError, ValueError):  # FolderError is a ValueError: a damaged run says nothing
        return []
    if run.timeseries is None:
        return []
    headline = story_headline(story(run), run.summary)
    return [f"In that run: {headline.text[0].lower()}{headline.text[1:]}", *headline.why]


def _sweep_headline(sweep: SweepData) -> Headline:
    """The most influential parameter (Sobol ST or Morris μ*) and each KPI's range over points."""
    infos = {p["name"]: parameter_info(str(p["name"]), p) for p in sweep.parameters if "name" in p}
    text = "No sensitivity indices: the design computes none (a sobol or morris design does)"
    sens = sweep.sensitivity
    if sens is not None and len(sens):
        kpi = sweep.kpis[0] if sweep.kpis else str(sens["kpi"].iloc[0])
        mine = sens[sens["kpi"].astype(str) == kpi]
        method = "sobol" if "sobol" in set(mine["method"].astype(str)) else "morris"
        key = "ST" if method == "sobol" else "mu_star"
        mine = mine[mine["method"].astype(str) == method]
        score = pd.to_numeric(mine[key], errors="coerce")
        if score.notna().any():
            top = mine.loc[score.idxmax()]
            name = str(top["parameter"])
            label = infos[name].name if name in infos else name
            value = (
                f"{float(top[key]):.2g}"
                if method == "sobol"
                else compact_amount(float(top[key]), kpi_unit(kpi))
            )
            what = "total Sobol index ST" if method == "sobol" else "Morris μ*"
            text = f"Most influential on {kpi}: {label} ({name}; {what} {value})"
    why = []
    for kpi in sweep.kpis:
        column = f"{kpi}_mean"
        if column not in sweep.points:
            continue
        values = pd.to_numeric(sweep.points[column], errors="coerce")
        if not values.notna().any():
            continue
        unit = kpi_unit(kpi)
        low, high = float(values.min()), float(values.max())
        n = sweep.points[N_RUNS] if N_RUNS in sweep.points else sweep.points.get("n")
        runs = ""
        if n is not None and len(n):
            spread = f"{int(n.min())}" + (f"–{int(n.max())}" if n.max() > n.min() else "")
            runs = f" (n_runs {spread} per point)"
        why.append(
            f"{kpi} (mean over seeds) ranges from {compact_amount(low, unit)} to "
            f"{compact_amount(high, unit)} over the {counted(len(values.dropna()), 'design point')}{runs}."
        )
    return Headline(text + ".", why)


def headline(outputs: Outputs) -> Headline | None:
    """The page's headline (:class:`Headline`) of a run, batch or sweep folder."""
    if isinstance(outputs, SweepData):
        return _sweep_headline(outputs)
    if isinstance(outputs, BatchData):
        return _batch_headline(outputs)
    assert isinstance(outputs, RunData)
    return _run_headline(outputs)


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("sim", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def report_banner(outputs: Outputs) -> str | None:
    """The warning at the top of the page: a run that did not finish, a batch with such runs.

    Returns:
        ``"RUN FAILED at tick 120 of 2880 — partial results (<error>)"`` for a run; ``"3 of 14
        runs did not finish (failed or interrupted): ..."`` for a batch; ``None`` otherwise.
    """
    if isinstance(outputs, RunData):
        banner = status_banner(outputs.manifest)
        error = str(outputs.manifest.get("error") or "").strip()
        if banner and error:  # its first line: "tick N: Type: message"
            banner += f" ({error.splitlines()[0]})"
        return banner
    runs = outputs.runs
    finished = is_ok(runs)
    if finished.all():
        return None
    bad = int((~finished).sum())
    return (
        f"{bad} of {len(runs)} runs did not finish (failed or interrupted): the figures and "
        "statistics use the finished runs only; the table of runs that did not finish is below."
    )


def render_report(outputs: Outputs, figures: Sequence[NamedFigure] | None = None) -> str:
    """The report page of a folder's tables.

    Args:
        outputs: the folder's tables (:func:`sim.results.load_folder`).
        figures: the figures to embed (default: :func:`sim.plots.figures.all_figures`).

    Returns:
        The HTML page (self-contained).
    """
    from sim.version import version

    kind = folder_kind_of(outputs)
    if isinstance(outputs, SweepData):
        facts, sections = _sweep_sections(outputs)
        name = str(outputs.sweep.get("name") or outputs.label)
    elif isinstance(outputs, BatchData):
        facts, sections = _batch_sections(outputs)
        name = outputs.label
    else:
        assert isinstance(outputs, RunData)
        facts, sections = _run_sections(outputs)
        name = str(outputs.scenario.get("name") or outputs.path.name)
    description = (
        str(outputs.scenario.get("description") or "") if isinstance(outputs, RunData) else ""
    )
    if isinstance(outputs, SweepData):
        description = str(outputs.sweep.get("description") or "")
    if figures is None:
        try:
            figures = all_figures(outputs)
        except PlotError as exc:  # e.g. a run kept as a summary: the tables still stand
            figures = []
            facts.append(f"No figure: {exc}")
    return (
        _environment()
        .get_template(TEMPLATE)
        .render(
            title=f"cdpsim {kind} report — {name}",
            banner=report_banner(outputs),
            headline=headline(outputs),
            kind=kind,
            name=name,
            description=description,
            folder=str(outputs.path),
            facts=facts,
            sections=sections,
            figures=[_embed(f) for f in list(figures)],
            generator=f"{MARKER} {version()}",
            version=version(),
        )
    )


def write_report(folder: str | Path, out: str | Path | None = None) -> Path:
    """Write the report page of a run, batch or sweep folder.

    Args:
        folder: the output folder.
        out: the page (default :func:`default_report_path`; an existing file there is replaced
            only if cdpsim made it).

    Returns:
        The file written.

    Raises:
        sim.results.FolderError: not an output folder of cdpsim, or a damaged one.
        sim.plots.output.OutputFileError: the page may not be written there.
    """
    folder = Path(folder)
    target = Path(out) if out is not None else default_report_path(folder)
    check_target(target, explicit=out is not None)  # refuse before the work
    outputs = load_folder(folder)
    return save_text(render_report(outputs), target, explicit=out is not None)


def default_report_path(folder: str | Path) -> Path:
    """``<folder>-report.html`` next to the folder."""
    folder = Path(folder).resolve()
    return folder.parent / f"{folder.name}-report.html"
