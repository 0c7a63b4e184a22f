"""Tests of the Vow's auction houses: debt auctions (Flopper) and surplus auctions (Flapper)."""

from __future__ import annotations

import pytest

from sim.protocol.vat import ProtocolError
from sim.protocol.vow import FLAP
from tests.test_vow import BUMP, DUMP, HUMP, SUMP, TAU, TTL, bad_debt, make_vow


def test_flop_dent_rules_kiss_and_refund():
    vow = make_vow()
    bad_debt(vow, SUMP)
    i = vow.flop(0.0)
    fl = vow.flopper
    with pytest.raises(ProtocolError, match="not-matching-bid"):
        fl.dent(i, 200.0, SUMP - 1, "k1", 1.0)
    with pytest.raises(ProtocolError, match="insufficient-decrease"):
        fl.dent(i, 240.0, SUMP, "k1", 1.0)  # 250/240 = 1.042 < 1.05
    fl.dent(i, 200.0, SUMP, "k1", 1.0)
    # the first dent pays the Vow, which cancels the auctioned debt at once
    assert vow.Ash == 0.0 and vow.awe == pytest.approx(0.0) and vow.joy == pytest.approx(0.0)
    assert vow.vat.dai["k1"] == pytest.approx(1e7 - SUMP)
    assert fl.tic[i] == 1.0 + TTL
    fl.dent(i, 190.0, SUMP, "k2", 2.0)
    assert vow.vat.dai["k1"] == pytest.approx(1e7)  # refunded
    assert vow.vat.dai["k2"] == pytest.approx(1e7 - SUMP)
    assert fl.tic[i] == 2.0 + TTL
    with pytest.raises(ProtocolError, match="already-finished-tic"):
        fl.dent(i, 100.0, SUMP, "k1", 2.0 + TTL)
    assert vow.vat.check() == []


def test_flop_tick_reoffers_lot_times_pad_only_without_bids():
    vow = make_vow()
    bad_debt(vow, 2 * SUMP)
    a, b = vow.step(0.0)["flops"]
    fl = vow.flopper
    with pytest.raises(ProtocolError, match="not-finished"):
        fl.tick(a, TAU)
    fl.tick(a, TAU + 1)
    assert fl.lot[a] == pytest.approx(DUMP * 1.2)
    assert fl.end[a] == TAU + 1 + TAU
    fl.dent(b, 100.0, SUMP, "k1", 1.0)
    with pytest.raises(ProtocolError, match="bid-already-placed"):
        fl.tick(b, TAU + 1)


def test_flop_deal_mints_the_final_lot_and_each_flop_raises_sump():
    vow = make_vow()
    bad_debt(vow, 3 * SUMP)
    ids = vow.step(0.0)["flops"]
    assert len(ids) == 3
    fl = vow.flopper
    dai0 = {k: vow.vat.dai[k] for k in ("k1", "k2")}
    final = {}
    for n, i in enumerate(ids):
        fl.dent(i, 200.0, SUMP, "k1", 1.0)
        if n > 0:
            fl.dent(i, 150.0 - n, SUMP, "k2", 2.0)
        final[i] = fl.lot[i]
    with pytest.raises(ProtocolError, match="not-finished"):
        fl.deal(ids[0], 1.0 + TTL)  # tic == now: not past yet
    minted = sum(fl.deal(i, 3.0 + TTL) for i in ids)
    assert minted == pytest.approx(sum(final.values()))
    assert vow.mkr_minted == pytest.approx(200.0 + 149.0 + 148.0)
    assert vow.mkr["k1"] == pytest.approx(200.0)
    assert vow.mkr["k2"] == pytest.approx(149.0 + 148.0)
    paid = sum(dai0[k] - vow.vat.dai[k] for k in dai0)
    assert paid == pytest.approx(3 * SUMP)  # winners paid exactly sump per flop
    assert vow.awe == pytest.approx(0.0) and vow.Ash == 0.0  # the bad debt is gone
    assert vow.vat.log.count("deal") == 3
    with pytest.raises(ProtocolError):
        fl.deal(ids[0], 1e9)
    assert vow.vat.check() == []


