"""The look shared by every figure: palette, line styles, amount scaling, time axes, titles.

Colours are the Okabe–Ito palette (safe for the common forms of colour blindness); every series
that shares an axis also differs by line style or marker, so a figure stays readable printed in
grayscale. An ilk keeps its colour in every panel of a figure (:func:`ilk_colours`); system
series have fixed colours (:data:`SERIES`).

Nothing here changes matplotlib's global state: figures are :class:`matplotlib.figure.Figure`
objects (no pyplot), and the style is applied per figure with :func:`styled`.
"""

from __future__ import annotations

import contextlib
import math
import textwrap
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib as mpl
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

#: The Okabe–Ito palette, in the order series take it (yellow last: weak on white).
OKABE_ITO = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#F0E442",  # yellow
)
BLUE, VERMILLION, GREEN, PURPLE, ORANGE, SKY, BLACK, YELLOW = OKABE_ITO
#: Line styles, in the order series take them (with the colours above).
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 1)))
#: Markers, in the same order.
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
#: Colours of system series (one meaning each, in every figure).
SERIES = {
    "dai_supply": BLUE,
    "bad_debt": VERMILLION,
    "surplus": GREEN,
    "dai_price": PURPLE,
    "gas": ORANGE,
    "liquidated_debt": PURPLE,
    "price": BLUE,
    "zero_bid": VERMILLION,
    "var": VERMILLION,
    "mat": BLACK,
}
#: Shade of quantile bands: the 5–95 % band, then the 25–75 % band.
BAND_ALPHA_OUTER, BAND_ALPHA_INNER = 0.18, 0.38
#: Default figure width [inches] and height of one row of panels [inches].
FIG_WIDTH_IN, ROW_HEIGHT_IN = 13.0, 3.0
#: Resolution of saved raster images [dots per inch].
SAVE_DPI = 110
#: matplotlib settings applied while a figure is drawn (never globally).
RC = {
    "font.size": 9.5,
    "axes.titlesize": 10.5,
    "axes.titleweight": "bold",
    "axes.labelsize": 9.5,
    "axes.grid": True,
    "grid.alpha": 0.35,
    "grid.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.fontsize": 8.5,
    "legend.framealpha": 0.85,
    "figure.titlesize": 13,
    "figure.titleweight": "bold",
    "lines.linewidth": 1.6,
    "svg.fonttype": "none",
}
#: Characters per line of a narrow (single-panel) figure's title.
TITLE_CHARS = 80
#: Amount scales: (threshold, divisor, prefix) — the largest threshold below the data's maximum.
_SCALES = ((1e9, 1e9, "bn "), (1e6, 1e6, "M "), (1e3, 1e3, "k "))


@contextlib.contextmanager
def styled() -> Iterator[None]:
    """Apply :data:`RC` while a figure is drawn; matplotlib's settings are restored after."""
    with mpl.rc_context(RC):
        yield


def new_figure(nrows: int, ncols: int, *, height: float | None = None, **kwargs: Any) -> Figure:
    """A figure with a grid of panels, sized for ``nrows`` rows (no pyplot, no global state).

    Args:
        nrows: rows of panels.
        ncols: columns of panels.
        height: figure height [inches] (default: :data:`ROW_HEIGHT_IN` per row plus a title).
        **kwargs: passed to :meth:`Figure.subplots` (``sharex``, ``gridspec_kw``, ...).

    Returns:
        The figure (its axes in ``fig.axes``), with a constrained layout.
    """
    fig = Figure(
        figsize=(FIG_WIDTH_IN, height or ROW_HEIGHT_IN * nrows + 0.9), layout="constrained"
    )
    fig.subplots(nrows, ncols, squeeze=False, **kwargs)
    return fig


@dataclass(frozen=True)
class Style:
    """How one series is drawn: a colour, a line style and a marker."""

    color: str
    linestyle: object
    marker: str

    def line(self, **extra: object) -> dict[str, object]:
        """Keyword arguments of ``Axes.plot`` for this style (``extra`` wins)."""
        return {"color": self.color, "linestyle": self.linestyle, **extra}


def style(k: int) -> Style:
    """The ``k``-th series style: colour, line style and marker all differ from the others."""
    return Style(
        OKABE_ITO[k % len(OKABE_ITO)], LINESTYLES[k % len(LINESTYLES)], MARKERS[k % len(MARKERS)]
    )


def ilk_colours(ilks: Iterable[str]) -> dict[str, Style]:
    """A style per ilk, in the given order (the scenario's).

    The same ilk looks the same in every panel of a figure.
    """
    return {ilk: style(k) for k, ilk in enumerate(dict.fromkeys(ilks))}


def amount_scale(values: Iterable[float] | np.ndarray) -> tuple[float, str]:
    """A divisor and a prefix that make amounts readable: 3.3e8 → (1e6, ``"M "``).

    Args:
        values: the amounts to be shown (NaN ignored).

    Returns:
        ``(divisor, prefix)``; ``(1.0, "")`` below a thousand.
    """
    arr = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=float)
    finite = np.abs(arr[np.isfinite(arr)])
    top = float(finite.max()) if finite.size else 0.0
    for threshold, divisor, prefix in _SCALES:
        if top >= threshold:
            return divisor, prefix
    return 1.0, ""


def plain_numbers(ax: Axes) -> None:
    """No offset or scientific notation on the y axis (330.01, not 1e-2 + 3.3e2)."""
    with contextlib.suppress(AttributeError):  # a log or categorical axis has no offset
        ax.ticklabel_format(axis="y", useOffset=False, style="plain")


def times(frame: pd.DataFrame) -> np.ndarray:
    """The ``time`` column (UTC) as naive UTC ``datetime64`` for matplotlib's date axis."""
    t = pd.to_datetime(frame["time"], utc=True)
    return t.dt.tz_localize(None).to_numpy()


def date_axis(ax: Axes, label: bool = True) -> None:
    """Dates on the x axis, concise (hours within a day, the day once), labelled UTC."""
    locator = mdates.AutoDateLocator(minticks=4, maxticks=9)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, show_offset=True))
    if label:
        ax.set_xlabel("time (UTC)")


def wrap(text: str, width: int = TITLE_CHARS) -> str:
    """A title wrapped at ``width`` characters per line (existing line breaks kept)."""
    return "\n".join(textwrap.fill(line, width) for line in text.splitlines())


def panel_title(ax: Axes, text: str) -> None:
    """A panel title, left-aligned."""
    ax.set_title(text, loc="left")


def legend(ax: Axes, **kwargs: object) -> None:
    """A legend when the panel has labelled artists (none otherwise)."""
    handles, _labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(**{"loc": "best", **kwargs})


def note(ax: Axes, text: str) -> None:
    """A message in the middle of an empty panel (e.g. "no auctions in this run")."""
    ax.text(
        0.5,
        0.5,
        text,
        transform=ax.transAxes,
        ha="center",
        va="center",
        fontsize=10,
        color="0.35",
        wrap=True,
    )


def hide_unused(axes: Sequence[Axes]) -> None:
    """Remove panels left empty by a layout."""
    for ax in axes:
        ax.remove()


def quantile_label(q: float) -> str:
    """0.05 → ``"5 %"``."""
    pct = q * 100
    return f"{pct:.0f} %" if math.isclose(pct, round(pct)) else f"{pct:g} %"
