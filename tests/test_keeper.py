"""Keeper behaviour in the whole model: flash liquidity, latency, gas in the profit test."""

from __future__ import annotations

import sim
from tests.conftest import SMALL


def load(tmp_path, text, overrides=()):
    path = tmp_path / "k.yaml"
    path.write_text(text)
    return sim.load_scenario(path, overrides=list(overrides))


def keepers(text: str, spec: str) -> str:
    return text.replace("keepers:\n  - {name: kp, count: 2, dai: 1.0e6}\n", f"keepers:\n{spec}")


def test_flash_keeper_takes_without_capital(tmp_path):
    text = keepers(SMALL, "  - {name: flash, count: 1, dai: 0, flash: true}\n")
    model = sim.ProtocolModel(load(tmp_path, text), seed=1)
    model.run()
    takes = model.vat.log.count("take")
    assert takes > 0
    flash = model.keepers[0]
    assert flash.capital == 0.0
    # It kept the spread (a 5 % required discount): positive Dai, no collateral left over.
    assert flash.dai > 0 and flash.profit() > 0
    assert model.vat.gem.get(("ETH-A", "flash"), 0.0) == 0.0
    assert model.vat.check() == []


def test_capital_limits_a_keeper_without_flash(tmp_path):
    text = keepers(SMALL, "  - {name: poor, count: 1, dai: 1000}\n")
    poor = sim.run(load(tmp_path, text), seed=1)
    rich = sim.run(
        load(tmp_path, keepers(SMALL, "  - {name: rich, count: 1, dai: 1.0e7}\n")), seed=1
    )
    raised_poor = poor.auctions.dai_raised.sum()
    raised_rich = rich.auctions.dai_raised.sum()
    assert raised_poor < raised_rich


def test_latency_delays_the_first_take(tmp_path):
    fast = sim.run(load(tmp_path, keepers(SMALL, "  - {name: k, dai: 1.0e7}\n")), seed=1)
    slow = sim.run(
        load(tmp_path, keepers(SMALL, "  - {name: k, dai: 1.0e7, latency: 30m}\n")), seed=1
    )
    first_fast = fast.events[fast.events.event == "take"].tick.min()
    first_slow = slow.events[slow.events.event == "take"].tick.min()
    first_bark_fast = fast.events[fast.events.event == "bark"].tick.min()
    first_bark_slow = slow.events[slow.events.event == "bark"].tick.min()
    # The slow keeper sees the OSM and auctions 3 ticks (30 min at 10-minute ticks) late.
    assert first_bark_slow >= first_bark_fast
    assert first_slow >= first_fast + 3
    # Every take happens at least 3 ticks after its auction started.
    takes = slow.events[slow.events.event == "take"]
    starts = slow.auctions.set_index("auction").start_tick
    assert (takes.tick.to_numpy() - starts.loc[takes.auction].to_numpy() >= 3).all()


def test_barks_only_when_the_reward_or_the_take_pays_the_gas(tmp_path):
    # A keeper without Dai (and no flash liquidity) cannot take: only the incentive counts.
    text = keepers(SMALL, "  - {name: k, dai: 0, gas_bid_gwei: 100}\n")
    text += "network: {gas: {process: constant, gwei: 100}, gas_limit: 30.0e6}\n"
    no_incentive = text.replace("chip: 0.001, tip: 100", "chip: 0, tip: 0")
    assert sim.run(load(tmp_path, no_incentive), seed=1).summary["auctions"] == 0
    # A generous tip pays for it.
    paid = load(tmp_path, text.replace("tip: 100", "tip: 1000"))
    assert sim.run(paid, seed=1).summary["auctions"] > 0
    # A would-be taker barks for the profit of the take it expects, even without incentive ...
    taker = no_incentive.replace("{name: k, dai: 0,", "{name: k, dai: 1.0e7,")
    assert sim.run(load(tmp_path, taker), seed=1).summary["auctions"] > 0
    # ... but not when that profit is below the gas (a tiny discount on small vaults).
    stingy = taker.replace("gas_bid_gwei: 100}", "gas_bid_gwei: 100, strategy: {discount: 1.0e-6}}")
    assert sim.run(load(tmp_path, stingy), seed=1).summary["auctions"] == 0


def test_keeper_order_is_drawn_each_tick(tmp_path):
    text = keepers(SMALL, "  - {name: k, count: 4, dai: 1.0e7}\n")
    result = sim.run(load(tmp_path, text), seed=5)
    barks = result.events[result.events.event == "bark"]
    # Identical keepers: whoever moves first barks; the order is redrawn every tick.
    first_by_tick = barks.groupby("tick").actor.first()
    assert first_by_tick.nunique() > 1


def test_gas_used_can_be_overridden_in_the_scenario(tmp_path):
    text = keepers(SMALL, "  - {name: k, dai: 1.0e7}\n")
    text += "network: {gas: {process: constant, gwei: 100}, gas_limit: 30.0e6, gas_used: {bark: 900000}}\n"
    model = sim.ProtocolModel(load(tmp_path, text), seed=1)
    assert model.gas_used["bark"] == 900_000
    assert model.gas_used["take"] > 0
    model.run()
    barks = model.vat.log.count("bark")
    assert barks > 0
    assert model.keepers[0].gas_usd >= barks * 900_000 * 100e-9 * model.market.price("ETH") * 0.99


def test_won_collateral_is_sold_only_after_the_settlement_delay(small_scenario_file):
    """A taker with a 1-hour settlement holds what it wins for an hour, then sells it.

    In the crash the market falls meanwhile: it sells at the later, lower price.
    """

    def run(settlement: str):
        scenario = sim.load_scenario(
            small_scenario_file,
            overrides=["keepers.0.count=1", f"keepers.0.settlement={settlement}"],
        )
        model = sim.ProtocolModel(scenario, seed=1)
        keeper = model.keepers[0]
        first_win = first_sale = None
        before = 0.0
        while not model.finished:
            model.step()
            held = model.vat.gem.get(("ETH-A", keeper.name), 0.0)
            if held > 0 and first_win is None:
                first_win = model.now
            if held < before and first_sale is None:
                first_sale = model.now
            before = held
            # Nothing waits longer than the settlement delay.
            for queue in keeper._settling.values():
                assert all(model.now - won < keeper.settlement for won, _ in queue)
        return model, first_win, first_sale

    _, won, sold = run("0s")
    assert won is None  # never held at a tick's end: sold in the tick it was won
    later, won, sold = run("1h")
    assert won is not None and sold == won + 3600
    price = later.price_history[:, 0]  # the ETH market price per tick
    assert price[round(sold / later.dt)] < 0.95 * price[round(won / later.dt)]
