"""Run folders: what cdpsim writes, where it refuses to write, and what it never touches."""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest

import sim.stream
from sim import rundir
from sim.record import RunResult
from sim.rundir import (
    MANIFEST_KIND,
    RUN_FILES,
    RUN_FORMAT,
    OutputError,
    RunFolder,
    WriteError,
    check_output_folder,
    clean_leftovers,
    clean_sibling_leftovers,
    fallback_folder,
    holds_run,
    is_run_folder,
    read_manifest,
    write_run_folder,
    write_with_fallback,
)

ENOSPC = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def fake_result(ticks: int = 2, status: str = "ok", name: str = "small") -> RunResult:
    """A run's tables and manifest, without running a model."""
    frame = pd.DataFrame({"tick": range(ticks + 1), "value": [0.5] * (ticks + 1)})
    return RunResult(
        timeseries=frame,
        events=frame.head(0),
        auctions=frame.head(1),
        vaults=frame,
        summary={"bad_debt_final": 0.0, "keepers": {"kp": 1.0}},
        manifest={
            "kind": MANIFEST_KIND,
            "format": RUN_FORMAT,
            "scenario": {"name": name},
            "ticks": ticks,
            "status": status,
            "cdpsim_version": "test",
            "files": list(RUN_FILES),
        },
    )


