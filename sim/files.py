"""Finding and checking input files: scenario and sweep files, data files, output paths.

- :func:`expand_paths`: files, folders (their ``*.yaml``) and glob patterns, in order;
- :func:`file_problem`: the one check every reader makes before it opens a file: it exists and
  is a regular file. A FIFO, a device, a socket or a folder given as a file is refused at once
  (opening a FIFO to read waits for a writer for ever; a device never ends);
- :func:`name_problem`: a path whose name is not UTF-8 text (bytes such as 0xff), refused
  before a run: run folders record paths in JSON and Parquet files, which hold UTF-8 only;
- :func:`is_sweep_data`: whether a parsed YAML document is a sweep file or a scenario file,
  decided on its top-level keys, the same way by every command;
- :func:`overrides_digest`, :func:`set_folder`: the short digest of ``--set`` overrides and the
  default output folder it names (``runs/<name>-set-3f9a1c``), so that a run with overrides
  never replaces the run without them.

Nothing here imports more than the standard library, so that any reader may use it.
"""

from __future__ import annotations

import glob
import hashlib
import os
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

#: Scenario file suffixes a folder given as a PATH contributes.
SCENARIO_SUFFIXES = (".yaml", ".yml")
#: Top-level keys only a sweep file has (a sweep file has ``base`` or ``design``).
SWEEP_KEYS = frozenset({"base", "design"})
#: Top-level keys every scenario file has (one of them is enough to call a file a scenario).
SCENARIO_KEYS = frozenset({"clock", "collateral", "ilks"})
#: Hex digits of the ``--set`` digest in a default folder's name (16.7 M values).
DIGEST_CHARS = 6


def _normal_override(text: str) -> str:
    """``path=value`` with the spaces around the path's parts and the value dropped."""
    key, sep, raw = text.partition("=")
    return ".".join(p.strip() for p in key.split(".")) + sep + raw.strip()


def overrides_digest(overrides: Sequence[str]) -> str:
    """The first :data:`DIGEST_CHARS` hex digits of the SHA-256 of ``--set`` overrides.

    The overrides are taken in order (a later one on the same path wins, so order matters),
    each without the spaces around its path's parts and its value: ``a.b = 1`` and ``a.b=1``
    have the same digest.

    Args:
        overrides: ``path=value`` texts, as given to ``--set``.

    Returns:
        Six lower-case hex digits, e.g. ``3f9a1c``.
    """
    text = "\n".join(_normal_override(o) for o in overrides)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:DIGEST_CHARS]


def set_folder(folder: Path, overrides: Sequence[str]) -> Path:
    """A default output folder for a command with ``--set``: ``<folder>-set-<digest>``.

    Without overrides, ``folder`` itself: the default folder of a scenario run as written
    (``runs/eth_crash_liq2``) is never taken by a run with overrides.
    """
    if not overrides:
        return folder
    return folder.with_name(f"{folder.name}-set-{overrides_digest(overrides)}")


def _kind_of_mode(mode: int) -> str:
    """What a non-regular file is, in words."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a file"


def file_problem(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` cannot be read as an input file, or ``None`` when it can be opened.

    Checked with ``stat`` (symlinks followed), never by opening the file: opening a FIFO waits
    for a writer, and a device such as ``/dev/zero`` never ends.

    Returns:
        ``None`` for a regular file; otherwise a message without the path, e.g. ``file not
        found`` or ``is not a regular file (a FIFO (named pipe))``.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "file not found"
    except NotADirectoryError:
        return "file not found (a part of the path is a file, not a folder)"
    except OSError as exc:
        return f"cannot read: {exc.strerror or type(exc).__name__}"
    except ValueError:  # a NUL byte in the name
        return "not a valid file name"
    if stat.S_ISREG(mode):
        return None
    return f"is not a regular file ({_kind_of_mode(mode)})"


def existing_special_file(path: str | os.PathLike[str]) -> str | None:
    """For an output file: what ``path`` is when it exists and is not a regular file or folder.

    A FIFO, device or socket must not be written to or replaced by an output file.

    Returns:
        ``is not a regular file (…)``, or ``None`` (missing, a regular file or a folder).
    """
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return f"is not a regular file ({_kind_of_mode(mode)})"


def name_problem(path: str | os.PathLike[str]) -> str | None:
    """Why the name of ``path`` cannot be recorded, or ``None``.

    A name with bytes that are not UTF-8 (``0xff``) reaches Python as lone surrogates; JSON
    manifests and Parquet tables (whose strings are UTF-8) cannot hold it, nor can Parquet
    files be written under it. The full path (from the current folder) is checked too.
    """
    text = os.fspath(path)
    if not _is_utf8(text):
        return "the name is not UTF-8 text (it has bytes such as 0xff); rename it"
    full = os.path.abspath(text)  # recorded as such, e.g. a batch's scenario files
    if not _is_utf8(full):
        return (
            f"its full path {shown_path(full)} is not UTF-8 text (it has bytes such as 0xff); "
            "rename the folder"
        )
    return None


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shown_path(path: str | os.PathLike[str]) -> str:
    """A path as printed in messages: bytes that are not UTF-8 as backslash escapes (0xff)."""
    text = os.fspath(path)
    return os.fsencode(text).decode("utf-8", "backslashreplace")


def is_sweep_data(data: Any) -> bool:
    """Whether a parsed YAML document is a sweep file rather than a scenario file.

    A sweep file names a ``base`` scenario or a ``design``; a scenario file has a ``clock``,
    ``collateral`` or ``ilks``. A document with both kinds of keys is taken as a scenario
    (whose schema then names the keys that do not belong). Every command decides the same
    way: ``validate`` picks the validation by it, ``run``/``batch``/``dashboard`` send a sweep
    file to ``cdpsim sweep``, ``sweep`` sends a scenario file to ``cdpsim run``.
    """
    if not isinstance(data, dict):
        return False
    keys = set(data)
    return bool(keys & SWEEP_KEYS) and not keys & SCENARIO_KEYS


def expand_paths(paths: Iterable[str | Path]) -> tuple[list[Path], list[str]]:
    """Scenario files from files, folders (their ``*.yaml``) and glob patterns, in order.

    A path given by name is checked with :func:`name_problem` and :func:`file_problem`; files a
    folder or a pattern contributes are regular files only (a FIFO among them is left out).

    Returns:
        The files (each once) and a message per path that matched nothing or cannot be read.
    """
    files: list[Path] = []
    problems: list[str] = []
    for raw in paths:
        text = str(raw)
        if not text.strip():
            problems.append("'': an empty path (an unset shell variable?); give a file or folder")
            continue
        if glob.has_magic(text):
            matches = [Path(p) for p in sorted(glob.glob(text)) if Path(p).is_file()]
            if not matches:
                problems.append(f"{text}: no file matches")
            files.extend(matches)
        elif Path(text).is_dir():
            found = sorted(
                p for p in Path(text).iterdir() if p.is_file() and p.suffix in SCENARIO_SUFFIXES
            )
            if not found:
                problems.append(f"{text}: no scenario files (*.yaml) in this folder")
            files.extend(found)
        else:
            files.append(Path(text))
    unique = []
    for path in dict.fromkeys(files):
        bad_name = name_problem(path)
        if bad_name is None:
            unique.append(path)
        else:  # found in a folder or by a pattern
            problems.append(f"{shown_path(path)}: {bad_name}")
    return unique, problems
