"""Writing one file atomically: a temporary file next to it, then a rename.

A reader sees the old file or the new one, never half of one; a write that fails (disk full, no
permission, Ctrl-C) removes its temporary file and leaves the old file as it was, so the same
command can simply be run again. Every file cdpsim writes outside a run folder (``batch.json``,
``runs.parquet``, ``points.parquet``, ``sensitivity.parquet``, discovery tables, reports,
figures) goes through :func:`replacing`; run folders are written whole by :mod:`sim.rundir`.

The temporary file is ``.NAME.tmp-PID-XXXX`` in the same folder (a rename within one file
system is atomic). Errors are the :class:`OSError` of the failed step; callers turn them into
messages (``cannot write PATH: No space left on device``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


@contextlib.contextmanager
def replacing(path: str | Path) -> Iterator[Path]:
    """A temporary path to write; on success it replaces ``path``, on any failure it is removed.

    Example::

        with replacing(folder / "points.parquet") as tmp:
            table.to_parquet(tmp, index=False)

    Raises:
        OSError: the temporary file cannot be created, written or renamed (nothing is left);
            its ``filename`` is ``path`` (not the temporary file) and its ``strerror`` says why
            in a few words, whichever library raised it.
    """
    path = Path(path)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.tmp-{os.getpid()}-", dir=path.parent)
    except OSError as exc:
        raise _about(exc, path) from exc
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~umask())  # mkstemp makes it 0600; follow the umask as open does
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError):
            raise _about(exc, path) from exc
        raise


#: ``errno 28`` inside a library's message (pyarrow says "[errno 28] No space left on device").
_ERRNO_IN_TEXT = re.compile(r"errno (\d+)", re.IGNORECASE)


def _about(exc: OSError, path: Path) -> OSError:
    """The same error, about ``path``, with the system's words for its errno."""
    number = exc.errno
    if number is None:
        found = _ERRNO_IN_TEXT.findall(str(exc))
        number = int(found[-1]) if found else None
    reason = os.strerror(number) if number else (exc.strerror or str(exc))
    return OSError(number, reason, str(path))


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; return ``path``."""
    with replacing(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; return ``path``."""
    with replacing(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_json(path: str | Path, payload: Any) -> Path:
    """Write ``payload`` as indented JSON (ending with a newline) atomically; return ``path``."""
    return write_text(path, json.dumps(payload, indent=2) + "\n")


def write_parquet(path: str | Path, table: pd.DataFrame) -> Path:
    """Write a table as Parquet (without its index) atomically; return ``path``."""
    with replacing(path) as tmp:
        table.to_parquet(tmp, index=False)
    return Path(path)


def umask() -> int:
    """The process's umask, read without changing it where the platform allows (threads)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


__all__ = ["replacing", "umask", "write_bytes", "write_json", "write_parquet", "write_text"]
