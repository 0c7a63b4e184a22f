"""Running scenarios (sim/runner.py): ``run`` and ``run_and_write``, and what is kept when a run
fails, is interrupted, or its folder cannot be written."""

from __future__ import annotations

import errno
import json
import os
import pickle
import tempfile
from pathlib import Path

import pandas as pd
import pytest

import sim
import sim.stream
from sim.agents.keeper import Keeper
from sim.locks import FolderLock
from sim.model import ProtocolModel
from sim.record import RunResult
from sim.rundir import RUN_FILES, OutputError, WriteError
from sim.runner import BuildError, RunInterrupted, run, run_and_write


@pytest.fixture
def small(small_scenario_file):
    return sim.load_scenario(small_scenario_file)


@pytest.fixture
def where(tmp_path) -> Path:
    """An empty folder for the run folders (the scenario file is in ``tmp_path``)."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


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


def _interrupt_at_tick(monkeypatch, tick: int) -> None:
    """Ctrl-C arrives while the keepers act in ``tick``."""
    original = Keeper.step

    def step(self):
        if self.model.tick == tick:
            raise KeyboardInterrupt
        original(self)

    monkeypatch.setattr(Keeper, "step", step)


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


# ---------------------------------------------------------------------------------------- run


def test_run_takes_a_scenario_or_a_file_with_overrides(small, small_scenario_file, tmp_path):
    short = run(small_scenario_file, overrides=["clock.duration=1h"], out=tmp_path / "r")
    assert isinstance(short, RunResult)
    assert len(short.timeseries) == 7 and short.manifest["status"] == "ok"
    assert short.manifest["seed"] == small.seed
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == sorted(RUN_FILES)
    assert manifest(tmp_path / "r")["ticks"] == 6
    again = run(
        small.model_copy(update={"clock": small.clock.model_copy(update={"duration": 3600.0})})
    )
    pd.testing.assert_frame_equal(again.timeseries, short.timeseries)
    other = run(small_scenario_file, seed=small.seed + 1, overrides=["clock.duration=1h"])
    assert other.manifest["seed"] == small.seed + 1


# ---------------------------------------------------------------------------------------- run_and_write


def test_a_finished_run_is_written_and_its_lock_released(small, tmp_path):
    out = tmp_path / "runs" / "run"
    seen = []
    result, folder = run_and_write(small, out, seed=4, progress=lambda d, n: seen.append((d, n)))
    assert folder == out and result.manifest["status"] == "ok" and result.manifest["seed"] == 4
    assert seen == [(k, 72) for k in range(1, 73)]
    assert sorted(p.name for p in out.iterdir()) == sorted(RUN_FILES)
    assert manifest(out) == json.loads(json.dumps(result.manifest))
    assert sorted(p.name for p in out.parent.iterdir()) == ["run"]  # no lock file left
    FolderLock.beside(out).acquire().release()  # free for the next writer


def test_failed_run_keeps_computed_ticks(small, tmp_path, monkeypatch):
    original = Keeper.step

    def broken(self):
        if self.model.tick == 5:
            raise RuntimeError("keeper crashed")
        original(self)

    monkeypatch.setattr(Keeper, "step", broken)
    result, folder = run_and_write(small, tmp_path / "run")
    assert result.manifest["status"] == "failed"
    assert "keeper crashed" in result.manifest["error"]
    assert len(result.timeseries) == 5  # ticks 0..4 completed
    assert (folder / "timeseries.parquet").exists()


def test_a_folder_being_written_is_refused_before_running(small, tmp_path):
    out = tmp_path / "run"
    with FolderLock.beside(out):
        with pytest.raises(
            OutputError, match=rf"in use by another cdpsim process \(PID {os.getpid()}"
        ):
            run_and_write(small, out)
    assert not out.exists()


def test_a_folder_that_cannot_be_created_is_refused_before_running(small, where, monkeypatch):
    built = []
    monkeypatch.setattr(ProtocolModel, "__init__", lambda self, *a, **k: built.append(True))
    (where / "file").write_text("not a folder")
    with pytest.raises(OutputError, match="file"):
        run_and_write(small, where / "file" / "run")
    assert built == [] and sorted(p.name for p in where.iterdir()) == ["file"]


@pytest.mark.parametrize(
    ("error", "bad_input"), [(ValueError("no such ilk"), True), (RuntimeError("a bug"), False)]
)
def test_a_model_that_cannot_be_built_is_a_build_error(small, where, monkeypatch, error, bad_input):
    def broken(self, *args, **kwargs):
        raise error

    monkeypatch.setattr(ProtocolModel, "__init__", broken)
    with pytest.raises(BuildError) as caught:
        run_and_write(small, where / "run")
    assert caught.value.cause is error and caught.value.bad_input is bad_input
    assert str(caught.value) == str(error)
    assert list(where.iterdir()) == []  # nothing written, the lock released
    again = pickle.loads(pickle.dumps(caught.value))
    assert type(again.cause) is type(error) and again.bad_input is bad_input


def test_run_and_write_refuses_before_building(small_scenario_file, tmp_path, monkeypatch):
    from sim import load_scenario
    from sim.model import ProtocolModel
    from sim.rundir import OutputError
    from sim.runner import run_and_write

    spec = load_scenario(small_scenario_file)
    built = []
    original = ProtocolModel.__init__

    def counting(self, *args, **kwargs):
        built.append(True)
        original(self, *args, **kwargs)

    monkeypatch.setattr(ProtocolModel, "__init__", counting)
    before = user_folder(tmp_path / "mine")
    with pytest.raises(OutputError):
        run_and_write(spec, tmp_path / "mine")
    assert built == [] and contents(tmp_path / "mine") == before


def test_run_and_write_raises_an_interrupt_after_writing(
    small_scenario_file, tmp_path, monkeypatch
):
    from sim import load_scenario
    from sim.runner import RunInterrupted, run_and_write

    _interrupt_at_tick(monkeypatch, 4)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt) as caught:  # uncaught, it stops a caller's loop
        run_and_write(load_scenario(small_scenario_file), out)
    exc = caught.value
    assert isinstance(exc, RunInterrupted)
    assert (exc.ticks, exc.n_ticks, exc.folder, exc.write_error) == (3, 72, out, None)
    assert exc.result is not None and exc.result.manifest["status"] == "interrupted"
    assert manifest(out) == json.loads(json.dumps(exc.result.manifest))


def test_a_second_interrupt_while_writing_leaves_the_folder_as_it_was(small, where, monkeypatch):
    out = where / "run"
    run_and_write(small, out)
    before = contents(out)
    _interrupt_at_tick(monkeypatch, 4)

    def second_interrupt(self, path, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sim.stream, "write_frame", second_interrupt)
    with pytest.raises(RunInterrupted) as caught:
        run_and_write(small, out)
    exc = caught.value
    assert exc.while_writing and exc.folder is None and exc.ticks == 3
    assert exc.result is not None and len(exc.result.timeseries) == 4
    assert contents(out) == before
    assert sorted(p.name for p in where.iterdir()) == ["run"]  # no temporary folder or lock


def test_a_folder_that_cannot_be_written_saves_the_run_elsewhere(
    small, where, monkeypatch, temp_root
):
    _disk_full(monkeypatch, only_under=".run.")
    out = where / "run"
    with pytest.raises(WriteError) as caught:
        run_and_write(small, out)
    exc = caught.value
    assert exc.path == out and exc.reason == "No space left on device" and exc.ticks == 72
    assert exc.fallback is not None and exc.fallback.parent == temp_root
    assert exc.result is not None and exc.result.manifest["status"] == "ok"
    assert manifest(exc.fallback)["ticks"] == 72
    assert sorted(p.name for p in exc.fallback.iterdir()) == sorted(RUN_FILES)
    assert list(where.iterdir()) == []


def test_when_nothing_can_be_written_the_error_says_so(small, where, monkeypatch, temp_root):
    _disk_full(monkeypatch, only_under=None)
    with pytest.raises(WriteError) as caught:
        run_and_write(small, where / "run")
    exc = caught.value
    assert exc.fallback is None and "No space left on device" in exc.fallback_reason
    assert exc.result is not None and len(exc.result.timeseries) == 73  # still in memory
    assert list(temp_root.iterdir()) == [] and list(where.iterdir()) == []


def test_an_interrupted_run_that_cannot_be_written_says_where_it_went(
    small, where, monkeypatch, temp_root
):
    _interrupt_at_tick(monkeypatch, 4)
    _disk_full(monkeypatch, only_under=".run.")
    with pytest.raises(RunInterrupted) as caught:
        run_and_write(small, where / "run")
    exc = caught.value
    assert isinstance(exc.write_error, WriteError) and exc.folder == exc.write_error.fallback
    assert exc.folder is not None and manifest(exc.folder)["status"] == "interrupted"
    assert manifest(exc.folder)["ticks"] == 3 and not (where / "run").exists()
