"""Figures as PNG bytes for the page (sim/app/render.py): the picture at the resolution asked,
cropped or grown to what is drawn when asked, and drawn one at a time.
"""

from __future__ import annotations

import struct
import threading

import pytest
from matplotlib.figure import Figure

from sim.app.render import PAGE_DPI, png

#: A generous limit: it turns a hang (a lock never released) into a failure [s].
HANG_S = 60.0


def _size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG image [pixels], from its header (the IHDR chunk)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def _figure(width_in: float = 2.0, height_in: float = 1.0) -> Figure:
    fig = Figure(figsize=(width_in, height_in))
    fig.subplots().plot([0, 1], [1, 0])
    return fig


def test_a_figure_becomes_png_bytes_at_the_resolution_asked():
    assert _size(png(_figure, dpi=50)) == (100, 50)
    assert _size(png(lambda: _figure(3.0, 2.0))) == (3 * PAGE_DPI, 2 * PAGE_DPI)


def test_tight_keeps_a_label_past_the_edge_and_live_frames_keep_one_size():
    def labelled() -> Figure:
        fig = _figure()
        fig.text(1.05, 0.5, "a label past the right edge")
        return fig

    frame = png(labelled, dpi=50)
    assert _size(frame) == (100, 50)  # the figure's own size, whatever is drawn
    assert _size(png(labelled, dpi=50, tight=True))[0] > 100  # grown to keep the label
    assert _size(png(_figure, dpi=50, tight=True))[0] < 100  # cropped to what is drawn


def test_each_call_draws_its_figure_once():
    calls = []

    def draw() -> Figure:
        calls.append(1)
        return _figure()

    png(draw)
    assert len(calls) == 1


def test_figures_are_drawn_one_at_a_time():
    """While one session draws, another's drawing waits (matplotlib's settings are shared)."""
    first_inside, second_calling, first_done = (
        threading.Event(),
        threading.Event(),
        threading.Event(),
    )
    second_saw_first_done: list[bool] = []

    def first() -> Figure:
        first_inside.set()
        assert second_calling.wait(HANG_S)
        # give the second drawing every chance to start now, which it must not
        threading.Event().wait(0.3)
        fig = _figure()
        first_done.set()
        return fig

    def second() -> Figure:
        second_saw_first_done.append(first_done.is_set())
        return _figure()

    def call_second() -> None:
        second_calling.set()
        png(second)

    one = threading.Thread(target=png, args=(first,))
    one.start()
    assert first_inside.wait(HANG_S)
    two = threading.Thread(target=call_second)
    two.start()
    one.join(HANG_S)
    two.join(HANG_S)
    assert not one.is_alive() and not two.is_alive()
    assert second_saw_first_done == [True]


def test_a_drawing_that_fails_raises_and_lets_the_next_one_draw():
    def broken() -> Figure:
        raise ValueError("no such column")

    with pytest.raises(ValueError, match="no such column"):
        png(broken)
    result: list[bytes] = []
    after = threading.Thread(target=lambda: result.append(png(_figure, dpi=50)))
    after.start()
    after.join(HANG_S)
    assert not after.is_alive(), "the failed drawing kept the lock"
    assert _size(result[0]) == (100, 50)
