"""`cdpsim batch` through its entry point: outputs, bad input, interruption and resume."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.cli_helpers import cdpsim_forked
from tests.conftest import SMALL

#: Safety limit of a subprocess (not a timing assertion) [s].
TIMEOUT_S = 300


def cdpsim(cmd: list[str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``cdpsim ARGS`` forked from a pre-imported server, or the script where workers start."""
    return cdpsim_forked(cmd, *args, cwd=cwd, timeout=TIMEOUT_S)


def cdpsim_script(
    cmd: list[str], *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    """``cdpsim ARGS`` through the installed console script, in a subprocess."""
    return subprocess.run([*cmd, *args], capture_output=True, text=True, cwd=cwd, timeout=TIMEOUT_S)


@pytest.fixture
def inputs(tmp_path) -> Path:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / "a.yaml").write_text(SMALL)
    (folder / "b.yaml").write_text(SMALL.replace("name: small", "name: other"))
    return folder


def finished_runs(out: Path) -> list[str]:
    runs = out / "runs"
    if not runs.is_dir():
        return []
    return sorted(
        p.name
        for p in runs.iterdir()
        if not p.name.startswith(".") and (p / "summary.json").exists()
    )


def signal_after(
    command: list[str], out: Path, runs: int, signum: int
) -> subprocess.CompletedProcess:
    """Run ``command``, send it ``signum`` once ``out`` holds ``runs`` finished runs.

    Returns:
        The process's exit code, stdout and stderr.
    """
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while len(finished_runs(out)) < runs and proc.poll() is None:
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return subprocess.CompletedProcess(command, proc.returncode, stdout, stderr)


def test_a_batch_writes_its_folder_and_its_summary_on_stdout(cdpsim_cmd, inputs, tmp_path):
    out = tmp_path / "batch"
    res = cdpsim(
        cdpsim_cmd, "batch", str(inputs), "--seeds", "2", "--workers", "2", "--out", str(out)
    )
    assert res.returncode == 0, res.stderr
    summary, *risk = res.stdout.splitlines()
    assert summary == f"4 runs: 4 ok, 0 failed → {out / 'runs.parquet'}"
    # each scenario's risk statistics with the runs behind them, then one warning on stderr
    assert [line.split(":")[0] for line in risk] == ["  small", "  other"]
    assert all("VaR 95 % = " in line and line.endswith("(n = 2 runs)") for line in risk)
    warnings = [line for line in res.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: VaR/ES/LaR at 95 % rest on 2 runs (fewer than 50): read them as rough; with "
        "so few runs the 95 % quantile lies between the two largest runs and the expected "
        "shortfall is the largest run alone"
    ]
    table = pd.read_parquet(out / "runs.parquet")
    assert len(table) == 4 and set(table["scenario"]) == {"small", "other"}
    manifest = json.loads((out / "batch.json").read_text())
    assert manifest["kind"] == "cdpsim-batch" and manifest["master_seed"] == 0
    assert manifest["command"].startswith("cdpsim batch ")
    assert [i["file"] for i in manifest["inputs"]] == [  # relative to the batch folder
        "../scenarios/a.yaml",
        "../scenarios/b.yaml",
    ]
    assert "Traceback" not in res.stderr and "\r" not in res.stderr  # no bar when not a terminal


def test_an_out_through_a_file_is_refused(cdpsim_cmd, inputs, tmp_path):
    (tmp_path / "afile").write_text("mine")
    res = cdpsim(cdpsim_cmd, "batch", str(inputs), "--out", str(tmp_path / "afile" / "sub"))
    assert res.returncode == 2 and "is a file" in res.stderr and "Traceback" not in res.stderr
    assert (tmp_path / "afile").read_text() == "mine"


