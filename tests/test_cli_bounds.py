"""Bounds, hangs and tracebacks from the reliability review, through the real ``cdpsim`` command.

Each bad value is refused as bad input (exit 2, the option or file named, no traceback) before
anything runs; a FIFO or device given as a file is refused at once, never read. The
subprocess timeout only turns a hang into a failure; it is not a speed assertion.
"""

from __future__ import annotations

import gc
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import sim
from sim.experiments import sweep as sweeps
from sim.experiments.batch import BatchInputError, resolve_seeds
from sim.experiments.executors import (
    DaskCluster,
    ExecutorError,
    InProcess,
    default_workers,
    local_workers,
    make_executor,
    scheduler_problem,
)
from sim.files import name_problem
from sim.scenario import Scenario, ScenarioError
from sim.scenario.fields import SEED_MAX
from tests.conftest import SMALL
from tests.test_cli_batch import finished_runs, signal_after
from tests.test_cli_input import HANG_S, SCRIPTED, cdpsim, refused, write

TOO_BIG = str(2**64)
TINY_SWEEP = """\
name: tiny
base: base.yaml
overrides: {clock.duration: 2h}
design: {kind: grid}
parameters:
  ilks.ETH-A.mat: {values: [1.3, 1.5]}
seeds: 1
"""


def run_bytes(
    cmd: list[str], *args: str | bytes, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    """Run with arguments that may be bytes (names that are not UTF-8); stderr decoded."""
    res = subprocess.run([*cmd, *args], capture_output=True, cwd=cwd, timeout=HANG_S, check=False)
    return subprocess.CompletedProcess(
        res.args,
        res.returncode,
        res.stdout.decode("utf-8", "replace"),
        res.stderr.decode("utf-8", "replace"),
    )


@pytest.fixture
def fifo(tmp_path) -> Path:
    path = tmp_path / "pipe.yaml"
    os.mkfifo(path)
    return path


# ---------------------------------------------------------------------------------------- seeds


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["run", "{s}", "--seed", TOO_BIG], ["'--seed'", f"0<=x<={SEED_MAX}"]),
        (["batch", "{s}", "--seed-list", TOO_BIG], ["'--seed-list'", f"0 to {SEED_MAX}"]),
        (["batch", "{s}", "--seed-list", "3,-1"], ["'--seed-list'", "the seed -1 is not in"]),
        (["batch", "{s}", "--seeds", "2", "--master-seed", TOO_BIG], ["'--master-seed'"]),
        (["batch", "{s}", "--seed-list", "1,,2"], ["'--seed-list'", "item 2 of '1,,2' is empty"]),
        (["batch", "{s}", "--seed-list", "1,2,"], ["'--seed-list'", "item 3"]),
        (["batch", "{s}", "--seed-list", "4,5,4"], ["'--seed-list'", "the seed 4 is given twice"]),
        (["batch", "{s}", "--seeds", "0"], ["'--seeds'", "1<=x<=1000000"]),
        (["batch", "{s}", "--seeds", "10000000000"], ["'--seeds'", "1<=x<=1000000"]),
    ],
    ids=[
        "run-seed-2^64",
        "seed-list-2^64",
        "seed-list-negative",
        "master-seed-2^64",
        "seed-list-empty-item",
        "seed-list-trailing-comma",
        "seed-list-repeated",
        "seeds-0",
        "seeds-huge",
    ],
)
def test_a_seed_the_model_cannot_take_is_refused_naming_the_option(
    cdpsim_cmd, small_scenario_file, tmp_path, args, needles
):
    out = tmp_path / "out"
    args = [str(small_scenario_file) if a == "{s}" else a for a in args]
    refused(cdpsim(cdpsim_cmd, *args, "--out", str(out)), *needles)
    assert not out.exists()


def test_the_largest_seed_runs_and_is_recorded_exactly(cdpsim_cmd, small_scenario_file, tmp_path):
    out = tmp_path / "b"
    res = cdpsim(
        cdpsim_cmd,
        "batch",
        str(small_scenario_file),
        "--seed-list",
        f"{SEED_MAX},0",
        "--set",
        "clock.duration=2h",
        "--workers",
        "0",
        "--out",
        str(out),
    )
    assert res.returncode == 0, res.stderr
    assert sorted(pd.read_parquet(out / "runs.parquet")["seed"].tolist()) == [0, SEED_MAX]


