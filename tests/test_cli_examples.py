"""``cdpsim examples`` and ``cdpsim run NAME``: the shipped examples from the command line."""

from __future__ import annotations

from click.testing import CliRunner

from sim.cli import main
from tests.conftest import SCENARIOS


def cdpsim(*args: str) -> tuple[int, str, str]:
    """Run the command in this process; exit code, stdout, stderr."""
    result = CliRunner().invoke(main, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a traceback: a bug
    return result.exit_code, result.stdout, result.stderr


def test_examples_lists_and_copies(tmp_path):
    code, out, err = cdpsim("examples")
    assert code == 0, err
    lines = out.splitlines()
    assert any(line.split()[:2] == ["eth_crash_liq2", "scenario"] for line in lines)
    assert any(
        line.split()[:2] == ["crash_grid", "sweep"] and "(sweeps/)" in line for line in lines
    )
    code, out, err = cdpsim("examples", str(tmp_path / "x"))
    assert code == 0, err
    assert (tmp_path / "x" / "sweeps" / "crash_grid.yaml").is_file()
    assert out.startswith("copied ")
    (tmp_path / "x" / "spiral.yaml").write_text("mine\n")
    code, out, err = cdpsim("examples", str(tmp_path / "x"))
    assert code == 2 and out == ""
    assert "spiral.yaml" in err and "--force" in err and len(err.splitlines()) == 1
    assert (tmp_path / "x" / "spiral.yaml").read_text() == "mine\n"
    code, out, err = cdpsim("examples", str(tmp_path / "x"), "--force")
    assert code == 0, err
    assert (tmp_path / "x" / "spiral.yaml").read_bytes() == (SCENARIOS / "spiral.yaml").read_bytes()


def test_run_refuses_a_name_that_is_no_example(tmp_path, monkeypatch):
    """A name runs its example (tests/test_examples.py runs one from the wheel); others exit 2."""
    monkeypatch.chdir(tmp_path)  # no scenarios/ here
    code, out, err = cdpsim("run", "no_such_example")
    assert code == 2 and out == ""
    assert "no_such_example: no such file, and no shipped example scenario of that name" in err
    assert "eth_crash_liq2" in err  # the names to choose from
    (tmp_path / "eth_crash_liq2").mkdir()  # a path that exists is never taken for a name
    code, _, err = cdpsim("run", "eth_crash_liq2")
    assert code == 2 and "shipped example" not in err
    code, _, err = cdpsim("run", "eth_crash_liq2.yaml")  # a file name: not looked up
    assert code == 2 and "shipped example" not in err
