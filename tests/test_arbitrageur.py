"""The PSM arbitrageur (sim/agents/arbitrageur.py): it brings the Dai price back to the edge of
the PSM's band through the PSM, as far as the PSM's room, its stablecoin and its own funds go."""

from __future__ import annotations

import math

import pytest

import sim
from sim.agents.arbitrageur import ARB

TIN, TOUT = 0.001, 0.002


def model_with(small_scenario_file, *, line=1e8, start=1e7, usd=1e9) -> sim.ProtocolModel:
    spec = sim.load_scenario(
        small_scenario_file,
        [
            "dai={depth_usd_2pct: 1e7}",
            f"system.psm={{line: {line}, start: {start}, tin: {TIN}, tout: {TOUT}, "
            f"arbitrage_usd: {usd}}}",
        ],
    )
    return sim.ProtocolModel(spec, seed=1)


def at_price(model: sim.ProtocolModel, price: float) -> None:
    model.dai_market.dev = math.log(price)


def snapshot(model: sim.ProtocolModel) -> tuple:
    arb = model.arbitrageur
    return (model.dai_market.price(), model.psm.gem, model.psm.debt, arb.usd, arb.profit())


def test_above_the_band_it_sells_stablecoin_to_the_psm_and_dai_to_the_market(small_scenario_file):
    model = model_with(small_scenario_file)
    arb, psm = model.arbitrageur, model.psm
    assert arb is not None and arb.usd == arb.start_usd == 1e9 and arb.profit() == 0.0
    at_price(model, 1.01)
    gem, debt = psm.gem, psm.debt
    arb.step()
    assert model.dai_market.price() == pytest.approx(1 + TIN, rel=1e-12)
    sold = psm.gem - gem
    assert sold > 0 and psm.debt - debt == pytest.approx(sold)  # the fee is minted to the Vow
    assert model.dai_market.dai_sold == pytest.approx(sold * (1 - TIN))
    assert arb.usd == pytest.approx(1e9 - sold + model.dai_market.usd_received)
    assert arb.profit() > 0 and model.vat.dai.get(ARB, 0.0) == 0.0
    assert model.vat.check() == []


def test_below_the_band_it_buys_dai_and_redeems_it_from_the_psm(small_scenario_file):
    model = model_with(small_scenario_file)
    arb, psm = model.arbitrageur, model.psm
    at_price(model, 0.99)
    gem = psm.gem
    arb.step()
    assert model.dai_market.price() == pytest.approx(1 - TOUT, rel=1e-9)
    bought = gem - psm.gem
    assert bought > 0
    assert model.dai_market.dai_bought == pytest.approx(bought * (1 + TOUT))
    assert arb.usd == pytest.approx(1e9 + bought - model.dai_market.usd_spent)
    assert arb.profit() > 0 and model.vat.dai.get(ARB, 0.0) == pytest.approx(0.0, abs=1e-6)
    assert model.vat.check() == []


@pytest.mark.parametrize(
    ("price", "setup"),
    [
        (1.0005, {}),  # inside the band: nothing to gain
        (0.9995, {}),
        (1.01, {"line": 1e7}),  # above, but the PSM has no room to mint
        (0.99, {"start": 0.0}),  # below, but the PSM holds no stablecoin
        (0.99, {"usd": 0.0}),  # below, but the arbitrageur has nothing to buy Dai with
    ],
    ids=["inside-up", "inside-down", "psm-full", "psm-empty", "no-funds"],
)
def test_it_does_nothing_when_it_cannot_gain_or_cannot_trade(small_scenario_file, price, setup):
    model = model_with(small_scenario_file, **setup)
    at_price(model, price)
    before = snapshot(model)
    model.arbitrageur.step()
    assert snapshot(model) == before


def test_the_psm_room_and_the_funds_bound_the_trade(small_scenario_file):
    model = model_with(small_scenario_file, line=1e7 + 1e5)  # room for 1e5 Dai
    at_price(model, 1.05)
    model.arbitrageur.step()
    assert model.psm.room() == pytest.approx(0.0, abs=1e-6)
    assert model.dai_market.price() > 1 + TIN  # not enough room to bring it back
    poor = model_with(small_scenario_file, usd=1e3)
    at_price(poor, 1.05)
    poor.arbitrageur.step()
    assert poor.arbitrageur.usd == pytest.approx(poor.dai_market.usd_received)  # all of it sold
    assert poor.psm.gem == pytest.approx(1e7 + 1e3)


def test_there_is_no_arbitrageur_without_a_psm_or_when_it_is_off(small_scenario_file):
    plain = sim.ProtocolModel(sim.load_scenario(small_scenario_file))
    assert plain.arbitrageur is None
    off = sim.load_scenario(small_scenario_file, ["system.psm={line: 1e8, arbitrage: false}"])
    assert sim.ProtocolModel(off).arbitrageur is None