def test_the_cli_and_the_api_share_the_seed_bound():
    from sim import cli

    assert cli.SEED_MAX == SEED_MAX == 2**64 - 1
    with pytest.raises(ValueError, match="0 to 18446744073709551615"):
        resolve_seeds([1, 2**64], 0)
    with pytest.raises(ValueError, match="master seed"):
        resolve_seeds(2, 2**64)
    with pytest.raises(BatchInputError, match="seeds: seeds are integers from 0 to"):
        sim.run_batch(Path("unused.yaml"), seeds=[-1])


# ---------------------------------------------------------------------------------------- dask


@pytest.mark.parametrize(
    "address", ["garbage", "tcp://host", "tcp://:8786", "host:0", "host:99999", "ucx://h:1", ""]
)
def test_a_malformed_scheduler_address_is_refused_before_connecting(
    cdpsim_cmd, small_scenario_file, tmp_path, address
):
    out = tmp_path / "out"
    args = ["--backend", "dask", "--scheduler", address, "--out", str(out)]
    refused(cdpsim(cdpsim_cmd, "batch", str(small_scenario_file), *args), "'--scheduler'")
    assert not out.exists()


def test_scheduler_addresses_in_every_supported_form_pass_and_the_api_checks_them():
    for address in ("tcp://10.0.0.5:8786", "tls://sched.example.org:8786", "h:1", "[::1]:8786"):
        assert scheduler_problem(address) is None, address
    with pytest.raises(ExecutorError, match="--scheduler: 'garbage' is not a scheduler address"):
        make_executor("dask", scheduler="garbage")


# ---------------------------------------------------------------------------------------- names


@pytest.mark.parametrize("command", [["run"], ["batch", "--workers", "0"], ["sweep"]])
def test_an_out_that_is_not_utf8_is_refused_before_running(
    cdpsim_cmd, small_scenario_file, tmp_path, command
):
    target = small_scenario_file
    if command == ["sweep"]:
        target = write(
            tmp_path, TINY_SWEEP.replace("base.yaml", small_scenario_file.name), "w.yaml"
        )
    out = os.fsencode(tmp_path) + b"/out\xff"
    res = run_bytes(cdpsim_cmd, *command, str(target), "--out", out)
    refused(res, "'--out'", "out\\xff: the name is not UTF-8 text")
    assert not os.path.exists(out)


@pytest.mark.parametrize("command", [["validate"], ["run"], ["batch", "--workers", "0"], ["sweep"]])
def test_a_scenario_path_that_is_not_utf8_is_refused(cdpsim_cmd, tmp_path, command):
    path = os.fsencode(tmp_path) + b"/s\xff.yaml"
    Path(os.fsdecode(path)).write_text(SMALL)
    res = run_bytes(cdpsim_cmd, *command, path, cwd=tmp_path)
    refused(res, "s\\xff.yaml: the name is not UTF-8 text")
    assert sorted(os.listdir(tmp_path)) == [b"s\xff.yaml".decode("utf-8", "surrogateescape")]


def test_a_folder_whose_full_path_is_not_utf8_is_named(cdpsim_cmd, tmp_path, monkeypatch):
    folder = Path(os.fsdecode(os.fsencode(tmp_path) + b"/d\xff"))
    folder.mkdir()
    (folder / "s.yaml").write_text(SMALL)
    monkeypatch.chdir(folder)
    assert "rename the folder" in (name_problem("out") or "")
    assert name_problem(tmp_path / "fine é") is None
    res = run_bytes(cdpsim_cmd, "batch", "s.yaml", "--out", "out", cwd=folder)
    refused(res, "'--out'", "/d\\xff/out is not UTF-8 text", "rename the folder")
    assert sorted(p.name for p in folder.iterdir()) == ["s.yaml"]


# ---------------------------------------------------------------------------------------- FIFOs


@pytest.mark.parametrize("command", [["validate"], ["run"], ["batch", "--workers", "0"], ["sweep"]])
def test_a_fifo_given_as_a_scenario_or_sweep_file_is_refused_at_once(cdpsim_cmd, fifo, command):
    res = cdpsim(cdpsim_cmd, *command, str(fifo))
    err = refused(res, f"{fifo}: is not a regular file (a FIFO)")
    assert len(err.strip().splitlines()) == 1


def test_a_device_and_a_folder_are_not_scenario_files(cdpsim_cmd, tmp_path):
    if Path("/dev/zero").exists():
        refused(cdpsim(cdpsim_cmd, "validate", "/dev/zero"), "is not a regular file (a character")
    refused(cdpsim(cdpsim_cmd, "run", str(tmp_path)), f"{tmp_path}: is not a regular file (a fol")


