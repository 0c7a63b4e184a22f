"""Faults a batch or sweep meets, through the real entry point.

A worker killed mid-batch or mid-sweep, the parent killed with SIGKILL, an input changed before
``--resume``, a full disk, a second writer on the same folder. The killed processes and the full
disk are the console script's own; the other commands that start no worker processes (reference
runs, ``--resume`` with ``--workers 0``, the second writer) run forked from a pre-imported server
(tests/cli_helpers.py): a process of their own that answers as the script does.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest

from sim.experiments.executors import WORKER_NAME
from tests.conftest import SMALL
from tests.test_cli_batch import TIMEOUT_S, cdpsim, finished_runs

#: About a second per run (1 440 one-minute ticks): long enough to be killed part way.
SLOW = SMALL.replace("clock: {tick: 10m, duration: 12h}", "clock: {tick: 1m, duration: 1d}")
#: Columns that differ between two executions of the same runs.
VOLATILE = ["wall_time_s"]
#: A sitecustomize that makes os.replace fail with ENOSPC for the file names in
#: CDPSIM_TEST_ENOSPC (comma-separated): a disk that fills up just as those files are written.
SITECUSTOMIZE = """\
import errno, os
_names = set(filter(None, os.environ.get("CDPSIM_TEST_ENOSPC", "").split(",")))
_replace = os.replace
def _full(src, dst, *args, **kwargs):
    if os.path.basename(os.fspath(dst)) in _names:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), os.fspath(src))
    return _replace(src, dst, *args, **kwargs)
os.replace = _full
"""

pytestmark = pytest.mark.slow


@pytest.fixture
def slow_file(tmp_path) -> Path:
    path = tmp_path / "in" / "slow.yaml"
    path.parent.mkdir()
    path.write_text(SLOW)
    return path


@pytest.fixture
def slower_file(tmp_path) -> Path:
    """Half a minute per run (144 000 one-minute ticks): a writer still at work (stopped early)."""
    path = tmp_path / "in" / "slower.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(SLOW.replace("duration: 1d", "duration: 100d"))
    return path


def stable(table: pd.DataFrame) -> pd.DataFrame:
    return table.drop(columns=VOLATILE).reset_index(drop=True)


def workers_of(proc: subprocess.Popen, count: int) -> list[psutil.Process]:
    """The batch's local worker processes (named ``cdpsim-worker``), once ``count`` are up."""
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        found = [
            p
            for p in parent.children(recursive=True)
            if (p.name() if p.is_running() else "") == WORKER_NAME.decode()
        ]
        if len(found) >= count:
            return found
        if proc.poll() is not None:
            raise AssertionError(f"it ended before its workers started: {proc.communicate()}")
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} workers started")


