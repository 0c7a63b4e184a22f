"""The auction houses' storage (sim/protocol/table.py): columns that grow, the running auctions'
ids kept up to date from the auctions that start and end, and interned names."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.protocol.table import AuctionTable


class Table(AuctionTable):
    FIELDS: ClassVar[dict[str, tuple[type, object]]] = {
        "active": (bool, False),
        "lot": (np.float64, np.nan),
        "bidder": (np.int32, -1),
    }

    def __init__(self, capacity: int = 2):
        self._init_table(capacity)

    def start(self, lots: list[float]) -> np.ndarray:
        """Start one auction per lot, as the houses do: grow, count, write, activate."""
        ids = np.arange(self.kicks, self.kicks + len(lots))
        self._grow(self.kicks + len(lots))
        self.kicks += len(lots)
        self.lot[ids] = lots
        self._set_active(ids, True)
        return ids


def test_columns_are_views_of_the_auctions_started():
    table = Table()
    assert table.kicks == 0 and table.lot.shape == (0,) and table.active.dtype == bool
    ids = table.start([1.0, 2.0, 3.0])
    assert ids.tolist() == [0, 1, 2]
    assert table.lot.tolist() == [1.0, 2.0, 3.0]
    assert table.bidder.tolist() == [-1, -1, -1]  # the fill value of an unused slot
    table.bidder[1] = 7  # a view: writes reach the storage
    assert table.bidder.tolist() == [-1, 7, -1]


def test_growing_keeps_the_rows_and_fills_the_new_ones():
    table = Table(capacity=1)
    table.start([5.0])
    table.bidder[0] = 3
    table.start([6.0, 7.0, 8.0])  # beyond the capacity: the columns grow
    assert table.lot.tolist() == [5.0, 6.0, 7.0, 8.0]
    assert table.bidder.tolist() == [3, -1, -1, -1]
    capacity = table._cols["lot"].shape[0]
    assert capacity >= 4 and np.isnan(table._cols["lot"][4:]).all()
    table._grow(2)  # room enough: nothing changes
    assert table._cols["lot"].shape[0] == capacity


def test_names_are_interned_once():
    table = Table()
    assert table.find_name("kp") == -1
    assert table.name_id("kp") == 0 and table.name_id("other") == 1 and table.name_id("kp") == 0
    assert table.names == ["kp", "other"] and table.find_name("other") == 1


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("start"), st.integers(1, 4)),
            st.tuples(st.just("end"), st.lists(st.integers(0, 30), max_size=4)),
            st.tuples(st.just("look"), st.just(0)),
        ),
        max_size=30,
    )
)
def test_active_ids_follow_starts_and_ends(steps):
    """The cached ids are those a pass over ``active`` finds, in ascending order.

    They are read only at each ``look`` and at the end, so starts and ends pile up between two
    reads (started ids are merged on the next read).
    """
    table = Table()
    for kind, arg in steps:
        if kind == "start":
            table.start([1.0] * arg)
        elif kind == "end":
            ids = np.array([i for i in arg if i < table.kicks], dtype=np.int64)
            table._set_active(ids, False)
        else:
            # fills the cache, which later changes then update
            assert table.active_ids().tolist() == np.flatnonzero(table.active).tolist()
    assert table.active_ids().tolist() == np.flatnonzero(table.active).tolist()


def test_many_starts_in_a_row_are_merged_once_and_in_order():
    """A vault bitten lump by lump starts one auction per bite: the ids come out ascending."""
    table = Table()
    table.start([1.0, 2.0])
    assert table.active_ids().tolist() == [0, 1]  # the cache is filled
    for _ in range(1000):
        table.start([1.0])
    table._set_active(np.array([1, 500]), False)  # an end between starts and the next read
    table.start([1.0, 1.0])
    expected = [i for i in range(1004) if i not in (1, 500)]
    assert table.active_ids().tolist() == expected
    assert table.active_ids() is table.active_ids()  # cached until the next change
