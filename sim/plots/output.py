"""Writing figures and pages: format by extension, atomic, never over a user's file unasked.

A file cdpsim did not make is replaced only when the user named it (``--out``).

Every file written here carries a marker (:data:`MARKER`: PNG text chunk, SVG and PDF
``Creator``, an HTML ``<meta name="generator">``), so a later default write can tell its own
earlier output from a user's file of the same name.
"""

from __future__ import annotations

import io
from pathlib import Path

from matplotlib.figure import Figure

from sim.atomic import write_bytes
from sim.files import existing_special_file
from sim.plots.style import SAVE_DPI

#: Formats by file extension.
FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
#: Extension of a report page.
HTML = ".html"
#: The words every file written by ``cdpsim plot`` / ``report`` carries.
MARKER = "made by cdpsim"
#: Files larger than this are never cdpsim's figures or pages (not read to look) [bytes].
MAX_OWN_FILE_BYTES = 64 * 2**20


class OutputFileError(Exception):
    """The output file cannot be written as asked (a one-line message for the user)."""


class FileWriteError(OutputFileError):
    """Writing the output file failed (disk full, no permission); nothing was left half written."""


def figure_format(path: str | Path) -> str:
    """The image format of an output file from its extension.

    Raises:
        OutputFileError: the extension is not ``.png``, ``.svg`` or ``.pdf``.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise OutputFileError(
            f"{path}: unknown image extension {suffix or '(none)'!r}; use .png, .svg or .pdf"
        )
    return FORMATS[suffix]


def made_by_cdpsim(path: str | Path) -> bool:
    """Whether ``path`` is a figure or page cdpsim wrote (it carries :data:`MARKER`)."""
    path = Path(path)
    try:
        if not path.is_file() or path.stat().st_size > MAX_OWN_FILE_BYTES:
            return False
        return MARKER.encode() in path.read_bytes()
    except OSError:
        return False


def check_target(path: str | Path, *, explicit: bool) -> Path:
    """Check that an output file may be written.

    A missing file may always be written; an existing one only when the user named it
    (``explicit``, i.e. ``--out``) or when cdpsim made it (:func:`made_by_cdpsim`).

    Raises:
        OutputFileError: a folder, a FIFO or device, a path through a file, or a file cdpsim
            did not make and the user did not name.
    """
    path = Path(path)
    if path.is_dir():
        raise OutputFileError(f"{path}: is a folder; give a file name such as {path / 'plot.png'}")
    special = existing_special_file(path)
    if special is not None:  # a FIFO or device is neither written to nor replaced
        raise OutputFileError(f"{path}: {special}; give the name of a file to write")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        raise OutputFileError(f"{path}: {parent} is a file, not a folder")
    if path.exists() and not explicit and not made_by_cdpsim(path):
        raise OutputFileError(
            f"{path} exists and was not made by cdpsim; it is left alone: pass --out to name "
            "the file to write (an explicit --out replaces it)"
        )
    return path


def _write_atomic(path: Path, data: bytes) -> Path:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(path, data)
    except OSError as exc:
        raise FileWriteError(f"{path}: cannot write: {exc.strerror or exc}") from None
    return path


def figure_bytes(fig: Figure, fmt: str) -> bytes:
    """The figure as PNG, SVG or PDF bytes, marked as cdpsim's."""
    from sim.version import version

    creator = f"{MARKER} {version()} (matplotlib)"
    metadata = {"png": {"Software": creator}, "svg": {"Creator": creator}}.get(
        fmt, {"Creator": creator}
    )
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=SAVE_DPI, metadata=metadata)
    return buffer.getvalue()


def save_figure(fig: Figure, path: str | Path, *, explicit: bool = True) -> Path:
    """Write a figure in the format its extension names, atomically.

    Args:
        fig: the figure.
        path: ``.png``, ``.svg`` or ``.pdf``.
        explicit: the user named the file (it may replace any file); otherwise only a file
            cdpsim made is replaced.

    Returns:
        The file written.

    Raises:
        OutputFileError: a bad extension or a file that may not be replaced.
        FileWriteError: the file could not be written (disk full, no permission).
    """
    fmt = figure_format(path)
    target = check_target(path, explicit=explicit)
    return _write_atomic(target, figure_bytes(fig, fmt))


def save_text(text: str, path: str | Path, *, explicit: bool = True) -> Path:
    """Write a page (UTF-8) atomically, with the same rule as :func:`save_figure`.

    Raises:
        OutputFileError: a file that may not be replaced.
        FileWriteError: the file could not be written (disk full, no permission).
    """
    target = check_target(path, explicit=explicit)
    return _write_atomic(target, text.encode("utf-8"))