def test_flop_without_bids_cannot_be_dealt():
    vow = make_vow()
    bad_debt(vow, SUMP)
    i = vow.flop(0.0)
    with pytest.raises(ProtocolError, match="not-finished"):
        vow.flopper.deal(i, 1e9)


# ---------------------------------------------------------------------------------- flap
def test_flap_needs_surplus_above_sin_bump_hump_and_no_free_debt():
    vow = make_vow(wait=100.0)
    vow.vat.join_dai("vow", BUMP + HUMP - 1)
    with pytest.raises(ProtocolError, match="insufficient-surplus"):
        vow.flap(0.0)
    vow.vat.join_dai("vow", 1.0 + 500.0)
    vow.vat.suck("vow", "x", 500.0)  # free debt: flap refused until healed
    with pytest.raises(ProtocolError, match="debt-not-zero"):
        vow.flap(0.0)
    # queued debt counts in awe (dss uses vat.sin) but is not free debt
    vow.vat.suck("vow", "x", 100.0)
    vow.fess(100.0, 0.0)
    out = vow.step(1.0)  # heals 500; joy = bump + hump = 110 000 < awe 100 + bump + hump
    assert out["healed"] == pytest.approx(500.0) and out["flaps"] == []
    vow.vat.join_dai("vow", 2 * BUMP + 99.0)
    out = vow.step(2.0)
    assert len(out["flaps"]) == 2  # 130 099 and 120 099 ≥ 100 + 10 000 + 100 000; 110 099 is not
    assert vow.vat.dai[FLAP] == pytest.approx(2 * BUMP)
    assert vow.vat.log.count("flap") == 2


def test_flap_tend_rules_refund_and_deal_burns_mkr():
    vow = make_vow()
    vow.vat.join_dai("vow", BUMP + HUMP)
    i = vow.flap(0.0)
    fp = vow.flapper
    vow.give_mkr("k1", 100.0)
    vow.give_mkr("k2", 100.0)
    with pytest.raises(ProtocolError, match="lot-not-matching"):
        fp.tend(i, BUMP - 1, 5.0, "k1", 1.0)
    with pytest.raises(ProtocolError, match="insufficient-mkr"):
        fp.tend(i, BUMP, 500.0, "k1", 1.0)
    fp.tend(i, BUMP, 10.0, "k1", 1.0)
    assert vow.mkr["k1"] == pytest.approx(90.0) and vow.mkr[FLAP] == pytest.approx(10.0)
    with pytest.raises(ProtocolError, match="insufficient-increase"):
        fp.tend(i, BUMP, 10.4, "k2", 2.0)  # +4 % < beg 5 %
    fp.tend(i, BUMP, 10.5, "k2", 2.0)
    assert vow.mkr["k1"] == pytest.approx(100.0)  # refunded
    assert vow.mkr["k2"] == pytest.approx(89.5)
    assert fp.tic[i] == 2.0 + TTL
    fp.tend(i, BUMP, 12.0, "k2", 3.0)  # raising one's own bid pays the increment only
    assert vow.mkr["k2"] == pytest.approx(88.0)
    with pytest.raises(ProtocolError, match="not-finished"):
        fp.deal(i, 3.0 + TTL)
    dai_k2 = vow.vat.dai["k2"]
    assert fp.deal(i, 4.0 + TTL) == pytest.approx(12.0)
    assert vow.vat.dai["k2"] == pytest.approx(dai_k2 + BUMP)
    assert vow.mkr_burned == pytest.approx(12.0)
    assert vow.mkr[FLAP] == pytest.approx(0.0)
    assert sum(vow.mkr.values()) == pytest.approx(200.0 - 12.0)
    assert vow.vat.dai[FLAP] == pytest.approx(0.0)
    assert vow.vat.check() == []


def test_flap_tick_restarts_an_auction_without_bids():
    vow = make_vow()
    vow.vat.join_dai("vow", BUMP + HUMP)
    i = vow.flap(0.0)
    vow.flapper.tick(i, TAU + 1)
    assert vow.flapper.end[i] == TAU + 1 + TAU
    assert vow.flapper.lot[i] == BUMP
