"""The report page: self-contained HTML with the scenario, the KPI tables and every figure."""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sim.formatting import compact_amount
from sim.metrics import KPIS, RISK_STATS
from sim.plots.output import MARKER, OutputFileError
from sim.report import (
    comparison_table,
    default_report_path,
    ensemble_table,
    headline,
    render_report,
    risk_table,
    write_report,
)
from sim.results import load_folder
from tests import test_plots

#: The session's output folders (a fixture of tests/test_plots.py).
outputs = test_plots.outputs


class Page(HTMLParser):
    """The parts of a report page the tests look at."""

    def __init__(self, text: str):
        super().__init__()
        self.images: list[dict[str, str]] = []
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.tables: list[dict] = []
        self.pre: list[str] = []
        self.figures = 0
        self._table: dict | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._caption: list[str] | None = None
        self._pre: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "img":
            self.images.append(attrs)
        elif tag == "figure":
            self.figures += 1
        elif tag == "table":
            self._table = {"caption": "", "header": [], "rows": []}
        elif tag == "caption":
            self._caption = []
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "pre":
            self._pre = []

    def handle_endtag(self, tag):
        if tag == "table" and self._table is not None:
            self.tables.append(self._table)
            self._table = None
        elif tag == "caption" and self._caption is not None:
            self._table["caption"] = "".join(self._caption).strip()
            self._caption = None
        elif tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._table is not None:
                key = "header" if not self._table["header"] and not self._table["rows"] else "rows"
                if key == "header":
                    self._table["header"] = self._row
                else:
                    self._table["rows"].append(self._row)
            self._row = None
        elif tag == "pre" and self._pre is not None:
            self.pre.append("".join(self._pre))
            self._pre = None

    def handle_data(self, data):
        for part in (self._cell, self._caption, self._pre):
            if part is not None:
                part.append(data)

    def table(self, caption_start: str) -> dict:
        return next(t for t in self.tables if t["caption"].startswith(caption_start))


def tail_warnings(text: str) -> list[str]:
    """The warnings under the tables of a page (tail statistics over too few runs)."""
    found = re.findall(r'<p class="warning tail-warning" role="note">(.*?)</p>', text, re.S)
    return [html.unescape(w) for w in found]


def assert_self_contained(page: Page, n_figures: int) -> None:
    assert page.figures == n_figures
    assert len(page.images) == n_figures
    for image in page.images:
        src = image["src"]
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(b"\x89PNG")
        assert image["alt"]
    for tag, attrs in page.tags:
        assert tag not in ("link", "script", "iframe"), tag
        for name in ("src", "href"):
            value = attrs.get(name) or ""
            assert not value.startswith(("http:", "https:", "//", "file:")), value


def test_run_report(outputs, tmp_path):
    path = write_report(outputs.liq2, tmp_path / "run.html")
    text = path.read_text()
    assert f'<meta name="generator" content="{MARKER}' in text
    page = Page(text)
    assert_self_contained(page, 1)
    kpis = page.table("KPIs of the run")
    assert kpis["header"] == ["KPI", "value", "unit", "definition"]
    assert [row[0] for row in kpis["rows"]] == [k.name for k in KPIS]
    assert [row[2] for row in kpis["rows"]] == [k.unit for k in KPIS]
    summary = json.loads((outputs.liq2 / "summary.json").read_text())
    auctions = next(row for row in kpis["rows"] if row[0] == "auctions")
    assert auctions[1] == f"{summary['auctions']:,}"
    assert "Σ due over the auctions started" in " ".join(r[3] for r in kpis["rows"])
    manifest = json.loads((outputs.liq2 / "manifest.json").read_text())
    assert yaml.safe_load(page.pre[0]) == manifest["scenario"]
    assert "eth_crash_liq2" in text and "Run overview" in text


