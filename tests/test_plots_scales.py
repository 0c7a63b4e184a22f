"""One scale across the rows of small multiples (sim/plots/scales.py), or a note that they differ."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from sim.plots.scales import SHARED_SCALE_RATIO, own_ranges_note, peak, share_rows


def column(tops: list[float]) -> list:
    fig = Figure()
    axes = fig.subplots(len(tops), 1).ravel().tolist()
    for ax, top in zip(axes, tops, strict=True):
        ax.plot([0, 1], [0, top])
        ax.set_ylim(0, top * 1.05 if top else 1.0)
    return axes


def test_rows_that_compare_share_one_range():
    axes = column([2e6, 1.5e6, 0.0])
    assert share_rows(axes, [2e6, 1.5e6, 0.0], from_zero=True)
    assert {ax.get_ylim() for ax in axes} == {(0.0, 2e6 * 1.05)}


def test_rows_far_apart_keep_their_own_ranges_and_the_note_says_so():
    tops = [2.06e6, 20.9]
    axes = column(tops)
    assert 2.06e6 / 20.9 > SHARED_SCALE_RATIO
    assert not share_rows(axes, tops, from_zero=True)
    assert axes[1].get_ylim()[1] < 100  # untouched
    assert own_ranges_note("bad debt", tops, "Dai") == (
        "bad debt: each row on its own y range (peaks from 20.9 Dai to 2.06 M Dai; compare the "
        "tick values, not the heights)"
    )
    # a level (Dai supply) is never put on one range: its changes would flatten
    assert not share_rows(column([330e6, 320e6]), [330e6, 320e6], from_zero=False)
    assert peak(np.array([np.nan, -3.0, 2.0])) == 3.0 and peak(np.array([np.nan])) == 0.0