def test_a_fifo_as_a_replayed_data_file_is_refused_at_its_line(cdpsim_cmd, tmp_path):
    text = SMALL.replace(SCRIPTED, "{process: replay, file: p.csv, column: eth}")
    path = write(tmp_path, text)
    os.mkfifo(tmp_path / "p.csv")
    for command in (["validate"], ["run"]):
        refused(
            cdpsim(cdpsim_cmd, *command, str(path)),
            f"{path}:6: collateral.ETH.price.file: {tmp_path / 'p.csv'}: is not a regular file "
            "(a FIFO)",
        )


def test_a_fifo_as_a_sweeps_base_is_refused(cdpsim_cmd, tmp_path):
    os.mkfifo(tmp_path / "base.yaml")
    sweep = write(tmp_path, TINY_SWEEP, "w.yaml")
    refused(
        cdpsim(cdpsim_cmd, "validate", str(sweep)),
        f"{sweep}:2: base: the base scenario {tmp_path / 'base.yaml'}: is not a regular file",
    )


def test_the_replay_reader_checks_the_file_itself(tmp_path):
    from sim.market.prices import DataError, read_series_csv

    os.mkfifo(tmp_path / "p.csv")
    with pytest.raises(DataError, match="is not a regular file"):
        read_series_csv(tmp_path / "p.csv", "eth")


@pytest.mark.parametrize("command", [["plot"], ["report"]])
def test_a_fifo_as_the_output_file_is_refused(cdpsim_cmd, small_scenario_file, tmp_path, command):
    run = tmp_path / "run"
    res = cdpsim(
        cdpsim_cmd, "run", str(small_scenario_file), "--set", "clock.duration=2h", "--out", str(run)
    )
    assert res.returncode == 0, res.stderr
    target = tmp_path / ("fig.png" if command == ["plot"] else "page.html")
    os.mkfifo(target)
    refused(cdpsim(cdpsim_cmd, *command, str(run), "--out", str(target)), "is not a regular file")
    assert target.is_fifo()  # neither written to nor replaced


# ---------------------------------------------------------------------------------------- resume


@pytest.mark.slow
def test_the_resume_hint_can_be_pasted_into_a_shell(cdpsim_cmd, small_scenario_file, tmp_path):
    out = tmp_path / "my runs 'q' $HOME"
    args = ["batch", str(small_scenario_file), "--seeds", "8", "--workers", "1"]
    args += ["--set", "clock.duration=2d", "--out", str(out)]
    res = signal_after([*cdpsim_cmd, *args], out, 2, signal.SIGINT)
    assert res.returncode == 130, res.stderr
    hint = res.stderr.split("to run the rest: ", 1)[1].strip()
    assert shlex.split(hint) == ["cdpsim", *args, "--resume"]
    env = {**os.environ, "PATH": f"{Path(cdpsim_cmd[0]).parent}{os.pathsep}{os.environ['PATH']}"}
    pasted = subprocess.run(
        ["bash", "-c", hint], capture_output=True, text=True, env=env, timeout=300, check=False
    )
    assert pasted.returncode == 0, pasted.stderr
    assert len(finished_runs(out)) == 8


# ---------------------------------------------------------------------------------------- kinds


def test_a_sweep_file_with_a_late_base_is_a_sweep_file_for_every_command(cdpsim_cmd, tmp_path):
    (tmp_path / "base.yaml").write_text(SMALL)
    header = "".join(f"# comment line {i} of a long header\n" for i in range(1000))
    name, rest = TINY_SWEEP.split("\n", 1)
    path = write(tmp_path, header + name + "\n" + "description: " + "x" * 30_000 + "\n" + rest)
    assert path.read_text().index("\nbase:") > 20_000
    res = cdpsim(cdpsim_cmd, "validate", str(path))
    assert res.returncode == 0 and res.stdout == f"{path}: ok\n", res.stderr
    for command in (["run"], ["batch", "--workers", "0"]):
        refused(cdpsim(cdpsim_cmd, *command, str(path)), "this is a sweep file")
    res = cdpsim(cdpsim_cmd, "sweep", str(path), "--workers", "0", "--out", str(tmp_path / "o"))
    assert res.returncode == 0, res.stderr


# ---------------------------------------------------------------------------------------- workers


