"""Keepers as they really act: block capacity, gas bidding, their own price impact, the order
of a tick, and the Cat's version per ilk (issue 12's review findings, one test each)."""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim.agents.keeper import Keeper
from sim.market.gas import GAS_BITE
from tests.conftest import SMALL
from tests.test_english_auctions import FLIP

WHALE_LUMPS = 10_000


def load(tmp_path, text, overrides=(), name="k.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return sim.load_scenario(path, overrides=list(overrides))


def keepers(text: str, spec: str) -> str:
    return text.replace("keepers:\n  - {name: kp, count: 2, dai: 1.0e6}\n", f"keepers:\n{spec}")


# ---------------------------------------------------------------------------------- gas and blocks


def _flip_with_gas(gwei: float) -> str:
    return FLIP + f"network: {{gas: {{process: constant, gwei: {gwei}}}, gas_limit: 30.0e6}}\n"


def test_a_group_with_a_bid_distribution_is_partly_included(tmp_path):
    # 20 keepers whose bids spread around the network's 150 gwei: some land, some never do.
    text = keepers(
        _flip_with_gas(150),
        "  - {name: kp, count: 20, dai: 1.0e6, gas: {kind: lognormal, median: 120, sigma: 0.8}}\n",
    )
    model = sim.ProtocolModel(load(tmp_path, text), seed=3)
    bids = np.array([k.bid_gwei() for k in model.keepers])
    assert bids.max() > 3 * bids.min()  # a spread of bot settings
    model.run()
    actors = sim.record.events_frame(model)["actor"].astype(str).value_counts()
    acts = np.array([actors.get(k.name, 0) for k in model.keepers])
    order = np.argsort(bids)
    low, high = acts[order[:5]], acts[order[-5:]]
    # Inclusion is partial: the high bidders act far more often, the low ones rarely if ever.
    assert high.mean() > 5 * max(low.mean(), 1.0)
    assert (acts > 0).sum() < len(acts) or low.mean() < 0.2 * high.mean()


def test_a_market_bid_follows_the_gas_price_up_to_its_cap(tmp_path):
    text = keepers(
        SMALL
        + "network: {gas: {process: spike, base: 20, peak: 400, at: 1h, over: 2h, decay: 1h}, gas_limit: 30.0e6}\n",
        "  - {name: kp, count: 1, dai: 1.0e6, gas: {kind: market, premium: 0.2, cap: 300}}\n",
    )
    model = sim.ProtocolModel(load(tmp_path, text), seed=1)
    keeper = model.keepers[0]
    seen = []
    while not model.finished:
        model.step()
        seen.append((model.gas_price, keeper.bid_gwei()))
    for price, bid in seen:
        assert bid == pytest.approx(min(300.0, price * 1.2))
    assert any(bid == 300.0 for _, bid in seen)


# ---------------------------------------------------------------------------------- bites


def _whale(tick: str) -> str:
    """One vault of 10 000 lumps among the small book; blocks of 10 M gas every 13 s."""
    text = FLIP.replace(
        "clock: {tick: 1m, duration: 12h}", f"clock: {{tick: {tick}, duration: 12h}}"
    )
    text = text.replace("lump: 50,", "lump: 0.05,")
    text = text.replace(
        "  - {name: tail, ilk: ETH-A, vaults: 200, debt: 2.0e6, cr: {dist: uniform, min: 1.55, max: 2.4}}\n",
        "  - {name: whale, ilk: ETH-A, vaults: 1, debt: 5.0e5, cr: {dist: fixed, median: 1.6}}\n",
    )
    text = text.replace(
        "  - {name: careful, ilk: ETH-A, vaults: 50, debt: 1.0e6, cr: {dist: fixed, median: 2.0},\n"
        "     strategy: {kind: target_cr, trigger: 1.7, target: 2.2}}\n",
        "",
    )
    return text + "network: {gas: {process: constant, gwei: 50}, gas_limit: 10.0e6}\n"


@pytest.mark.parametrize("tick", ["1m", "10m"])
def test_a_whale_of_many_lumps_is_bitten_within_a_bounded_time_whatever_the_tick(tmp_path, tick):
    scenario = load(tmp_path, _whale(tick))
    model = sim.ProtocolModel(scenario, seed=1)
    ink0 = float(model.vat.ilks["ETH-A"].ink[0])
    assert ink0 / 0.05 == pytest.approx(WHALE_LUMPS * 1.0, rel=0.2)  # about 10 000 lumps
    first = cleared = None
    while not model.finished:
        model.step()
        ink = model.vat.ilks["ETH-A"].ink[0]
        if first is None and ink < ink0:
            first = model.now
        if first is not None and ink == 0:
            cleared = model.now
            break
    assert first is not None and cleared is not None
    # The blocks, not the keepers, set the pace: 38 bites per 10 M gas block (257 k gas each),
    # a block per 13 s, shared by the two keepers: ~10 000 bites take ~57 minutes.
    expected = WHALE_LUMPS / ((10_000_000 // GAS_BITE) / 13.0)
    assert cleared - first == pytest.approx(expected, rel=0.5)


def test_mixed_cat_versions_follow_their_own_rules(tmp_path):
    text = FLIP.replace(
        "system: {Hole: 1.0e8, vow:",
        "system: {Hole: 1.0e8, box: 1.0e9, vow:",
    ).replace(
        "    liquidation: {engine: flip, version: '1.0', chop: 0.13, lump: 50, beg: 0.03, ttl: 10m, tau: 6h}\n",
        "    liquidation: {engine: flip, version: '1.0', chop: 0.13, lump: 1, beg: 0.03, ttl: 10m, tau: 6h}\n"
        "  ETH-B:\n    collateral: ETH\n    mat: 1.5\n    line: 1.0e9\n    dust: 100\n"
        "    liquidation: {engine: flip, version: '1.2', chop: 0.13, dunk: 2000, beg: 0.03, ttl: 10m, tau: 6h}\n",
    )
    text = text.replace(
        "keepers:\n",
        "  - {name: tail-b, ilk: ETH-B, vaults: 100, debt: 1.0e6, cr: {dist: uniform, min: 1.55, max: 2.4}}\n"
        "keepers:\n",
    )
    result = sim.run(load(tmp_path, text), seed=1)
    a = result.auctions
    one, two = a[a.ilk == "ETH-A"], a[a.ilk == "ETH-B"]
    assert len(one) and len(two)
    assert (one.lot <= 1.0 + 1e-9).all()  # 1.0: lump collateral per bite
    assert (two.tab <= 2000.0 * (1 + 1e-9)).all()  # 1.2: dunk Dai per bite
    assert two.lot.max() > 1.0  # the 1.0 lump does not apply to the 1.2 ilk


# ---------------------------------------------------------------------------------- impact


THIN = SMALL.replace(
    "    price: {process: scripted, start: 2000, crash: {depth: 0.4, at: 1h, over: 4h}}\n",
    "    price: {process: scripted, start: 2000, crash: {depth: 0.4, at: 1h, over: 4h}}\n"
    "    market: {depth_usd_2pct: DEPTH, recovery_half_life: 1h}\n",
)


def test_a_takers_profit_test_counts_its_own_price_impact(tmp_path):
    """The lots a keeper takes together must pay once sold together, impact included."""
    taker = "  - {name: rich, count: 1, dai: 1.0e8, strategy: {discount: 0.03}}\n"
    model = sim.ProtocolModel(load(tmp_path, keepers(THIN.replace("DEPTH", "5.0e4"), taker)))
    keeper = model.keepers[0]
    tokens = np.full(40, 5.0)  # 40 lots of 5 ETH bought at 3 % below the market
    market = model.market.price("ETH")
    owe = tokens * market * 0.97
    k = keeper._prefix_that_pays("ETH", tokens, owe, gas=0.0)
    # Alone, each lot pays (3 % margin); together, selling 200 ETH into a 50 k USD-per-2 %
    # market does not: the keeper stops where the quote of the lots it takes covers their cost.
    assert 0 < k < len(tokens)
    quote = model.market.quote_sell
    assert quote("ETH", tokens[:k].sum()) >= owe[:k].sum()
    assert quote("ETH", tokens[: k + 1].sum()) < owe[: k + 1].sum()
    deep = sim.ProtocolModel(load(tmp_path, keepers(THIN.replace("DEPTH", "1.0e10"), taker)))
    assert deep.keepers[0]._prefix_that_pays("ETH", tokens, owe, gas=0.0) == len(tokens)


# ---------------------------------------------------------------------------------- order


def test_the_order_within_a_tick_is_a_choice(tmp_path):
    text = keepers(SMALL, "  - {name: kp, count: 3, dai: 1.0e6}\n")
    orders = {}
    for order in ("borrowers_first", "interleaved", "keepers_first"):
        model = sim.ProtocolModel(load(tmp_path, text, [f"schedule.order={order}"]), seed=2)
        seen = []
        for _ in range(30):
            seen.append(["k" if isinstance(a, Keeper) else "b" for a in model._activation_order()])
        orders[order] = seen
    assert all(o == ["b", "b", "k", "k", "k"] for o in orders["borrowers_first"])
    assert all(o == ["k", "k", "k", "b", "b"] for o in orders["keepers_first"])
    mixed = {"".join(o) for o in orders["interleaved"]}
    assert len(mixed) > 3 and any(o.index("k") < o.index("b") for o in mixed)


def test_keepers_first_lets_a_bark_win_the_race_against_a_top_up(tmp_path):
    """Careful borrowers react to a low CR with some probability each tick; when the OSM makes
    their vault unsafe, acting before the keepers gives them a last chance."""
    text = keepers(SMALL, "  - {name: kp, count: 1, dai: 1.0e7}\n").replace(
        "cr: {dist: fixed, median: 2.0},\n     strategy: {kind: target_cr, trigger: 1.7, target: 2.2}}",
        "cr: {dist: uniform, min: 1.55, max: 1.9},\n"
        "     strategy: {kind: target_cr, trigger: 1.6, target: 2.2, react_prob: 0.2}}",
    )
    careful = {}
    for order in ("borrowers_first", "keepers_first"):
        result = sim.run(load(tmp_path, text, [f"schedule.order={order}"]), seed=1)
        vaults = result.vaults.query("tick == 0 and cohort == 'careful'")["vault"]
        careful[order] = int(result.auctions.vault.isin(vaults).sum())
    assert careful["keepers_first"] > careful["borrowers_first"]