def test_batch_report_has_the_ensemble_tables(outputs, tmp_path):
    text = write_report(outputs.batch, tmp_path / "batch.html").read_text()
    page = Page(text)
    assert_self_contained(page, 1)
    table = page.table("KPIs over the runs")
    assert table["header"] == ["KPI", "unit", "runs", "mean", "std", "5 %", "median", "95 %"]
    assert [row[0] for row in table["rows"]] == [k.name for k in KPIS]
    assert all(row[2] == "3" for row in table["rows"])
    risk = page.table("Risk statistics over the runs")
    assert risk["header"] == ["statistic", "value", "runs", "unit", "definition"]
    assert [row[0] for row in risk["rows"]] == [k.name for k in RISK_STATS]
    assert all(row[2] == "3" for row in risk["rows"])  # the runs behind each statistic
    # 3 runs: the fan chart and both tables say their tails are rough, and what a 95 % quantile
    # of 3 runs is
    # the headline's comparison table first (before the figures), then the figure and tables
    _comparison, fan, quantiles, var_es = tail_warnings(text)
    assert fan.startswith("Warning: the 5–95 % bands and VaR95 rest on 3 runs (fewer than 50)")
    assert quantiles.startswith(
        "Warning: the 5 % and 95 % quantiles rest on 3 runs (fewer than 50): read them as rough"
    )
    assert var_es.startswith("Warning: VaR/ES/LaR at 95 % rest on 3 runs (fewer than 50)")
    assert "expected shortfall is the largest run alone" in var_es
    runs = page.table("The runs")
    assert len(runs["rows"]) == 3
    assert page.pre  # the resolved scenario


def test_summary_batch_report_says_there_are_no_time_series(outputs, tmp_path):
    text = write_report(outputs.summary_batch, tmp_path / "s.html").read_text()
    page = Page(text)
    assert_self_contained(page, 1)
    assert "--keep summary" in text


def test_sweep_report(outputs, tmp_path):
    sweep = load_folder(outputs.sweep_sobol)
    page = Page(write_report(outputs.sweep_sobol, tmp_path / "sweep.html").read_text())
    # Sobol indices, a heatmap per KPI, the discovered boxes
    assert_self_contained(page, 1 + len(sweep.kpis) + len(sweep.discoveries))
    params = page.table("Swept parameters")
    assert [row[0] for row in params["rows"]] == sweep.parameter_names
    points = page.table("Design points")
    assert len(points["rows"]) == len(sweep.points)
    assert "start price over OSM (ETH-A) [-]" in points["header"]
    assert "bad_debt_var95 [Dai]" in points["header"]
    n_runs = points["header"].index("n_runs [count]")  # the runs behind each point's statistics
    assert [row[n_runs] for row in points["rows"]] == [f"{n:,}" for n in sweep.points["n_runs"]]
    (warning,) = tail_warnings((tmp_path / "sweep.html").read_text())
    n = int(sweep.points["n_runs"].min())
    assert warning.startswith("Warning: VaR/ES/LaR at 95 % and the 5 % and 95 % quantiles")
    assert f"of each point rest on {n} run" in warning and "(fewer than 50)" in warning
    sensitivity = page.table("Sensitivity indices")
    assert {"S1", "ST", "S1_conf", "ST_conf"} <= set(sensitivity["header"])
    boxes = page.table("Discovered boxes")
    assert boxes["header"][:3] == ["method", "box", "coverage"]


def test_the_template_is_package_data():
    root = Path(__file__).resolve().parents[1]
    text = (root / "pyproject.toml").read_text()
    assert "[tool.setuptools.package-data]\n" in text
    assert re.search(r'^sim = \[[^\]]*"templates/\*\.j2"', text, re.M)
    assert (root / "sim" / "templates" / "report.html.j2").is_file()


def test_report_never_replaces_a_user_file_by_default(outputs, tmp_path):
    import shutil

    run = tmp_path / "myrun"
    shutil.copytree(outputs.liq2, run)
    target = default_report_path(run)
    assert target == tmp_path / "myrun-report.html"
    target.write_text("<p>my notes</p>")
    with pytest.raises(OutputFileError, match="not made by cdpsim"):
        write_report(run)
    assert target.read_text() == "<p>my notes</p>"
    write_report(run, target)  # named: replaced
    write_report(run)  # cdpsim's own now: replaced again
    assert MARKER in target.read_text()


def test_render_escapes_text(outputs):
    data = load_folder(outputs.liq2)
    data.manifest["scenario"]["description"] = "<script>alert(1)</script>"
    text = render_report(data, figures=[])
    assert "<script>" not in text
    assert "&lt;script&gt;" in text


