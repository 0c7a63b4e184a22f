"""Figures of :mod:`sim.plots` as PNG bytes for the page, drawn one at a time.

The plotting functions apply their look with ``matplotlib.rc_context``, which changes
matplotlib's process-wide settings while a figure is drawn; two browser sessions drawing at once
would see each other's settings. :func:`png` therefore draws under one lock.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from typing import Any, Protocol


class Drawable(Protocol):
    """A figure of :mod:`sim.plots` (a matplotlib ``Figure``).

    The app names it by what it uses: nothing outside the plotting package imports matplotlib.
    """

    def savefig(self, fname: Any, **kwargs: Any) -> None:
        """Write the figure."""


#: Resolution of the page's figures [dots per inch]: a 13-inch figure is about 1 100 pixels
#: wide, the width of the page's main column (0.6 times the pixels of saved files' 110 dpi).
PAGE_DPI = 85
_DRAW = threading.Lock()


def png(draw: Callable[[], Drawable], dpi: int = PAGE_DPI, *, tight: bool = False) -> bytes:
    """Draw a figure and encode it as PNG, holding the drawing lock.

    Args:
        draw: makes the figure (a :mod:`sim.plots` function with its tables bound).
        dpi: the resolution [dots per inch].
        tight: crop or grow the picture to what is drawn (a label reaching past the figure's
            edge is kept); off for the live dashboard, whose frames keep one size.

    Returns:
        The PNG file's bytes.
    """
    extra = {"bbox_inches": "tight", "pad_inches": 0.1} if tight else {}
    with _DRAW:
        fig = draw()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi, **extra)
    return buffer.getvalue()
