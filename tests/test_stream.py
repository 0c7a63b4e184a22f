"""The streaming recorder: tables written in row groups during a run read back as in memory."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

import sim
from sim.model import ProtocolModel
from sim.rundir import RunFolder, read_manifest, write_run_folder, write_with_fallback
from sim.runner import result_of
from sim.stream import STREAMED_TABLES, RunStream, read_frame
from tests.test_golden_runs import frame_digest, summary_digest

ROOT = Path(__file__).resolve().parents[1]
#: Two ilks (their vault snapshots interleave), spells' and keepers' names in the event log, a
#: governor reading the recorder's current row (``Recorder.value``) across window turns.
CASES = {
    "eth_crash_liq2": (
        "eth_crash_liq2.yaml",
        ("clock.duration=4h", "record.vault_snapshot_every=1h"),
    ),
    "multi_collateral": ("multi_collateral.yaml", ("clock.duration=1d",)),
    "governance_tip_spell": ("governance_tip_spell.yaml", ("clock.duration=13h",)),
    "governor_psm_fee": ("governor_psm_fee.yaml", ()),
}


def _scenario(name: str) -> sim.Scenario:
    path, overrides = CASES[name]
    return sim.load_scenario(ROOT / "scenarios" / path, overrides=list(overrides))


def _streamed(scenario, out: Path, *, fail_at: int | None = None, **limits):
    """Run ``scenario`` streamed into ``out`` with the given flush limits; its result."""
    folder = RunFolder(out)
    stream = RunStream(folder.tmp, **limits)
    model = ProtocolModel(scenario, stream=stream)
    status, error = "ok", None
    try:
        while not model.finished:
            if fail_at is not None and model.tick == fail_at:
                raise MemoryError("no memory left (injected)")
            model.step()
    except Exception as exc:
        status, error = "failed", f"{type(exc).__name__}: {exc}"
    result = result_of(model, wall_time_s=0.0, status=status, error=error, final=True)
    write_with_fallback(result, out, folder=folder)
    return result, stream


@pytest.mark.parametrize("name", list(CASES))
def test_a_run_flushed_every_few_ticks_reads_back_as_in_memory(name, tmp_path):
    scenario = _scenario(name)
    memory = sim.run(scenario)
    result, _stream = _streamed(scenario, tmp_path / "run", flush_ticks=7, flush_bytes=20_000)
    # Every growing table went out in many row groups, and none is held by the result.
    for table in STREAMED_TABLES:
        assert pq.ParquetFile(tmp_path / "run" / f"{table}.parquet").num_row_groups > 1, table
        assert result.stored(table) == tmp_path / "run" / f"{table}.parquet"
    for table in (*STREAMED_TABLES, "auctions"):
        got = read_frame(tmp_path / "run" / f"{table}.parquet")
        want = getattr(memory, table)
        pd.testing.assert_frame_equal(got, want, check_categorical=True)
        assert frame_digest(got) == frame_digest(want), table
        pd.testing.assert_frame_equal(getattr(result, table), want)
    assert summary_digest(result.summary) == summary_digest(memory.summary)
    assert read_manifest(tmp_path / "run")["ticks"] == memory.manifest["ticks"]


def test_a_run_that_fits_one_window_writes_the_same_bytes(tmp_path):
    scenario = _scenario("eth_crash_liq2")
    memory = sim.run(scenario)
    write_run_folder(memory, tmp_path / "memory")
    _result, stream = _streamed(scenario, tmp_path / "run")
    assert stream.opened_files() == []  # nothing needed a flush: every table held, in one go
    for table in (*STREAMED_TABLES, "auctions"):
        name = f"{table}.parquet"
        assert (tmp_path / "run" / name).read_bytes() == (tmp_path / "memory" / name).read_bytes()


def test_an_error_in_the_tick_loop_keeps_every_flushed_row(tmp_path):
    scenario = _scenario("eth_crash_liq2")
    _result, _ = _streamed(scenario, tmp_path / "run", fail_at=100, flush_ticks=16)
    manifest = read_manifest(tmp_path / "run")
    assert manifest["status"] == "failed" and "MemoryError" in manifest["error"]
    assert manifest["ticks"] == 100
    ts = read_frame(tmp_path / "run" / "timeseries.parquet")
    assert ts["tick"].tolist() == list(range(101))
    # The rows read back are the in-memory run's first 101 ticks.
    memory = sim.run(scenario)
    pd.testing.assert_frame_equal(ts, memory.timeseries.iloc[:101])
    events = read_frame(tmp_path / "run" / "events.parquet")
    want = memory.events[memory.events["tick"] <= 100].reset_index(drop=True)
    assert frame_digest(events) == frame_digest(want)
    assert (tmp_path / "run" / "vaults.parquet").exists()
    assert not list(tmp_path.glob(".run.tmp-*"))


def test_a_summary_only_batch_run_leaves_no_streamed_table(tmp_path):
    scenario = _scenario("eth_crash_liq2")
    folder = RunFolder(tmp_path / "run")
    model = ProtocolModel(scenario, stream=RunStream(folder.tmp, flush_ticks=10))
    model.run()
    result = result_of(model, wall_time_s=0.0, final=True)
    result.manifest["files"] = ["manifest.json", "summary.json"]
    folder.commit(result)
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["manifest.json", "summary.json"]


def test_flush_limits_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="positive"):
        RunStream(tmp_path, flush_ticks=0)


@pytest.mark.parametrize("flush_ticks", [10, 4096])
def test_a_stream_keeping_no_table_records_no_events_nor_snapshots(flush_ticks, tmp_path):
    scenario = _scenario("eth_crash_liq2")
    full = sim.run(scenario)
    model = ProtocolModel(scenario, stream=RunStream(tmp_path, flush_ticks=flush_ticks, keep=()))
    model.run()
    assert len(model.vat.log) == 0 and model.recorder.stream._vault_parts == []
    result = result_of(model, wall_time_s=0.0, final=True)
    assert result.events.empty and result.vaults.empty
    assert result.summary == full.summary  # the KPIs, from the columns they read
    with pytest.raises(ValueError, match="only tables"):
        RunStream(tmp_path, keep=("timeseries", "summary"))


def test_out_of_memory_at_the_end_keeps_the_streamed_tables(
    small_scenario_file, tmp_path, monkeypatch
):
    from click.testing import CliRunner

    import sim.runner
    import sim.stream
    from sim.cli import main

    def no_memory(model):
        raise MemoryError

    monkeypatch.setattr(sim.stream, "FLUSH_TICKS", 10)
    monkeypatch.setattr(sim.runner, "auctions_frame", no_memory)
    out = tmp_path / "run"
    res = CliRunner().invoke(main, ["run", str(small_scenario_file), "--out", str(out)])
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output and "out of memory" in res.output
    manifest = read_manifest(out)
    assert manifest["status"] == "failed" and manifest["ticks"] == 72
    assert sorted(p.name for p in out.iterdir()) == sorted(manifest["files"])
    assert set(manifest["files"]) == {
        "manifest.json",
        "timeseries.parquet",
        "vaults.parquet",
        "events.parquet",
    }
    assert read_frame(out / "timeseries.parquet")["tick"].tolist() == list(range(73))


def test_write_frame_writes_the_bytes_of_to_parquet(tmp_path):
    """The fast conversion gives pandas' file, for every table (categoricals, strings, NaN)."""
    from sim.stream import write_frame

    result = sim.run(_scenario("multi_collateral"))
    for table in (*STREAMED_TABLES, "auctions"):
        frame = getattr(result, table)
        frame.to_parquet(tmp_path / "pandas.parquet", index=False)
        for _ in range(2):  # the schema computed, then cached
            write_frame(frame, tmp_path / "ours.parquet")
            assert (tmp_path / "ours.parquet").read_bytes() == (
                tmp_path / "pandas.parquet"
            ).read_bytes(), table


