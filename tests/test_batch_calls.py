"""Batch calls of the auction houses leave exactly the state of the calls one after another.

The MKR bidders deal, restart and bid on many debt and surplus auctions per tick in one batch
(``deal_many``, ``tick_many``, ``dent_many``, ``tend_many``); the keepers' English bids pay in
order within their budget (``_affordable``). Each must leave every balance, auction column and
event row bit for bit as the loop of single calls would, and fall back to that loop — raising
where it raises — when a call of it would fail.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from sim.protocol import flip
from sim.protocol import numeric as num
from sim.protocol.vat import ProtocolError, Vat
from sim.protocol.vow import FLAP, VOW, Vow, replay

SUMP = 50_000.0


def state(vow: Vow) -> dict:
    """Everything a batch may change, for exact comparison."""
    vat = vow.vat
    out = {
        "dai": dict(vat.dai),
        "sin": dict(vat.sin),
        "vice": vat.vice,
        "debt": vat.debt,
        "mkr": dict(vow.mkr),
        "Ash": vow.Ash,
        "flop_dai": vow.flop_dai,
        "mkr_minted": vow.mkr_minted,
        "mkr_burned": vow.mkr_burned,
        "fill": vow.flapper.fill,
        "events": {k: v.tolist() for k, v in vat.log.columns().items()},
    }
    for house in (vow.flopper, vow.flapper):
        for name in house.FIELDS:
            out[f"{house.kind}.{name}"] = getattr(house, name).tolist()
    return out


def same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert repr(a[key]) == repr(b[key]), key  # repr: bit for bit, NaN equal to NaN


def debt_auctions(rng: np.random.Generator, n: int = 40) -> Vow:
    """A Vow with ``n`` debt auctions, some with bids from two bidders, and odd balances."""
    vat = Vat()
    vow = Vow(vat, sump=SUMP, dump=250.0, bump=10_000.0, hump=1e5)
    for name in ("b1", "b2", "b3"):
        vat.join_dai(name, float(rng.uniform(1e6, 3e6)) * (50 if name == "b3" else 1))
        vow.give_mkr(name, 0.0)
    vat.suck(VOW, "elsewhere", n * SUMP + float(rng.uniform(0, 1e4)))
    for _ in range(n):
        vow.flop(0.0)
    # Some auctions get a first bid now (paying the Vow, kissing debt), others later.
    flop = vow.flopper
    for i in range(0, n, 3):
        flop.dent(i, flop.lot[i] / 1.07, flop.bid[i], "b1" if i % 2 else "b2", 10.0)
    return vow


@pytest.mark.parametrize("seed", range(4))
def test_dent_many_is_the_loop(seed):
    rng = np.random.default_rng(seed)
    vow = debt_auctions(rng)
    if seed % 2:
        vow.Ash = float(rng.uniform(0, 5 * SUMP))  # Ash runs out within the batch
    flop = vow.flopper
    ids = flop.active_ids()
    ids = ids[flop.guy[ids] != flop.name_id("b3")]
    lots = flop.lot[ids] / (1.0 + flop.beg) * rng.uniform(0.9, 1.0, ids.size)
    loop = copy.deepcopy(vow)
    for i, lot in zip(ids, lots, strict=True):
        loop.flopper.dent(int(i), float(lot), float(loop.flopper.bid[i]), "b3", 20.0)
    assert vow.flopper._dent_batch(ids, lots, "b3", 20.0)  # the batch itself, not the loop
    same(state(vow), state(loop))


def test_dent_many_raises_where_the_loop_does():
    rng = np.random.default_rng(9)
    vow = debt_auctions(rng)
    vow.vat.dai["b3"] = 3.5 * SUMP  # pays three bids, not four
    flop = vow.flopper
    ids = flop.active_ids()[flop.tic[flop.active_ids()] == 0][:5]
    lots = flop.lot[ids] / 1.1
    loop = copy.deepcopy(vow)
    with pytest.raises(ProtocolError):
        for i, lot in zip(ids, lots, strict=True):
            loop.flopper.dent(int(i), float(lot), float(loop.flopper.bid[i]), "b3", 20.0)
    with pytest.raises(ProtocolError):
        vow.flopper.dent_many(ids, lots, "b3", 20.0)
    same(state(vow), state(loop))


def test_deal_and_tick_many_are_the_loop():
    rng = np.random.default_rng(3)
    vow = debt_auctions(rng)
    flop = vow.flopper
    now = 10.0 + flop.ttl + 1.0
    ended = flop.active_ids()[flop.tic[flop.active_ids()] != 0]
    loop = copy.deepcopy(vow)
    for i in ended:
        loop.flopper.deal(int(i), now, actor="b1")
    vow.flopper.deal_many(ended, now, actor="b1")
    same(state(vow), state(loop))
    later = flop.tau + 100.0
    expired = flop.active_ids()
    for i in expired:
        loop.flopper.tick(int(i), later, actor="b2")
    vow.flopper.tick_many(expired, later, actor="b2")
    same(state(vow), state(loop))


def surplus_auctions(rng: np.random.Generator, n: int = 30) -> Vow:
    """A Vow with ``n`` surplus auctions, some bid on by two of three bidders."""
    vat = Vat()
    vow = Vow(vat, sump=SUMP, dump=250.0, bump=10_000.0, hump=1e5)
    vow.flapper.lid = np.inf
    for name in ("m1", "m2", "m3"):
        vat.join_dai(name, 1e6)
        vow.give_mkr(name, float(rng.uniform(50.0, 200.0)))
    vat.join_dai(VOW, n * 10_000.0 + 1e5 + float(rng.uniform(0, 1e3)))
    for _ in range(n):
        vow.flap(0.0)
    flap = vow.flapper
    for i in range(0, n, 2):
        flap.tend(i, float(flap.lot[i]), float(rng.uniform(0.5, 2.0)), "m1" if i % 4 else "m2", 5.0)
    return vow


@pytest.mark.parametrize("seed", range(4))
def test_tend_many_is_the_loop(seed):
    rng = np.random.default_rng(seed)
    vow = surplus_auctions(rng)
    flap = vow.flapper
    ids = flap.active_ids()
    ids = ids[flap.guy[ids] != flap.name_id("m3")]
    bids = np.where(
        flap.bid[ids] > 0, flap.bid[ids] * (1.0 + flap.beg), rng.uniform(0.1, 1, ids.size)
    )
    loop = copy.deepcopy(vow)
    for i, b in zip(ids, bids, strict=True):
        loop.flapper.tend(int(i), float(loop.flapper.lot[i]), float(b), "m3", 20.0)
    assert vow.flapper._tend_batch(ids, bids, "m3", 20.0)
    same(state(vow), state(loop))
    now = 20.0 + flap.ttl + 1.0
    ended = flap.active_ids()[flap.tic[flap.active_ids()] != 0]
    for i in ended:
        loop.flapper.deal(int(i), now, actor="m1")
    vow.flapper.deal_many(ended, now, actor="m1")  # the loop where the MKR ledger would clamp
    same(state(vow), state(loop))


def test_flapper_deal_many_batches_when_nothing_is_clamped():
    vow = surplus_auctions(np.random.default_rng(2))
    flap = vow.flapper
    ids = flap.active_ids()
    vow.give_mkr("m3", 1000.0)
    for i in ids:  # bids in whole MKR: every sum is exact
        flap.tend(int(i), float(flap.lot[i]), float(flap.bid[i] // 1 + 2), "m3", 6.0)
    now = 6.0 + flap.ttl + 1.0
    loop = copy.deepcopy(vow)
    for i in ids:
        loop.flapper.deal(int(i), now, actor="m1")
    assert flap._deal_batch(flap._done_batch(ids, now), "m1")
    same(state(vow), state(loop))


def test_tend_many_raises_where_the_loop_does():
    rng = np.random.default_rng(5)
    vow = surplus_auctions(rng)
    vow.mkr["m3"] = 1.5
    flap = vow.flapper
    ids = flap.active_ids()[flap.guy[flap.active_ids()] != flap.name_id("m3")]
    bids = np.full(ids.size, 0.4) * np.where(flap.bid[ids] > 0, 10.0, 1.0)
    loop = copy.deepcopy(vow)
    with pytest.raises(ProtocolError):
        for i, b in zip(ids, bids, strict=True):
            loop.flapper.tend(int(i), float(loop.flapper.lot[i]), float(b), "m3", 20.0)
    with pytest.raises(ProtocolError):
        vow.flapper.tend_many(ids, bids, "m3", 20.0)
    same(state(vow), state(loop))
    assert FLAP in vow.mkr


def test_replay_is_a_running_sum_and_refuses_what_the_loop_would_not_do():
    rng = np.random.default_rng(1)
    start = 1e6 / 3
    deltas = rng.uniform(-1e3, 1e3, 500)
    balance = start
    for d in deltas:
        balance = balance + d
    assert replay(start, deltas) == balance  # bit for bit
    assert replay(1.0, np.array([-2.0])) is None  # the clamp at zero would change it
    assert replay(1.0, np.array([-1.0 - 1e-12]), True) is None or num.covers(1.0, 1.0 + 1e-12)


def affordable_loop(ok, cost, have, total):
    """The per-element loop ``flip._affordable`` replaced."""
    if num.covers(have, float(cost[ok].sum()), total):
        return ok
    ok = ok.copy()
    spent = 0.0
    for k in np.flatnonzero(ok):
        if num.covers(have, spent + cost[k], total):
            spent += cost[k]
        else:
            ok[k] = False
    return ok


@pytest.mark.parametrize("seed", range(20))
def test_affordable_is_the_loop(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    cost = rng.lognormal(0.0, 1.5, n) * 1e3
    if seed % 3 == 0:
        cost[rng.random(n) < 0.3] = 0.0
    ok = rng.random(n) < 0.8
    have = float(cost[ok].sum() * rng.uniform(0.05, 1.2))
    total = float(rng.uniform(0, 1e9))
    want = affordable_loop(ok, np.where(ok, cost, 0.0), have, total)
    got = flip._affordable(ok, np.where(ok, cost, 0.0), have, total)
    assert np.array_equal(got, want)