def test_bad_input_stops_the_batch_before_any_run(cdpsim_cmd, inputs, tmp_path):
    (inputs / "bad.yaml").write_text(SMALL.replace("mat: 1.5", "mat: 0.9"))
    out = tmp_path / "batch"
    res = cdpsim(cdpsim_cmd, "batch", str(inputs), str(tmp_path / "nope*.yaml"), "--out", str(out))
    assert res.returncode == 2
    assert "bad.yaml:" in res.stderr and "ilks.ETH-A.mat" in res.stderr
    assert "nope*.yaml: no file matches" in res.stderr
    assert "Traceback" not in res.stderr and not out.exists()
    for args in (["--seeds", "2", "--seed-list", "1,2"], ["--scheduler", "tcp://127.0.0.1:1"]):
        res = cdpsim(cdpsim_cmd, "batch", str(inputs), *args, "--out", str(out))
        assert res.returncode == 2 and "Traceback" not in res.stderr and not out.exists()
    res = cdpsim(cdpsim_cmd, "batch", str(inputs), "--seed-list", "1,x", "--out", str(out))
    assert res.returncode == 2 and "comma-separated list of integers" in res.stderr


@pytest.mark.slow
def test_a_killed_batch_resumes_to_the_same_result(cdpsim_cmd, inputs, tmp_path):
    args = [str(inputs), "--seeds", "5", "--workers", "1", "--set", "clock.duration=2d"]
    full = tmp_path / "full"
    assert cdpsim(cdpsim_cmd, "batch", *args, "--out", str(full)).returncode == 0
    out = tmp_path / "killed"
    signal_after([*cdpsim_cmd, "batch", *args, "--out", str(out)], out, 3, signal.SIGKILL)
    before = {r: (out / "runs" / r / "manifest.json").read_bytes() for r in finished_runs(out)}
    assert 3 <= len(before) < 10, "the batch was killed part way"
    res = cdpsim(cdpsim_cmd, "batch", *args, "--out", str(out), "--resume")
    assert res.returncode == 0, res.stderr
    assert finished_runs(out) == finished_runs(full)
    assert sorted(p.name for p in (out / "runs").iterdir()) == finished_runs(full)  # no leftovers
    for run_id, manifest in before.items():  # every run exactly once: the kept ones stay
        assert (out / "runs" / run_id / "manifest.json").read_bytes() == manifest
    ours = pd.read_parquet(out / "runs.parquet").drop(columns="wall_time_s")
    theirs = pd.read_parquet(full / "runs.parquet").drop(columns="wall_time_s")
    pd.testing.assert_frame_equal(ours, theirs)
    for run_id in finished_runs(full):
        for name in ("timeseries.parquet", "events.parquet", "auctions.parquet"):
            a = (out / "runs" / run_id / name).read_bytes()
            assert a == (full / "runs" / run_id / name).read_bytes()


@pytest.mark.slow
def test_ctrl_c_keeps_the_finished_runs_and_says_how_to_resume(cdpsim_cmd, inputs, tmp_path):
    out = tmp_path / "b"
    args = [str(inputs), "--seeds", "8", "--workers", "2", "--set", "clock.duration=2d"]
    res = signal_after([*cdpsim_cmd, "batch", *args, "--out", str(out)], out, 2, signal.SIGINT)
    stdout, stderr = res.stdout, res.stderr
    assert res.returncode == 130, stderr
    kept = finished_runs(out)
    assert f"interrupted: {len(kept)} of 16 runs are done and kept in {out}" in stderr
    assert "--resume" in stderr and "Traceback" not in stderr and stdout == ""
    assert f"--out {out}" in stderr  # the hint names the folder
    assert len(pd.read_parquet(out / "runs.parquet")) == len(kept)


