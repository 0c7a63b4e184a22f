"""One writer per output folder: an advisory lock that names its holder.

Two ``cdpsim batch`` (or ``sweep``) on one folder would both run every run, and of several
``cdpsim run`` on one ``--out`` all but the last would report a run that is no longer there. A
writer takes the folder's lock first; a second writer is refused at once with the holder's PID,
before it computes anything.

The lock is :func:`fcntl.flock` on a small file (``.cdpsim.lock`` inside a batch or sweep folder,
``.NAME.cdpsim-lock`` next to a run folder, which is replaced whole when rewritten). The kernel
releases it when its holder exits, however it exits, so a killed writer never leaves a stale
lock; the file itself is removed on release. The file holds the holder's PID and command, for
the message. Where ``fcntl`` does not exist (Windows) the lock is a no-op.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Self

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

#: The lock file inside a batch or sweep folder.
FOLDER_LOCK = ".cdpsim.lock"
#: Suffix of the lock file next to a run folder (``.NAME`` + this).
RUN_LOCK_SUFFIX = ".cdpsim-lock"
#: Characters of the holder's command kept in the lock file.
_COMMAND_CHARS = 300


class LockError(Exception):
    """The folder is being written by another process (the message names it)."""

    def __init__(self, folder: str | Path, holder: str):
        self.folder = Path(folder)
        self.holder = holder
        super().__init__(
            f"{folder}: in use by another cdpsim process ({holder}); wait for it to finish or "
            "stop it, or choose another output folder"
        )

    def __reduce__(self):
        """Pickle with the constructor's arguments (process pools send errors back)."""
        return (type(self), (self.folder, self.holder))


class FolderLock:
    """The lock of one output folder, held from :meth:`acquire` to :meth:`release`.

    Args:
        lock_file: the lock file's path (its folder must exist when acquiring).
        folder: the output folder it protects, for messages.
    """

    def __init__(self, lock_file: str | Path, folder: str | Path):
        self.path = Path(lock_file)
        self.folder = Path(folder)
        self._fd: int | None = None

    @classmethod
    def inside(cls, folder: str | Path) -> FolderLock:
        """The lock of a batch or sweep folder (a file inside it)."""
        return cls(Path(folder) / FOLDER_LOCK, folder)

    @classmethod
    def beside(cls, folder: str | Path) -> FolderLock:
        """The lock of a run folder (a hidden file next to it: the folder is replaced whole)."""
        folder = Path(folder)
        return cls(folder.with_name(f".{folder.name}{RUN_LOCK_SUFFIX}"), folder)

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def acquire(self) -> Self:
        """Take the lock, or refuse at once.

        Raises:
            LockError: another process holds it (its PID and command are in the message).
            OSError: the lock file cannot be created (no permission, disk full).
        """
        if self._fd is not None or fcntl is None:
            return self
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd)
                os.close(fd)
                raise LockError(self.folder, holder) from None
            except BaseException:
                os.close(fd)
                raise
            # The holder before us may have removed the file between our open and our lock:
            # then we hold a lock on a file nobody else can find; take the one at the path.
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        try:
            os.ftruncate(fd, 0)
            command = " ".join(sys.argv)[:_COMMAND_CHARS]
            os.write(fd, f"{os.getpid()}\n{command}\n".encode(errors="replace"))
        except OSError:
            pass  # the lock holds; only the message would lack the command
        self._fd = fd
        return self

    def release(self) -> None:
        """Give the lock up and remove its file (nothing if not held)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(fd)

    def __enter__(self) -> Self:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_holder(fd: int) -> str:
    """``PID 1234: cdpsim batch …`` from a lock file, or what can be said without it."""
    try:
        text = os.pread(fd, 4096, 0).decode(errors="replace")
    except OSError:
        text = ""
    pid, _, command = text.partition("\n")
    command = command.strip()
    if not pid.strip().isdigit():
        return "PID unknown"
    return f"PID {pid.strip()}" + (f": {command}" if command else "")


__all__ = ["FOLDER_LOCK", "RUN_LOCK_SUFFIX", "FolderLock", "LockError"]
