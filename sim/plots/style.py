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
import matplotlib.colors as mcolors
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

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
    # Text is drawn as written: a scenario or parameter name with "$" in it is not TeX math
    # (which fails to parse, e.g. "$\\frac{$"); no label of cdpsim's uses mathtext.
    "text.parse_math": False,
}
#: Characters per line of a narrow (single-panel) figure's title.
TITLE_CHARS = 80
#: Amount scales: (threshold, divisor, prefix) — the largest threshold below the data's maximum.
_SCALES = ((1e9, 1e9, "bn "), (1e6, 1e6, "M "), (1e3, 1e3, "k "))
#: An amount axis (Dai supply, ...) spans at least this fraction of its level, so that a
#: change of 0.02 % does not fill the panel [-].
MIN_RELATIVE_SPAN = 0.02
#: Palette colours dark enough for text on white; the others are darkened for text.
TEXT_SAFE = (BLUE, VERMILLION, GREEN, BLACK)
#: How much a light colour is mixed with black when used for text [-].
TEXT_DARKEN = 0.45
#: Label of the legend-only axes of a figure's shared key (not a panel).
KEY_LABEL = "<key>"
#: gid of a legend drawn on top of a panel's data: :func:`make_room` lifts the data below it.
ROOM_GID = "cdpsim-legend-room"
#: Gap kept between a top legend and the data below it [fraction of the axes height].
ROOM_MARGIN = 0.03
#: A legend taking more than this share of a panel's height is left where it is [-].
ROOM_MAX = 0.7
#: Size [points] and gray of a scenario path written in small type under a human label.
PATH_FONT_SIZE, PATH_COLOUR = 7.0, "0.4"
#: gid of those small-type paths (tests and layouts find them by it).
PATH_GID = "cdpsim-parameter-path"
#: gid of the names :func:`row_labels` writes beside a panel's rows.
ROW_NAME_GID = "cdpsim-row-name"
#: Distance from the axis line to a row label's right edge: tick length + pad [points].
ROW_LABEL_PAD_PT = 7.0
#: Room a repelled label keeps from a point's centre, a whisker and another label [points].
LABEL_CLEARANCE_PT = {"marker": 5.5, "whisker": 2.5, "label": 1.5}


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


def min_relative_span(ax: Axes, fraction: float = MIN_RELATIVE_SPAN) -> None:
    """Widen a y axis to at least ``fraction`` of its level, around its middle.

    A Dai supply moving from 330.00 M to 330.06 M would otherwise fill the panel and look like
    a collapse; with the default it is drawn on 326.7–333.4 M, as flat as it is.
    """
    low, high = ax.get_ylim()
    level = max(abs(low), abs(high))
    if level == 0 or not np.isfinite(level):
        return
    if high - low < fraction * level:
        middle = (low + high) / 2
        ax.set_ylim(middle - fraction * level / 2, middle + fraction * level / 2)


def text_colour(color: Any) -> str:
    """A colour for text of a series: its own when dark enough, else darkened (legible on white).

    Orange, sky blue, yellow and reddish purple of the palette are too light for small text.
    """
    hex_colour = mcolors.to_hex(color)
    if hex_colour in (mcolors.to_hex(c) for c in TEXT_SAFE):
        return hex_colour
    r, g, b = mcolors.to_rgb(color)
    keep = 1.0 - TEXT_DARKEN
    return mcolors.to_hex((r * keep, g * keep, b * keep))


def key(ax: Axes, handles: Sequence[Artist], ncols: int, **kwargs: Any) -> None:
    """Turn ``ax`` into the figure's shared key: no axes, one legend of ``handles``.

    The key sits in a row of the figure's grid of its own, so that it never covers a panel or
    the title (constrained layout makes room for it).
    """
    ax.set_label(KEY_LABEL)
    ax.set_axis_off()
    if handles:
        ax.legend(
            handles=list(handles),
            loc="center",
            ncols=max(1, ncols),
            frameon=False,
            fontsize=8.5,
            handlelength=2.6,
            columnspacing=1.6,
            **kwargs,
        )