def test_failed_runs_exit_1_with_a_summary(inputs, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from sim.cli import main
    from sim.model import ProtocolModel

    original = ProtocolModel.step

    def step(self):
        if self.spec.name == "other" and self.tick == 2:
            raise ZeroDivisionError("as the test asked")
        original(self)

    monkeypatch.setattr(ProtocolModel, "step", step)
    out = tmp_path / "b"
    res = CliRunner().invoke(main, ["batch", str(inputs), "--workers", "0", "--out", str(out)])
    assert res.exit_code == 1
    assert "2 runs: 1 ok, 1 failed" in res.output
    assert "other-seed3: tick 2: ZeroDivisionError: as the test asked" in res.output


def test_a_batch_of_60_runs_gives_its_risk_statistics_without_a_warning(tmp_path):
    from click.testing import CliRunner

    from sim.cli import main

    (tmp_path / "a.yaml").write_text(SMALL)
    out = tmp_path / "b"
    args = ["batch", str(tmp_path / "a.yaml"), "--seeds", "60", "--workers", "0", "--out", str(out)]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    (line,) = [x for x in res.stdout.splitlines() if x.startswith("  small: ")]
    assert line.endswith("(n = 60 runs)") and "ES 95 % = " in line and "LaR 95 % = " in line
    assert "warning" not in res.stderr


def test_a_batch_of_4_runs_warns_but_exits_0(tmp_path):
    from click.testing import CliRunner

    from sim.cli import main

    (tmp_path / "a.yaml").write_text(SMALL)
    out = tmp_path / "b"
    args = ["batch", str(tmp_path / "a.yaml"), "--seeds", "4", "--workers", "0", "--out", str(out)]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "(n = 4 runs)" in res.stdout and "warning" not in res.stdout
    (warning,) = res.stderr.splitlines()[-1:]
    assert warning.startswith(
        "warning: VaR/ES/LaR at 95 % rest on 4 runs (fewer than 50): read them as rough"
    )


def test_a_batch_with_set_gets_its_own_default_folder(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from sim.cli import main
    from sim.files import overrides_digest

    (tmp_path / "a.yaml").write_text(SMALL)
    monkeypatch.chdir(tmp_path)
    args = ["batch", "a.yaml", "--workers", "0", "--set", "clock.duration=1h"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    (folder,) = (tmp_path / "runs").iterdir()
    digest = overrides_digest(["clock.duration=1h"])
    assert folder.name.startswith("batch-") and folder.name.endswith(f"-set-{digest}")
    manifest = json.loads((folder / "batch.json").read_text())
    assert manifest["overrides"] == ["clock.duration=1h"] and manifest["set_digest"] == digest
    assert f"→ {Path('runs') / folder.name / 'runs.parquet'}" in res.stdout


def test_the_interrupted_count_is_of_the_runs_kept_once_the_pool_stopped(tmp_path, monkeypatch):
    """Ctrl-C while a run is in flight: it still finishes as the pool stops, and is counted.

    A stand-in pool runs each task in this process but holds the third back, "in flight",
    and writes it only when it is closed (as a worker may finish a run while the pool stops);
    the interrupt comes while it is held. Counted before the pool stopped, the message would
    say 2 runs where 3 are kept.
    """
    from click.testing import CliRunner

    from sim.cli import main
    from sim.experiments import batch as batch_module
    from sim.experiments.executors import InProcess

    class LatePool(InProcess):
        held = None

        def imap_unordered(self, fn, tasks, on_lost):
            for k, task in enumerate(tasks):
                if k == 2:
                    self.held = (fn, task)
                    raise KeyboardInterrupt  # Ctrl-C with this run in flight
                yield fn(task)

        def close(self):
            if self.held is not None:
                fn, task = self.held
                fn(task)  # the worker finishes its run while the pool stops

    monkeypatch.setattr(batch_module, "make_executor", lambda *a, **k: LatePool())
    (tmp_path / "a.yaml").write_text(SMALL)
    out = tmp_path / "b"
    args = ["batch", str(tmp_path / "a.yaml"), "--seeds", "5", "--set", "clock.duration=1h"]
    res = CliRunner().invoke(main, [*args, "--workers", "2", "--out", str(out)])
    assert res.exit_code == 130, res.output
    kept = finished_runs(out)
    assert len(kept) == 3 == len(pd.read_parquet(out / "runs.parquet"))
    assert f"interrupted: {len(kept)} of 5 runs are done and kept in {out}" in res.stderr