@pytest.mark.parametrize("lost", [False, True])
def test_a_table_that_cannot_be_written_fails_the_run_and_keeps_the_rest(
    lost, tmp_path, monkeypatch
):
    import errno

    from sim.stream import TableSink

    scenario = _scenario("eth_crash_liq2")
    original = TableSink.write
    calls = []

    def full_disk(self, frame):
        if self.path.name == "events.parquet" and len(frame):
            calls.append(len(frame))
            if len(calls) == (1 if lost else 2):  # the first row group, or the second
                raise OSError(errno.ENOSPC, "No space left on device", str(self.path))
        return original(self, frame)

    monkeypatch.setattr(TableSink, "write", full_disk)
    _streamed(scenario, tmp_path / "run", flush_ticks=16)
    run = tmp_path / "run"
    manifest = read_manifest(run)
    assert manifest["status"] == "failed"
    assert "cannot write events.parquet: No space left on device" in manifest["error"]
    memory = sim.run(scenario)
    ts = read_frame(run / "timeseries.parquet")  # the other tables are whole and readable
    pd.testing.assert_frame_equal(ts, memory.timeseries.iloc[: len(ts)])
    summary = json.loads((run / "summary.json").read_text())
    assert summary["bad_debt_max"] is not None
    if lost:  # a writer that never wrote a row group leaves no readable table
        assert "events.parquet" not in manifest["files"] and not (run / "events.parquet").exists()
        assert "the table is lost" in manifest["error"]
    else:  # the row group written before the failure is kept, readable
        events = read_frame(run / "events.parquet")
        assert len(events) == calls[0] and "events.parquet" in manifest["files"]
        assert f"keeps the {calls[0]:,} rows" in manifest["error"]


def test_a_column_of_nones_does_not_fix_the_type_of_the_layout(tmp_path):
    from sim.stream import write_frame

    write_frame(pd.DataFrame({"winner": [None, None], "x": [1.0, 2.0]}), tmp_path / "a.parquet")
    later = pd.DataFrame({"winner": ["keeper.0", None], "x": [3.0, 4.0]})
    write_frame(later, tmp_path / "b.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "b.parquet"), later)