def labelled_axis(ax: Axes, axis: str, text: str, path: str | None) -> None:
    """An axis label, and under it (beside it, on a y axis) the scenario path in small type.

    Args:
        ax: the panel.
        axis: ``x`` or ``y``.
        text: the label (``crash depth (ETH) [-]``).
        path: the path it names (``collateral.ETH.price.crash.depth``), or ``None``.
    """
    label = ax.set_xlabel(text) if axis == "x" else ax.set_ylabel(text)
    if not path:
        return
    under = {"xy": (0.5, 0.0), "xytext": (0, -1), "ha": "center", "va": "top", "rotation": 0}
    beside = {"xy": (0.0, 0.5), "xytext": (-1, 0), "ha": "right", "va": "center", "rotation": 90}
    ax.annotate(
        path,
        xycoords=label,
        textcoords="offset points",
        fontsize=PATH_FONT_SIZE,
        color=PATH_COLOUR,
        gid=PATH_GID,
        **(under if axis == "x" else beside),
    )


def row_labels(
    ax: Axes,
    positions: Sequence[float],
    labels: Sequence[tuple[str, str | None]],
    fontsize: float = 8.0,
) -> None:
    """Y tick labels of two lines: a human name, and the path under it in small type.

    The ticks stay at ``positions`` without text; each name sits just above its tick's height
    and its path (if any) just below, right-aligned against the axis as tick labels are.

    Args:
        ax: the panel.
        positions: the rows' y values [data].
        labels: per row, ``(name, path)`` (``path`` ``None``: the name alone, centred).
        fontsize: the names' size [points].
    """
    ax.set_yticks(list(positions), [""] * len(positions))
    where = ax.get_yaxis_transform()
    for y, (name, path) in zip(positions, labels, strict=True):
        ax.annotate(
            name,
            (0, y),
            xycoords=where,
            xytext=(-ROW_LABEL_PAD_PT, 0.5 if path else 0),
            textcoords="offset points",
            ha="right",
            va="bottom" if path else "center",
            fontsize=fontsize,
            gid=ROW_NAME_GID,
            annotation_clip=False,
        )
        if path:
            ax.annotate(
                path,
                (0, y),
                xycoords=where,
                xytext=(-ROW_LABEL_PAD_PT, -0.5),
                textcoords="offset points",
                ha="right",
                va="top",
                fontsize=PATH_FONT_SIZE,
                color=PATH_COLOUR,
                gid=PATH_GID,
                annotation_clip=False,
            )


def paths_note(labels: Sequence[tuple[str, str | None]]) -> str:
    """``"crash depth (ETH) = collateral.ETH.price.crash.depth; ..."`` for the labels with a path."""
    return "; ".join(f"{name} = {path}" for name, path in labels if path)


def panels(fig: Figure) -> list[Axes]:
    """The figure's panels: its axes without colour bars and the shared key."""
    return [ax for ax in fig.axes if ax.get_label() not in ("<colorbar>", KEY_LABEL)]


def top_legend(ax: Axes, ncols: int = 2, **kwargs: Any) -> None:
    """A legend along the top of a panel; :func:`make_room` then keeps the data below it."""
    handles, _labels = ax.get_legend_handles_labels()
    if handles:
        legend_ = ax.legend(loc="upper left", ncols=ncols, **kwargs)
        legend_.set_gid(ROOM_GID)


def make_room(fig: Figure) -> None:
    """Raise the top of each panel with a :func:`top_legend` so that its data end below it.

    The figure is laid out once (without rendering) to measure the legends; panels whose
    legend would take more than :data:`ROOM_MAX` of their height are left alone.
    """
    flagged = [
        ax
        for ax in fig.axes
        if ax.get_legend() is not None and ax.get_legend().get_gid() == ROOM_GID
    ]
    if not flagged:
        return
    fig.draw_without_rendering()
    for ax in flagged:
        box: Bbox = ax.get_window_extent()
        taken = (box.y1 - ax.get_legend().get_window_extent().y0) / max(box.height, 1e-9)
        if not 0 < taken < ROOM_MAX:
            continue
        low, high = ax.get_ylim()
        top = ax.dataLim.y1
        if not np.isfinite(top) or high <= low:
            continue
        target = 1.0 - taken - ROOM_MARGIN
        if (top - low) / (high - low) > target:
            ax.set_ylim(low, low + (top - low) / target)


def renderer_of(fig: Figure) -> Any:
    """The figure's renderer after a layout pass (text sizes can be measured with it)."""
    fig.draw_without_rendering()
    # Figure has no public getter; draw_without_rendering itself uses this one.
    return fig._get_renderer()


