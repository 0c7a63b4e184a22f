"""The block market (sim/market/blocks.py): blocks per tick, background demand, bid order, nonces."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim.market.blocks import BlockMarket, background_share, sigma_from_p90
from tests.conftest import SCENARIOS, SMALL
from tests.test_english_auctions import FLIP


def load(tmp_path, text, overrides=()):
    path = tmp_path / "b.yaml"
    path.write_text(text)
    return sim.load_scenario(path, overrides=list(overrides))


# ------------------------------------------------------------------------------------- the unit


def test_background_share_is_the_lognormal_cdf_or_a_threshold():
    assert background_share(100.0, 100.0, 0.3) == pytest.approx(0.5)
    assert background_share(200.0, 100.0, 0.3) > 0.98
    assert background_share(50.0, 100.0, 0.3) < 0.02
    assert background_share(99.9, 100.0, 0.0) == 0.0
    assert background_share(100.0, 100.0, 0.0) == 1.0
    assert background_share(math.inf, 100.0, 0.3) == 1.0


def test_sigma_from_p90_reads_the_spread_of_the_prices_paid():
    sigma = sigma_from_p90(
        np.array([100.0, 100.0, 0.0, 100.0]), np.array([200.0, 90.0, 5.0, 100.0])
    )
    assert sigma[0] == pytest.approx(math.log(2.0) / 1.2815515655446004)
    assert list(sigma[1:]) == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("tick_s", [13.0, 60.0, 600.0, 3600.0])
def test_blocks_per_tick_keep_the_pace_whatever_the_tick(tick_s):
    blocks = BlockMarket(block_time=13.0, gas_limit=10e6)
    ticks = round(36_000 / tick_s)  # ten hours
    total = 0
    for _ in range(ticks):
        blocks.open_tick(tick_s, 50.0, 0.0)
        total += blocks.n_blocks
    assert total == pytest.approx(36_000 / 13.0, abs=1)


def test_a_bid_below_the_clearing_price_lands_nothing_and_one_above_displaces_background():
    blocks = BlockMarket(block_time=12.0, gas_limit=30e6)
    blocks.open_tick(60.0, 100.0, 0.0)  # five blocks, everyone else pays 100 gwei
    assert blocks.fits(99.0, 100_000) == 0
    assert blocks.fits(100.0, 100_000) == 5 * 300
    assert blocks.use(150.0, 1_000_000, 40) == 40  # 30 per block: the first block fills
    assert list(blocks.used[:2]) == [30e6, 10e6]
    # A lower bidder finds what the higher one left, never more than the limit per block.
    assert blocks.fits(120.0, 1_000_000) == 150 - 40
    assert blocks.fits(120.0, 1_000_000, wanted=3) == 3


def test_with_a_spread_a_low_bid_gets_the_cheap_background_share():
    blocks = BlockMarket(block_time=12.0, gas_limit=10e6)
    blocks.open_tick(12.0, 100.0, 0.3)  # one block
    share = background_share(80.0, 100.0, 0.3)
    assert blocks.fits(80.0, 100_000) == math.floor(share * 10e6 / 100_000)
    blocks.use(500.0, 1_000_000, 9)  # a high bidder took 9 M: it displaced the cheapest first
    assert blocks.fits(80.0, 100_000) == max(math.floor((share * 10e6 - 9e6) / 100_000), 0)


@settings(max_examples=200, deadline=None)
@given(
    limit=st.floats(1e5, 1e8),
    price=st.floats(0.0, 1e4),
    sigma=st.floats(0.0, 3.0),
    sends=st.lists(
        st.tuples(st.floats(0.1, 1e5), st.integers(21_000, 5_000_000), st.integers(0, 500)),
        max_size=30,
    ),
)
def test_agents_never_hold_more_gas_than_a_blocks_limit(limit, price, sigma, sends):
    blocks = BlockMarket(block_time=12.0, gas_limit=limit)
    blocks.open_tick(60.0, price, sigma)
    for bid, gas, wanted in sorted(sends, key=lambda s: -s[0]):  # bid order
        n = blocks.fits(bid, gas, wanted)
        assert blocks.use(bid, gas, n) == n
    assert (blocks.used <= limit).all()
    assert blocks.fullest <= 1.0
    assert blocks.landed_gas == pytest.approx(blocks.used.sum())


# ------------------------------------------------------------------------------------ the model


def _flip_at(gas: str, keepers: str) -> str:
    text = FLIP.replace("keepers:\n  - {name: kp, count: 2, dai: 1.0e6}\n", f"keepers:\n{keepers}")
    return text + f"network: {{gas: {gas}, block_time: 12s, gas_limit: 10.0e6}}\n"


def test_a_keeper_bidding_below_the_clearing_price_lands_nothing(tmp_path):
    text = _flip_at(
        "{process: constant, gwei: 100}",
        "  - {name: low, dai: 1.0e6, gas_bid_gwei: 99}\n",
    )
    model = sim.ProtocolModel(load(tmp_path, text), seed=1)
    model.run()
    assert model.keepers[0].txs == 0
    ts = sim.record.timeseries_frame(model)
    assert ts["txs.keepers.low"].sum() == 0
    assert ts["priced_out.keepers.low"].sum() > 0  # it had work every tick it was stuck
    assert sim.record.timeseries_frame(model)["unsafe_vaults[ETH-A]"].max() > 0  # work was there
    high = sim.ProtocolModel(load(tmp_path, text.replace("gas_bid_gwei: 99", "gas_bid_gwei: 100")))
    high.run()
    assert high.keepers[0].txs > 0


def test_keepers_act_in_bid_order_and_the_first_takes_the_room(tmp_path):
    """Blocks of one bite each: the 300-gwei keeper bites every one, the 200-gwei one none."""
    text = _flip_at(
        "{process: constant, gwei: 100}",
        "  - {name: a, dai: 1.0e6, gas_bid_gwei: 200}\n"
        "  - {name: b, dai: 1.0e6, gas_bid_gwei: 300}\n",
    )
    model = sim.ProtocolModel(load(tmp_path, text, ["network.gas_limit=400000"]), seed=1)
    assert [
        k.name for k in model._activation_order() if isinstance(k, sim.agents.keeper.Keeper)
    ] == [
        "b",
        "a",
    ]
    model.run()
    events = sim.record.events_frame(model)
    bites = events[events.event == "bite"]
    assert len(bites) > 0 and set(bites.actor.astype(str)) == {"b"}
    assert sim.record.timeseries_frame(model)["block_fill_max"].max() <= 1.0


def test_a_stuck_nonce_blocks_the_keepers_later_transactions_until_replaced(tmp_path):
    """Gas jumps to 400 gwei at 1 h for 3 h, as the crash begins.

    A fixed 150-gwei bid stays stuck: nothing of its lands until gas falls back. A geometric
    bidder starting at the same 150 re-sends its pending transaction at 1.125× every 2 minutes
    and lands once the bump reaches 400 (nine bumps: 150·1.125⁹ ≈ 433), within the spike.
    """
    gas = "{process: spike, base: 20, peak: 400, at: 1h, over: 3h, decay: 1m}"
    fixed = _flip_at(gas, "  - {name: k, dai: 1.0e6, gas_bid_gwei: 150}\n")
    bump = _flip_at(
        gas,
        "  - {name: k, dai: 1.0e6, gas: {kind: geometric, initial: 150, every: 2m, cap: 1000}}\n",
    )

    def first_landing_after_stuck(text):
        """(when its first transaction got stuck, when one of its transactions next landed)."""
        model = sim.ProtocolModel(load(tmp_path, text), seed=1)
        keeper = model.keepers[0]
        stuck = None
        while not model.finished:
            model.step()
            if stuck is None and keeper.pending_since is not None:
                stuck = keeper.pending_since
            elif stuck is not None and model.blocks.txs.get("keepers.k", 0) > 0:
                return stuck, model.now
        return stuck, math.inf

    stuck, landed = first_landing_after_stuck(fixed)
    assert 3600 < stuck < 4 * 3600 - 20 * 60  # the crash gives it work while gas is at 400
    assert landed >= 4 * 3600  # only when the spike is over
    stuck, landed = first_landing_after_stuck(bump)
    assert 3600 < stuck < 4 * 3600 - 20 * 60
    assert stuck + 9 * 120 <= landed <= stuck + 10 * 120  # nine bumps later, in the spike


def test_no_block_of_a_shipped_scenario_holds_more_than_its_limit():
    for path in sorted(SCENARIOS.glob("*.yaml")):
        scenario = sim.load_scenario(path)
        if scenario.network is None:
            continue
        ts = sim.run(scenario).timeseries
        assert (ts["block_fill_max"] <= 1.0).all(), path.name
        assert (ts["agent_gas"] <= ts["block_gas"]).all(), path.name


def test_without_a_network_every_transaction_lands(tmp_path):
    model = sim.ProtocolModel(load(tmp_path, SMALL), seed=1)
    assert model.blocks is None
    model.run()
    assert sum(k.txs for k in model.keepers) > 0
    assert "block_gas" not in sim.record.timeseries_frame(model)


# ------------------------------------------------------------------------------------- kickers


def _dust_book(tip: float) -> str:
    """Vaults of 5 000 Dai (2021's ETH-A dust) in a 40 % crash from 1 000 USD, gas at 500 gwei.

    A bark (450 k gas) costs 0.225 ETH, 135–225 USD as ETH falls from 1 000 to 600; the Clipper
    pays a kicker ``tip + chip·tab`` = tip + 5.65 Dai for such a vault.
    """
    text = SMALL.replace("start: 2000,", "start: 1000,").replace("tip: 100", f"tip: {tip}")
    text = text.replace(
        "  - {name: tail, ilk: ETH-A, vaults: 200, debt: 2.0e6, cr: {dist: uniform, min: 1.55, max: 2.4}}\n",
        "  - {name: tail, ilk: ETH-A, vaults: 200, debt: 1.0e6, cr: {dist: uniform, min: 1.55, max: 2.4}}\n",
    )
    text = text.replace(
        "keepers:\n  - {name: kp, count: 2, dai: 1.0e6}\n",
        "keepers:\n  - {name: kicker, dai: 0, strategy: {kind: kicker}}\n",
    )
    return text + (
        "network: {gas: {process: constant, gwei: 500}, block_time: 12s, gas_limit: 30.0e6}\n"
    )


@pytest.mark.parametrize(("tip", "kicked"), [(0, False), (300, True)])
def test_dust_vaults_stay_unkicked_when_the_incentive_is_below_the_gas(tmp_path, tip, kicked):
    """tip 0 at 500 gwei: nobody barks a 5 000 Dai vault; tip 300 (May 2021 on): all are barked."""
    model = sim.ProtocolModel(load(tmp_path, _dust_book(tip)), seed=1)
    model.run()
    ts = sim.record.timeseries_frame(model)
    barks = int(ts["liquidations[ETH-A]"].sum())
    assert ts["unsafe_vaults[ETH-A]"].max() > 20  # the crash makes many vaults unsafe
    if kicked:
        assert barks >= ts["unsafe_vaults[ETH-A]"].max()
        assert ts["unsafe_vaults_after[ETH-A]"].iloc[-1] == 0
    else:
        assert barks == 0
        assert ts["unsafe_vaults_after[ETH-A]"].iloc[-1] > 20  # a tail of unkicked vaults
