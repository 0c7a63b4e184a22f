"""A real Dask cluster: `dask scheduler` and two `dask worker` processes, as a user starts them.

`cdpsim batch` and `cdpsim sweep` run on it through the installed command; one worker is killed
(SIGKILL to its process group: the nanny and its worker, as when a node goes down) mid-batch.
Every run must land exactly once and equal the local pool's run bit for bit. The sweep runs with
CDPSIM_DASK_RESULTS=ship (every run shipped back and written by the client), the batch with the
workers writing into the shared folder themselves. The workers run in folders of their own, so a
relative --out that reached them as it is would land in the wrong place.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from sim.experiments.batch import RunSpec, execute
from sim.experiments.cluster import (
    Shipped,
    StoreToken,
    check_reports,
    land,
    make_token,
    run_on_worker,
    sees_store,
    unlanded_row,
)
from sim.experiments.store import versions
from sim.rundir import RUN_FILES
from sim.scenario import load_scenario
from tests.conftest import SMALL
from tests.test_cli_batch import TIMEOUT_S, cdpsim, finished_runs

distributed = pytest.importorskip("distributed")
psutil = pytest.importorskip("psutil")

#: Longer runs than SMALL's (720 one-minute ticks, about 0.2 s), so that runs are in flight
#: when a worker is killed.
LONGER = SMALL.replace("{tick: 10m, duration: 12h}", "{tick: 1m, duration: 12h}")
SWEEP = """\
name: cl
base: base.yaml
design: {kind: grid}
parameters:
  ilks.ETH-A.mat: {values: [1.3, 1.5]}
