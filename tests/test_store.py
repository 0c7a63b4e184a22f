"""Batch and sweep folders: opening, resuming, locking, completion; every table's round trip;
damaged files refused with the file named (no folder run through the model: hand-made ones)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sim.experiments.discovery import BOX_COLUMNS, TRAJECTORY_COLUMNS, Discovery
from sim.experiments.errors import AnalysisError
from sim.experiments.sensitivity import SENSITIVITY2_COLUMNS, SENSITIVITY_COLUMNS
from sim.experiments.store import (
    BATCH_FORMAT,
    BATCH_KIND,
    BatchFolder,
    StoreError,
    SweepFolder,
    check_runs,
    check_sweep,
    load_runs,
    read_table,
)
from sim.experiments.sweep_analysis import discover
from sim.locks import FOLDER_LOCK, LockError
from sim.rundir import BATCH_MANIFEST, MANIFEST_KIND, RUN_FORMAT
from tests import sweep_stand_ins

#: A sweep section of two parameters, one a duration.
SECTION = {
    "name": "hand",
    "design": {"kind": "sobol", "n": 4},
    "parameters": [
        {"name": "buf", "kind": "path", "range": [1.0, 2.0]},
        {"name": "tail", "kind": "path", "range": [600.0, 7200.0], "unit": "s"},
    ],
    "kpis": ["bad_debt_max"],
    "seeds": [1, 2],
}


def manifest(**extra: object) -> dict:
    """A batch's manifest as ``batch_manifest`` makes one (the fields the store reads)."""
    return {
        "kind": BATCH_KIND,
        "format": BATCH_FORMAT,
        "overrides": [],
        "seeds": [1, 2],
        "keep": "summary",
        "parameters": None,
        "inputs": [{"file": "a.yaml", "sha256": "aa", "data": [{"file": "p.csv", "sha256": "11"}]}],
        "versions": {"cdpsim": "1", "numpy": "2"},
        "run_ids": ["r0", "r1"],
        **extra,
    }


def opened(path: Path, **extra: object) -> BatchFolder:
    """A batch folder created (and its lock released again)."""
    store = BatchFolder(path)
    store.open(manifest(**extra), resume=False).release()
    return store


def write_run(store: BatchFolder, run_id: str, status: str = "ok", **kpis: float) -> None:
    folder = store.run_folder(run_id)
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps(kpis))
    (folder / "manifest.json").write_text(
        json.dumps(
            {
                "kind": MANIFEST_KIND,
                "format": RUN_FORMAT,
                "scenario": {"name": "a"},
                "seed": 1,
                "ticks": 3,
                "status": status,
                "wall_time_s": 0.5,
                "batch": {"run_id": run_id, "scenario_file": "a.yaml", "parameters": {"buf": 1.5}},
            }
        )
    )


@pytest.fixture
def sweep(tmp_path) -> SweepFolder:
    opened(tmp_path / "sweep", sweep=SECTION)
    return SweepFolder(tmp_path / "sweep")


# ---------------------------------------------------------------------------------------- batches


def test_open_creates_the_folder_with_its_manifest_and_holds_the_lock(tmp_path):
    store = BatchFolder(tmp_path / "new" / "batch")
    lock = store.open(manifest(), resume=False)
    try:
        assert store.runs.is_dir() and (store.path / FOLDER_LOCK).is_file()
        assert store.read_manifest() == manifest()
        with pytest.raises(LockError, match=r"in use by another cdpsim process"):
            BatchFolder(store.path).open(manifest(), resume=True)
    finally:
        lock.release()
    assert not (store.path / FOLDER_LOCK).exists()
    store.open(manifest(), resume=True).release()  # free again: resumed


