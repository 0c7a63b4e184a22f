"""Tests of Liquidations 2.0: price curves, Clipper (kick/status/redo/take) and Dog (bark)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.protocol.clip import (
    Clipper,
    Curve,
    Dog,
    exponential_price,
    linear_price,
    plan_bark,
    stairstep_price,
)
from sim.protocol.vat import ProtocolError, Vat
from sim.protocol.vow import Vow

ILK = "ETH-A"
MAT = 1.5
FLAT = Curve("exponential", cut=1.0)  # constant price: take tests read exact numbers


def make_system(
    n: int = 4,
    *,
    price: float = 200.0,
    dust: float = 100.0,
    chop: float = 1.1,
    hole: float = np.inf,
    Hole: float = np.inf,
    ink: float = 10.0,
    art: float = 1000.0,
    **clip_kw,
) -> SimpleNamespace:
    """A Vat with ``n`` open vaults (``ink``, ``art`` each), a Vow, a Clipper and a Dog."""
    vat = Vat()
    vat.init_ilk(ILK, n, line=np.inf, dust=dust)
    vat.ilks[ILK].spot = price / MAT
    vow = Vow(vat)
    feed = {"price": price}
    clip_kw.setdefault("curve", FLAT)
    clip = Clipper(vat, ILK, vow, lambda: feed["price"], **clip_kw)
    dog = Dog(vat, vow, Hole=Hole)
    dog.add_ilk(clip, chop=chop, hole=hole)
    idx = np.arange(n)
    if n:
        vat.open_vaults(ILK, idx, np.full(n, ink), np.full(n, art), owner=0)
    sys = SimpleNamespace(vat=vat, vow=vow, clip=clip, dog=dog, feed=feed, idx=idx)
    return sys


def set_price(sys: SimpleNamespace, price: float) -> None:
    sys.feed["price"] = price
    sys.vat.ilks[ILK].spot = price / MAT


def crash_and_bark(sys: SimpleNamespace, price: float = 100.0, now: float = 0.0) -> np.ndarray:
    set_price(sys, price)
    return sys.dog.bark(ILK, sys.idx, "kpr", now)


# ---------------------------------------------------------------------------------- price curves
def test_linear_price_formula_and_zero_after_tau():
    dur = np.array([0.0, 25.0, 50.0, 99.999, 100.0, 150.0])
    got = linear_price(200.0, dur, tau=100.0)
    want = np.array([200.0, 150.0, 100.0, 200.0 * 0.001 / 100.0, 0.0, 0.0])
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    assert got[-2] == 0.0 and got[-1] == 0.0


def test_stairstep_price_is_flat_within_a_step_and_drops_by_cut_per_step():
    dur = np.array([0.0, 89.9, 90.0, 179.99, 180.0, 900.0])
    got = stairstep_price(100.0, dur, cut=0.99, step=90.0)
    want = 100.0 * 0.99 ** np.array([0, 0, 1, 1, 2, 10])
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert got[0] == got[1] and got[2] == got[3]


def test_exponential_price_formula():
    dur = np.array([0.0, 1.0, 10.5, 3600.0])
    got = exponential_price(50.0, dur, cut=0.999)
    np.testing.assert_allclose(got, 50.0 * 0.999**dur, rtol=1e-12)


def test_curve_dispatches_and_broadcasts_over_top():
    top = np.array([100.0, 200.0])
    dur = np.array([30.0, 60.0])
    np.testing.assert_allclose(
        Curve("linear", tau=120.0).price(top, dur), linear_price(top, dur, 120.0)
    )
    np.testing.assert_allclose(
        Curve("stairstep", cut=0.9, step=20.0).price(top, dur),
        stairstep_price(top, dur, 0.9, 20.0),
    )
    np.testing.assert_allclose(
        Curve("exponential", cut=0.99).price(top, dur), exponential_price(top, dur, 0.99)
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "dutch"},
        {"kind": "linear", "tau": 0.0},
        {"kind": "stairstep", "cut": 1.2},
        {"kind": "exponential", "cut": 0.0},
        {"kind": "stairstep", "cut": 0.9, "step": 0.0},
    ],
)
def test_curve_rejects_bad_parameters(kwargs):
    with pytest.raises(ValueError):
        Curve(**kwargs)


# ---------------------------------------------------------------------------------- kick / status
def test_bark_kicks_with_top_from_feed_and_buf():
    sys = make_system(n=2, buf=1.2)
    ids = crash_and_bark(sys, price=100.0, now=5.0)
    clip = sys.clip
    np.testing.assert_array_equal(ids, [0, 1])
    np.testing.assert_allclose(clip.top[ids], 120.0)
    np.testing.assert_allclose(clip.tab[ids], 1100.0)
    np.testing.assert_allclose(clip.lot[ids], 10.0)
    np.testing.assert_allclose(clip.due[ids], 1000.0)
    np.testing.assert_array_equal(clip.tic[ids], 5.0)
    np.testing.assert_array_equal(clip.usr[ids], [0, 1])
    assert clip.active[ids].all()
    assert (clip.end_tick[ids] == -1).all()
    assert sys.vat.gem[(ILK, "clip:ETH-A")] == pytest.approx(20.0)
    assert sys.vat.check() == []


def test_kick_rejects_zero_tab_or_lot_and_missing_price():
    sys = make_system(n=0)
    with pytest.raises(ProtocolError):
        sys.clip.kick(np.array([0.0]), np.array([1.0]), np.array([0]), "k", 0.0)
    with pytest.raises(ProtocolError):
        sys.clip.kick(np.array([1.0]), np.array([0.0]), np.array([0]), "k", 0.0)
    sys.feed["price"] = 0.0
    with pytest.raises(ProtocolError):
        sys.clip.kick(np.array([1.0]), np.array([1.0]), np.array([0]), "k", 0.0)
    assert sys.clip.kicks == 0


def test_clipper_grows_beyond_its_initial_capacity():
    sys = make_system(n=0, capacity=2)
    for k in range(5):
        sys.clip.kick(np.full(3, 10.0), np.full(3, 1.0), np.arange(3), "k", float(k))
    assert sys.clip.kicks == 15
    np.testing.assert_array_equal(sys.clip.tic, np.repeat(np.arange(5.0), 3))
    assert sys.clip.active.all()
    assert (sys.clip.winner == "").all()


def test_status_tail_elapsed_cusp_crossed_or_neither():
    # Stairstep 0.9 per 60 s: price/top = 0.9^k; cusp 0.5 crossed at k = 7 (0.478).
    sys = make_system(n=1, tail=1000.0, cusp=0.5, curve=Curve("stairstep", cut=0.9, step=60.0))
    ids = crash_and_bark(sys, now=0.0)
    done, price = sys.clip.status(ids, 100.0)
    assert not done[0]
    assert price[0] == pytest.approx(100.0 * 0.9)
    done, _ = sys.clip.status(ids, 6 * 60.0)  # 0.9^6 = 0.531 >= cusp
    assert not done[0]
    done, price = sys.clip.status(ids, 7 * 60.0)  # 0.9^7 = 0.478 < cusp
    assert done[0]
    assert price[0] / sys.clip.top[0] < 0.5

    sys = make_system(n=1, tail=1000.0, cusp=0.0, curve=Curve("linear", tau=5000.0))
    ids = crash_and_bark(sys, now=0.0)
    assert not sys.clip.status(ids, 1000.0)[0][0]  # exactly tail: not yet
    assert sys.clip.status(ids, 1000.5)[0][0]


# ---------------------------------------------------------------------------------- redo
def test_redo_resets_only_done_sales_from_the_new_feed_price():
    sys = make_system(n=2, buf=1.3, tail=600.0)
    ids = crash_and_bark(sys, price=100.0, now=0.0)
    clip = sys.clip
    assert clip.redo(ids, "k", 600.0).size == 0  # not done yet
    set_price(sys, 80.0)
    reset = clip.redo(ids, "k", 601.0)
    np.testing.assert_array_equal(reset, ids)
    np.testing.assert_allclose(clip.top[ids], 80.0 * 1.3)
    np.testing.assert_array_equal(clip.tic[ids], 601.0)
    np.testing.assert_array_equal(clip.redos[ids], 1)
    assert not clip.status(ids, 601.0)[0].any()
    assert sys.vat.log.count("redo") == 2
    assert sys.vat.dai.get("k", 0.0) == 0.0  # tip = chip = 0: no incentive


def test_an_invalid_feed_price_refuses_kick_and_redo_but_not_take():
    """dss clip.sol: kick and redo read getFeedPrice (require has, Clipper/invalid-price)."""
    valid = {"has": True}
    sys = make_system(n=2, buf=1.3, tail=600.0, feed_valid=lambda: valid["has"])
    ids = crash_and_bark(sys, price=100.0, now=0.0)
    clip = sys.clip
    valid["has"] = False  # the OSM voided
    assert not clip.has_price()
    tops = clip.top[ids].copy()
    with pytest.raises(ProtocolError, match="Clipper/invalid-price"):
        clip.redo(ids, "k", 601.0)
    np.testing.assert_array_equal(clip.top[ids], tops)  # nothing changed
    assert sys.vat.log.count("redo") == 0
    with pytest.raises(ProtocolError, match="Clipper/invalid-price"):
        clip.kick(np.array([10.0]), np.array([1.0]), np.array([0]), "k", 601.0)
    sys.vat.join_dai("taker", 1e6)
    slice_, _ = clip.take(ids[:1], np.array([1.0]), np.array([200.0]), "taker", 10.0)
    assert slice_[0] > 0  # take reads no feed price


def test_status_of_active_sales_is_fresh_after_a_redo_in_the_same_tick():
    sys = make_system(n=2, buf=1.3, tail=600.0)
    ids = crash_and_bark(sys, price=100.0, now=0.0)
    clip = sys.clip
    active, done, _ = clip.status_active(601.0)
    np.testing.assert_array_equal(active, ids)
    assert done.all()
    set_price(sys, 80.0)
    clip.redo(ids, "k", 601.0)
    _, done, price = clip.status_active(601.0)  # same tick: not the memo of before the reset
    assert not done.any()
    np.testing.assert_allclose(price, 80.0 * 1.3)


def test_redo_pays_incentive_only_under_the_chost_rule():
    # chost = dust·chop = 100·1.1 = 110. Sale 0 is worth it; sale 1 has lot·feed < chost.
    sys = make_system(n=0, tip=20.0, chip=0.01, tail=10.0)
    clip = sys.clip
    ids = clip.kick(np.array([1000.0, 1000.0]), np.array([10.0, 1.0]), np.array([0, 1]), "b", 0.0)
    kick_coin = 2 * (20.0 + 0.01 * 1000.0)
    assert sys.vat.dai["b"] == pytest.approx(kick_coin)
    set_price(sys, 100.0)  # sale 1: 1 token · 100 = 100 < 110
    clip.redo(ids, "k", 11.0)
    assert sys.vat.dai["k"] == pytest.approx(20.0 + 0.01 * 1000.0)
    np.testing.assert_allclose(clip.coin[ids], [60.0, 30.0])
    # A sale whose tab < chost gets no incentive either.
    ids2 = clip.kick(np.array([50.0]), np.array([10.0]), np.array([2]), "b", 20.0)
    before = sys.vat.dai["k"]
    clip.redo(ids2, "k", 31.0)
    assert sys.vat.dai["k"] == before
    assert sys.vat.sin["vow"] == pytest.approx(sys.vat.vice)
    assert sys.vat.check() == []


# ---------------------------------------------------------------------------------- take
def setup_sale(**kw) -> SimpleNamespace:
    """One sale: tab 1100 Dai, lot 10 tokens, constant price 100 (buf 1), chost 110."""
    sys = make_system(n=1, **kw)
    sys.ids = crash_and_bark(sys, price=100.0, now=0.0)
    sys.vat.join_dai("keeper", 1e6)
    return sys


def test_take_whole_lot_ends_the_sale_with_shortfall_removed_from_dirt():
    sys = setup_sale()
    clip, ids = sys.clip, sys.ids
    assert sys.dog.Dirt == pytest.approx(1100.0)
    slice_, owe = clip.take(ids, 50.0, 100.0, "keeper", 10.0)
    assert slice_[0] == pytest.approx(10.0)
    assert owe[0] == pytest.approx(1000.0)
    assert not clip.active[0]
    assert clip.lot[0] == 0.0
    assert clip.tab[0] == pytest.approx(100.0)  # the shortfall
    assert clip.raised[0] == pytest.approx(1000.0)
    assert clip.sold[0] == pytest.approx(10.0)
    assert clip.winner[0] == "keeper"
    assert clip.end_tick[0] == sys.vat.log.tick
    assert sys.dog.Dirt == pytest.approx(0.0)
    assert sys.dog.ilks[ILK].dirt == pytest.approx(0.0)
    assert sys.vat.gem[(ILK, "keeper")] == pytest.approx(10.0)
    assert sys.vat.dai["vow"] == pytest.approx(1000.0)
    assert clip.active_ids().size == 0
    assert sys.vat.check() == []


def test_partial_take_keeps_at_least_chost():
    sys = setup_sale()
    clip, ids = sys.clip, sys.ids
    assert clip.chost == pytest.approx(110.0)
    # An ordinary partial: tab − owe = 150 >= chost.
    slice_, owe = clip.take(ids, 9.5, np.inf, "keeper", 1.0)
    assert (slice_[0], owe[0]) == pytest.approx((9.5, 950.0))
    assert clip.tab[0] == pytest.approx(150.0)
    assert sys.dog.Dirt == pytest.approx(150.0)
    # Another partial would leave 150 − 50 = 100 < chost: owe is cut to tab − chost = 40.
    slice_, owe = clip.take(ids, 0.4999, np.inf, "keeper", 2.0)
    assert owe[0] == pytest.approx(40.0)
    assert slice_[0] == pytest.approx(0.4)
    assert clip.tab[0] == pytest.approx(110.0)
    assert clip.lot[0] == pytest.approx(0.1)
    assert clip.active[0]
    assert sys.vat.check() == []


def test_partial_take_refused_when_tab_at_most_chost_but_whole_lot_allowed():
    sys = setup_sale()
    clip, ids = sys.clip, sys.ids
    clip.take(ids, 9.9, np.inf, "keeper", 1.0)  # leaves tab 110 = chost, lot 0.1
    assert clip.tab[0] == pytest.approx(110.0)
    dai_before = sys.vat.dai["keeper"]
    slice_, owe = clip.take(ids, 0.05, np.inf, "keeper", 2.0)
    assert slice_[0] == 0.0 and owe[0] == 0.0
    assert sys.vat.dai["keeper"] == dai_before
    assert clip.lot[0] == pytest.approx(0.1)
    # Buying the whole remaining lot is always allowed.
    slice_, owe = clip.take(ids, 1.0, np.inf, "keeper", 3.0)
    assert slice_[0] == pytest.approx(0.1)
    assert owe[0] == pytest.approx(10.0)
    assert not clip.active[0]
    assert sys.dog.Dirt == pytest.approx(0.0, abs=1e-9)


def test_take_caps_owe_at_tab_and_returns_leftover_to_owner():
    sys = setup_sale(buf=1.5)  # price 150: the lot is worth 1500 > tab 1100
    clip, ids = sys.clip, sys.ids
    slice_, owe = clip.take(ids, 10.0, 150.0, "keeper", 1.0)
    assert owe[0] == pytest.approx(1100.0)
    assert slice_[0] == pytest.approx(1100.0 / 150.0)
    left = 10.0 - 1100.0 / 150.0
    assert clip.returned[0] == pytest.approx(left)
    assert sys.vat.gem[(ILK, "owner")] == pytest.approx(left)
    assert sys.vat.gem[(ILK, "clip:ETH-A")] == pytest.approx(0.0, abs=1e-12)
    assert clip.tab[0] == 0.0 and clip.lot[0] == 0.0
    assert not clip.active[0]
    assert sys.dog.Dirt == pytest.approx(0.0)
    assert sys.vat.check() == []


def test_take_refuses_above_max_price_needs_reset_or_inactive():
    sys = setup_sale(tail=100.0)
    clip, ids = sys.clip, sys.ids
    slice_, owe = clip.take(ids, 1.0, 99.0, "keeper", 1.0)
    assert slice_[0] == 0.0 and owe[0] == 0.0
    slice_, owe = clip.take(ids, 1.0, 100.0, "keeper", 101.0)  # tail elapsed
    assert slice_[0] == 0.0 and owe[0] == 0.0
    clip.take(ids, 20.0, 100.0, "keeper", 2.0)  # buys everything
    slice_, owe = clip.take(ids, 1.0, 100.0, "keeper", 3.0)  # no longer running
    assert slice_[0] == 0.0 and owe[0] == 0.0
    assert sys.vat.log.count("take") == 1


def test_take_without_enough_dai_changes_nothing():
    sys = setup_sale()
    sys.vat.dai["poor"] = 50.0
    with pytest.raises(ProtocolError):
        sys.clip.take(sys.ids, 1.0, np.inf, "poor", 1.0)
    assert sys.clip.lot[0] == 10.0 and sys.clip.tab[0] == pytest.approx(1100.0)
    assert sys.vat.dai["poor"] == 50.0
    assert sys.vat.gem.get((ILK, "poor"), 0.0) == 0.0


def test_take_is_elementwise_over_many_sales():
    sys = make_system(n=3)
    ids = crash_and_bark(sys, price=100.0)
    sys.vat.join_dai("keeper", 1e6)
    slice_, owe = sys.clip.take(ids, np.array([10.0, 2.0, 0.05]), np.inf, "keeper", 1.0)
    np.testing.assert_allclose(slice_, [10.0, 2.0, 0.05])
    np.testing.assert_allclose(owe, [1000.0, 200.0, 5.0])
    np.testing.assert_array_equal(sys.clip.active, [False, True, True])
    assert sys.vat.dai["vow"] == pytest.approx(1205.0)
    assert sys.dog.Dirt == pytest.approx(sys.clip.running_tab())
    assert sys.vat.log.count("take") == 3
    with pytest.raises(ProtocolError):
        sys.clip.take(np.array([1, 1]), 1.0, np.inf, "keeper", 2.0)


# ---------------------------------------------------------------------------------- bark
def test_bark_only_unsafe_vaults_and_books_sin_fess_and_events():
    sys = make_system(n=3)
    sys.vat.frob(ILK, 2, 10.0, 0.0)  # vault 2 has 20 tokens: safe at price 100
    ids = crash_and_bark(sys, price=100.0, now=7.0)
    np.testing.assert_array_equal(sys.clip.usr[ids], [0, 1])
    ilk = sys.vat.ilks[ILK]
    np.testing.assert_array_equal(ilk.art, [0.0, 0.0, 1000.0])
    np.testing.assert_array_equal(ilk.ink, [0.0, 0.0, 20.0])
    assert sys.vow.Sin == pytest.approx(2000.0)
    assert sys.vow.queue[7.0] == pytest.approx(2000.0)
    assert sys.vat.sin["vow"] == pytest.approx(2000.0)
    assert sys.dog.Dirt == pytest.approx(2200.0)
    assert sys.vat.log.count("bark") == 2 and sys.vat.log.count("kick") == 2
    cols = sys.vat.log.columns()
    bark = cols["event"] == "bark"
    np.testing.assert_allclose(cols["dai"][bark], 1000.0)
    np.testing.assert_allclose(cols["collateral"][bark], 10.0)
    # Nothing left to liquidate: a second bark starts nothing.
    assert sys.dog.bark(ILK, sys.idx, "kpr", 8.0).size == 0
    assert sys.vat.check() == []


def test_bark_pays_keeper_reward_via_suck():
    sys = make_system(n=2, tip=300.0, chip=0.001)
    crash_and_bark(sys, price=100.0)
    assert sys.vat.dai["kpr"] == pytest.approx(2 * (300.0 + 0.001 * 1100.0))
    assert sys.vat.sin["vow"] == pytest.approx(2000.0 + 2 * 301.1)
    assert sys.vow.Sin == pytest.approx(2000.0)  # only the confiscated debt is queued
    assert sys.vat.log.count("suck") == 2
    assert sys.vat.check() == []


def test_bark_hole_partial_liquidation():
    # Three vaults of tab 1100; hole 2500 → two whole, then a partial of room 300.
    sys = make_system(n=3, hole=2500.0)
    ids = crash_and_bark(sys, price=100.0)
    assert ids.size == 3
    ilk = sys.vat.ilks[ILK]
    part = 300.0 / 1.1
    np.testing.assert_allclose(ilk.art, [0.0, 0.0, 1000.0 - part])
    np.testing.assert_allclose(ilk.ink, [0.0, 0.0, 10.0 * (1 - part / 1000.0)])
    np.testing.assert_allclose(sys.clip.tab[ids], [1100.0, 1100.0, 300.0])
    np.testing.assert_allclose(sys.clip.lot[ids], [10.0, 10.0, 10.0 * part / 1000.0])
    assert sys.dog.Dirt == pytest.approx(2500.0)
    assert sys.dog.ilks[ILK].dirt == pytest.approx(2500.0)
    # No room left: nothing more until takes free some.
    assert sys.dog.bark(ILK, sys.idx, "kpr", 1.0).size == 0
    sys.vat.join_dai("keeper", 1e6)
    sys.clip.take(ids[:1], 10.0, np.inf, "keeper", 2.0)  # frees 1100 of dirt
    more = sys.dog.bark(ILK, sys.idx, "kpr", 3.0)
    assert more.size == 1
    assert ilk.art[2] == pytest.approx(0.0)  # the rest (800 tab) fits now
    assert sys.vat.check() == []


def test_bark_system_Hole_limits_all_ilks():
    sys = make_system(n=3, Hole=1500.0)
    ids = crash_and_bark(sys, price=100.0)
    # One whole vault (1100), then a partial of 400 (≥ dust, leaves 636 ≥ dust).
    np.testing.assert_allclose(sys.clip.tab[ids], [1100.0, 400.0])
    assert sys.dog.Dirt == pytest.approx(1500.0)


def test_bark_takes_whole_vault_rather_than_leave_dust():
    # Room 1000 → partial 909 would leave 91 < dust 100: the whole vault goes (overshoot).
    sys = make_system(n=2, hole=1000.0)
    ids = crash_and_bark(sys, price=100.0)
    assert ids.size == 1
    assert sys.clip.tab[ids[0]] == pytest.approx(1100.0)
    assert sys.dog.Dirt == pytest.approx(1100.0)
    assert sys.vat.ilks[ILK].art[1] == 1000.0
    assert sys.dog.bark(ILK, sys.idx, "kpr", 1.0).size == 0


def test_bark_refuses_dusty_partial_but_later_vaults_may_still_fit():
    # hole 100: partial dart·rate = 90.9 < dust refused for vault 0 (debt 1000); vault 1
    # (debt 150) would be left with 59 < dust, so it is taken whole, as sequential dss calls do.
    sys = make_system(n=2, hole=100.0)
    sys.vat.frob(ILK, 1, 0.0, -850.0)
    sys.vat.frob(ILK, 1, -8.0, 0.0)  # vault 1: 2 tokens, 150 debt
    ids = crash_and_bark(sys, price=100.0)
    np.testing.assert_array_equal(sys.clip.usr[ids], [1])
    assert sys.clip.tab[ids[0]] == pytest.approx(165.0)
    assert sys.vat.ilks[ILK].art[0] == 1000.0


def _plan_bark_reference(art, rate, chop, dust, room):
    """dss bark, one call per vault in order (each call may revert)."""
    dart = np.zeros(len(art))
    dirt = 0.0
    for k, a in enumerate(art):
        r = room - dirt
        if not r > 0:
            continue
        d = min(a, r / rate / chop)
        if a > d:
            if (a - d) * rate < dust:
                d = a
            elif d * rate < dust:
                continue
        dart[k] = d
        # A partial fills the room exactly (dss leaves at most a few wei from rounding).
        dirt = room if d < a else dirt + d * rate * chop
    return dart


@settings(max_examples=200, deadline=None, database=None)
@given(
    art=st.lists(st.floats(1.0, 2000.0), min_size=0, max_size=12),
    rate=st.floats(1.0, 1.5),
    chop=st.floats(1.0, 1.2),
    dust=st.floats(0.0, 300.0),
    room=st.floats(1.0, 8000.0),
)
def test_plan_bark_matches_sequential_dss_calls(art, rate, chop, dust, room):
    art = np.array(art)
    got = plan_bark(art, rate, chop, dust, room)
    want = _plan_bark_reference(art, rate, chop, dust, room)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


def test_bark_skips_repeats_and_vaults_without_collateral():
    sys = make_system(n=2)
    ids = crash_and_bark(sys, price=100.0)
    set_price(sys, 100.0)
    again = sys.dog.bark(ILK, np.array([0, 0, 1, 1]), "kpr", 1.0)
    assert ids.size == 2 and again.size == 0
    assert sys.clip.kicks == 2


# ---------------------------------------------------------------------------------- breaker
def test_circuit_breaker_levels():
    sys = make_system(n=2, tail=10.0)
    ids = crash_and_bark(sys, price=100.0)[:1]
    sys.vat.join_dai("keeper", 1e6)
    sys.clip.stopped = 1
    with pytest.raises(ProtocolError):
        sys.clip.kick(np.array([1.0]), np.array([1.0]), np.array([0]), "k", 0.0)
    assert sys.clip.take(ids, 1.0, np.inf, "keeper", 1.0)[0][0] == pytest.approx(1.0)
    assert sys.clip.redo(ids, "k", 20.0).size == 1

    sys.clip.stopped = 2
    with pytest.raises(ProtocolError):
        sys.clip.redo(ids, "k", 40.0)
    assert sys.clip.take(ids, 1.0, np.inf, "keeper", 21.0)[0][0] == pytest.approx(1.0)

    sys.clip.stopped = 3
    with pytest.raises(ProtocolError):
        sys.clip.take(ids, 1.0, np.inf, "keeper", 22.0)
    assert sys.clip.lot[0] == pytest.approx(8.0)


def test_bark_raises_when_kick_is_stopped_and_changes_nothing():
    sys = make_system(n=2, stopped=1)
    set_price(sys, 100.0)
    with pytest.raises(ProtocolError):
        sys.dog.bark(ILK, sys.idx, "kpr", 0.0)
    np.testing.assert_array_equal(sys.vat.ilks[ILK].art, [1000.0, 1000.0])
    assert sys.dog.Dirt == 0.0 and sys.vat.vice == 0.0


# ---------------------------------------------------------------------------------- records
def test_records_one_row_per_sale():
    sys = make_system(n=3)
    ids = crash_and_bark(sys, price=100.0)
    sys.vat.join_dai("keeper", 1e6)
    sys.clip.take(ids[:1], 10.0, np.inf, "keeper", 1.0)
    rec = sys.clip.records()
    for name in ("id", "usr", "tab", "lot", "tic", "top", "active", "start_tick", "end_tick"):
        assert rec[name].shape == (3,)
    for name in ("tab0", "lot0", "due", "raised", "sold", "returned", "redos", "winner"):
        assert rec[name].shape == (3,)
    assert list(rec["kind"]) == ["clip"] * 3
    assert list(rec["ilk"]) == [ILK] * 3
    assert list(rec["winner"]) == ["keeper", "", ""]
    np.testing.assert_array_equal(rec["active"], [False, True, True])
    assert sys.clip.running_tab() == pytest.approx(2200.0)
    rec["tab"][:] = -1.0  # a copy: the Clipper is unchanged
    assert sys.clip.running_tab() == pytest.approx(2200.0)


def test_bark_serves_vaults_in_call_order_ignoring_repeats():
    sys = make_system(n=3, hole=2500.0)
    set_price(sys, 100.0)
    ids = sys.dog.bark(ILK, np.array([2, 0, 2, 1]), "kpr", 0.0)
    np.testing.assert_array_equal(sys.clip.usr[ids], [2, 0, 1])
    np.testing.assert_allclose(sys.clip.tab[ids], [1100.0, 1100.0, 300.0])
    assert sys.vat.ilks[ILK].art[1] == pytest.approx(1000.0 - 300.0 / 1.1)


def test_stairstep_table_gives_the_powers_bit_for_bit():
    """Many sales are priced from a table of cut^k: the same numbers as np.power, every one."""
    from sim.protocol import clip

    rng = np.random.default_rng(0)
    for cut in (0.99, 0.97, 0.5, 1.0):
        dur = rng.uniform(0, 1e6, 5000)
        dur[:10] = [0.0, 89.9, 90.0, 90.1, 180.0, 1e5, 0.5, 3e5, 7e5, 9e5]
        top = rng.lognormal(7.0, 1.0, 5000)
        want = top * np.power(cut, np.floor(dur / 90.0))
        got = clip.stairstep_price(top, dur, cut, 90.0)
        assert got.tobytes() == want.tobytes()
