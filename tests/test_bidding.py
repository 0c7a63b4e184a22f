"""Gas bids and pending nonces (sim/agents/bidding.py)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from sim.agents.bidding import GasBidder, land
from sim.market.blocks import BlockMarket
from sim.scenario import FixedGasBid, GeometricGasBid, LognormalGasBid, MarketGasBid


def model(price: float = 100.0, now: float = 0.0, blocks: BlockMarket | None = None):
    return SimpleNamespace(gas_price=price, now=now, blocks=blocks, gas_used={"deal": 52_000})


def test_each_strategy_bids_its_price():
    m = model(price=120.0)
    rng = np.random.default_rng(0)
    assert GasBidder(m, None, rng).bid() == 120.0
    assert GasBidder(m, FixedGasBid(kind="fixed", gwei=90), rng).bid() == 90.0
    follow = GasBidder(m, MarketGasBid(kind="market", premium=0.25, cap=140), rng)
    assert follow.bid() == 140.0  # 150 capped
    m.gas_price = 100.0
    assert follow.bid() == 125.0


def test_a_lognormal_group_draws_one_setting_per_account():
    m = model()
    rng = np.random.default_rng(4)
    spec = LognormalGasBid(kind="lognormal", median=100, sigma=0.5)
    bids = [GasBidder(m, spec, rng).bid() for _ in range(2000)]
    assert np.median(bids) == pytest.approx(100, rel=0.05)
    assert np.std(np.log(bids)) == pytest.approx(0.5, rel=0.05)
    one = GasBidder(m, spec, np.random.default_rng(1))
    m.gas_price = 500.0
    assert one.bid() == one.bid()  # fixed for the run, whatever the market does


def test_a_geometric_bid_grows_while_pending_and_starts_again_once_landed():
    m = model(now=0.0)
    bidder = GasBidder(
        m,
        GeometricGasBid(kind="geometric", initial=100, every="42s", coefficient=1.125, cap=200),
        np.random.default_rng(0),
    )
    assert bidder.bid() == 100.0
    bidder.stuck()
    m.now = 41.0
    assert bidder.bid() == 100.0
    m.now = 42.0
    assert bidder.bid() == pytest.approx(112.5)
    m.now = 5 * 42.0
    assert bidder.bid() == pytest.approx(100 * 1.125**5)
    bidder.stuck()  # still the same pending transaction: its start does not move
    assert bidder.pending_since == 0.0
    m.now = 100 * 42.0
    assert bidder.bid() == 200.0  # the cap
    bidder.landed()
    assert bidder.pending_since is None and bidder.bid() == 100.0


def test_land_takes_what_fits_in_order_and_counts_the_rest_as_waiting():
    blocks = BlockMarket(block_time=12.0, gas_limit=520_000)
    blocks.open_tick(24.0, 50.0, 0.0)  # two blocks of ten deals each
    m = model(price=50.0, blocks=blocks)
    ids = np.arange(25)
    landed = land(m, ids, "deal", "mkr")
    assert list(landed) == list(range(20))
    assert blocks.txs["mkr"] == 20 and blocks.priced_out["mkr"] == 5
    assert land(m, ids, "deal", "mkr", bid=49.0).size == 0  # below everyone else: nothing
    assert list(land(model(), ids, "deal", "mkr")) == list(ids)  # no network: all of them
    assert math.isclose(blocks.landed_gas, 20 * 52_000)
