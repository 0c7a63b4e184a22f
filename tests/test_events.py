"""The protocol event log (sim/protocol/events.py): rows appended per call or per element,
stamped with the tick, held in blocks, and returned as columns."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.protocol.events import COLUMNS, FIRST_CALLS, EventLog


def test_a_scalar_call_is_one_row_with_the_defaults():
    log = EventLog()
    log.tick = 4
    log.add("heal", dai=12.5)
    assert len(log) == 1
    cols = log.columns()
    assert list(cols) == list(COLUMNS)
    row = {name: values[0] for name, values in cols.items()}
    assert row["tick"] == 4 and row["event"] == "heal" and row["ilk"] == ""
    assert (row["vault"], row["auction"], row["actor"]) == (-1, -1, "system")
    assert (row["collateral"], row["dai"]) == (0.0, 12.5) and np.isnan(row["price"])


def test_arrays_give_a_row_each_and_scalars_and_length_one_arrays_repeat():
    log = EventLog()
    log.tick = 2
    log.add(
        "bark",
        ilk="ETH-A",
        vault=np.array([3, 5, 8]),
        auction=np.array([0]),
        actor="kp",
        collateral=np.array([1.0, 2.0, 3.0]),
        dai=7.0,
        price=np.array([100.0, 90.0, 80.0]),
    )
    cols = log.columns()
    assert len(log) == 3 and cols["tick"].tolist() == [2, 2, 2]
    assert cols["vault"].tolist() == [3, 5, 8] and cols["auction"].tolist() == [0, 0, 0]
    assert cols["dai"].tolist() == [7.0] * 3 and cols["price"].tolist() == [100.0, 90.0, 80.0]
    assert cols["actor"].tolist() == ["kp"] * 3 and cols["ilk"].tolist() == ["ETH-A"] * 3


def test_empty_arrays_and_a_disabled_log_add_nothing():
    log = EventLog()
    log.add("frob", vault=np.array([], dtype=np.int64), dai=1.0)
    log.add("frob", vault=np.array([1, 2]), dai=np.array([], dtype=float))
    log.enabled = False
    log.add("frob", dai=1.0)
    assert len(log) == 0 and log.count("frob") == 0
    numeric, coded = log.coded_columns()
    assert all(v.shape == (0,) for v in numeric.values())
    assert all(codes.shape == (0,) for codes, _ in coded.values())


def test_count_by_event_and_ilk():
    log = EventLog()
    log.add("frob", ilk="ETH-A", vault=np.arange(3))
    log.add("frob", ilk="WBTC-A", vault=np.arange(2))
    log.add("bark", ilk="ETH-A")
    assert log.count("frob") == 5 and log.count("frob", "ETH-A") == 3
    assert log.count("bark", "WBTC-A") == 0 and log.count("take") == 0
    assert log.count("frob", "LINK-A") == 0


def test_coded_columns_name_each_string_once_and_consume_empties_the_log():
    log = EventLog()
    log.tick = 1
    log.add("frob", ilk="ETH-A", actor="a", vault=np.arange(2))
    log.add("bark", ilk="ETH-A", actor="kp")
    log.add("frob", ilk="ETH-A", actor="a")
    numeric, coded = log.coded_columns()
    assert numeric["vault"].tolist() == [0, 1, -1, -1]
    codes, names = coded["event"]
    assert names == ["frob", "bark"] and codes.tolist() == [0, 0, 1, 0]
    assert coded["actor"][1] == ["a", "kp"] and coded["ilk"][1] == ["ETH-A"]
    again, _ = log.coded_columns(consume=True)
    assert again["vault"].tolist() == numeric["vault"].tolist()
    assert len(log) == 0 and log.count("frob") == 0 and log.tick == 1 and log.enabled
    log.add("heal")
    assert log.columns()["event"].tolist() == ["heal"]


@settings(max_examples=60, deadline=None)
@given(
    block_rows=st.integers(1, 7),
    calls=st.lists(st.integers(0, 12), min_size=0, max_size=FIRST_CALLS // 8),
)
def test_blocks_and_the_growing_call_table_lose_no_row(block_rows, calls):
    """Rows split over blocks of any size, and more calls than the call table first holds, come
    back in order, each with its call's tick and names."""
    log, expected = EventLog(block_rows=block_rows), []
    serial = 0
    for k, n in enumerate(calls):
        log.tick = k
        vault = np.arange(serial, serial + n)
        log.add(f"e{k % 3}", ilk=f"i{k % 2}", vault=vault, dai=float(k), actor="a")
        expected += [(k, f"e{k % 3}", f"i{k % 2}", v, float(k)) for v in vault.tolist()]
        serial += n
    for k in range(FIRST_CALLS + 5):  # the call table doubles
        log.add("x", vault=np.array([serial + k]))
    cols = log.columns()
    got = list(
        zip(
            cols["tick"].tolist(),
            cols["event"].tolist(),
            cols["ilk"].tolist(),
            cols["vault"].tolist(),
            cols["dai"].tolist(),
            strict=True,
        )
    )
    assert got[: len(expected)] == expected
    assert cols["vault"].tolist()[len(expected) :] == list(range(serial, serial + FIRST_CALLS + 5))
    assert len(log) == len(expected) + FIRST_CALLS + 5
    assert log.count("x") == FIRST_CALLS + 5


@pytest.mark.parametrize("consume", [False, True])
def test_a_log_spanning_blocks_rebuilds_the_same_columns(consume):
    one, small = EventLog(), EventLog(block_rows=4)
    for log in (one, small):
        for k in range(5):
            log.tick = k
            log.add("take", auction=np.arange(k, k + 3), collateral=np.linspace(0, 1, 3))
    a, b = one.coded_columns(), small.coded_columns(consume=consume)
    assert list(a[0]) == list(b[0])
    for name in a[0]:
        np.testing.assert_array_equal(a[0][name], b[0][name], err_msg=name)
