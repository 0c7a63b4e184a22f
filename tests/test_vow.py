"""Tests of the Vow: debt queue, heal, debt auctions (Flopper) and surplus auctions (Flapper)."""

from __future__ import annotations

import pytest

from sim.protocol.vat import ProtocolError, Vat
from sim.protocol.vow import Vow

SUMP = 50_000.0
DUMP = 250.0
BUMP = 10_000.0
HUMP = 100_000.0
TTL = 3 * 3600.0
TAU = 2 * 86400.0


def make_vow(**kw) -> Vow:
    vat = Vat()
    kw.setdefault("sump", SUMP)
    kw.setdefault("dump", DUMP)
    kw.setdefault("bump", BUMP)
    kw.setdefault("hump", HUMP)
    vow = Vow(vat, **kw)
    vow.flopper.pad = 1.2
    for k in ("k1", "k2"):
        vat.join_dai(k, 1e7)
    return vow


def bad_debt(vow: Vow, rad: float) -> None:
    """Free system debt of ``rad`` (unbacked Dai minted elsewhere)."""
    vow.vat.suck("vow", "elsewhere", rad)


# ---------------------------------------------------------------------------------- queue, heal
def test_fess_flog_wait_and_heal():
    vow = make_vow(wait=100.0)
    vow.vat.suck("vow", "x", 300.0)  # 300 of sin, queued below as liquidations would
    vow.fess(300.0, 0.0)
    assert vow.woe == 0.0
    assert vow.flog(99.0) == 0.0
    assert vow.flog(100.0) == pytest.approx(300.0)
    assert vow.woe == pytest.approx(300.0)
    vow.vat.join_dai("vow", 100.0)
    assert vow.heal() == pytest.approx(100.0)
    assert vow.woe == pytest.approx(200.0) and vow.joy == 0.0
    with pytest.raises(ProtocolError):
        vow.heal(1.0)  # no surplus left
    assert vow.vat.check() == []


# ---------------------------------------------------------------------------------- flop
def test_flop_needs_free_debt_of_sump_and_no_surplus():
    vow = make_vow(wait=1000.0)
    bad_debt(vow, 49_999.0)
    with pytest.raises(ProtocolError, match="insufficient-debt"):
        vow.flop(0.0)
    bad_debt(vow, 1.0)
    vow.vat.join_dai("vow", 10.0)
    with pytest.raises(ProtocolError, match="surplus-not-zero"):
        vow.flop(0.0)
    # queued debt is not free: it does not count until flogged
    vow.vat.suck("vow", "x", 80_000.0)
    vow.fess(80_000.0, 0.0)
    out = vow.step(1.0)  # heals the 10 of surplus first, then 49 990 of free debt < sump
    assert out["healed"] == pytest.approx(10.0) and out["flops"] == []
    out = vow.step(1000.0)  # the queue is released: 129 990 free → two flops
    assert len(out["flops"]) == 2
    assert vow.Ash == pytest.approx(2 * SUMP)
    assert vow.woe == pytest.approx(29_990.0)
    assert vow.flopper.lot[out["flops"]].tolist() == [DUMP, DUMP]
    assert vow.vat.log.count("flop") == 2


def test_auctions_turned_off_are_not_kicked_and_running_ones_go_on():
    vow = make_vow()
    bad_debt(vow, 3 * SUMP)
    vow.flopping = False
    assert vow.step(0.0)["flops"] == []  # free debt of 3 sump, but debt auctions are off
    vow.flopping = True
    assert len(vow.step(0.0)["flops"]) == 3
    vow.flopping = False
    fl = vow.flopper
    (i,) = fl.active_ids()[:1]
    fl.dent(int(i), DUMP / 2, SUMP, "k1", 1.0)  # a running auction takes bids while off
    assert vow.vat.log.count("dent") == 1
    surplus = make_vow()
    surplus.vat.join_dai("vow", 3 * BUMP + HUMP)
    surplus.flapping = False
    assert surplus.step(0.0)["flaps"] == []
    surplus.flapping = True
    assert len(surplus.step(0.0)["flaps"]) == 3
