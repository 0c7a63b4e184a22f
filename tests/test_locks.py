"""One writer per folder (sim/locks.py): a second holder is refused with the first one's PID and
command, the lock file goes on release, and a killed holder leaves no stale lock."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import textwrap

import pytest

from sim.locks import FOLDER_LOCK, RUN_LOCK_SUFFIX, FolderLock, LockError
from tests.conftest import ROOT

#: Safety limit of a subprocess (not a timing assertion) [s].
TIMEOUT_S = 60

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX")


def test_where_the_lock_files_are(tmp_path):
    inside = FolderLock.inside(tmp_path / "batch")
    assert inside.path == tmp_path / "batch" / FOLDER_LOCK and inside.folder == tmp_path / "batch"
    beside = FolderLock.beside(tmp_path / "run")
    assert beside.path == tmp_path / f".run{RUN_LOCK_SUFFIX}"
    assert beside.folder == tmp_path / "run"


def test_the_holder_writes_its_pid_and_command_and_removes_the_file_on_release(tmp_path):
    lock = FolderLock.inside(tmp_path)
    assert not lock.held
    assert lock.acquire() is lock and lock.held
    pid, command = lock.path.read_text().splitlines()
    assert pid == str(os.getpid()) and command == " ".join(sys.argv)[:300]
    assert lock.acquire() is lock  # taken again by its holder: nothing changes
    lock.release()
    assert not lock.held and not lock.path.exists()
    lock.release()  # not held: nothing to do


def test_a_second_holder_is_refused_with_the_first_ones_pid(tmp_path):
    with FolderLock.inside(tmp_path):
        other = FolderLock.inside(tmp_path)
        with pytest.raises(LockError) as caught:
            other.acquire()
        assert not other.held
        error = caught.value
        assert error.folder == tmp_path
        assert error.holder.startswith(f"PID {os.getpid()}: ")
        assert str(error) == (
            f"{tmp_path}: in use by another cdpsim process ({error.holder}); wait for it to finish "
            "or stop it, or choose another output folder"
        )
    with FolderLock.inside(tmp_path) as again:  # released: free for the next writer
        assert again.held
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("text", "holder"),
    [
        ("", "PID unknown"),
        ("garbage\n", "PID unknown"),
        ("42\n", "PID 42"),
        ("42\nx y\n", "PID 42: x y"),
    ],
)
def test_the_message_says_what_the_lock_file_says(tmp_path, text, holder):
    with FolderLock.inside(tmp_path) as lock:
        lock.path.write_text(text)  # a holder that could not write its command
        with pytest.raises(LockError) as caught:
            FolderLock.inside(tmp_path).acquire()
    assert caught.value.holder == holder


def test_a_lock_error_pickles_with_its_arguments(tmp_path):
    error = LockError(tmp_path, "PID 12: cdpsim batch")
    again = pickle.loads(pickle.dumps(error))
    assert (again.folder, again.holder, str(again)) == (error.folder, error.holder, str(error))


def test_a_lock_file_that_cannot_be_created_is_an_os_error(tmp_path):
    with pytest.raises(OSError):
        FolderLock.inside(tmp_path / "missing").acquire()


HOLDER = textwrap.dedent(
    """
    import sys, time
    from sim.locks import FolderLock
    lock = FolderLock.inside(sys.argv[1]).acquire()
    print("held", flush=True)
    time.sleep(600)
    """
)


def test_another_process_is_refused_and_its_death_frees_the_lock(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path), "--as-batch"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert holder.stdout.readline() == "held\n"
        with pytest.raises(LockError) as caught:
            FolderLock.inside(tmp_path).acquire()
        assert caught.value.holder == f"PID {holder.pid}: -c {tmp_path} --as-batch"
    finally:
        holder.send_signal(signal.SIGKILL)  # killed: no release, no cleanup
        holder.wait(timeout=TIMEOUT_S)
        holder.stdout.close()
    assert (tmp_path / FOLDER_LOCK).exists()  # the file stays, the lock does not
    with FolderLock.inside(tmp_path) as lock:
        assert lock.held
        assert lock.path.read_text().startswith(f"{os.getpid()}\n")
    assert not (tmp_path / FOLDER_LOCK).exists()
