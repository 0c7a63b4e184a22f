"""``cdpsim validate --gallery`` through the installed entry point (sim/cli_gallery.py)."""

from __future__ import annotations

from sim import gallery as g
from tests.test_cli import cdpsim


def test_the_gallery_prints_its_table_and_exits_0(cdpsim_cmd):
    res = cdpsim(cdpsim_cmd, "validate", "--gallery", "--workers", "1")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.strip().splitlines()
    assert lines[0].startswith("| case | kind | record | model |")
    assert sum("| exact |" in line for line in lines) == 8
    assert sum("| throughput |" in line for line in lines) == 1
    assert len(lines) == 2 + 8 + 1
    assert "8 of 8 exact cases pass" in res.stderr
    assert "Traceback" not in res.stderr


def test_gallery_options_that_do_not_fit_are_usage_errors(cdpsim_cmd, small_scenario_file):
    for args, needle in (
        (["--write"], "need --gallery"),
        (["--workers", "2"], "need --gallery"),
        (["--gallery", str(small_scenario_file)], "takes no files"),
        (["--gallery", "--set", "seed=1"], "--set do not apply"),
    ):
        res = cdpsim(cdpsim_cmd, "validate", *args)
        assert res.returncode == 2, (args, res.stderr)
        assert needle in res.stderr, (args, res.stderr)


def test_validate_without_files_or_gallery_still_asks_for_files(cdpsim_cmd):
    res = cdpsim(cdpsim_cmd, "validate")
    assert res.returncode == 2
    assert "Missing argument 'PATHS...'" in res.stderr


def test_write_puts_the_table_into_the_document(tmp_path, monkeypatch):
    """In process (so the document can be a copy): the table lands between the markers."""
    from sim.cli_gallery import validate_gallery

    doc = tmp_path / "VALIDATION.md"
    doc.write_text("# V\n\n<!-- gallery:begin -->\n<!-- gallery:end -->\n\nrest\n")
    exact = g.Case("e", "exact", "s", "1 ± 0", "1", passed=True)
    monkeypatch.setattr(g, "GROUPS", {"one": lambda: [exact]})
    code = validate_gallery(paths=(), gallery=True, write=True, workers=None, others={}, doc=doc)
    assert code == 0
    assert doc.read_text() == (
        "# V\n\n<!-- gallery:begin -->\n" + g.gallery([exact]) + "\n<!-- gallery:end -->\n\nrest\n"
    )


def test_a_failing_exact_case_exits_1(monkeypatch, capsys):
    from sim.cli_gallery import validate_gallery

    bad = g.Case("e", "exact", "s", "1 ± 0", "2", passed=False)
    monkeypatch.setattr(g, "GROUPS", {"one": lambda: [bad]})
    assert validate_gallery(paths=(), gallery=True, write=False, workers=None, others={}) == 1
    assert "exact case failed: e" in capsys.readouterr().err


def test_events_write_each_committed_calibration_summary_between_its_markers(tmp_path):
    from sim.cli_gallery import write_calibration_summaries

    doc = tmp_path / "VALIDATION.md"
    doc.write_text(
        "intro\n<!-- calibration:black_thursday_2020:begin -->\nSTALE TEXT\n"
        "<!-- calibration:black_thursday_2020:end -->\nafter\n"
    )
    write_calibration_summaries(doc)
    text = doc.read_text()
    summary = (g.ROOT / "docs/calibrations/black_thursday_2020/summary.md").read_text()
    assert "STALE TEXT" not in text and text.startswith("intro\n") and text.endswith("after\n")
    assert "#### Posterior" in text and "## Posterior" not in text.replace("#### Posterior", "")
    assert summary.splitlines()[2] in text  # the summary's first line after its title


def test_validate_reads_calibration_and_case_files(cdpsim_cmd, tmp_path):
    from tests.conftest import SCENARIOS

    files = [
        *sorted((SCENARIOS / "calibrations").glob("*.yaml")),
        *sorted((SCENARIOS / "cases").glob("*.yaml")),
    ]
    done = cdpsim(cdpsim_cmd, "validate", *map(str, files))
    assert done.returncode == 0, done.stderr
    assert done.stdout.count(": ok") == len(files)
    bad = tmp_path / "bad_case.yaml"
    bad.write_text(
        (SCENARIOS / "cases" / "may_2021.yaml")
        .read_text()
        .replace("sample: out_of_sample", "sample: sideways")
    )
    (tmp_path / "events").mkdir()
    done = cdpsim(cdpsim_cmd, "validate", str(bad))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"{bad}:" in done.stderr and "sample" in done.stderr