def wait_for_runs(out: Path, count: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while len(finished_runs(out)) < count and proc.poll() is None:
        assert time.monotonic() < deadline, "the batch did not get that far"
        time.sleep(0.05)


def start(cmd: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def finish(proc: subprocess.Popen) -> subprocess.CompletedProcess:
    try:
        stdout, stderr = proc.communicate(timeout=TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


# ---------------------------------------------------------------------------------- dead workers


def test_a_worker_killed_mid_batch_loses_no_run(cdpsim_cmd, slow_file, tmp_path):
    args = ["batch", str(slow_file), "--seeds", "8", "--keep", "summary"]
    out = tmp_path / "killed"
    proc = start([*cdpsim_cmd, *args, "--workers", "2", "--out", str(out)])
    victims = workers_of(proc, 2)
    wait_for_runs(out, 2, proc)
    victims[0].kill()  # kill -9 of one worker, runs in flight on both
    res = finish(proc)
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    killed = pd.read_parquet(out / "runs.parquet")
    assert len(killed) == 8 and (killed["status"] == "ok").all()
    assert json.loads((out / "batch.json").read_text())["complete"] is True
    # --resume has nothing left to do, and the result equals an uninterrupted batch
    again = cdpsim(cdpsim_cmd, *args, "--workers", "2", "--out", str(out), "--resume")
    assert again.returncode == 0, again.stderr
    whole = tmp_path / "whole"
    ref = cdpsim(cdpsim_cmd, *args, "--workers", "0", "--out", str(whole))
    assert ref.returncode == 0, ref.stderr
    pd.testing.assert_frame_equal(
        stable(pd.read_parquet(out / "runs.parquet")).drop(columns=["scenario_file"]),
        stable(pd.read_parquet(whole / "runs.parquet")).drop(columns=["scenario_file"]),
    )


MORRIS = """\
name: morris
base: slow.yaml
design: {kind: morris, n: 3, levels: 4}
parameters:
  ilks.ETH-A.mat: {range: [1.3, 1.5]}
  collateral.ETH.price.crash.depth: {range: [0.2, 0.6]}
seeds: 1
kpis: [bad_debt_max, liquidated_debt]
"""


def test_a_worker_killed_mid_sweep_keeps_every_point_and_finite_morris_indices(
    cdpsim_cmd, slow_file, tmp_path
):
    sweep = slow_file.parent / "morris.yaml"
    sweep.write_text(MORRIS)
    out = tmp_path / "killed"
    proc = start([*cdpsim_cmd, "sweep", str(sweep), "--workers", "2", "--out", str(out)])
    victims = workers_of(proc, 2)
    wait_for_runs(out, 2, proc)
    victims[1].kill()
    res = finish(proc)
    assert res.returncode == 0, res.stderr
    points = pd.read_parquet(out / "points.parquet")
    assert (points["n"] == 1).all() and (points["n_missing"] == 0).all()
    indices = pd.read_parquet(out / "sensitivity.parquet")
    assert len(indices) == 4 and np.isfinite(indices["mu_star"]).all()
    again = cdpsim(cdpsim_cmd, "sweep", str(sweep), "--workers", "2", "--out", str(out), "--resume")
    assert again.returncode == 0, again.stderr
    whole = tmp_path / "whole"
    ref = cdpsim(cdpsim_cmd, "sweep", str(sweep), "--workers", "0", "--out", str(whole))
    assert ref.returncode == 0, ref.stderr
    pd.testing.assert_frame_equal(indices, pd.read_parquet(whole / "sensitivity.parquet"))


def test_killing_the_parent_leaves_no_worker(cdpsim_cmd, slow_file, tmp_path):
    out = tmp_path / "orphans"
    proc = start(
        [*cdpsim_cmd, "batch", str(slow_file), "--seeds", "8", "--workers", "2", "--out", str(out)]
    )
    workers = workers_of(proc, 2)
    helpers = psutil.Process(proc.pid).children(recursive=True)  # the resource tracker too
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    alive = helpers
    while time.monotonic() < deadline:
        alive = [p for p in helpers if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        if not alive:
            break
        time.sleep(0.1)
    assert not alive, [p.cmdline() for p in alive]
    assert {p.pid for p in workers} <= {p.pid for p in helpers}


def test_a_run_that_kills_its_worker_is_lost_and_resume_runs_it(tmp_path, monkeypatch):
    """Alone, it kills its worker again: 'lost' (not done), and --resume runs it again."""
    from sim.experiments.batch import execute_all, load_inputs, plan
    from sim.experiments.store import BatchFolder
    from tests import test_cli_faults

    monkeypatch.setenv("CDPSIM_TEST_KILL_MARKER", str(tmp_path / "no-more-killing"))
    scenario = tmp_path / "small.yaml"
    scenario.write_text(SMALL)
    out = tmp_path / "b"
    specs = plan(load_inputs([scenario]), [1, 2, 3, 4], out)
    from sim.experiments.batch import batch_manifest

    manifest = batch_manifest(
        load_inputs([scenario]),
        specs,
        out=out,
        seeds_record=[1, 2, 3, 4],
        master_seed=0,
        overrides=(),
        keep="full",
        command=None,
    )
    lock = BatchFolder(out).open(manifest, resume=False)
    try:
        table = execute_all(specs, out, workers=2, runner=test_cli_faults.kill_on_seed_two)
    finally:
        lock.release()
    assert dict(zip(table["seed"], table["status"], strict=True)) == {
        1: "ok",
        2: "lost",
        3: "ok",
        4: "ok",
    }
    assert "--resume runs it again" in table.set_index("seed").loc[2, "error"]
    assert json.loads((out / "batch.json").read_text())["complete"] is False
    (tmp_path / "no-more-killing").write_text("")  # whatever killed it is fixed
    seen = []
    table = execute_all(specs, out, workers=2, progress=seen.append)
    assert (table["status"] == "ok").all() and len(seen) == 1  # only the lost one ran
    assert json.loads((out / "batch.json").read_text())["complete"] is True


def kill_on_seed_two(spec):
    """A stand-in runner: seed 2 kills its worker until the marker file exists."""
    from sim.experiments.batch import execute

    if spec.seed == 2 and not Path(os.environ["CDPSIM_TEST_KILL_MARKER"]).exists():
        os._exit(9)
    return execute(spec)


def test_failed_runs_are_run_again_only_with_retry_failed(cdpsim_cmd, tmp_path):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SMALL)
    out = tmp_path / "b"
    args = ["batch", str(scenario), "--seeds", "2", "--workers", "0", "--out", str(out)]
    res = cdpsim(cdpsim_cmd, *args)
    assert res.returncode == 0, res.stderr
    manifest = out / "runs" / finished_runs(out)[0] / "manifest.json"
    data = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**data, "status": "failed", "error": "tick 3: boom"}))
    res = cdpsim(cdpsim_cmd, *args, "--resume")
    assert res.returncode == 1 and "boom" in res.stderr  # failed counts as done
    assert json.loads((out / "batch.json").read_text())["complete"] is False
    res = cdpsim(cdpsim_cmd, *args, "--resume", "--retry-failed")
    assert res.returncode == 0, res.stderr
    assert json.loads((out / "batch.json").read_text())["complete"] is True