def test_a_run_kept_as_a_summary_still_gets_its_tables(outputs, tmp_path):
    run = next((outputs.summary_batch / "runs").iterdir())
    text = write_report(run, tmp_path / "summary-run.html").read_text()
    page = Page(text)
    assert page.figures == 0 and "No figure applies to this folder." in text
    assert "no timeseries.parquet" in text
    assert [row[0] for row in page.table("KPIs of the run")["rows"]] == [k.name for k in KPIS]


def banner_of(text: str) -> str | None:
    """The text of the page's banner (``<p class="banner">``), if any."""
    match = re.search(r'<p class="banner"[^>]*>(.*?)</p>', text, re.S)
    return html.unescape(match.group(1)) if match else None


def test_a_failed_run_s_report_says_so_at_the_top(outputs, tmp_path):
    run = tmp_path / "stopped"
    shutil.copytree(outputs.liq2, run)
    manifest = json.loads((run / "manifest.json").read_text())
    manifest.update(status="failed", ticks=40, error="tick 40: RuntimeError: boom\nTraceback ...")
    (run / "manifest.json").write_text(json.dumps(manifest))
    text = write_report(run, tmp_path / "stopped.html").read_text()
    assert banner_of(text) == (
        "RUN FAILED at tick 40 of 72 — partial results (tick 40: RuntimeError: boom)"
    )
    assert text.index('class="banner"') < text.index("<h1>")  # above everything else
    assert banner_of(write_report(outputs.liq2, tmp_path / "ok.html").read_text()) is None


def test_a_batch_with_runs_that_did_not_finish_says_so_at_the_top(outputs, tmp_path):
    batch = tmp_path / "batch"
    shutil.copytree(outputs.batch, batch)
    runs = pd.read_parquet(batch / "runs.parquet")
    runs.loc[runs.index[0], "status"] = "interrupted"
    runs.to_parquet(batch / "runs.parquet")
    text = write_report(batch, tmp_path / "b.html").read_text()
    assert banner_of(text).startswith("1 of 3 runs did not finish (failed or interrupted)")
    page = Page(text)
    assert page.table("KPIs over the runs")["rows"][0][2] == "2"  # the finished runs only


def _runs(n: int, bad_debt: float = 0.0) -> pd.DataFrame:
    """A runs table of ``n`` ok runs (no folder): the KPIs the ensemble tables read."""
    return pd.DataFrame(
        {
            "status": ["ok"] * n,
            "bad_debt_max": [bad_debt * k for k in range(n)],
            "liquidated_debt": [1.0e6] * n,
            "min_cr_p05": [float("nan")] + [1.2] * (n - 1),
        }
    )


def test_the_ensemble_tables_warn_below_min_tail_runs_only():
    many = risk_table(_runs(60, 10.0), "Risk")
    assert many is not None and many.warning is None
    assert {row[2] for row in many.rows} == {"60"}
    few = risk_table(_runs(4, 10.0), "Risk")
    assert few is not None and few.warning is not None
    assert few.warning.startswith("Warning: VaR/ES/LaR at 95 % rest on 4 runs (fewer than 50)")
    table = ensemble_table(_runs(60), "KPIs")
    assert table.warning is None
    runs = {row[0]: row[2] for row in table.rows}
    assert runs == {"bad_debt_max": "60", "liquidated_debt": "60", "min_cr_p05": "59"}  # finite
    few_kpis = ensemble_table(_runs(30), "KPIs").warning
    assert few_kpis == (
        "Warning: the 5 % and 95 % quantiles rest on as few as 29 runs (fewer than 50): read "
        "them as rough."
    )


# -------------------------------------------------------------------------------------- headline


def headline_of(text: str) -> str:
    """The page's headline section as plain text (it comes before the figures)."""
    found = re.search(r'<section class="headline".*?</section>', text, re.S)
    assert found is not None and text.index(found.group(0)) < text.index('id="figures"')
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(0))).split())


