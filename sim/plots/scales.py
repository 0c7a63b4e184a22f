"""One scale across the rows of small multiples, or a note saying the rows differ.

A figure of one row per scenario (the batch fan chart's small multiples) invites reading the
same height as the same amount. Its amounts are labelled in their unit with every tick in its
own scale (``20 M``, ``500 k``, ``20``: never ``M Dai`` in one row and ``k Dai`` in the next),
and :func:`share_rows` gives a column one y range when its rows compare; when they do not,
each row keeps its own range and :func:`own_ranges_note` says so, with the peaks the rows
span.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes

from sim.formatting import compact_amount

#: A column shares one y range when its rows' non-zero peaks differ by at most this factor;
#: beyond it, the smallest row would be a flat line at the foot of the shared axis [-].
SHARED_SCALE_RATIO = 20.0
#: gid of the figure's note on the columns whose rows keep their own y ranges.
ROW_SCALE_GID = "cdpsim-row-scales"


def peak(values: np.ndarray) -> float:
    """The largest absolute finite value (0 without any)."""
    finite = np.abs(values[np.isfinite(values)])
    return float(finite.max()) if finite.size else 0.0


def share_rows(
    column: Sequence[Axes],
    peaks: Sequence[float],
    *,
    from_zero: bool,
    ratio: float = SHARED_SCALE_RATIO,
) -> bool:
    """Give a column of panels (one a row) one y range, when their rows compare.

    Args:
        column: the panels, drawn (each with its own limits so far).
        peaks: each row's largest absolute amount [the amount's unit]; 0: all zero.
        from_zero: the amounts start at 0 (bad debt, liquidated debt); a level (Dai supply),
            drawn around its own range, is never shared.
        ratio: the largest factor between the non-zero peaks that still shares.

    Returns:
        Whether the column is on one range (also with fewer than two rows, or all zero); when
        ``False`` the panels keep their own ranges and the figure must say so.
    """
    nonzero = np.asarray([p for p in peaks if p > 0], dtype=float)
    if len(column) < 2 or nonzero.size == 0:
        return True
    if not from_zero or nonzero.max() > ratio * nonzero.min():
        return False
    low = min(min(ax.get_ylim()[0], 0.0) for ax in column)
    high = max(ax.get_ylim()[1] for ax in column)
    for ax in column:
        ax.set_ylim(low, high)
    return True


def own_ranges_note(what: str, peaks: Sequence[float], unit: str, *, level: bool = False) -> str:
    """What a figure says of a column whose rows keep their own y ranges.

    Args:
        what: the quantity (``bad debt``).
        peaks: each row's largest absolute amount [``unit``].
        unit: the amounts' unit (``Dai``).
        level: a level drawn around its own range (Dai supply): the note says only that.

    Returns:
        ``"bad debt: each row on its own y range (peaks from 37.2 k Dai to 16.4 M Dai; compare
        the tick values, not the heights)"``.
    """
    if level:
        return f"{what}: each row on its own y range"
    nonzero = [p for p in peaks if p > 0]
    low, high = compact_amount(min(nonzero), unit), compact_amount(max(nonzero), unit)
    return (
        f"{what}: each row on its own y range (peaks from {low} to {high}; compare the tick "
        "values, not the heights)"
    )


__all__ = ["ROW_SCALE_GID", "SHARED_SCALE_RATIO", "own_ranges_note", "peak", "share_rows"]