# ---------------------------------------------------------------------------------- inputs


#: The small scenario on prices replayed from a CSV next to it.
REPLAY = SMALL.replace(
    "clock: {tick: 10m, duration: 12h}",
    'clock: {tick: 1h, duration: 12h, start: "2020-03-12T00:00:00Z"}',
).replace(
    "price: {process: scripted, start: 2000, crash: {depth: 0.4, at: 1h, over: 4h}}",
    "price: {process: replay, file: prices.csv, column: eth}",
)


def _prices(factor: float) -> str:
    rows = [f"2020-03-12T{h:02d}:00:00Z,{(2000 - 80 * h) * factor:.2f}" for h in range(13)]
    return "timestamp,eth\n" + "\n".join(rows) + "\n"


def test_resume_refuses_a_changed_replay_csv_naming_it(cdpsim_cmd, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    assert "prices.csv" in REPLAY
    (folder / "replayed.yaml").write_text(REPLAY)
    (folder / "prices.csv").write_text(_prices(1.0))
    out = tmp_path / "b"
    args = ["batch", str(folder / "replayed.yaml"), "--seeds", "2", "--workers", "0"]
    res = cdpsim(cdpsim_cmd, *args, "--out", str(out))
    assert res.returncode == 0, res.stderr
    inputs = json.loads((out / "batch.json").read_text())["inputs"]
    assert inputs[0]["data"][0]["file"] == "../in/prices.csv"
    (folder / "prices.csv").write_text(_prices(0.5))  # halved, as in the report
    res = cdpsim(cdpsim_cmd, *args, "--out", str(out), "--resume")
    assert res.returncode == 2
    assert "the data file ../in/prices.csv changed" in res.stderr
    assert "--force" in res.stderr and "Traceback" not in res.stderr
    res = cdpsim(cdpsim_cmd, *args, "--out", str(out), "--resume", "--force")
    assert res.returncode == 0, res.stderr
    forced = json.loads((out / "batch.json").read_text())["forced"]
    assert forced[0]["changes"] == ["the data file ../in/prices.csv changed"]


def test_resume_refuses_another_cdpsim_version(cdpsim_cmd, small_scenario_file, tmp_path):
    out = tmp_path / "b"
    args = ["batch", str(small_scenario_file), "--seeds", "1", "--workers", "0", "--out", str(out)]
    assert cdpsim(cdpsim_cmd, *args).returncode == 0
    manifest = json.loads((out / "batch.json").read_text())
    manifest["versions"]["cdpsim"] = "0.0.1"
    (out / "batch.json").write_text(json.dumps(manifest))
    res = cdpsim(cdpsim_cmd, *args, "--resume")
    assert res.returncode == 2
    assert "the batch started with 0.0.1" in res.stderr


# ---------------------------------------------------------------------------------- full disk


def with_full_disk(command: list[str], tmp_path: Path, names: str) -> subprocess.CompletedProcess:
    """Run ``command`` on a disk that is full whenever one of ``names`` is written."""
    env = _full_disk_env(tmp_path, names)
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, env=env)


def _full_disk_env(tmp_path: Path, names: str) -> dict[str, str]:
    faults = tmp_path / "faults"
    faults.mkdir(exist_ok=True)
    (faults / "sitecustomize.py").write_text(SITECUSTOMIZE)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(faults), env.get("PYTHONPATH")]))
    env["CDPSIM_TEST_ENOSPC"] = names
    return env


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if ".tmp" in p.name)


SWEEP = """\
name: grid
base: base.yaml
design: {kind: grid}
parameters:
  collateral.ETH.price.crash.depth: {values: [0.3, 0.5]}
seeds: 2
kpis: [bad_debt_max]
"""


def test_a_full_disk_when_the_points_are_written_exits_1_and_a_retry_works(cdpsim_cmd, tmp_path):
    (tmp_path / "base.yaml").write_text(SMALL)
    sweep = tmp_path / "grid.yaml"
    sweep.write_text(SWEEP)
    out = tmp_path / "out"
    command = [*cdpsim_cmd, "sweep", str(sweep), "--workers", "0", "--out", str(out)]
    res = with_full_disk(command, tmp_path, "points.parquet")
    assert res.returncode == 1, res.stderr
    assert f"cannot write {out / 'points.parquet'}: No space left on device" in res.stderr
    assert "--resume" in res.stderr and "Traceback" not in res.stderr
    assert _leftovers(out) == [] and len(finished_runs(out)) == 4  # the runs are kept
    res = cdpsim(cdpsim_cmd, "sweep", str(sweep), "--workers", "0", "--out", str(out), "--resume")
    assert res.returncode == 0, res.stderr
    assert len(pd.read_parquet(out / "points.parquet")) == 2


