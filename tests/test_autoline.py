"""DssAutoLine (DC-IAM) against makerdao/dss-auto-line's rules: gap, ttl, max, decreases, block."""

from __future__ import annotations

import numpy as np
import pytest

from sim.protocol.autoline import AutoLine
from sim.protocol.vat import ProtocolError, Vat

ILK = "ETH-A"
HOUR = 3600.0


def make(debt: float = 100.0e6, *, line: float = 120.0e6, Line: float = 1.0e9) -> AutoLine:
    """A Vat with one vault of ``debt`` Dai (rate 1) in ETH-A and an AutoLine over it."""
    vat = Vat(Line=Line)
    vat.init_ilk(ILK, 1, line=line, dust=0.0)
    vat.ilks[ILK].spot = 1.0
    vat.open_vaults(ILK, np.arange(1), np.array([10 * debt]), np.array([debt]), owner=0)
    auto = AutoLine(vat)
    # ETH-A's 2021-10-22 set scaled down: max 1 B, gap 50 M, 6 h between increases.
    auto.set_ilk(ILK, line=1.0e9, gap=50.0e6, ttl=6 * HOUR)
    return auto


def borrow(auto: AutoLine, dart: float) -> None:
    auto.vat.frob(ILK, 0, 0.0, dart)


def test_first_exec_sets_debt_plus_gap_and_moves_line_by_the_difference():
    auto = make()
    assert auto.exec(ILK, now=60.0, block=1) == 150.0e6
    assert auto.vat.ilks[ILK].line == 150.0e6
    assert auto.vat.Line == 1.0e9 - 120.0e6 + 150.0e6
    assert auto.ilks[ILK].lastInc == 60.0 and auto.ilks[ILK].last == 1
    assert auto.vat.log.count("exec", ILK) == 1


def test_increase_waits_ttl_since_the_last_increase():
    auto = make()
    auto.exec(ILK, now=0.0, block=1)
    borrow(auto, 40.0e6)
    # 6 h less a second: refused (block.timestamp < lastInc + ttl); at 6 h exactly: allowed.
    assert auto.exec(ILK, now=6 * HOUR - 1.0, block=2) == 150.0e6
    assert auto.exec(ILK, now=6 * HOUR, block=3) == 190.0e6
    assert auto.ilks[ILK].lastInc == 6 * HOUR


def test_decrease_does_not_wait_and_keeps_lastinc():
    auto = make()
    auto.exec(ILK, now=0.0, block=1)
    borrow(auto, -30.0e6)
    assert auto.exec(ILK, now=60.0, block=2) == 120.0e6
    assert auto.vat.Line == 1.0e9
    assert auto.ilks[ILK].lastInc == 0.0 and auto.ilks[ILK].last == 2


def test_line_never_above_the_max():
    auto = make(debt=980.0e6, line=990.0e6, Line=2.0e9)
    assert auto.exec(ILK, now=0.0, block=1) == 1.0e9
    # Debt above the max: the ceiling comes down to the max, never above it.
    auto.vat.ilks[ILK].line = 2.0e9
    borrow(auto, 30.0e6)
    assert auto.exec(ILK, now=60.0, block=2) == 1.0e9


def test_one_change_per_block_and_no_change_when_equal():
    auto = make()
    auto.exec(ILK, now=0.0, block=1)
    borrow(auto, -30.0e6)
    assert auto.exec(ILK, now=0.0, block=1) == 150.0e6  # same block: nothing
    calls = auto.vat.log.count("exec")
    assert auto.exec(ILK, now=1.0, block=2) == 120.0e6
    assert auto.exec(ILK, now=2.0, block=3) == 120.0e6  # lineNew == line: no call logged
    assert auto.vat.log.count("exec") == calls + 1 and auto.ilks[ILK].last == 2


def test_fees_count_in_the_debt():
    auto = make()
    auto.vat.ilks[ILK].rate = 1.1
    assert auto.exec(ILK, now=0.0, block=1) == pytest.approx(160.0e6)


def test_unconfigured_ilk_and_invalid_line():
    auto = make()
    auto.rem_ilk(ILK)
    assert auto.exec(ILK, now=0.0, block=1) == 120.0e6
    with pytest.raises(ProtocolError, match="invalid-line"):
        auto.set_ilk(ILK, line=0.0, gap=1.0, ttl=0.0)


def test_line_below_the_ilk_line_reverts_and_changes_nothing():
    auto = make(Line=100.0e6)
    with pytest.raises(ProtocolError, match="sub-underflow"):
        auto.exec(ILK, now=0.0, block=1)
    assert auto.vat.ilks[ILK].line == 120.0e6 and auto.vat.Line == 100.0e6


def test_unlimited_line_stays_unlimited():
    auto = make(Line=np.inf)
    auto.exec(ILK, now=0.0, block=1)
    assert auto.vat.Line == np.inf