def test_workers_beyond_the_cores_are_cut_with_a_note(cdpsim_cmd, small_scenario_file, tmp_path):
    cores = default_workers()
    args = ["batch", str(small_scenario_file), "--set", "clock.duration=2h", "--workers", "1024"]
    res = cdpsim(cdpsim_cmd, *args, "--out", str(tmp_path / "a"))
    assert res.returncode == 0, res.stderr
    assert f"note: --workers 1024 is more than the {cores} core" in res.stderr
    assert "add --oversubscribe to start 1024" in res.stderr
    res = cdpsim(cdpsim_cmd, *args, "--oversubscribe", "--out", str(tmp_path / "b"))
    assert res.returncode == 0 and "note:" not in res.stderr, res.stderr
    refused(cdpsim(cdpsim_cmd, *args[:-1], "1025"), "'--workers'", "0<=x<=1024")


def test_never_more_local_workers_than_cores_or_runs():
    cores = default_workers()
    assert local_workers(None, 10**6) == cores
    assert local_workers(cores + 8, 3, oversubscribe=True) == min(cores + 8, 3)
    assert local_workers(None, 0) == 1
    with pytest.warns(RuntimeWarning, match="oversubscribe=True"):
        assert local_workers(cores + 1, 10**6) == cores
    assert make_executor("local", 64, tasks=3, oversubscribe=True).workers == 3
    assert make_executor("dask", 64, tasks=2, oversubscribe=True).workers == 2
    assert isinstance(make_executor("local", 1, tasks=100), InProcess)
    remote = make_executor("dask", 64, "tcp://10.0.0.5:8786", tasks=2)
    assert isinstance(remote, DaskCluster) and remote.scheduler == "tcp://10.0.0.5:8786"


def test_the_python_api_cuts_workers_to_the_cores_with_a_warning(small_scenario_file, tmp_path):
    with pytest.warns(RuntimeWarning, match=f"may use {default_workers()} cores"):
        runs = sim.run_batch(
            small_scenario_file,
            workers=default_workers() + 1,
            overrides=["clock.duration=2h"],
            out=tmp_path / "b",
        )
    assert (runs["status"] == "ok").all()


# ---------------------------------------------------------------------------------------- sweeps


def test_a_loaded_sweep_holds_no_scenario_per_point(tmp_path):
    (tmp_path / "base.yaml").write_text(SMALL)
    path = write(
        tmp_path,
        TINY_SWEEP.replace("{kind: grid}", "{kind: random, n: 300, seed: 1}").replace(
            "{values: [1.3, 1.5]}", "{range: [1.3, 1.5]}"
        ),
        "w.yaml",
    )
    gc.collect()
    before = sum(isinstance(o, Scenario) for o in gc.get_objects())
    spec = sweeps.load_sweep(path)
    gc.collect()
    held = sum(isinstance(o, Scenario) for o in gc.get_objects()) - before
    assert held <= 2, f"{held} scenarios held for {len(spec.points)} points"  # the base, one point
    specs = spec.specs(tmp_path / "out")
    assert len(specs) == 300 and specs.run_ids[299] == f"tiny-p299-seed{spec.seeds[0]}"
    last = specs[299]
    assert last.scenario.ilks["ETH-A"].mat == pytest.approx(spec.points["ilks.ETH-A.mat"].iloc[299])
    assert (
        last.overrides[-1] == f"ilks.ETH-A.mat={float(spec.points['ilks.ETH-A.mat'].iloc[299])!r}"
    )


def test_failing_points_beyond_the_error_cap_are_counted(tmp_path):
    # each value alone is valid (the base's trigger is 1.7, its target 2.2); together, every
    # target is below every trigger: 8 × 10 points fail
    triggers = ", ".join(f"{2.0 + i / 50:g}" for i in range(8))
    targets = ", ".join(f"{1.75 + i / 50:g}" for i in range(10))
    (tmp_path / "base.yaml").write_text(SMALL)
    path = write(
        tmp_path,
        "name: bad\nbase: base.yaml\ndesign: {kind: grid}\nparameters:\n"
        f"  borrowers.1.strategy.trigger: {{values: [{triggers}]}}\n"
        f"  borrowers.1.strategy.target: {{values: [{targets}]}}\n",
        "w.yaml",
    )
    with pytest.raises(ScenarioError) as caught:
        sweeps.load_sweep(path)
    lines = str(caught.value).splitlines()
    assert len(lines) == 51 and lines[-1] == "… and 30 more errors", lines
    assert all("target must be above trigger" in line for line in lines[:-1])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__]))
