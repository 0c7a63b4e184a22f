"""Atomic writes (sim/atomic.py): a file is replaced whole or not at all, a failed write leaves
no temporary file and names the real file, and the new file's permissions follow the umask."""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path

import pandas as pd
import pytest

from sim import atomic
from sim.atomic import replacing, umask, write_bytes, write_json, write_parquet, write_text


@pytest.fixture
def mask():
    """Set the process umask for a test, restored after it."""
    previous = os.umask(0o022)
    os.umask(previous)
    yield os.umask
    os.umask(previous)


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_each_writer_writes_and_replaces_the_file(tmp_path):
    assert write_text(tmp_path / "a.txt", "é\n") == tmp_path / "a.txt"
    assert (tmp_path / "a.txt").read_bytes() == "é\n".encode()
    write_bytes(tmp_path / "b.bin", b"\x00\xff")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\xff"
    write_json(tmp_path / "c.json", {"x": [1, 2]})
    assert (tmp_path / "c.json").read_text() == '{\n  "x": [\n    1,\n    2\n  ]\n}\n'
    table = pd.DataFrame({"a": [1, 2]}, index=[5, 6])
    write_parquet(tmp_path / "d.parquet", table)
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "d.parquet"), table.reset_index(drop=True)
    )
    write_json(tmp_path / "c.json", {"x": 3})
    assert json.loads((tmp_path / "c.json").read_text()) == {"x": 3}
    assert names(tmp_path) == ["a.txt", "b.bin", "c.json", "d.parquet"]


def test_the_temporary_file_is_next_to_the_target_and_hidden(tmp_path):
    with replacing(tmp_path / "points.parquet") as tmp:
        assert tmp.parent == tmp_path
        assert tmp.name.startswith(f".points.parquet.tmp-{os.getpid()}-")
        tmp.write_text("new")
        assert not (tmp_path / "points.parquet").exists()  # nothing replaced before the end
    assert names(tmp_path) == ["points.parquet"]


@pytest.mark.parametrize("error", [ValueError("bad table"), KeyboardInterrupt()])
def test_a_failure_while_writing_keeps_the_old_file_and_removes_the_temporary_one(tmp_path, error):
    target = tmp_path / "batch.json"
    target.write_text("old")
    with pytest.raises(type(error)):
        with replacing(target) as tmp:
            tmp.write_text("half")
            raise error
    assert target.read_text() == "old" and names(tmp_path) == ["batch.json"]


def test_an_os_error_names_the_real_file_with_the_systems_words(tmp_path):
    target = tmp_path / "runs.parquet"
    with pytest.raises(OSError) as caught:
        with replacing(target):
            raise OSError(errno.ENOSPC, "disk full (the library's words)", "/tmp/.runs.tmp-1-x")
    assert caught.value.errno == errno.ENOSPC
    assert caught.value.filename == str(target)
    assert caught.value.strerror == os.strerror(errno.ENOSPC)
    assert str(caught.value) == f"[Errno {errno.ENOSPC}] No space left on device: '{target}'"
    assert names(tmp_path) == []


def test_an_errno_only_in_the_text_is_read_from_it(tmp_path):
    """pyarrow raises ``OSError("... [errno 28] No space left on device")`` without an errno."""
    with pytest.raises(OSError) as caught:
        with replacing(tmp_path / "p.parquet"):
            raise OSError("IOError: [errno 5] first, then [Errno 28] No space left on device")
    assert caught.value.errno == errno.ENOSPC and caught.value.strerror == os.strerror(28)
    with pytest.raises(OSError) as caught:
        with replacing(tmp_path / "p.parquet"):
            raise OSError("something without a number")
    assert caught.value.errno is None and caught.value.strerror == "something without a number"
    assert names(tmp_path) == []


def test_a_failed_rename_removes_the_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "sensitivity.parquet"
    target.write_text("old")

    def full(src, dst):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), src)

    monkeypatch.setattr(atomic.os, "replace", full)
    with pytest.raises(OSError, match="No space left on device") as caught:
        write_text(target, "new")
    assert caught.value.filename == str(target)
    assert target.read_text() == "old" and names(tmp_path) == ["sensitivity.parquet"]


def test_a_missing_folder_is_named_as_the_file(tmp_path):
    target = tmp_path / "missing" / "batch.json"
    with pytest.raises(OSError) as caught:
        write_json(target, {})
    assert caught.value.errno == errno.ENOENT and caught.value.filename == str(target)
    assert names(tmp_path) == []


@pytest.mark.parametrize("bits", [0o022, 0o027, 0o077])
def test_permissions_follow_the_umask(tmp_path, mask, bits):
    mask(bits)
    assert umask() == bits and os.umask(bits) == bits  # read without being changed
    write_text(tmp_path / "a.txt", "x")
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o666 & ~bits


def test_umask_without_proc_is_read_from_the_process(mask, monkeypatch):
    mask(0o027)
    monkeypatch.setattr(atomic.Path, "read_text", lambda self, *a, **k: "no umask here\n")
    assert umask() == 0o027
    assert os.umask(0o027) == 0o027  # and left as it was
