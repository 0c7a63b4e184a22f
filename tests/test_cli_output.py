"""``cdpsim run`` output folders, interruption, write failures and closed pipes, end to end."""

from __future__ import annotations

import errno
import json
import os
import pty
import re
import select
import signal
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest

import sim.stream
from sim.rundir import RUN_FILES
from tests.cli_helpers import cdpsim_forked
from tests.conftest import SCENARIOS

#: Enough ticks that a run is still simulating when the test signals it.
LONG = ("--set", "clock.duration=30d", "--set", "clock.tick=1m")
LONG_TICKS = 30 * 24 * 60
SHORT = ("--set", "clock.duration=1h")
#: Safety limit of a subprocess (not a timing assertion) [s].
TIMEOUT_S = 300


def cdpsim(cmd: list[str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``cdpsim ARGS`` forked from a pre-imported server (tests/cli_helpers.py)."""
    return cdpsim_forked(cmd, *args, cwd=cwd, timeout=TIMEOUT_S)


def manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def user_folder(path: Path) -> dict[str, bytes]:
    """Make a folder a user owns (notes and a git repository); its files' contents."""
    (path / ".git").mkdir(parents=True)
    (path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (path / "notes.txt").write_text("my notes\n")
    return contents(path)


def contents(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in path.rglob("*") if p.is_file()}


def hidden(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def test_a_user_folder_is_refused_before_running(cdpsim_cmd, small_scenario_file, tmp_path):
    folder = tmp_path / "mine"
    before = user_folder(folder)
    res = cdpsim(cdpsim_cmd, "run", str(small_scenario_file), "--out", str(folder), *SHORT)
    assert res.returncode == 2, res.stderr
    assert str(folder) in res.stderr and "notes.txt" in res.stderr and ".git" in res.stderr
    assert "--force" in res.stderr and "Traceback" not in res.stderr
    assert contents(folder) == before
    assert hidden(tmp_path) == []


def test_force_writes_the_run_files_and_nothing_else(cdpsim_cmd, small_scenario_file, tmp_path):
    folder = tmp_path / "mine"
    before = user_folder(folder)
    res = cdpsim(
        cdpsim_cmd, "run", str(small_scenario_file), "--out", str(folder), "--force", *SHORT
    )
    assert res.returncode == 0, res.stderr
    after = contents(folder)
    assert {k: after[k] for k in before} == before
    assert sorted(set(after) - set(before)) == sorted(RUN_FILES)
    assert manifest(folder)["status"] == "ok" and manifest(folder)["kind"] == "cdpsim-run"
    assert sorted(p.name for p in folder.iterdir()) == sorted([*RUN_FILES, ".git", "notes.txt"])


def test_a_batch_folder_and_its_runs_are_refused_even_with_force(
    cdpsim_cmd, small_scenario_file, tmp_path
):
    import sim

    batch = tmp_path / "batch"
    sim.run_batch([small_scenario_file], seeds=1, workers=0, out=batch)
    before = contents(batch)
    for out, needle in (
        (batch, "a cdpsim batch or sweep folder"),
        (batch / "runs" / "mine", f"inside the batch or sweep folder {batch}"),
    ):
        for force in ((), ("--force",)):
            res = cdpsim(
                cdpsim_cmd, "run", str(small_scenario_file), *SHORT, "--out", str(out), *force
            )
            assert res.returncode == 2, res.stderr
            assert needle in res.stderr and "Traceback" not in res.stderr
            assert "--force" not in res.stderr
    assert contents(batch) == before


def test_an_earlier_run_is_replaced(cdpsim_cmd, small_scenario_file, tmp_path):
    out = tmp_path / "run"
    first = cdpsim(cdpsim_cmd, "run", str(small_scenario_file), "--out", str(out), *SHORT)
    assert first.returncode == 0, first.stderr
    assert manifest(out)["ticks"] == 6
    res = cdpsim(
        cdpsim_cmd, "run", str(small_scenario_file), "--out", str(out), "--set", "clock.duration=2h"
    )
    assert res.returncode == 0, res.stderr
    assert manifest(out)["ticks"] == 12
    assert sorted(p.name for p in out.iterdir()) == sorted(RUN_FILES)
    assert hidden(tmp_path) == []


def test_the_current_folder_is_refused_before_running(cdpsim_cmd, small_scenario_file, tmp_path):
    here = tmp_path / "project" / "work"
    here.mkdir(parents=True)
    (here / "data.csv").write_text("x\n")
    res = cdpsim(cdpsim_cmd, "run", str(small_scenario_file), "--out", ".", cwd=here)
    assert res.returncode == 2, res.stderr
    assert "current folder" in res.stderr and "Traceback" not in res.stderr
    # Refused before simulating: no run file was written anywhere.
    assert sorted(p.name for p in here.iterdir()) == ["data.csv"]
    assert sorted(p.name for p in here.parent.iterdir()) == ["work"]


def test_a_file_in_the_out_path_is_refused(cdpsim_cmd, small_scenario_file, tmp_path):
    (tmp_path / "afile").write_text("x")
    res = cdpsim(cdpsim_cmd, "run", str(small_scenario_file), "--out", str(tmp_path / "afile/sub"))
    assert res.returncode == 2, res.stderr
    assert "afile is a file" in res.stderr and "Traceback" not in res.stderr
    assert (tmp_path / "afile").read_text() == "x"


def _default_sigint() -> None:
    # A child started from a background job may inherit an ignored SIGINT.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _read_until(fd: int, pattern: re.Pattern[bytes], proc: subprocess.Popen) -> bytes:
    """Read ``fd`` until ``pattern`` shows up (or the process ends, or a safety limit)."""
    seen = b""
    deadline = time.monotonic() + TIMEOUT_S
    while pattern.search(seen) is None:
        assert proc.poll() is None, seen.decode(errors="replace")
        assert time.monotonic() < deadline, seen.decode(errors="replace")
        ready, _, _ = select.select([fd], [], [], 1.0)
        if ready:
            seen += os.read(fd, 4096)
    return seen


def _read_rest(fd: int) -> bytes:
    rest = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the child's side is closed
            break
        if not chunk:
            break
        rest += chunk
    return rest


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_keeps_the_ticks_computed(cdpsim_cmd, small_scenario_file, tmp_path, signum):
    out = tmp_path / "run"
    earlier = cdpsim(cdpsim_cmd, "run", str(small_scenario_file), "--out", str(out), *SHORT)
    assert earlier.returncode == 0 and manifest(out)["status"] == "ok"
    # stderr on a terminal shows the progress bar: once it counts ticks, the run is simulating.
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [*cdpsim_cmd, "run", str(small_scenario_file), "--out", str(out), *LONG],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=follower,
        preexec_fn=_default_sigint,
    )
    os.close(follower)
    try:
        _read_until(leader, re.compile(rb"[ |][1-9]\d*/%d" % LONG_TICKS), proc)
        proc.send_signal(signum)
        proc.wait(timeout=TIMEOUT_S)
        stderr = _read_rest(leader).decode(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(leader)
        proc.stdout.close()
    assert proc.returncode == 130, stderr
    found = manifest(out)
    ticks = found["ticks"]
    assert found["status"] == "interrupted" and 0 < ticks < LONG_TICKS
    assert len(pd.read_parquet(out / "timeseries.parquet")) == ticks + 1
    assert sorted(p.name for p in out.iterdir()) == sorted(RUN_FILES)
    assert f"interrupted at tick {ticks} of {LONG_TICKS}" in stderr
    assert f"the {ticks} ticks computed are kept in {out}" in stderr
    assert "replacing the earlier run there" in stderr and "Traceback" not in stderr
    assert hidden(tmp_path) == []


def _invoke(args: list[str]):
    from click.testing import CliRunner

    from sim.cli import main

    return CliRunner().invoke(main, args)


@pytest.fixture
def temp_root(tmp_path, monkeypatch) -> Path:
    """``tempfile.gettempdir()`` (where a fallback folder goes) inside the test's folder."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


def _disk_full(monkeypatch, *, only_under: str | None) -> None:
    """Writing a table (``sim.stream.write_frame``) fails with ENOSPC.

    Only in temporary folders named ``only_under`` if given.
    """
    original = sim.stream.write_frame

    def full(self, path, *args, **kwargs):
        if only_under is None or Path(path).parent.name.startswith(only_under):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return original(self, path, *args, **kwargs)

    monkeypatch.setattr(sim.stream, "write_frame", full)


def test_a_failed_write_names_the_fallback(small_scenario_file, tmp_path, monkeypatch, temp_root):
    _disk_full(monkeypatch, only_under=".run.")
    out = tmp_path / "run"
    res = _invoke(["run", str(small_scenario_file), "--out", str(out)])
    assert res.exit_code == 1, res.output
    match = re.search(
        r"cannot write (\S+): No space left on device; the run \((\d+) ticks\) was saved to "
        r"(\S+) instead",
        res.output,
    )
    assert match is not None, res.output
    assert match[1] == str(out) and match[2] == "72"
    fallback = Path(match[3])
    assert fallback.parent == temp_root
    assert sorted(p.name for p in fallback.iterdir()) == sorted(RUN_FILES)
    assert manifest(fallback)["status"] == "ok" and manifest(fallback)["ticks"] == 72
    assert len(pd.read_parquet(fallback / "timeseries.parquet")) == 73
    assert "Traceback" not in res.output and "could not be built" not in res.output
    assert not out.exists() and hidden(tmp_path) == []


def test_when_the_fallback_fails_too_both_are_said(
    small_scenario_file, tmp_path, monkeypatch, temp_root
):
    _disk_full(monkeypatch, only_under=None)
    res = _invoke(["run", str(small_scenario_file), "--out", str(tmp_path / "run")])
    assert res.exit_code == 1, res.output
    assert f"cannot write {tmp_path / 'run'}: No space left on device" in res.output
    assert "nor a fallback folder" in res.output and str(temp_root) in res.output
    assert "the 72 ticks computed are lost" in res.output
    assert "Traceback" not in res.output
    assert list(temp_root.iterdir()) == [] and hidden(tmp_path) == []


def test_stdout_closed_early_is_not_an_error(cdpsim_cmd, small_scenario_file):
    args = ["validate", str(small_scenario_file)]
    # As `cdpsim ... | head -1` when head has gone: the first write finds no reader.
    proc = subprocess.Popen(
        [*cdpsim_cmd, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    proc.stdout.close()
    _, stderr = proc.communicate(timeout=TIMEOUT_S)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr and "Broken pipe" not in stderr


def test_head_of_a_pipe_exits_0(cdpsim_cmd, small_scenario_file, tmp_path):
    # `head -c 0` is gone before the first line, as `head -1` is before the lines after it.
    script = '"$@" | head -c 0; exit "${PIPESTATUS[0]}"'
    out = str(tmp_path / "run")
    res = subprocess.run(
        ["bash", "-c", script, "bash", *cdpsim_cmd, "run", str(small_scenario_file), "--out", out],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert res.returncode == 0, res.stderr
    assert manifest(Path(out))["status"] == "ok"


def test_leftovers_of_a_killed_write_are_cleaned(cdpsim_cmd, small_scenario_file, tmp_path):
    dead = subprocess.Popen(["true"])  # its PID is then that of a dead writer
    dead.wait(timeout=TIMEOUT_S)
    leftovers = {
        tmp_path / f".run.tmp-{dead.pid}-k1ll": ("timeseries.parquet", "events.parquet"),
        tmp_path / f".run.old-{dead.pid}": RUN_FILES,
    }
    for folder, names in leftovers.items():
        folder.mkdir()
        for name in names:
            (folder / name).write_text("partial")
    foreign = tmp_path / f".run.tmp-{dead.pid}-user"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    res = cdpsim(
        cdpsim_cmd, "run", str(small_scenario_file), "--out", str(tmp_path / "run"), *SHORT
    )
    assert res.returncode == 0, res.stderr
    assert hidden(tmp_path) == [foreign.name]
    assert (foreign / "notes.txt").read_text() == "mine"


def test_the_folder_follows_the_umask(cdpsim_cmd, small_scenario_file, tmp_path):
    mask = "027"  # neither the usual umask nor what mkdtemp gives (0700)
    out = tmp_path / "runs" / "run"
    args = [str(small_scenario_file), "--out", str(out), *SHORT]
    res = subprocess.run(
        ["sh", "-c", f'umask {mask}; exec "$@"', "sh", *cdpsim_cmd, "run", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert res.returncode == 0, res.stderr
    bits = int(mask, 8)
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~bits
    assert stat.S_IMODE(out.parent.stat().st_mode) == 0o777 & ~bits
    assert stat.S_IMODE((out / "summary.json").stat().st_mode) == 0o666 & ~bits


def _interrupt_at_tick(monkeypatch, tick: int) -> None:
    """Ctrl-C arrives while the keepers act in ``tick``."""
    from sim.agents.keeper import Keeper

    original = Keeper.step

    def step(self):
        if self.model.tick == tick:
            raise KeyboardInterrupt
        original(self)

    monkeypatch.setattr(Keeper, "step", step)


def test_an_interrupted_run_that_cannot_be_written_goes_to_the_fallback(
    small_scenario_file, tmp_path, monkeypatch, temp_root
):
    _interrupt_at_tick(monkeypatch, 4)
    _disk_full(monkeypatch, only_under=".run.")
    out = tmp_path / "run"
    res = _invoke(["run", str(small_scenario_file), "--out", str(out)])
    assert res.exit_code == 130, res.output
    assert f"interrupted at tick 3 of 72; cannot write {out}: No space left on device" in res.output
    (fallback,) = temp_root.iterdir()
    assert f"the run (3 ticks) was saved to {fallback} instead" in res.output
    assert manifest(fallback)["status"] == "interrupted" and manifest(fallback)["ticks"] == 3
    assert not out.exists()


def test_a_second_interrupt_while_writing_leaves_the_folder_as_it_was(
    small_scenario_file, tmp_path, monkeypatch
):
    out = tmp_path / "run"
    assert _invoke(["run", str(small_scenario_file), "--out", str(out), *SHORT]).exit_code == 0
    before = contents(out)
    _interrupt_at_tick(monkeypatch, 4)
    original = sim.stream.write_frame
    calls = []

    def second_interrupt(self, path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(self, path, *args, **kwargs)

    monkeypatch.setattr(sim.stream, "write_frame", second_interrupt)
    res = _invoke(["run", str(small_scenario_file), "--out", str(out)])
    assert res.exit_code == 130, res.output
    assert "interrupted again while writing" in res.output and "nothing half-written" in res.output
    assert contents(out) == before
    assert hidden(tmp_path) == []


def test_a_model_bug_is_not_a_write_error(small_scenario_file, tmp_path, monkeypatch):
    from sim import model as model_module

    def broken(self, *args, **kwargs):
        raise RuntimeError("a bug while building")

    monkeypatch.setattr(model_module.ProtocolModel, "__init__", broken)
    res = _invoke(["run", str(small_scenario_file), "--out", str(tmp_path / "run")])
    assert res.exit_code == 1
    assert "the model could not be built: RuntimeError: a bug while building" in res.output
    assert "cannot write" not in res.output and not (tmp_path / "run").exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    "overrides",
    [
        ["borrowers.1.debt=1.5e8"],
        ["borrowers.1.vaults=20000", "borrowers.1.debt=4e8"],
    ],
    ids=["debt-1.5e8", "vaults-20000"],
)
def test_a_debt_sweep_point_no_longer_dies_on_rounding(cdpsim_cmd, tmp_path, overrides):
    """The runs of issue 8 that stopped at tick 1 944 on a 2e-12 MKR residue in the Flapper."""
    args = [arg for o in overrides for arg in ("--set", o)]
    res = cdpsim(
        cdpsim_cmd,
        "run",
        str(SCENARIOS / "eth_crash_liq2.yaml"),
        *args,
        "--out",
        str(tmp_path / "run"),
    )
    assert res.returncode == 0, res.stderr
    written = manifest(tmp_path / "run")
    assert written["status"] == "ok" and written["ticks"] == 2880