def test_open_refuses_what_is_not_this_batch(tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(StoreError, match=r"not a cdpsim batch folder \(it holds notes.txt\)"):
        BatchFolder(other).open(manifest(), resume=False)
    with pytest.raises(StoreError, match=r"there is no batch to resume here"):
        BatchFolder(tmp_path / "empty").open(manifest(), resume=True)
    assert not (tmp_path / "empty").exists()
    (tmp_path / "file").write_text("")
    with pytest.raises(StoreError, match=r"not a folder"):
        BatchFolder(tmp_path / "file" / "batch").open(manifest(), resume=False)
    store = opened(tmp_path / "batch")
    with pytest.raises(StoreError, match=r"holds a batch already; pass --resume"):
        store.open(manifest(), resume=False)
    with pytest.raises(StoreError, match=r"holds a different batch \(not the same seeds\)"):
        store.open(manifest(seeds=[1, 2, 3]), resume=True)
    assert store.read_manifest() == manifest()  # nothing was changed by a refusal


def test_the_manifest_is_written_with_its_marker_and_format_first(tmp_path):
    given = manifest()
    del given["kind"], given["format"]
    store = BatchFolder(tmp_path / "batch")
    store.open(given, resume=False).release()
    written = json.loads(store.manifest_path.read_text())
    assert list(written)[:2] == ["kind", "format"] and written == manifest()


def edited(store: BatchFolder, **fields: object) -> None:
    """``batch.json`` with ``fields`` set (``None`` removes one), as another cdpsim wrote it."""
    data = json.loads(store.manifest_path.read_text())
    data.update(fields)
    store.manifest_path.write_text(json.dumps({k: v for k, v in data.items() if v is not None}))


@pytest.mark.parametrize(
    ("version", "message"),
    [
        (
            None,
            r"written by an earlier cdpsim \(no format version\); run it again with this version$",
        ),
        (0, r"written by an earlier cdpsim \(format version 0, this one reads 1\); run it again"),
        (2, r"written by a later cdpsim \(format version 2, this one reads 1\); read it with"),
        ("1", r"its format version is text \('1'\), not one cdpsim writes"),
    ],
    ids=["none", "earlier", "later", "text"],
)
def test_a_batch_of_another_format_version_is_refused(tmp_path, version, message):
    store = opened(tmp_path / "sweep", sweep=SECTION)
    write_run(store, "r0")
    edited(store, format=version)
    folder = re.escape(str(store.path))
    with pytest.raises(StoreError, match=rf"^{folder}: {message}"):
        load_runs(store.path)
    with pytest.raises(StoreError, match=rf"^{folder}: {message}"):
        SweepFolder(store.path).section()
    with pytest.raises(StoreError, match=rf"^{folder}: {message}"):
        store.open(manifest(sweep=SECTION), resume=True, force=True)  # not even forced
    assert store.read_manifest() is not None  # still a batch folder: cdpsim's own


def test_resume_refuses_changed_inputs_unless_forced_and_records_what_changed(tmp_path):
    store = opened(tmp_path / "batch")
    changed = manifest(
        inputs=[{"file": "a.yaml", "sha256": "ab", "data": [{"file": "p.csv", "sha256": "12"}]}]
    )
    with pytest.raises(StoreError, match=r"a.yaml changed; the data file p.csv changed"):
        store.open(changed, resume=True)
    store.open(changed, resume=True, force=True).release()
    (forced,) = store.read_manifest()["forced"]
    assert forced["changes"] == ["a.yaml changed", "the data file p.csv changed"]
    with pytest.raises(StoreError, match=r"numpy is 3 here, the batch started with 2"):
        store.open(manifest(versions={"cdpsim": "1", "numpy": "3"}), resume=True)


def test_complete_done_runs_and_an_empty_batch_discarded(tmp_path):
    store = opened(tmp_path / "batch")
    assert SweepFolder(store.path).is_complete() is False
    store.set_complete(True)
    assert store.read_manifest()["complete"] is True and SweepFolder(store.path).is_complete()
    store.set_complete(False)
    assert not SweepFolder(store.path).is_complete()
    with pytest.raises(StoreError, match=r"not a cdpsim batch folder"):
        BatchFolder(tmp_path / "nowhere").set_complete(True)
    write_run(store, "r0")
    write_run(store, "r1", status="failed")
    assert store.done() == {"r0", "r1"} and store.done(retry_failed=True) == {"r0"}
    store.discard_if_empty()
    assert store.path.is_dir()  # it holds runs: kept
    empty = opened(tmp_path / "empty")
    empty.discard_if_empty()
    assert not empty.path.exists()


# ---------------------------------------------------------------------------------------- runs


def test_read_runs_rebuilds_a_missing_table_and_refuses_a_damaged_one(sweep):
    write_run(sweep, "r1", bad_debt_max=2.0)
    write_run(sweep, "r0", bad_debt_max=1.0)
    runs = sweep.read_runs()
    assert runs["run_id"].tolist() == ["r0", "r1"]  # in the batch's order
    assert (sweep.path / "runs.parquet").is_file()  # written
    pd.testing.assert_frame_equal(sweep.read_runs(), runs)
    runs.assign(run_id=["r0", "../x"]).to_parquet(sweep.path / "runs.parquet")
    with pytest.raises(AnalysisError, match=r"run id '../x' is not the name of a folder in runs/"):
        sweep.read_runs()
    runs.assign(bad_debt_max=["a", "b"]).to_parquet(sweep.path / "runs.parquet")
    with pytest.raises(AnalysisError, match=r"runs.parquet: .*'bad_debt_max'.*move it out"):
        sweep.read_runs()
    with pytest.raises(AnalysisError, match=r"sweep/runs: no column 'status'; the run folders are"):
        check_runs(runs.drop(columns="status"), sweep.path, sweep.runs)


def test_read_table_names_the_file_of_each_problem(tmp_path):
    (tmp_path / "folder.parquet").mkdir()
    with pytest.raises(AnalysisError, match=r"folder.parquet: not a file"):
        read_table(tmp_path / "folder.parquet")
    (tmp_path / "cut.parquet").write_bytes(b"PAR1 truncated")
    with pytest.raises(AnalysisError, match=r"cut.parquet: cannot be read as Parquet"):
        read_table(tmp_path / "cut.parquet")
    (tmp_path / "link.parquet").symlink_to(tmp_path / "gone.parquet")
    with pytest.raises(AnalysisError, match=r"link.parquet: a symbolic link to .*gone.parquet"):
        read_table(tmp_path / "link.parquet")
    pd.DataFrame({"a": [1], "b": [2]}).to_parquet(tmp_path / "t.parquet")
    assert read_table(tmp_path / "t.parquet", ["b"]).columns.tolist() == ["b"]


# ---------------------------------------------------------------------------------------- sweeps


def test_the_sweep_section_is_read_checked(tmp_path, sweep):
    assert sweep.section() == SECTION
    with pytest.raises(StoreError, match=r"not a cdpsim sweep folder \(no batch.json\)"):
        SweepFolder(tmp_path / "nowhere").section()
    batch = opened(tmp_path / "batch")
    with pytest.raises(AnalysisError, match=r"a batch folder, but not a sweep's"):
        SweepFolder(batch.path).section()
    damaged = {**SECTION, "parameters": [{"name": "buf", "range": [1.0]}]}
    with pytest.raises(AnalysisError, match=r"'sweep.parameters.0.range' is not \[low, high\]"):
        check_sweep(tmp_path, damaged)
    with pytest.raises(AnalysisError, match=f"{BATCH_MANIFEST}: 'sweep.kpis' is"):
        check_sweep(tmp_path, {**SECTION, "kpis": "bad_debt_max"})
    with pytest.raises(AnalysisError, match=r"'sweep' is a list, not an object"):
        check_sweep(tmp_path, [])


def test_points_round_trip_and_a_damaged_table_is_refused(sweep):
    with pytest.raises(AnalysisError, match=r"no points.parquet; run the sweep first"):
        sweep.read_points()
    points = pd.DataFrame(
        {
            "point": np.arange(3, dtype=np.int64),
            "buf": [1.0, 1.5, 2.0],
            "n": np.array([2, 2, 1], dtype=np.int64),
            "n_failed": np.array([0, 0, 1], dtype=np.int64),
            "n_missing": np.zeros(3, dtype=np.int64),
            "bad_debt_max_mean": [0.0, np.nan, 3.0],
        }
    )
    assert sweep.write_points(points) == sweep.path / "points.parquet"
    pd.testing.assert_frame_equal(sweep.read_points(["bad_debt_max"]), points)
    points.assign(n=[2, -1, 1]).to_parquet(sweep.points_path)
    with pytest.raises(AnalysisError, match=r"points.parquet: column 'n' holds -1, below 0; it is"):
        sweep.read_points()
    points.assign(point=[0, 0, 1]).to_parquet(sweep.points_path)
    with pytest.raises(AnalysisError, match=r"not a points table as cdpsim writes it"):
        sweep.read_points()
    points.assign(bad_debt_max_mean=["a", "b", "c"]).to_parquet(sweep.points_path)
    sweep.read_points()  # the statistics are checked for the KPIs asked about only
    with pytest.raises(AnalysisError, match=r"'bad_debt_max_mean'"):
        sweep.read_points(["bad_debt_max"])


def test_sensitivity_round_trip_and_a_damaged_table_is_refused(sweep):
    assert sweep.read_sensitivity() is None
    table = pd.DataFrame(
        [["morris", "bad_debt_max", "buf", *[np.nan] * 4, 2.0, 0.5, 1.0, -2.0]],
        columns=list(SENSITIVITY_COLUMNS),
    )
    second = pd.DataFrame(
        [["sobol", "bad_debt_max", "buf", "tail", 0.1, 0.05]], columns=list(SENSITIVITY2_COLUMNS)
    )
    assert sweep.write_sensitivity(table) == sweep.sensitivity_path
    assert not sweep.sensitivity2_path.exists()
    pd.testing.assert_frame_equal(sweep.read_sensitivity(), table)
    sweep.write_sensitivity(table, second)
    pd.testing.assert_frame_equal(pd.read_parquet(sweep.sensitivity2_path), second)
    table.assign(sigma=-1.0).to_parquet(sweep.sensitivity_path)
    with pytest.raises(AnalysisError, match=r"sensitivity.parquet: column 'sigma' holds -1"):
        sweep.read_sensitivity()
    table.assign(mu=np.inf).to_parquet(sweep.sensitivity_path)
    with pytest.raises(AnalysisError, match=r"'mu' holds an infinite value"):
        sweep.read_sensitivity()


def _boxes(method: str = "prim") -> pd.DataFrame:
    rows = [
        [0, method, 0.9, 0.8, 0.2, "buf", 1.0, 1.4, True],
        [0, method, 0.9, 0.8, 0.2, "tail", 600.0, 7200.0, False],
    ]
    return pd.DataFrame(rows, columns=list(BOX_COLUMNS))


def test_discovery_round_trip_with_its_metadata_and_trajectory(sweep):
    assert sweep.discoveries() == []  # no discovery/ folder
    trajectory = pd.DataFrame(
        {
            "step": np.arange(2, dtype=np.int64),
            "coverage": [1.0, 0.9],
            "density": [0.2, 0.8],
            "mass": [1.0, 0.2],
            "n_restricted": np.array([0, 1], dtype=np.int64),
            "selected": [False, True],
        }
    )
    result = Discovery(
        kpi="bad_debt_max",
        side="above",
        threshold=1.0e6,
        method="prim",
        boxes=_boxes(),
        trajectory=trajectory,
        n_runs=40,
        n_cases=9,
        note="",
        units={"buf": None, "tail": "s"},
        complete=False,
    )
    written = sweep.write_discovery(result)
    assert written.path == sweep.path / "discovery" / "bad_debt_max-above-1000000-prim.parquet"
    assert written.trajectory_path == written.path.with_name(f"{written.name}-trajectory.parquet")
    (read,) = sweep.discoveries()
    assert read.path == written.path and read.trajectory_path == written.trajectory_path
    assert (read.kpi, read.side, read.threshold, read.method) == (
        "bad_debt_max",
        "above",
        1.0e6,
        "prim",
    )
    assert (read.n_runs, read.n_cases, read.note, read.complete) == (40, 9, "", False)
    assert read.units == {"buf": None, "tail": "s"}  # from the sweep section
    pd.testing.assert_frame_equal(read.boxes, result.boxes)
    pd.testing.assert_frame_equal(read.trajectory, trajectory)
    assert list(read.trajectory.columns) == list(TRAJECTORY_COLUMNS)
    # the same name again without a trajectory: the old one goes
    sweep.write_discovery(Discovery(**{**vars(result), "trajectory": None, "note": "n"}))
    (again,) = sweep.discoveries()
    assert again.trajectory is None and again.trajectory_path is None and again.note == "n"
    assert not written.trajectory_path.exists()


def test_files_in_discovery_that_are_not_results_are_left_out_or_refused(sweep):
    sweep.write_discovery(
        Discovery(kpi="bad_debt_max", side="above", threshold=5, method="cart", boxes=_boxes())
    )
    base = sweep.discovery_dir
    _boxes().to_parquet(base / "notes.parquet")  # not a discovery's name
    _boxes().to_parquet(base / "bad_debt_max-above-x-cart.parquet")  # not a number
    _boxes().to_parquet(base / ".bad_debt_max-above-7-cart.parquet")  # hidden
    _boxes().to_parquet(base / "bad_debt_max-above-8.parquet")  # no method: not a result's name
    assert [d.name for d in sweep.discoveries()] == ["bad_debt_max-above-5-cart"]
    assert SweepFolder(sweep.path / "nowhere").discoveries() == []
    arrow = pa.Table.from_pandas(_boxes(), preserve_index=False)
    damaged = arrow.replace_schema_metadata({b"cdpsim-discovery": b"{not json"})
    pq.write_table(damaged, base / "bad_debt_max-above-6-cart.parquet")
    with pytest.raises(AnalysisError, match=r"above-6-cart.parquet: its metadata is not JSON; it"):
        sweep.discoveries()
    meta = {"kpi": "bad_debt_max", "side": "above", "threshold": 6.0, "method": "cart"}
    meta |= {"n_runs": 4, "n_cases": 1, "note": "", "complete": True}
    for broken, problem in (
        ({**meta, "n_runs": "many"}, r"'n_runs' is text \('many'\), not a whole number"),
        ({k: v for k, v in meta.items() if k != "complete"}, r"its metadata has no 'complete'"),
    ):
        listed = arrow.replace_schema_metadata({b"cdpsim-discovery": json.dumps(broken).encode()})
        pq.write_table(listed, base / "bad_debt_max-above-6-cart.parquet")
        with pytest.raises(AnalysisError, match=problem):
            sweep.discoveries()
    _boxes().assign(coverage=-0.5).to_parquet(base / "bad_debt_max-above-6-cart.parquet")
    with pytest.raises(AnalysisError, match=r"not a result of cdpsim discover as it writes them"):
        sweep.discoveries()


def test_a_discovery_with_a_file_in_its_way_is_refused(sweep):
    sweep.discovery_dir.write_text("a file where the folder goes")
    result = Discovery(kpi="bad_debt_max", side="above", threshold=5, method="cart", boxes=_boxes())
    with pytest.raises(AnalysisError, match=r"cannot write the result .*is .*discovery a folder"):
        sweep.write_discovery(result)


# ---------------------------------------------------------------------------------------- sweeps run


@pytest.fixture
def box_sweep(tmp_path) -> Path:
    return sweep_stand_ins.box_sweep(tmp_path)


def test_cart_and_prim_write_their_own_files_and_the_sweep_folder_reads_both(box_sweep):
    pytest.importorskip("ema_workbench")
    cart = discover(box_sweep, kpi="bad_debt_max", above=1000, method="cart")
    prim = discover(box_sweep, kpi="bad_debt_max", above=1000, method="prim")
    assert cart.path != prim.path and cart.path.is_file() and prim.path.is_file()
    assert prim.trajectory_path == box_sweep / "discovery" / (
        "bad_debt_max-above-1000-prim-trajectory.parquet"
    )
    loaded = {d.name: d for d in SweepFolder(box_sweep).discoveries()}
    assert set(loaded) == {"bad_debt_max-above-1000-cart", "bad_debt_max-above-1000-prim"}
    for found in (cart, prim):
        again = loaded[found.path.stem]
        assert (again.kpi, again.side, again.threshold, again.method) == (
            "bad_debt_max",
            "above",
            1000.0,
            found.method,
        )
        assert (again.n_runs, again.n_cases, again.complete) == (800, found.n_cases, True)
        pd.testing.assert_frame_equal(again.boxes, found.boxes)
    assert loaded["bad_debt_max-above-1000-cart"].trajectory is None
    assert loaded["bad_debt_max-above-1000-prim"].trajectory is not None
    assert loaded["bad_debt_max-above-1000-prim"].label == "bad_debt_max above 1,000 Dai (PRIM)"