def repel_labels(
    ax: Axes,
    xs: Sequence[float],
    ys: Sequence[float],
    texts: Sequence[str],
    colours: Sequence[Any],
    *,
    fontsize: float = 7.5,
    avoid: Sequence[tuple[float, float, float, float]] = (),
) -> list[Artist]:
    """Label points without the labels covering each other, the points or the axes' edges.

    Each label tries offsets around its point, nearest first (then farther, with a leader
    line), and takes the first whose box overlaps no label placed before, no point marker and
    stays inside the axes; failing all, the one with the least overlap. Labels are placed
    largest ``y`` first. The axes' limits must be final (call after setting them).

    Args:
        ax: the panel.
        xs: the points' x (data units).
        ys: the points' y (data units).
        texts: one label per point.
        colours: one colour per point; text takes :func:`text_colour` of it.
        fontsize: the labels' size [points].
        avoid: more boxes for the labels to keep off, ``(x0, y0, x1, y1)`` in data units
            (e.g. the whiskers of error bars).

    Returns:
        The labels' annotations, in the order of ``texts``.
    """
    fig = ax.get_figure()
    renderer = renderer_of(fig)  # type: ignore[arg-type]
    to_px = ax.transData
    frame = ax.get_window_extent(renderer)
    points = [to_px.transform((x, y)) for x, y in zip(xs, ys, strict=True)]
    px_per_pt = fig.dpi / 72.0  # type: ignore[union-attr]
    marker_px = LABEL_CLEARANCE_PT["marker"] * px_per_pt
    markers = [
        Bbox.from_extents(px - marker_px, py - marker_px, px + marker_px, py + marker_px)
        for px, py in points
    ]
    rings = (1.0, 2.2, 3.6, 5.5, 8.0)
    directions = (
        (1, 1),
        (1, -1),
        (-1, 1),
        (-1, -1),
        (0, 1.4),
        (0, -1.6),
        (1.5, 0),
        (-1.5, 0),
        (0.5, 2.2),
        (-0.5, 2.2),
        (0.5, -2.2),
        (-0.5, -2.2),
    )
    whisker_px = LABEL_CLEARANCE_PT["whisker"] * px_per_pt
    pad = LABEL_CLEARANCE_PT["label"] * px_per_pt
    for x0, y0, x1, y1 in avoid:
        (px0, py0), (px1, py1) = to_px.transform([(x0, y0), (x1, y1)])
        markers.append(
            Bbox.from_extents(
                min(px0, px1), min(py0, py1) - whisker_px, max(px0, px1), max(py0, py1) + whisker_px
            )
        )
    placed: list[Bbox] = []
    out: list[Artist | None] = [None] * len(texts)
    order = sorted(range(len(texts)), key=lambda i: -points[i][1])
    for i in order:
        best: tuple[float, Any, tuple[float, float], bool] | None = None
        for ring in rings:
            for dx, dy in directions:
                offset = (7.0 * ring * dx, 7.0 * ring * dy)
                ann = ax.annotate(
                    texts[i],
                    (xs[i], ys[i]),
                    xytext=offset,
                    textcoords="offset points",
                    ha="left" if dx > 0 else ("right" if dx < 0 else "center"),
                    va="bottom" if dy > 0 else ("top" if dy < 0 else "center"),
                    fontsize=fontsize,
                    color=text_colour(colours[i]),
                )
                box = ann.get_window_extent(renderer).expanded(1.0, 1.0).padded(pad)
                ann.remove()
                # covering a label or a point is worse than crossing a whisker
                cost = 3 * sum(_overlap(box, other) for other in placed)
                cost += sum(
                    (3 if k < len(points) else 1) * _overlap(box, m)
                    for k, m in enumerate(markers)
                    if k != i
                )
                inside = (
                    box.x0 >= frame.x0 and box.x1 <= frame.x1 and box.y0 >= frame.y0
                ) and box.y1 <= frame.y1
                cost += 0.0 if inside else box.width * box.height
                if best is None or cost < best[0]:
                    best = (cost, box, offset, ring > 1)
                if cost == 0:
                    break
            if best is not None and best[0] == 0:
                break
        assert best is not None
        _cost, box, offset, leader = best
        placed.append(box)
        dx, dy = offset
        out[i] = ax.annotate(
            texts[i],
            (xs[i], ys[i]),
            xytext=offset,
            textcoords="offset points",
            ha="left" if dx > 0 else ("right" if dx < 0 else "center"),
            va="bottom" if dy > 0 else ("top" if dy < 0 else "center"),
            fontsize=fontsize,
            color=text_colour(colours[i]),
            arrowprops=(
                {"arrowstyle": "-", "color": text_colour(colours[i]), "lw": 0.8, "shrinkA": 1}
                if leader
                else None
            ),
            zorder=5,
        )
    return [a for a in out if a is not None]


def _overlap(a: Bbox, b: Bbox) -> float:
    """The area two boxes share [px²]."""
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0