def user_folder(path: Path) -> Path:
    """A folder a user owns: notes and a git repository."""
    (path / ".git").mkdir(parents=True)
    (path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (path / "notes.txt").write_text("my notes\n")
    return path


def snapshot(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in path.rglob("*") if p.is_file()}


def hidden_siblings(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if p.name.startswith(f".{path.name}."))


@pytest.fixture
def dead_pid() -> int:
    """The PID of a process that has exited (and was reaped)."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return int(done.stdout)


@pytest.fixture
def umask():
    """Set the process umask for a test, restored after it."""
    previous = os.umask(0o022)
    os.umask(previous)
    yield os.umask
    os.umask(previous)


def test_new_folder_holds_the_run_files_and_the_marker(tmp_path):
    out = write_run_folder(fake_result(ticks=3), tmp_path / "a" / "b" / "run")
    assert sorted(p.name for p in out.iterdir()) == sorted(RUN_FILES)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == MANIFEST_KIND and manifest["ticks"] == 3
    assert is_run_folder(out) and read_manifest(out) == manifest
    assert hidden_siblings(out) == []


@pytest.mark.parametrize("mask", [0o022, 0o027])
def test_folders_and_files_follow_the_umask(tmp_path, umask, mask):
    umask(mask)
    out = write_run_folder(fake_result(), tmp_path / "new" / "run")
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~mask
    assert stat.S_IMODE(out.parent.stat().st_mode) == 0o777 & ~mask
    for name in RUN_FILES:
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o666 & ~mask, name


def test_a_user_folder_is_refused_and_left_alone(tmp_path):
    folder = user_folder(tmp_path / "mine")
    before = snapshot(folder)
    with pytest.raises(OutputError) as caught:
        check_output_folder(folder)
    message = str(caught.value)
    assert str(folder) in message and "notes.txt" in message and ".git" in message
    assert "--force" in message
    with pytest.raises(OutputError):
        write_run_folder(fake_result(), folder)
    assert snapshot(folder) == before
    assert hidden_siblings(folder) == []


def test_force_writes_only_the_run_files(tmp_path):
    folder = user_folder(tmp_path / "mine")
    before = snapshot(folder)
    check_output_folder(folder, force=True)
    write_run_folder(fake_result(ticks=4), folder, force=True)
    after = snapshot(folder)
    assert {k: after[k] for k in before} == before
    assert sorted(set(after) - set(before)) == sorted(RUN_FILES)
    assert read_manifest(folder)["ticks"] == 4
    assert [p.name for p in folder.iterdir() if p.name.startswith(".cdpsim")] == []


def test_an_earlier_run_is_replaced_whole(tmp_path):
    out = write_run_folder(fake_result(ticks=2), tmp_path / "run")
    inode = out.stat().st_ino
    write_run_folder(fake_result(ticks=5), out)
    assert read_manifest(out)["ticks"] == 5
    assert len(pd.read_parquet(out / "timeseries.parquet")) == 6
    assert out.stat().st_ino != inode  # a new folder renamed into place
    assert hidden_siblings(out) == []


def test_a_run_folder_with_a_users_file_keeps_it(tmp_path):
    out = write_run_folder(fake_result(ticks=2), tmp_path / "run")
    (out / "notes.txt").write_text("about this run\n")
    write_run_folder(fake_result(ticks=5), out)
    assert (out / "notes.txt").read_text() == "about this run\n"
    assert read_manifest(out)["ticks"] == 5
    assert sorted(p.name for p in out.iterdir()) == sorted([*RUN_FILES, "notes.txt"])


def test_an_empty_folder_is_used(tmp_path):
    (tmp_path / "empty").mkdir()
    check_output_folder(tmp_path / "empty")
    write_run_folder(fake_result(), tmp_path / "empty")
    assert is_run_folder(tmp_path / "empty")


def test_a_manifest_without_the_marker_is_not_a_run(tmp_path):
    unmarked = tmp_path / "unmarked"
    unmarked.mkdir()
    (unmarked / "manifest.json").write_text(json.dumps({"cdpsim_version": "0.1.0", "files": []}))
    assert not is_run_folder(unmarked)
    with pytest.raises(OutputError, match=r"not a cdpsim run folder, it holds manifest\.json"):
        check_output_folder(unmarked)
    earlier = tmp_path / "earlier"  # the marker without a format version: cdpsim's, replaced
    earlier.mkdir()
    (earlier / "manifest.json").write_text(json.dumps({"kind": MANIFEST_KIND}))
    assert is_run_folder(earlier)
    write_run_folder(fake_result(), earlier)
    assert read_manifest(earlier)["format"] == RUN_FORMAT
    other = tmp_path / "other"
    other.mkdir()
    (other / "manifest.json").write_text(json.dumps({"name": "someone else's"}))
    assert not is_run_folder(other)
    (other / "manifest.json").write_text("not json")
    assert not is_run_folder(other)
    with pytest.raises(OutputError, match=r"manifest\.json"):
        check_output_folder(other)


def test_the_current_folder_and_above_are_refused_unless_a_run(tmp_path, monkeypatch):
    here = tmp_path / "work" / "here"
    here.mkdir(parents=True)
    (here / "data.csv").write_text("x\n")
    monkeypatch.chdir(here)
    for name in (".", "..", "../..", "./"):
        with pytest.raises(OutputError, match="current folder"):
            check_output_folder(name, force=True)
    assert sorted(p.name for p in here.iterdir()) == ["data.csv"]
    run = tmp_path / "run"
    write_run_folder(fake_result(ticks=1), run)
    monkeypatch.chdir(run)
    write_run_folder(fake_result(ticks=7), ".")  # written in place: the folder stays
    assert Path.cwd() == run.resolve() and read_manifest(run)["ticks"] == 7


def test_root_and_home_are_refused(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for path in (Path("/"), home, Path("~")):
        with pytest.raises(OutputError, match="refusing"):
            check_output_folder(path, force=True)
    assert list(home.iterdir()) == []


def test_a_file_in_the_path_is_refused(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OutputError, match="afile is a file"):
        check_output_folder(tmp_path / "afile" / "sub")
    with pytest.raises(OutputError, match="it is a file"):
        check_output_folder(tmp_path / "afile", force=True)
    assert (tmp_path / "afile").read_text() == "x"


def test_a_folder_without_write_permission_is_refused(tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    monkeypatch.setattr(rundir.os, "access", lambda path, mode: Path(path) != locked)
    with pytest.raises(OutputError, match="no permission to create folders in"):
        check_output_folder(locked / "sub" / "run")
    (locked / "run").mkdir()
    with pytest.raises(OutputError, match="no permission to write in"):
        check_output_folder(locked / "run")
    check_output_folder(tmp_path / "elsewhere")


@pytest.mark.skipif(os.geteuid() == 0, reason="permission bits do not stop root")
def test_a_read_only_folder_is_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    with pytest.raises(OutputError, match="no permission"):
        check_output_folder(locked / "run")


def test_leftovers_of_a_dead_writer_are_cleaned(tmp_path, dead_pid):
    out = write_run_folder(fake_result(), tmp_path / "run")

    def leftover(path: Path, *names: str) -> Path:
        path.mkdir()
        for name in names:
            (path / name).write_text("partial")
        return path

    gone = [
        leftover(tmp_path / f".run.tmp-{dead_pid}-ab12", "timeseries.parquet", "events.parquet"),
        leftover(tmp_path / f".run.old-{dead_pid}", *RUN_FILES),
        leftover(tmp_path / f".run.old-{dead_pid}-ef56", "manifest.json"),
        leftover(tmp_path / f".run.tmp-{dead_pid}-empty"),
        leftover(out / f".cdpsim.tmp-{dead_pid}-cd34", "summary.json"),
    ]
    kept = [
        leftover(tmp_path / f".run.tmp-{os.getpid()}-live", "summary.json"),  # writer alive
        leftover(tmp_path / f".run.tmp-{dead_pid}-user", "summary.json", "notes.txt"),
        leftover(tmp_path / f".other.tmp-{dead_pid}-x1", "summary.json"),  # another folder's
        leftover(tmp_path / ".run.nopid", "summary.json"),
    ]
    removed = clean_leftovers(out)
    assert sorted(removed) == sorted(gone)
    assert not any(p.exists() for p in gone)
    assert all(p.exists() for p in kept)
    assert (kept[1] / "notes.txt").read_text() == "partial"


def test_a_batch_cleans_every_run_folders_leftovers_at_once(tmp_path, dead_pid):
    runs = tmp_path / "runs"
    runs.mkdir()

    def leftover(name: str, *files: str) -> Path:
        path = runs / name
        path.mkdir()
        for file in files:
            (path / file).write_text("partial")
        return path

    gone = [
        leftover(f".a-s1.tmp-{dead_pid}-ab12", "timeseries.parquet"),
        leftover(f".b.c-s2.old-{dead_pid}-ef56", *RUN_FILES),
        leftover(f".d.tmp-{dead_pid}-empty"),
    ]
    kept = [
        leftover(f".a-s1.tmp-{os.getpid()}-live", "summary.json"),  # writer alive
        leftover(f".e.tmp-{dead_pid}-user", "summary.json", "notes.txt"),  # not only run files
        leftover(".f.nopid", "summary.json"),
        leftover("g-s3", *RUN_FILES),  # a run folder
    ]
    assert sorted(clean_sibling_leftovers(runs)) == sorted(gone)
    assert all(p.exists() for p in kept) and not any(p.exists() for p in gone)


def test_a_write_cut_short_leaves_no_temporary_folder(tmp_path, monkeypatch):
    out = write_run_folder(fake_result(ticks=2), tmp_path / "run")
    before = snapshot(out)
    original = sim.stream.write_frame
    calls = []

    def interrupted(self, path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(self, path, *args, **kwargs)

    monkeypatch.setattr(sim.stream, "write_frame", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_run_folder(fake_result(ticks=9), out)
    assert snapshot(out) == before
    assert hidden_siblings(out) == []


@pytest.fixture
def temp_root(tmp_path, monkeypatch) -> Path:
    """``tempfile.gettempdir()`` inside the test's folder."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


def test_a_failed_write_saves_the_run_to_the_fallback(tmp_path, monkeypatch, temp_root):
    original = sim.stream.write_frame

    def full(self, path, *args, **kwargs):
        if Path(path).parent.name.startswith(".run."):
            raise ENOSPC
        return original(self, path, *args, **kwargs)

    monkeypatch.setattr(sim.stream, "write_frame", full)
    out = tmp_path / "run"
    with pytest.raises(WriteError) as caught:
        write_with_fallback(fake_result(ticks=6), out)
    exc = caught.value
    assert exc.fallback is not None and exc.fallback.parent == temp_root
    assert exc.fallback.name.startswith("cdpsim-small-") and exc.fallback.name.endswith(
        f"-{os.getpid()}"
    )
    assert str(exc) == (
        f"cannot write {out}: No space left on device; "
        f"the run (6 ticks) was saved to {exc.fallback} instead"
    )
    assert sorted(p.name for p in exc.fallback.iterdir()) == sorted(RUN_FILES)
    assert exc.result is not None and holds_run(exc.fallback, exc.result)
    assert not out.exists() and hidden_siblings(out) == []
    assert exc.fallback.stat().st_mode & 0o777 == 0o700  # the shared temp folder: ours only


def test_when_the_fallback_fails_too_both_reasons_are_given(tmp_path, monkeypatch, temp_root):
    monkeypatch.setattr(sim.stream, "write_frame", lambda *a, **k: (_ for _ in ()).throw(ENOSPC))
    with pytest.raises(WriteError) as caught:
        write_with_fallback(fake_result(ticks=6), tmp_path / "run")
    exc = caught.value
    assert exc.fallback is None
    message = str(exc)
    assert message.startswith(f"cannot write {tmp_path / 'run'}: No space left on device;")
    assert "nor a fallback folder" in message and str(temp_root) in message
    assert message.endswith("the 6 ticks computed are lost")
    assert list(temp_root.iterdir()) == []


def test_fallback_names_are_new_and_safe(temp_root):
    first = fallback_folder("eth crash/2")
    assert first.parent == temp_root and "/" not in first.name and " " not in first.name
    first.mkdir()
    second = fallback_folder("eth crash/2", now=None)
    assert second != first and not second.exists()


def test_holds_run_compares_the_manifest(tmp_path):
    result = fake_result(ticks=3)
    out = write_run_folder(result, tmp_path / "run")
    assert holds_run(out, result)
    assert not holds_run(out, fake_result(ticks=4))
    assert not holds_run(tmp_path / "nothing", result)


def test_a_discarded_run_folder_leaves_no_folder_it_made(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "mine.txt").write_text("kept")
    folder = RunFolder(tmp_path / "a" / "b" / "c" / "run")
    assert folder.tmp.parent == tmp_path / "a" / "b" / "c"
    folder.discard()
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["mine.txt"]


def test_a_batch_run_in_place_still_cleans_what_a_killed_write_left_inside(tmp_path, dead_pid):
    out = write_run_folder(fake_result(), tmp_path / "run")
    (out / "notes.txt").write_text("mine")  # the user's: the run is now written in place
    inside = out / f".cdpsim.tmp-{dead_pid}-cd34"
    inside.mkdir()
    (inside / "vaults.parquet").write_text("partial")
    RunFolder(out, clean=False).discard()
    assert not inside.exists() and (out / "notes.txt").read_text() == "mine"
