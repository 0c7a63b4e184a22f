"""The ratio index (sim/protocol/ratio_index.py): after any changes to a book, its queries select
and order exactly what a pass over the whole book would."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.protocol import ratio_index
from sim.protocol.ratio_index import MARGIN, RatioIndex, lower_bound, ratios

#: Amounts of a book slot: closed (0), tiny, ordinary and large, repeated values likely.
amounts = st.one_of(
    st.just(0.0),
    st.sampled_from([1.0, 2.0, 3.0, 1e-300]),
    st.floats(0.0, 1e6, allow_nan=False, allow_infinity=False),
)


def full_pass(art: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """Every slot's ratio, computed afresh (what the index must agree with)."""
    out = np.zeros(art.shape[0])
    with np.errstate(over="ignore"):
        for k in range(art.shape[0]):
            if art[k] > 0:
                out[k] = np.inf if ink[k] == 0 else art[k] / ink[k]
    return out


def test_ratios_are_zero_for_closed_vaults_and_inf_without_collateral():
    art = np.array([0.0, 0.0, 5.0, 6.0])
    ink = np.array([0.0, 2.0, 0.0, 3.0])
    assert ratios(art, ink).tolist() == [0.0, 0.0, np.inf, 2.0]


def test_lower_bound_leaves_a_margin_below_the_threshold():
    assert lower_bound(2.0) == 2.0 * (1 - MARGIN) < 2.0
    assert lower_bound(0.0) == 0.0


def test_queries_on_a_fresh_index():
    art = np.array([0.0, 4.0, 1.0, 9.0, 2.0])
    ink = np.array([1.0, 2.0, 1.0, 3.0, 0.0])  # ratios 0, 2, 1, 3, inf
    index = RatioIndex(art, ink)
    assert index.open_count() == 4
    assert index.above(1.5).tolist() == [1, 3, 4]
    assert index.above(np.inf).tolist() == []
    assert index.count_le(np.array([0.0, 2.0, np.inf])).tolist() == [1, 3, 5]
    assert index.order_stats(np.arange(5)).tolist() == [0.0, 1.0, 2.0, 3.0, np.inf]


def test_a_touched_slot_is_read_on_the_next_query_only():
    art, ink = np.array([1.0, 2.0, 3.0]), np.ones(3)
    index = RatioIndex(art, ink)
    art[0] = 10.0  # changed without a touch: the index still knows the old ratio
    assert index.above(5.0).tolist() == []
    index.touch(0)
    assert index.above(5.0).tolist() == [0]
    art[1] = 0.0  # a vault closed
    index.touch(np.array([1]))
    assert index.open_count() == 2
    assert index.order_stats(np.arange(3)).tolist() == [0.0, 3.0, 10.0]
    index.compact()
    assert index.added.shape[0] == index.removed.shape[0] == 0 and not index.dirty.any()
    assert index.base_val.tolist() == [0.0, 3.0, 10.0] and index.base_idx.tolist() == [1, 2, 0]


def test_an_underflowing_ratio_is_still_an_open_vault():
    art, ink = np.array([1e-300, 0.0]), np.array([1e300, 1.0])
    index = RatioIndex(art, ink)
    assert index.open_count() == 1 and index.value[0] == 0.0  # 1e-600 is 0.0 in float64
    art[1] = 1e-300
    ink[1] = 1e300
    index.touch(1)
    assert index.open_count() == 2


@st.composite
def books_and_changes(draw):
    n = draw(st.integers(1, 40))
    art = draw(st.lists(amounts, min_size=n, max_size=n))
    ink = draw(st.lists(amounts, min_size=n, max_size=n))
    rounds = []
    for _ in range(draw(st.integers(1, 6))):
        changes = []
        for _ in range(draw(st.integers(0, 2 * n))):
            slot = draw(st.integers(0, n - 1))
            changes.append((slot, draw(amounts), draw(amounts)))
        # A threshold, among the book's own ratios (ties) or anywhere.
        threshold = draw(st.one_of(st.floats(0.0, 1e4), st.sampled_from([0.0, 1.0, np.inf])))
        rounds.append((changes, threshold, draw(st.booleans())))
    return np.array(art), np.array(ink), rounds


@pytest.mark.filterwarnings("ignore:overflow encountered in divide:RuntimeWarning")
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=books_and_changes(), compact_min=st.sampled_from([0, 3, 1024]))
def test_queries_select_exactly_what_a_full_pass_selects(case, compact_min):
    """``above``, ``count_le``, ``order_stats`` and ``open_count`` after random changes (merged
    into the base often or never, touched once or several times) equal a pass over the book."""
    art, ink, rounds = case
    n = art.shape[0]
    with pytest.MonkeyPatch.context() as m:
        m.setattr(ratio_index, "COMPACT_MIN", compact_min)
        m.setattr(ratio_index, "COMPACT_SHARE", 1 << 30)  # the share never decides here
        index = RatioIndex(art, ink)
        for changes, threshold, touch_twice in rounds:
            for slot, a, i in changes:
                art[slot], ink[slot] = a, i
                index.touch(slot)
                if touch_twice:
                    index.touch(np.array([slot, slot]))
            truth = full_pass(art, ink)
            assert index.open_count() == int(np.count_nonzero(art > 0))
            assert index.above(threshold).tolist() == np.flatnonzero(truth > threshold).tolist()
            expected = np.sort(truth)
            ranks = np.arange(n)
            assert index.order_stats(ranks).tolist() == expected.tolist()
            assert index.order_stats(ranks[::-1]).tolist() == expected[::-1].tolist()
            points = np.concatenate([expected, [threshold, -1.0]])
            counted = [int(np.count_nonzero(truth <= x)) for x in points]
            assert index.count_le(points).tolist() == counted


def test_more_changes_than_slots_rebuild_the_index():
    art, ink = np.arange(5.0), np.ones(5)
    index = RatioIndex(art, ink)
    for _ in range(3):
        index.touch(np.arange(5))  # 15 pending touches for 5 slots: a rebuild, not a merge
    art[:] = art[::-1].copy()
    assert index.order_stats(np.arange(5)).tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert index.above(2.5).tolist() == [0, 1]
    assert index.added.shape[0] == 0 and not index.dirty.any()  # rebuilt: no delta