def test_a_run_s_headline_says_its_worst_deficit_when_and_why(outputs):
    run = load_folder(outputs.thursday)  # black Thursday, small: zero-bid auctions, bad debt
    worst = run.summary["bad_debt_max"]
    assert worst > 0
    found = headline(run)
    peak = run.timeseries["bad_debt"].idxmax()
    when = pd.Timestamp(run.timeseries["time"].iloc[peak]).strftime("%Y-%m-%d %H:%M")
    assert found.text.startswith(f"Worst deficit {compact_amount(worst, 'Dai')} at {when} UTC")
    # why: the story's crash, liquidations and zero-bid causes, in words and numbers
    assert found.why[0].startswith("ETH fell ")
    assert any(line.startswith("Why they went for nothing: ") for line in found.why)
    text = headline_of(render_report(run, figures=[]))
    assert found.text in text and found.why[-1] in text
    calm = load_folder(outputs.liq1)
    if calm.summary["bad_debt_max"] == 0:
        assert headline(calm).text.startswith("No bad debt")


def test_a_batch_s_headline_names_the_worst_run_and_the_spread(outputs):
    batch = load_folder(outputs.mixed)
    runs = batch.runs
    worst = runs.loc[runs["bad_debt_max"].idxmax()]
    found = headline(batch)
    assert found.text == (
        f"Worst deficit {compact_amount(worst['bad_debt_max'], 'Dai')} in run {worst['run_id']} "
        f"(scenario {worst['scenario']}, seed {worst['seed']})."
    )
    median = compact_amount(float(runs["bad_debt_max"].median()), "Dai")
    assert found.why[0].startswith(
        f"Over the {len(runs)} runs (n_runs = {len(runs)}): median {median}"
    )
    assert found.why[1].startswith("In that run: worst deficit ")  # the worst run's own story
    page = Page(render_report(batch, figures=[]))
    table = page.table("Scenarios compared")
    assert table["header"][:3] == ["scenario", "runs", "P(bad debt)"]
    assert (
        "bad_debt_max median [Dai]" in table["header"]
        and "bad_debt_max 95 % [Dai]" in table["header"]
    )
    assert [row[0] for row in table["rows"]] == list(dict.fromkeys(runs["scenario"]))
    column = table["header"].index("liquidated_debt median [Dai]")
    for row in table["rows"]:
        mine = runs.loc[runs["scenario"] == row[0], "liquidated_debt"]
        assert row[1] == str(len(mine))
        assert row[column] == compact_amount(float(mine.median()), "")


def test_the_comparison_table_s_cells_are_the_scenarios_statistics():
    runs = pd.DataFrame(
        {
            "run_id": [f"r{k}" for k in range(6)],
            "scenario": ["calm"] * 3 + ["crash"] * 3,
            "status": ["ok"] * 5 + ["failed"],
            "bad_debt_max": [0.0, 0.0, 0.0, 388.0, 2.0e6, 9.9e9],
            "vaults_liquidated": [0, 1, 2, 10, 30, 99],
        }
    )
    table = comparison_table(runs)
    assert table.columns == [
        "scenario",
        "runs",
        "P(bad debt)",
        "bad_debt_max median [Dai]",
        "bad_debt_max 95 % [Dai]",
        "vaults_liquidated median [count]",
    ]
    crash_median = compact_amount(float(pd.Series([388.0, 2.0e6]).median()), "")
    crash_p95 = compact_amount(float(pd.Series([388.0, 2.0e6]).quantile(0.95)), "")
    assert table.rows == [
        ["calm", "3", "0 %", "0", "0", "1"],
        ["crash", "2", "100 %", crash_median, crash_p95, "20"],  # the failed run left out
    ]
    assert table.note == "1 failed run left out."
    assert table.warning is not None and "rest on as few as 2 runs" in table.warning


def test_a_sweep_s_headline_names_the_most_influential_parameter_and_the_kpi_ranges(outputs):
    from sim.plots.labels import parameter_info

    sweep = load_folder(outputs.sweep_sobol)
    found = headline(sweep)
    kpi = sweep.kpis[0]
    sens = sweep.sensitivity
    mine = sens[(sens["kpi"] == kpi) & (sens["method"] == "sobol")]
    top = str(mine.loc[mine["ST"].idxmax(), "parameter"])
    assert found.text.startswith(f"Most influential on {kpi}: {parameter_info(top).name} ({top}; ")
    means = sweep.points[f"{kpi}_mean"]
    low, high = compact_amount(means.min(), "Dai"), compact_amount(means.max(), "Dai")
    assert found.why[0].startswith(f"{kpi} (mean over seeds) ranges from {low} to {high} over the")
