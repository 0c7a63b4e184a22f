"""Batch runs: scenarios × seeds on every executor, the batch folder, resume, failure as data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim.experiments.batch import (
    BatchInputError,
    BatchInterrupted,
    derive_seeds,
    execute_all,
    load_inputs,
    plan,
    run_batch,
)
from sim.experiments.store import BatchFolder, StoreError, load_runs
from sim.rundir import RUN_FILES
from tests.conftest import SMALL

#: Columns that differ between two executions of the same runs (when they ran).
VOLATILE = ("wall_time_s",)


@pytest.fixture
def two_files(tmp_path) -> list[Path]:
    a = tmp_path / "inputs" / "a.yaml"
    b = tmp_path / "inputs" / "b.yaml"
    a.parent.mkdir()
    a.write_text(SMALL)
    b.write_text(SMALL.replace("name: small", "name: other").replace("depth: 0.4", "depth: 0.6"))
    return [a, b]


def stable(table: pd.DataFrame) -> pd.DataFrame:
    return table.drop(columns=list(VOLATILE)).reset_index(drop=True)


def run_files(batch: Path, run_id: str) -> dict[str, bytes]:
    folder = batch / "runs" / run_id
    return {name: (folder / name).read_bytes() for name in RUN_FILES if name.endswith(".parquet")}


def test_seeds_come_from_one_master_seed():
    assert derive_seeds(4, 7) == derive_seeds(4, 7)
    assert derive_seeds(4, 7) != derive_seeds(4, 8)
    assert derive_seeds(2, 7) == derive_seeds(4, 7)[:2]
    expected = np.random.SeedSequence(7).generate_state(3, np.uint32).tolist()
    assert derive_seeds(3, 7) == expected


def test_every_bad_file_is_reported_before_any_run(two_files, tmp_path):
    bad = two_files[0].parent / "bad.yaml"
    bad.write_text(SMALL.replace("mat: 1.5", "mat: 0.9").replace("vaults: 200", "vaults: lots"))
    out = tmp_path / "batch"
    with pytest.raises(BatchInputError) as caught:
        run_batch([*two_files, bad, tmp_path / "nope.yaml"], out=out, workers=0)
    text = "\n".join(caught.value.errors)
    assert "ilks.ETH-A.mat" in text and "borrowers.0.vaults" in text and "nope.yaml" in text
    assert not out.exists()


def test_a_run_in_a_batch_is_the_same_as_sim_run(two_files, tmp_path):
    table = run_batch(two_files, seeds=[11, 12], out=tmp_path / "batch", workers=0)
    assert list(table["run_id"]) == [
        "small-seed11",
        "small-seed12",
        "other-seed11",
        "other-seed12",
    ]
    assert (table["status"] == "ok").all() and list(table["seed"]) == [11, 12, 11, 12]
    single = tmp_path / "single"
    alone = sim.run(two_files[1], seed=12, out=single)
    in_batch = tmp_path / "batch" / "runs" / "other-seed12"
    for name in RUN_FILES:
        if name != "manifest.json":
            assert (single / name).read_bytes() == (in_batch / name).read_bytes(), name
    manifest = json.loads((in_batch / "manifest.json").read_text())
    assert manifest["seed"] == 12
    assert manifest["batch"]["scenario_file"] == "../inputs/b.yaml"  # relative to the batch
    row = table.set_index("run_id").loc["other-seed12"]
    assert row["bad_debt_max"] == alone.summary["bad_debt_max"]
    assert row["auctions"] == alone.summary["auctions"]


def test_without_seeds_each_scenario_runs_once_with_its_own_seed(two_files, tmp_path):
    table = run_batch(two_files, out=tmp_path / "batch", workers=0)
    assert list(table["run_id"]) == ["small-seed3", "other-seed3"]


def test_overrides_apply_to_every_scenario_and_are_recorded(two_files, tmp_path):
    table = run_batch(
        two_files, seeds=1, overrides=["clock.duration=2h"], out=tmp_path / "b", workers=0
    )
    assert (table["ticks"] == 12).all()
    assert set(table["overrides"]) == {json.dumps(["clock.duration=2h"])}


def test_keep_summary_writes_only_manifest_and_summary(two_files, tmp_path):
    table = run_batch(two_files[:1], seeds=2, keep="summary", out=tmp_path / "b", workers=0)
    full = run_batch(two_files[:1], seeds=2, out=tmp_path / "full", workers=0)
    for run_id in table["run_id"]:
        folder = tmp_path / "b" / "runs" / run_id
        assert sorted(p.name for p in folder.iterdir()) == ["manifest.json", "summary.json"]
        # recording neither events nor vault snapshots changes no KPI
        whole = tmp_path / "full" / "runs" / run_id
        assert (folder / "summary.json").read_bytes() == (whole / "summary.json").read_bytes()
    assert table["bad_debt_max"].notna().all()
    pd.testing.assert_frame_equal(stable(table), stable(full))


@pytest.mark.slow
def test_results_are_identical_in_process_on_a_pool_and_on_dask(two_files, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # where Dask would leave its dask-scratch-space
    runs = {}
    for label, kwargs in {
        "in-process": {"workers": 1},
        "pool": {"workers": 2},
        "dask": {"workers": 2, "backend": "dask"},
    }.items():
        out = tmp_path / label
        runs[label] = (run_batch(two_files, seeds=3, master_seed=5, out=out, **kwargs), out)
    (base, base_out), *others = runs.values()
    for table, out in others:
        pd.testing.assert_frame_equal(stable(table), stable(base))
        for run_id in base["run_id"]:
            assert run_files(out, run_id) == run_files(base_out, run_id)
    assert not (tmp_path / "dask-scratch-space").exists()
    assert sorted(p.name for p in (tmp_path / "dask").iterdir()) == [
        "batch.json",
        "runs",
        "runs.parquet",
    ]


@pytest.mark.slow
def test_an_existing_dask_scheduler_is_used(two_files, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address=None,
        processes=True,
    ) as cluster:
        table = run_batch(
            two_files,
            seeds=2,
            backend="dask",
            scheduler=cluster.scheduler_address,
            out=tmp_path / "dask",
        )
    local = run_batch(two_files, seeds=2, out=tmp_path / "local", workers=0)
    pd.testing.assert_frame_equal(stable(table), stable(local))


def test_a_failing_run_is_recorded_and_the_others_finish(two_files, tmp_path, monkeypatch):
    from sim.model import ProtocolModel

    original = ProtocolModel.step

    def step(self):
        if self.spec.name == "other" and self.tick == 5:
            raise RuntimeError("boom at a test's request")
        original(self)

    monkeypatch.setattr(ProtocolModel, "step", step)
    table = run_batch(two_files, seeds=2, out=tmp_path / "b", workers=0).set_index("run_id")
    failed = table[table["status"] == "failed"]
    assert sorted(failed.index) == sorted(i for i in table.index if i.startswith("other"))
    assert (table.loc[table["status"] == "ok"].index.str.startswith("small")).all()
    for run_id, row in failed.iterrows():
        assert row["error"] == "tick 5: RuntimeError: boom at a test's request"
        assert "Traceback" in row["traceback"] and "boom" in row["traceback"]
        assert row["ticks"] == 5
        kept = pd.read_parquet(tmp_path / "b" / "runs" / run_id / "timeseries.parquet")
        assert len(kept) == 6  # the ticks computed before the error, with tick 0


def test_a_model_that_cannot_be_built_is_a_failed_run(two_files, tmp_path, monkeypatch):
    import sim.model

    def broken(self, scenario, seed=None, **kwargs):
        raise ValueError("cannot build, as the test asked")

    monkeypatch.setattr(sim.model.ProtocolModel, "__init__", broken)
    table = run_batch(two_files[:1], seeds=1, out=tmp_path / "b", workers=0)
    (row,) = table.itertuples()
    assert row.status == "failed" and row.ticks == 0
    assert row.error == "the model could not be built: ValueError: cannot build, as the test asked"
    assert BatchFolder(tmp_path / "b").done() == {row.run_id}


def test_resume_runs_exactly_the_missing_runs(two_files, tmp_path):
    out = tmp_path / "b"
    full = run_batch(two_files, seeds=3, out=tmp_path / "full", workers=0)
    inputs = load_inputs(two_files)
    seeds = derive_seeds(3, 0)
    specs = plan(inputs, seeds, out)
    done = run_batch(two_files, seeds=3, out=out, workers=0)  # then lose some runs
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    for k, spec in enumerate(specs[1::2]):
        if k == 0:  # its writer was killed before the rename: the batch cleans what it left
            folder = Path(spec.folder)
            folder.rename(folder.with_name(f".{folder.name}.tmp-{int(dead.stdout)}-ab12"))
            continue
        for f in Path(spec.folder).iterdir():
            f.unlink()
        Path(spec.folder).rmdir()
    kept = {s.run_id: (Path(s.folder) / "manifest.json").read_bytes() for s in specs[::2]}
    assert len(load_runs(out)) == len(done) - len(specs[1::2])
    resumed = run_batch(two_files, seeds=3, out=out, workers=0, resume=True)
    pd.testing.assert_frame_equal(stable(resumed), stable(full))
    for run_id, manifest in kept.items():  # finished runs were not run again
        assert (out / "runs" / run_id / "manifest.json").read_bytes() == manifest
    assert sorted(p.name for p in (out / "runs").iterdir()) == sorted(full["run_id"])


def test_an_interrupted_batch_keeps_its_finished_runs(two_files, tmp_path, monkeypatch):
    from sim.model import ProtocolModel

    original = ProtocolModel.step
    calls = {"runs": 0}

    def step(self):
        if self.tick == 0:
            calls["runs"] += 1
            if calls["runs"] == 3:
                raise KeyboardInterrupt
        original(self)

    monkeypatch.setattr(ProtocolModel, "step", step)
    out = tmp_path / "b"
    with pytest.raises(BatchInterrupted) as caught:
        run_batch(two_files, seeds=2, out=out, workers=0)
    assert (caught.value.done, caught.value.total) == (2, 4)
    assert len(pd.read_parquet(out / "runs.parquet")) == 2
    monkeypatch.setattr(ProtocolModel, "step", original)
    resumed = run_batch(two_files, seeds=2, out=out, workers=0, resume=True)
    assert len(resumed) == 4 and (resumed["status"] == "ok").all()


def test_the_batch_folder_guards_its_identity(two_files, tmp_path):
    out = tmp_path / "b"
    run_batch(two_files, seeds=1, out=out, workers=0)
    with pytest.raises(StoreError, match="holds a batch already; pass --resume"):
        run_batch(two_files, seeds=1, out=out, workers=0)
    with pytest.raises(StoreError, match=r"different batch \(not the same seeds\)"):
        run_batch(two_files, seeds=2, out=out, workers=0, resume=True)
    with pytest.raises(StoreError, match=r"different batch \(not the same scenario files\)"):
        run_batch(two_files[:1], seeds=1, out=out, workers=0, resume=True)
    two_files[0].write_text(SMALL.replace("seed: 3", "seed: 4"))
    with pytest.raises(StoreError, match=r"inputs changed since the batch started \(../inputs/a"):
        run_batch(two_files, seeds=1, out=out, workers=0, resume=True)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    with pytest.raises(StoreError, match="not a cdpsim batch folder"):
        run_batch(two_files, seeds=1, out=mine, workers=0)
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    with pytest.raises(StoreError, match="no batch to resume"):
        run_batch(two_files, seeds=1, out=tmp_path / "new", workers=0, resume=True)


def test_scenario_objects_and_duplicate_names(two_files, tmp_path):
    scenario = sim.load_scenario(two_files[0])
    table = run_batch([scenario, two_files[0]], seeds=[1], out=tmp_path / "b", workers=0)
    assert list(table["run_id"]) == ["small-seed1", "small-2-seed1"]
    assert list(table["scenario_file"]) == ["<small>", "../inputs/a.yaml"]
    a, b = (run_files(tmp_path / "b", r) for r in table["run_id"])
    assert a == b


def test_load_runs_refuses_a_folder_that_is_not_a_batch(tmp_path):
    with pytest.raises(StoreError, match="not a cdpsim batch folder"):
        load_runs(tmp_path)


def test_execute_all_skips_what_is_done(two_files, tmp_path):
    out = tmp_path / "b"
    run_batch(two_files, seeds=1, out=out, workers=0)
    specs = plan(load_inputs(two_files), derive_seeds(1, 0), out)
    seen = []
    table = execute_all(specs, out, workers=0, progress=seen.append)
    assert seen == [] and len(table) == 2


def test_a_pool_that_cannot_start_is_a_set_up_error(two_files, tmp_path):
    """From stdin, spawn cannot re-import the main module: say so instead of failing every run."""
    import subprocess
    import sys

    code = (
        "from sim.experiments.batch import run_batch\n"
        "from sim.experiments.executors import ExecutorError\n"
        "try:\n"
        f"    run_batch([{str(two_files[0])!r}], seeds=2, workers=2, out={str(tmp_path / 'b')!r})\n"
        "except ExecutorError as exc:\n"
        "    print('refused:', exc)\n"
    )
    res = subprocess.run(
        [sys.executable, "-"], input=code, capture_output=True, text=True, timeout=300
    )
    assert "refused: the local worker processes could not start" in res.stdout, res.stderr
    assert 'if __name__ == "__main__"' in res.stdout
    assert not (tmp_path / "b").exists()  # the folder it made is gone: a retry starts afresh


def test_a_run_whose_folder_cannot_be_written_is_reported_not_dropped(
    two_files, tmp_path, monkeypatch
):
    import errno
    import os

    import sim.stream

    original = sim.stream.write_frame

    def full(frame, path):
        if "other" in str(path):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return original(frame, path)

    monkeypatch.setattr(sim.stream, "write_frame", full)
    table = run_batch(two_files, seeds=2, out=tmp_path / "b", workers=0)
    assert len(table) == 4
    lost = table[table["run_id"].str.startswith("other")]
    assert (lost["status"] == "failed").all()
    assert lost["error"].str.contains("No space left on device").all()
    assert any("could not be written" in w for w in table.attrs["warnings"])
    assert len(load_runs(tmp_path / "b")) == 2  # runs.parquet holds what the folders hold
    monkeypatch.setattr(sim.stream, "write_frame", original)
    again = run_batch(two_files, seeds=2, out=tmp_path / "b", workers=0, resume=True)
    assert (again["status"] == "ok").all() and len(again) == 4


def test_a_batch_folder_through_a_file_is_refused(two_files, tmp_path):
    (tmp_path / "afile").write_text("mine")
    with pytest.raises(StoreError, match="is a file"):
        run_batch(two_files, out=tmp_path / "afile" / "sub", workers=0)


def test_paths_are_recorded_relative_to_the_batch_so_resume_works_from_anywhere(
    two_files, tmp_path, monkeypatch
):
    """No absolute path of the machine in batch.json, run manifests or runs.parquet."""
    monkeypatch.chdir(two_files[0].parent)
    out = tmp_path / "b"
    run_batch(["a.yaml"], seeds=1, out=out, workers=0)
    manifest = json.loads((out / "batch.json").read_text())
    assert manifest["inputs"][0]["file"] == "../inputs/a.yaml"
    monkeypatch.chdir(tmp_path)
    resumed = run_batch([str(two_files[0])], seeds=1, out="b", workers=0, resume=True)
    assert len(resumed) == 1
    recorded = [
        (out / "batch.json").read_text(),
        *(p.read_text() for p in out.glob("runs/*/manifest.json")),
        pd.read_parquet(out / "runs.parquet").to_json(),
    ]
    for text in recorded:
        assert str(tmp_path) not in text