seeds: 2
kpis: [bad_debt_max]
"""
#: Seconds to wait for the scheduler's file or the workers (a safety limit, not a timing test).
START_S = 60.0
#: Seconds a process has to exit after SIGTERM before it is killed.
STOP_S = 10.0


def _dask() -> str:
    exe = Path(sys.executable).parent / "dask"
    found = str(exe) if exe.exists() else shutil.which("dask")
    if found is None:
        pytest.skip("the dask command is not installed")
    return found


class Cluster:
    """A scheduler and its workers, each in a process group of its own."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.procs: dict[str, subprocess.Popen] = {}
        self.pids: set[int] = set()
        self.address = ""

    def spawn(self, name: str, *args: str) -> subprocess.Popen:
        cwd = self.folder / name
        cwd.mkdir(parents=True, exist_ok=True)
        log = open(self.folder / f"{name}.log", "wb")  # closed below: the process holds it
        proc = subprocess.Popen(
            [_dask(), *args], cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.procs[name] = proc
        self.pids.add(proc.pid)
        return proc

    def start(self, workers: int) -> None:
        file = self.folder / "scheduler.json"
        self.spawn(
            "scheduler",
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(file),
        )
        deadline = time.monotonic() + START_S
        while not (file.exists() and file.stat().st_size):
            assert time.monotonic() < deadline, self.log("scheduler")
            time.sleep(0.05)
        self.address = json.loads(file.read_text())["address"]
        for i in range(workers):
            self.spawn(
                f"worker{i}",
                "worker",
                self.address,
                "--nthreads",
                "1",
                "--no-dashboard",
                "--name",
                f"worker{i}",
            )
        with distributed.Client(self.address, timeout="30s") as client:
            client.wait_for_workers(workers, timeout=START_S)
        for proc in self.procs.values():  # the nannies' worker processes too
            self.pids.update(c.pid for c in psutil.Process(proc.pid).children(recursive=True))

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def kill(self, name: str) -> None:
        """SIGKILL a process group (a node going down)."""
        os.killpg(self.procs[name].pid, signal.SIGKILL)
        self.procs[name].wait(timeout=STOP_S)

    def stop(self) -> None:
        """Stop every process: SIGTERM to each group, SIGKILL to what is left."""
        for proc in self.procs.values():
            if proc.poll() is None:
                with _gone():
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_S
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for pid in self.pids:
            with _gone():
                os.killpg(pid, signal.SIGKILL)
            with _gone():
                os.kill(pid, signal.SIGKILL)
        for proc in self.procs.values():
            proc.wait(timeout=STOP_S)

    def alive(self) -> list[int]:
        """The pids of this cluster's processes still running (zombies are not)."""
        out = []
        for pid in self.pids:
            try:
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    out.append(pid)
            except psutil.NoSuchProcess:
                pass
        return out


class _gone:
    """Ignore a process that is already gone."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, tb) -> bool:
        return kind is not None and issubclass(kind, ProcessLookupError | PermissionError)


@pytest.fixture
def cluster(tmp_path) -> Iterator[Cluster]:
    running = Cluster(tmp_path / "cluster")
    try:
        running.start(workers=2)
        yield running
    finally:
        running.stop()
        deadline = time.monotonic() + STOP_S
        while running.alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert running.alive() == [], "cluster processes left running"


def _manifests(out: Path) -> dict[str, dict]:
    found = {}
    for folder in sorted((out / "runs").iterdir()):
        if folder.name.startswith("."):
            continue
        manifest = json.loads((folder / "manifest.json").read_text())
        manifest.pop("wall_time_s")
        found[folder.name] = manifest
    return found


def _files(out: Path, run_id: str) -> dict[str, bytes]:
    folder = out / "runs" / run_id
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.name != "manifest.json"}


def assert_same_runs(cluster_out: Path, local_out: Path) -> None:
    """One folder and one row per run, all ok, equal to the local pool's bit for bit."""
    table = pd.read_parquet(cluster_out / "runs.parquet")
    local = pd.read_parquet(local_out / "runs.parquet")
    assert table["run_id"].is_unique and (table["status"] == "ok").all()
    assert sorted(table["run_id"]) == sorted(local["run_id"]) == finished_runs(cluster_out)
    visible = [p.name for p in (cluster_out / "runs").iterdir() if not p.name.startswith(".")]
    assert sorted(visible) == finished_runs(cluster_out)
    pd.testing.assert_frame_equal(
        table.drop(columns="wall_time_s"), local.drop(columns="wall_time_s")
    )
    assert _manifests(cluster_out) == _manifests(local_out)
    for run_id in local["run_id"]:
        assert _files(cluster_out, run_id) == _files(local_out, run_id), run_id
    assert json.loads((cluster_out / "batch.json").read_text())["complete"] is True


def test_a_batch_and_a_sweep_on_a_real_cluster_survive_a_killed_worker(
    cdpsim_cmd, cluster, tmp_path
):
    (tmp_path / "a.yaml").write_text(LONGER)
    (tmp_path / "b.yaml").write_text(LONGER.replace("name: small", "name: other"))
    args = ["a.yaml", "b.yaml", "--seeds", "5", "--master-seed", "4"]
    local = cdpsim(cdpsim_cmd, "batch", *args, "--workers", "2", "--out", "local", cwd=tmp_path)
    assert local.returncode == 0, local.stderr

    # the batch: relative --out, the workers write into it; one worker killed mid-batch
    command = [*cdpsim_cmd, "batch", *args, "--backend", "dask", "--scheduler", cluster.address]
    proc = subprocess.Popen(
        [*command, "--out", "dask"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while len(finished_runs(tmp_path / "dask")) < 3 and proc.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        landed = len(finished_runs(tmp_path / "dask"))
        cluster.kill("worker0")
        stdout, stderr = proc.communicate(timeout=TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr + cluster.log("scheduler")
    assert landed < 10, "the batch ended before the worker was killed"
    assert stdout.startswith("10 runs: 10 ok, 0 failed")
    assert_same_runs(tmp_path / "dask", tmp_path / "local")
    assert not (tmp_path / "dask" / ".tmp").exists()  # the store's token is removed
    assert not list((tmp_path / "cluster").glob("worker*/dask"))  # nothing under the workers

    # the sweep, on the one worker left, every run shipped back and written by the client
    (tmp_path / "base.yaml").write_text(SMALL)
    (tmp_path / "sweep.yaml").write_text(SWEEP)
    sweep_local = cdpsim(
        cdpsim_cmd, "sweep", "sweep.yaml", "--workers", "2", "--out", "sl", cwd=tmp_path
    )
    assert sweep_local.returncode == 0, sweep_local.stderr
    on_dask = ["--backend", "dask", "--scheduler", cluster.address, "--out", "sd"]
    shipped = subprocess.run(
        [*cdpsim_cmd, "sweep", "sweep.yaml", *on_dask],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        env={**os.environ, "CDPSIM_DASK_RESULTS": "ship"},
    )
    assert shipped.returncode == 0, shipped.stderr
    assert_same_runs(tmp_path / "sd", tmp_path / "sl")
    points = pd.read_parquet(tmp_path / "sd" / "points.parquet")
    pd.testing.assert_frame_equal(points, pd.read_parquet(tmp_path / "sl" / "points.parquet"))


def test_a_bad_results_setting_is_refused_naming_the_variable(cdpsim_cmd, tmp_path):
    (tmp_path / "a.yaml").write_text(SMALL)
    res = subprocess.run(
        [*cdpsim_cmd, "batch", "a.yaml", "--backend", "dask", "--out", "o"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        env={**os.environ, "CDPSIM_DASK_RESULTS": "shared-please"},
    )
    assert res.returncode == 2
    assert "CDPSIM_DASK_RESULTS: 'shared-please' is not one of auto, ship" in res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "o").exists()


# --------------------------------------------------------------- the pieces, without a cluster


def _spec(tmp_path: Path, folder: Path) -> RunSpec:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    return RunSpec("small-seed3", load_scenario(path), str(path), (), 3, str(folder))


def test_a_worker_that_does_not_see_the_store_ships_the_run_and_it_lands_identically(tmp_path):
    out = tmp_path / "batch" / "runs"
    spec = _spec(tmp_path, out / "small-seed3")
    elsewhere = StoreToken(str(tmp_path / "not-here" / "token"), "secret")
    assert not sees_store(elsewhere)
    shipped = run_on_worker(execute, spec, elsewhere, ship=False, expected=versions())
    assert isinstance(shipped, Shipped) and not out.exists()  # nothing written here yet
    row = land(shipped, spec.folder)
    assert row["status"] == "ok" and row["run_id"] == "small-seed3"

    direct = _spec(tmp_path, tmp_path / "direct" / "runs" / "small-seed3")
    token = make_token(tmp_path / "direct" / ".tmp")
    assert sees_store(token)
    assert run_on_worker(execute, direct, token, ship=False)["status"] == "ok"
    for name in RUN_FILES:
        written = (Path(direct.folder) / name).read_bytes()
        landed = (Path(spec.folder) / name).read_bytes()
        if name == "manifest.json":  # the scenario file is recorded relative to its batch
            written, landed = (json.loads(x) for x in (written, landed))
            written.pop("wall_time_s"), landed.pop("wall_time_s")
        assert landed == written, name
    # landing again replaces the run's files (a failed run run again), and only them
    land(shipped, spec.folder)
    assert sorted(p.name for p in out.iterdir()) == ["small-seed3"]
    (out / "small-seed3" / "notes.txt").write_text("mine")
    with pytest.raises(OSError, match="holds files that are not a run's"):
        land(shipped, spec.folder)
    assert (out / "small-seed3" / "notes.txt").read_text() == "mine"
    # what the client does then: the run's row says why, and the batch goes on
    try:
        land(shipped, spec.folder)
    except OSError as exc:
        row = unlanded_row(spec, exc)
    assert row == {
        "run_id": "small-seed3",
        "status": "failed",
        "seed": spec.seed,
        "error": f"cannot write {spec.folder}: {out / 'small-seed3'} holds files that are not a "
        "run's; it is left as it is",
    }


def test_workers_that_cannot_import_cdpsim_or_differ_are_named():
    here = versions()
    other = {**here, "numpy": "1.0.0"}
    problems = check_reports(
        {
            "tcp://10.0.0.7:4001": ModuleNotFoundError("No module named 'sim'"),
            "tcp://10.0.0.8:4001": {"versions": other, "host": "node8"},
            "tcp://10.0.0.9:4001": {"versions": here, "host": "node9"},
        },
        here,
    )
    assert problems == [
        "the worker at tcp://10.0.0.7:4001 cannot import cdpsim (ModuleNotFoundError: No module "
        "named 'sim'): install cdpsim in the workers' environment, the same version as here",
        f"the worker at tcp://10.0.0.8:4001 (node8) has numpy 1.0.0 (here {here['numpy']}): its "
        "runs could differ from this machine's; run the workers with the same versions (the "
        "same environment)",
    ]
