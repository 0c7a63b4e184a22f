"""``cdpsim plot`` and ``cdpsim report``: the right figure per folder, files, and bad input."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import main
from sim.plots import KINDS
from sim.plots.output import made_by_cdpsim
from sim.rundir import RUN_FILES
from tests import test_plots

#: The session's output folders (a fixture of tests/test_plots.py).
outputs = test_plots.outputs
#: Safety limit of a subprocess (not a timing assertion) [s].
TIMEOUT_S = 300


def cdpsim(*args: str) -> tuple[int, str, str]:
    """Run the command in this process; exit code, stdout, stderr."""
    result = CliRunner().invoke(main, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a traceback: a bug
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def run_copy(outputs, tmp_path) -> Path:
    """A copy of the small liq2 run in a folder of its own."""
    folder = tmp_path / "runs" / "crash"
    shutil.copytree(outputs.liq2, folder)
    return folder


def test_plot_a_run_writes_the_overview_next_to_it(run_copy):
    code, out, err = cdpsim("plot", str(run_copy))
    assert code == 0, err
    written = run_copy.parent / "crash-overview.png"
    assert out.strip() == str(written)
    assert written.read_bytes().startswith(b"\x89PNG") and made_by_cdpsim(written)
    assert sorted(p.name for p in run_copy.iterdir()) == sorted(RUN_FILES)  # nothing added
    code, _, err = cdpsim("plot", str(run_copy))  # cdpsim's own file: replaced
    assert code == 0, err


def test_a_user_file_at_the_default_path_is_left_alone(run_copy):
    mine = run_copy.parent / "crash-overview.png"
    mine.write_bytes(b"my picture")
    code, out, err = cdpsim("plot", str(run_copy))
    assert code == 2 and out == ""
    assert "not made by cdpsim" in err and "--out" in err
    assert len(err.strip().splitlines()) == 1
    assert mine.read_bytes() == b"my picture"
    code, _, err = cdpsim("plot", str(run_copy), "--out", str(mine))
    assert code == 0, err
    assert made_by_cdpsim(mine)


def test_the_run_figure_s_former_kind_is_refused_with_its_name_now(run_copy):
    # A file cdpsim wrote under the former default name: still cdpsim's, and left alone.
    before = run_copy.parent / "crash-dashboard.png"
    code, _, err = cdpsim("plot", str(run_copy), "--out", str(before))
    assert code == 0, err
    code, out, err = cdpsim("plot", str(run_copy), "--kind", "dashboard")
    assert code == 2 and out == ""
    assert "the run figure is called overview now" in err and "use --kind overview" in err
    assert "is not one of" not in err and "Traceback" not in err
    code, out, err = cdpsim("plot", str(run_copy), "--kind", "overview")
    assert code == 0, err
    assert out.strip() == str(run_copy.parent / "crash-overview.png")
    assert made_by_cdpsim(before) and made_by_cdpsim(run_copy.parent / "crash-overview.png")


@pytest.mark.parametrize(("ext", "magic"), [(".svg", b"<?xml"), (".pdf", b"%PDF")])
def test_format_by_extension(run_copy, tmp_path, ext, magic):
    target = tmp_path / "figs" / f"dash{ext}"
    code, _, err = cdpsim("plot", str(run_copy), "--out", str(target))
    assert code == 0, err
    assert target.read_bytes().startswith(magic)


def test_each_folder_gets_its_figure(outputs, tmp_path):
    cases = [
        (outputs.batch, [], "fan"),
        (outputs.sweep_grid, [], "heatmap"),
        (outputs.sweep_sobol, [], "sobol"),
        (outputs.sweep_morris, [], "morris"),
        (outputs.sweep_sobol, ["--kind", "boxes"], "boxes"),
        (outputs.sweep_grid, ["--kind", "line", "--kpi", "liquidated_debt"], "line"),
        (outputs.sweep_sobol, ["--kind", "heatmap", "--stat", "var95"], "heatmap"),
    ]
    warned = []
    for folder, extra, kind in cases:
        target = tmp_path / f"{folder.name}-{kind}.png"
        code, _, err = cdpsim("plot", str(folder), *extra, "--out", str(target))
        assert code == 0, (folder, err)
        assert target.read_bytes().startswith(b"\x89PNG")
        warned += [(kind, line) for line in err.splitlines() if line.startswith("warning:")]
    # tails over fewer than 50 runs: one warning line each, on stderr, exit code 0
    assert [kind for kind, _ in warned] == ["fan", "line", "heatmap"]
    fan, line, var95 = (text for _, text in warned)
    assert fan.startswith("warning: the 5–95 % bands and VaR95 rest on 3 runs (fewer than 50)")
    assert line.startswith("warning: liquidated_debt p95 of each point rest on 1 run (fewer")
    assert var95.startswith("warning: bad_debt_max var95 of each point rest on ")


def test_sweep_views_get_a_file_per_kpi_statistic_and_parameters(outputs, tmp_path):
    grid = tmp_path / "sweep-grid"
    shutil.copytree(outputs.sweep_grid, grid)
    buf, dai = "ilks.ETH-A.liquidation.buf", "keepers.0.dai"
    cases = [
        ([], "heatmap-bad_debt_max-mean"),
        (["--stat", "p95"], "heatmap-bad_debt_max-p95"),
        (["--kpi", "liquidated_debt"], "heatmap-liquidated_debt-mean"),
        (["--params", f"{dai},{buf}"], f"heatmap-bad_debt_max-mean-{dai}-{buf}"),
        (["--kind", "line"], "line-bad_debt_max"),
        (["--kind", "line", "--params", dai], f"line-bad_debt_max-{dai}"),
    ]
    for extra, name in cases:
        code, out, err = cdpsim("plot", str(grid), *extra)
        assert code == 0, (extra, err)
        assert out.strip() == str(tmp_path / f"sweep-grid-{name}.png"), extra
    assert len(list(tmp_path.glob("*.png"))) == len(cases)  # none overwrote another


def test_the_sweep_summary_counts_in_the_singular(outputs, tmp_path):
    sweep_file = test_plots._write_sweep(tmp_path, "grid")  # seeds: 1
    code, out, err = cdpsim(
        "sweep", str(sweep_file), "--workers", "0", "--out", str(tmp_path / "s")
    )
    assert code == 0, err
    assert "small_grid: 4 points × 1 seed (grid)" in out
    assert "(statistics over n = 1 run per point)" in out
    assert "rest on 1 run (fewer than 50)" in err


def test_a_summary_batch_plot_says_why_it_is_short(outputs, tmp_path):
    code, _, err = cdpsim("plot", str(outputs.summary_batch), "--out", str(tmp_path / "s.png"))
    assert code == 0
    assert "--keep summary" in err


def test_compare_two_runs_and_two_batches(outputs, tmp_path):
    code, out, err = cdpsim("plot", str(outputs.liq1), str(outputs.liq2))
    assert code == 0, err
    assert Path(out.strip()) == outputs.liq1.parent / "liq1-vs-liq2.png"
    target = tmp_path / "b.png"
    code, _, err = cdpsim("plot", str(outputs.batch1), str(outputs.batch), "--out", str(target))
    assert code == 0, err
    assert target.is_file()


def test_compare_batches_per_scenario_or_refuse(outputs, tmp_path):
    target = tmp_path / "pairs.png"
    code, _, err = cdpsim("plot", str(outputs.mixed), str(outputs.batch), "--out", str(target))
    assert code == 0, err
    assert target.read_bytes().startswith(b"\x89PNG")
    assert "left out (only in A: multi_collateral, black_thursday_liq2)" in err
    code, out, err = cdpsim(
        "plot", str(outputs.mixed), str(outputs.batch1), "--out", str(tmp_path / "no.png")
    )
    assert code == 2 and out == ""
    assert "the batches share no scenario" in err and "eth_crash_liq1" in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "no.png").exists()


def test_a_fan_chart_of_many_scenarios_is_written_page_by_page(outputs, tmp_path, monkeypatch):
    from sim.plots import figures

    monkeypatch.setattr(figures, "MAX_ROWS", 2)
    target = tmp_path / "fan.png"
    code, out, err = cdpsim("plot", str(outputs.mixed), "--out", str(target))
    assert code == 0, err
    assert out.split() == [str(target), str(tmp_path / "fan-2.png")]
    assert made_by_cdpsim(target) and made_by_cdpsim(tmp_path / "fan-2.png")
    assert "2 pages" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["plot", "{tmp}"], "not a cdpsim run, batch or sweep folder"),
        (["plot", "{tmp}/missing"], "no such folder"),
        (["plot", "{liq2}/summary.json"], "not a folder"),
        (["plot", "{liq2}", "--kind", "fan"], "--kind fan does not apply to the run folder"),
        (["plot", "{grid}", "--kind", "sobol"], "kinds here: heatmap, line"),
        (["plot", "{grid}", "--kpi", "nope", "--kind", "heatmap"], "no KPI 'nope'"),
        (["plot", "{liq2}", "--out", "{tmp}/x.gif"], "unknown image extension '.gif'"),
        (["plot", "{liq2}", "--out", "{tmp}/noext"], "unknown image extension '(none)'"),
        (["plot", "{liq2}", "{batch}"], "a comparison takes two runs or two batches"),
        (["plot", "{liq2}", "--kind", "compare"], "needs two folders"),
        (["plot", "{grid}", "{sobol}"], "sweeps are compared by their points tables"),
        (["plot", "{batch}", "{grid}"], "plot each sweep on its own"),
        (["plot", "{liq2}", "--kpi", "foo"], "--kpi does not apply to a run folder"),
        (["plot", "{liq2}", "--kpi", "foo"], "a run folder takes --out and --kind overview"),
        (["plot", "{batch}", "--stat", "p95"], "--stat does not apply to a batch folder"),
        (["plot", "{batch}", "--params", "a,b", "--kpi", "x"], "--kpi and --params do not apply"),
        (["plot", "{liq2}", "{liq1}", "--params", "a"], "--params does not apply to a comparison"),
        (
            ["plot", "{grid}", "--kind", "line", "--stat", "p95"],
            "--stat does not apply to --kind line",
        ),
        (
            ["plot", "{grid}", "--kind", "line", "--stat", "p95"],
            "line takes --kpi, --params, --out",
        ),
        (["plot", "{sobol}", "--params", "a,b"], "--params does not apply to --kind sobol"),
        (
            [
                "plot",
                "{grid}",
                "--kind",
                "line",
                "--params",
                "keepers.0.dai,ilks.ETH-A.liquidation.buf",
            ],
            "this view takes 1 parameter, not 2",
        ),
        (["report", "{tmp}"], "not a cdpsim run, batch or sweep folder"),
        (["report", "{liq2}", "--out", "{tmp}/r.txt"], "name it *.html"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(outputs, tmp_path, args, message):
    names = {
        "tmp": tmp_path,
        "liq1": outputs.liq1,
        "liq2": outputs.liq2,
        "grid": outputs.sweep_grid,
        "sobol": outputs.sweep_sobol,
        "batch": outputs.batch,
    }
    argv = [a.format(**names) for a in args]
    code, _, err = cdpsim(*argv)
    assert code == 2, err
    assert message in err
    assert "Traceback" not in err
    assert not list(tmp_path.glob("*.png")) and not list(tmp_path.glob("*.gif"))


def test_report_command(outputs, run_copy, tmp_path):
    code, out, err = cdpsim("report", str(run_copy))
    assert code == 0, err
    written = run_copy.parent / "crash-report.html"
    assert out.strip() == str(written)
    assert "data:image/png;base64," in written.read_text()
    target = tmp_path / "b" / "batch.html"
    code, out, err = cdpsim("report", str(outputs.batch), "--out", str(target))
    assert code == 0, err
    assert target.is_file()


def test_the_installed_command(cdpsim_cmd, run_copy):
    """Through the real entry point: plot and report, then bad input without a traceback."""
    for args, name in ((["plot"], "crash-overview.png"), (["report"], "crash-report.html")):
        res = subprocess.run(
            [*cdpsim_cmd, *args, str(run_copy)], capture_output=True, text=True, timeout=TIMEOUT_S
        )
        assert res.returncode == 0, res.stderr
        assert res.stdout.strip() == str(run_copy.parent / name)
    res = subprocess.run(
        [*cdpsim_cmd, "plot", str(run_copy.parent)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert res.returncode == 2
    assert "not a cdpsim run, batch or sweep folder" in res.stderr
    assert "Traceback" not in res.stderr


def test_plot_offers_every_kind_of_figure_and_no_other():
    (kind,) = [p for p in main.commands["plot"].params if p.name == "kind"]
    assert set(kind.type.choices) == {k for kinds in KINDS.values() for k in kinds}


def test_help_says_where_the_default_file_goes():
    code, out, _ = cdpsim("plot", "--help")
    assert code == 0
    assert "next to FOLDER" in out and "FOLDER-<kind>.png" in out
    code, out, _ = cdpsim("report", "--help")
    assert "FOLDER-report.html next to FOLDER" in out
