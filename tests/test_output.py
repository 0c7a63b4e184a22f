"""Writing figures and pages (sim/plots/output.py): the format by extension, the marker
cdpsim's files carry, which existing files may be replaced, and no temporary file left.
"""

from __future__ import annotations

import errno
import os

import pytest
from matplotlib.figure import Figure

from sim.plots import output, run_overview
from sim.plots.output import (
    MARKER,
    FileWriteError,
    OutputFileError,
    check_target,
    figure_bytes,
    figure_format,
    made_by_cdpsim,
    save_figure,
    save_text,
)
from sim.version import version
from tests import test_plots
from tests.test_plots import read_run

#: The session's output folders (a fixture of tests/test_plots.py).
outputs = test_plots.outputs


def test_save_figure_formats_and_ownership(outputs, tmp_path):
    run = read_run(outputs.liq2)
    fig = run_overview(run.timeseries, run.auctions, run.scenario)
    magic = {".png": b"\x89PNG", ".svg": b"<?xml", ".pdf": b"%PDF"}
    for ext, head in magic.items():
        path = save_figure(fig, tmp_path / f"d{ext}")
        assert path.read_bytes().startswith(head)
        assert made_by_cdpsim(path)
        assert MARKER.encode() in path.read_bytes()
    with pytest.raises(OutputFileError, match=r"unknown image extension '\.gif'"):
        save_figure(fig, tmp_path / "d.gif")
    mine = tmp_path / "mine.png"
    mine.write_bytes(b"\x89PNG my holiday picture")
    with pytest.raises(OutputFileError, match="not made by cdpsim"):
        save_figure(fig, mine, explicit=False)
    assert mine.read_bytes() == b"\x89PNG my holiday picture"
    save_figure(fig, mine, explicit=True)  # the user named it
    assert made_by_cdpsim(mine)
    save_figure(fig, tmp_path / "d.png", explicit=False)  # cdpsim's own: replaced
    (tmp_path / "folder.png").mkdir()
    with pytest.raises(OutputFileError, match="is a folder"):
        save_figure(fig, tmp_path / "folder.png")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary files


def _small_figure() -> Figure:
    fig = Figure(figsize=(2, 1))
    fig.subplots().plot([0, 1], [1, 0])
    return fig


def _leftovers(folder) -> list[str]:
    """Hidden files in ``folder``: what a write's temporary file would be called."""
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize(
    ("name", "fmt"), [("a.png", "png"), ("a.svg", "svg"), ("a.pdf", "pdf"), ("A.PNG", "png")]
)
def test_the_format_is_the_extension_s(name, fmt):
    assert figure_format(name) == fmt


@pytest.mark.parametrize(
    ("name", "said"), [("a.gif", "'.gif'"), ("a.png.txt", "'.txt'"), ("plot", "'(none)'")]
)
def test_an_unknown_extension_is_refused_saying_which_are_known(name, said):
    with pytest.raises(OutputFileError, match=r"use \.png, \.svg or \.pdf") as refused:
        figure_format(name)
    assert f"unknown image extension {said}" in str(refused.value)


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
def test_every_format_carries_the_marker_with_the_version(fmt):
    data = figure_bytes(_small_figure(), fmt)
    assert f"{MARKER} {version()}".encode() in data  # (PDF escapes the brackets after it)


def test_only_files_with_the_marker_are_cdpsim_s(tmp_path, monkeypatch):
    page = save_text(
        f'<meta name="generator" content="{MARKER}"><p>report</p>', tmp_path / "r.html"
    )
    assert made_by_cdpsim(page)
    other = tmp_path / "notes.html"
    other.write_text("<p>my notes</p>")
    assert not made_by_cdpsim(other)
    assert not made_by_cdpsim(tmp_path / "missing.png")
    assert not made_by_cdpsim(tmp_path)  # a folder
    monkeypatch.setattr(output, "MAX_OWN_FILE_BYTES", page.stat().st_size - 1)
    assert not made_by_cdpsim(page)  # too large to be one of cdpsim's files: not read


def test_which_existing_files_may_be_replaced(tmp_path):
    new = tmp_path / "deep" / "er" / "plot.png"
    assert check_target(new, explicit=False) == new  # missing: always (folders made later)
    theirs = tmp_path / "theirs.png"
    theirs.write_bytes(b"a user's picture")
    with pytest.raises(OutputFileError, match="pass --out to name the file"):
        check_target(theirs, explicit=False)
    assert check_target(theirs, explicit=True) == theirs  # the user named it
    ours = save_figure(_small_figure(), tmp_path / "ours.png")
    assert check_target(ours, explicit=False) == ours
    with pytest.raises(OutputFileError, match="is a folder; give a file name such as"):
        check_target(tmp_path, explicit=True)
    with pytest.raises(OutputFileError, match=r"theirs\.png is a file, not a folder"):
        check_target(theirs / "sub" / "plot.png", explicit=True)


def test_a_fifo_is_neither_written_to_nor_replaced(tmp_path):
    fifo = tmp_path / "plot.png"
    os.mkfifo(fifo)
    with pytest.raises(OutputFileError, match="is not a regular file"):
        save_figure(_small_figure(), fifo, explicit=True)
    assert fifo.is_fifo()


def test_a_page_is_written_as_utf8_under_the_same_rule(tmp_path):
    page = save_text("<p>Dai · 5–95 % · μ*</p>", tmp_path / "out" / "page.html")
    assert page.read_bytes() == "<p>Dai · 5–95 % · μ*</p>".encode()
    with pytest.raises(OutputFileError, match="not made by cdpsim"):
        save_text("<p>again</p>", page, explicit=False)  # no marker in it: not cdpsim's
    save_text("<p>again</p>", page, explicit=True)
    assert page.read_text() == "<p>again</p>"
    assert _leftovers(page.parent) == []


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path, monkeypatch):
    old = save_figure(_small_figure(), tmp_path / "plot.svg")
    before = old.read_bytes()

    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(FileWriteError, match=r"plot\.svg: cannot write: No space left on device"):
        save_figure(_small_figure(), old, explicit=False)
    assert old.read_bytes() == before
    assert _leftovers(tmp_path) == []