def test_a_batch_folder_that_cannot_be_created_leaves_nothing(
    cdpsim_cmd, small_scenario_file, tmp_path
):
    out = tmp_path / "new" / "b"
    command = [*cdpsim_cmd, "batch", str(small_scenario_file), "--workers", "0", "--out", str(out)]
    res = with_full_disk(command, tmp_path, "batch.json")
    assert res.returncode == 2, res.stderr
    assert "cannot create the batch folder: No space left on device" in res.stderr
    assert not (tmp_path / "new").exists()  # nothing half made: no runs/, no temp file
    res = cdpsim(cdpsim_cmd, "batch", str(small_scenario_file), "--workers", "0", "--out", str(out))
    assert res.returncode == 0, res.stderr


def test_a_full_disk_for_the_runs_table_is_a_warning_and_resume_writes_it(
    cdpsim_cmd, small_scenario_file, tmp_path
):
    out = tmp_path / "b"
    command = [*cdpsim_cmd, "batch", str(small_scenario_file), "--workers", "0", "--out", str(out)]
    res = with_full_disk(command, tmp_path, "runs.parquet")
    assert "warning: cannot write" in res.stderr and "No space left on device" in res.stderr
    assert _leftovers(out) == [] and not (out / "runs.parquet").exists()
    res = cdpsim(cdpsim_cmd, *command[1:], "--resume")
    assert res.returncode == 0, res.stderr
    assert (out / "runs.parquet").is_file()


def test_a_full_disk_for_a_figure_a_report_or_discovery_exits_1(cdpsim_cmd, tmp_path):
    (tmp_path / "base.yaml").write_text(SMALL)
    sweep = tmp_path / "grid.yaml"
    sweep.write_text(SWEEP)
    out = tmp_path / "out"
    res = cdpsim(cdpsim_cmd, "sweep", str(sweep), "--workers", "0", "--out", str(out))
    assert res.returncode == 0, res.stderr
    names = "plot.png,page.html,bad_debt_max-above-0-cart.parquet"
    calls = [
        (["plot", str(out), "--out", str(tmp_path / "plot.png")], "plot.png"),
        (["report", str(out), "--out", str(tmp_path / "page.html")], "page.html"),
        (["discover", str(out), "--kpi", "bad_debt_max", "--above", "0"], "cart.parquet"),
    ]
    for args, name in calls:
        res = with_full_disk([*cdpsim_cmd, *args], tmp_path, names)
        assert res.returncode == 1, (args, res.stderr)
        assert name in res.stderr and "No space left on device" in res.stderr
        assert "Traceback" not in res.stderr
    assert _leftovers(tmp_path) == []


# ---------------------------------------------------------------------------------- two writers


def test_a_second_writer_is_refused_with_the_holders_pid(cdpsim_cmd, slower_file, tmp_path):
    out = tmp_path / "b"
    args = ["batch", str(slower_file), "--seeds", "3", "--workers", "0", "--keep", "summary"]
    first = start([*cdpsim_cmd, *args, "--out", str(out)])
    try:
        _wait_for(out / ".cdpsim.lock", first)
        second = cdpsim(cdpsim_cmd, *args, "--out", str(out), "--resume")
        assert second.returncode == 2
        assert f"in use by another cdpsim process (PID {first.pid}: " in second.stderr
    finally:
        first.send_signal(signal.SIGINT)
        res = finish(first)
    assert res.returncode == 130, res.stderr
    assert not (out / ".cdpsim.lock").exists()


def test_two_runs_on_one_folder_the_second_is_refused(cdpsim_cmd, slower_file, tmp_path):
    out = tmp_path / "run"
    first = start([*cdpsim_cmd, "run", str(slower_file), "--out", str(out)])
    lock = tmp_path / ".run.cdpsim-lock"
    try:
        _wait_for(lock, first)
        second = cdpsim(cdpsim_cmd, "run", str(slower_file), "--out", str(out))
        assert second.returncode == 2
        assert f"in use by another cdpsim process (PID {first.pid}" in second.stderr
    finally:
        first.send_signal(signal.SIGINT)
        res = finish(first)
    assert res.returncode == 130, res.stderr  # it kept its ticks, the other wrote nothing
    assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted"
    assert not lock.exists()


def _wait_for(path: Path, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
