"""sim.examples: the shipped scenarios, sweeps and data; the wheel carries them and runs one.

The wheel is built once (``pip wheel --no-deps``, a few seconds) and unpacked; a named example
is then run from the unpacked package with the working folder outside the checkout, so nothing
can be found through a relative path into the repository.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from sim.examples import (
    EXAMPLES,
    ExamplesError,
    copy_examples,
    example_files,
    find_example,
    is_bare_name,
    list_examples,
)
from tests.conftest import ROOT, SCENARIOS

#: Safety limit of a subprocess (not a timing assertion) [s].
TIMEOUT_S = 300


def repo_files() -> list[Path]:
    return sorted(p.relative_to(SCENARIOS) for p in SCENARIOS.rglob("*") if p.is_file())


def test_the_examples_are_the_repository_scenarios():
    """One copy: sim/examples is scenarios/, every file of it."""
    assert EXAMPLES.resolve() == SCENARIOS.resolve()
    assert example_files() == repo_files()
    assert Path("data/black_thursday_2020_hourly.csv") in example_files()


def test_examples_are_listed_and_found_by_name():
    found = {(e.name, e.kind) for e in list_examples()}
    assert ("eth_crash_liq2", "scenario") in found and ("crash_grid", "sweep") in found
    assert not any(e.relative.parts[0] in ("cases", "calibrations") for e in list_examples())
    crash = find_example("eth_crash_liq2")
    assert crash is not None and crash.path == EXAMPLES / "eth_crash_liq2.yaml"
    assert "ETH falls 50 %" in crash.about
    assert find_example("crash_grid") is None  # a sweep, not a scenario
    assert find_example("crash_grid", kind="sweep") is not None
    assert find_example("no_such_example") is None
    assert is_bare_name("eth_crash_liq2")
    assert not any(is_bare_name(t) for t in ("a/b", "a.yaml", "", "./a"))


def test_copy_keeps_the_users_edits_unless_forced(tmp_path):
    dest = tmp_path / "x"
    written, unchanged = copy_examples(dest)
    assert sorted(written) == repo_files() and unchanged == []
    assert (dest / "data" / "may_2021_10min.csv").read_bytes() == (
        SCENARIOS / "data" / "may_2021_10min.csv"
    ).read_bytes()
    mine = dest / "eth_crash_liq2.yaml"
    mine.write_text("my edit\n")
    (dest / "notes.txt").write_text("mine")
    (dest / "baseline.yaml").unlink()
    with pytest.raises(ExamplesError, match=r"1 file\(s\) there differ.*eth_crash_liq2.yaml"):
        copy_examples(dest)
    assert mine.read_text() == "my edit\n" and not (dest / "baseline.yaml").exists()
    written, unchanged = copy_examples(dest, force=True)
    assert sorted(written) == [Path("baseline.yaml"), Path("eth_crash_liq2.yaml")]
    assert len(unchanged) == len(repo_files()) - 2
    assert (dest / "notes.txt").read_text() == "mine"  # not ours: untouched
    (tmp_path / "file").write_text("")
    with pytest.raises(ExamplesError, match="is a file, not a folder"):
        copy_examples(tmp_path / "file")


#: Runs in a fresh interpreter from the unpacked wheel: where sim comes from, then the commands
#: ``cdpsim examples x`` and ``cdpsim run eth_crash_liq2`` (small), one interpreter for all three.
SCRIPT = """
import sys
import sim
from sim.cli import main
print(sim.__file__)
for args in (["examples", "x"], sys.argv[1:]):
    try:
        main(args, prog_name="cdpsim")
    except SystemExit as exc:
        if exc.code:
            raise
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """cdpsim's wheel, built from the checkout (with this environment's setuptools if it has
    one: the test extra brings it; else pip fetches one into an isolated build)."""
    out = tmp_path_factory.mktemp("wheel")
    isolation = [] if importlib.util.find_spec("setuptools") is None else ["--no-build-isolation"]
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", *isolation, str(ROOT), "-w", out],
        check=True,
        capture_output=True,
        timeout=TIMEOUT_S,
    )
    (found,) = out.glob("cdpsim-*.whl")
    return found


def test_the_wheel_carries_the_examples_and_runs_one_by_name(wheel, tmp_path):
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        shipped = [
            Path(n).relative_to("sim/examples") for n in names if n.startswith("sim/examples/")
        ]
        assert sorted(shipped) == repo_files()
        assert "sim/templates/report.html.j2" in names
        archive.extractall(site)
    work = tmp_path / "work"  # outside the checkout: no scenarios/ to be found from here
    work.mkdir()
    run = ["run", "eth_crash_liq2", "--set", "clock.duration=30m", "--out", "run"]
    done = subprocess.run(
        [sys.executable, "-P", "-c", SCRIPT, *run, "--set", "borrowers.0.vaults=20"],
        capture_output=True,
        text=True,
        cwd=work,
        env={**os.environ, "PYTHONPATH": str(site)},
        timeout=TIMEOUT_S,
    )
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.splitlines()[0]).is_relative_to(site)  # the wheel's sim, not ours
    assert (work / "x" / "data" / "black_thursday_2020_hourly.csv").is_file()
    used = site / "sim" / "examples" / "eth_crash_liq2.yaml"
    assert f"running the shipped example {used}" in done.stderr
    assert (work / "run" / "summary.json").is_file()
