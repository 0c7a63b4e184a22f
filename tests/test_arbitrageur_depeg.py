"""The PSM arbitrageur against a stablecoin that leaves the peg (``system.psm.price``), and the
PSM's DC-IAM (``system.psm.autoline``): the no-arbitrage band ``g/(1 − tin)`` … ``g/(1 + tout)``
with the stablecoin at ``g`` USD, the PSM taking it at par, its line respected."""

from __future__ import annotations

import math

import numpy as np
import pytest

import sim
from sim.calibrate.statistics import compute

TIN, TOUT = 0.001, 0.002


def model_with(path, *, gem=0.9, line=1e8, start=1e7, usd=1e9, extra=()) -> sim.ProtocolModel:
    psm = f"line: {line}, start: {start}, tin: {TIN}, tout: {TOUT}, arbitrage_usd: {usd}"
    if gem is not None:
        psm += f", price: {{process: scripted, points: [[0s, {gem}]]}}"
    spec = sim.load_scenario(path, ["dai={depth_usd_2pct: 1e7}", f"system.psm={{{psm}}}", *extra])
    return sim.ProtocolModel(spec, seed=1)


def at_price(model: sim.ProtocolModel, price: float) -> None:
    model.dai_market.dev = math.log(price)


def test_dai_above_the_stablecoin_is_sold_down_to_g_over_one_minus_tin(small_scenario_file):
    model = model_with(small_scenario_file, gem=0.9)
    arb, psm = model.arbitrageur, model.psm
    assert model.gem_price == 0.9
    at_price(model, 1.0)  # Dai at par, the stablecoin at 0.90: buy it, mint Dai at par, sell Dai
    gem0, debt0, usd0 = psm.gem, psm.debt, arb.usd
    arb.step()
    assert model.dai_market.price() == pytest.approx(0.9 / (1 - TIN), rel=1e-12)
    taken = psm.gem - gem0
    assert taken > 0 and psm.debt - debt0 == pytest.approx(taken)  # one Dai per token, at par
    assert model.dai_market.dai_sold == pytest.approx(taken * (1 - TIN))
    # paid 0.9 a token in the stablecoin market, got the Dai's sale price
    assert arb.usd == pytest.approx(usd0 - 0.9 * taken + model.dai_market.usd_received)
    assert arb.usd > usd0 and model.vat.check() == []


def test_dai_below_the_stablecoin_is_bought_up_to_g_over_one_plus_tout(small_scenario_file):
    model = model_with(small_scenario_file, gem=0.9, line=1e9, start=1e8)
    arb, psm = model.arbitrageur, model.psm
    at_price(model, 0.85)  # Dai below the depegged stablecoin: buy Dai, redeem at par, sell gem
    gem0, usd0 = psm.gem, arb.usd
    arb.step()
    assert model.dai_market.price() == pytest.approx(0.9 / (1 + TOUT), rel=1e-9)
    paid_out = gem0 - psm.gem
    assert paid_out > 0
    assert model.dai_market.dai_bought == pytest.approx(paid_out * (1 + TOUT))
    assert arb.usd == pytest.approx(usd0 + 0.9 * paid_out - model.dai_market.usd_spent)
    assert arb.usd > usd0 and model.vat.check() == []


def test_the_psm_stablecoin_bounds_the_redeem_leg(small_scenario_file):
    model = model_with(small_scenario_file, gem=0.9)  # the PSM holds 1e7
    at_price(model, 0.85)
    model.arbitrageur.step()
    assert model.psm.gem == pytest.approx(0.0, abs=1e-6)
    assert model.dai_market.price() < 0.9 / (1 + TOUT)


@pytest.mark.parametrize("dai", [0.9 / (1 + TOUT) + 1e-6, 0.9, 0.9 / (1 - TIN) - 1e-6])
def test_inside_the_band_around_the_stablecoin_nothing_trades(small_scenario_file, dai):
    model = model_with(small_scenario_file, gem=0.9)
    at_price(model, dai)
    before = (model.psm.gem, model.arbitrageur.usd, model.dai_market.dev)
    model.arbitrageur.step()
    assert (model.psm.gem, model.arbitrageur.usd, model.dai_market.dev) == before


def test_the_line_bounds_what_the_psm_takes(small_scenario_file):
    model = model_with(small_scenario_file, gem=0.9, line=1e7 + 1e5)  # room for 1e5 Dai
    at_price(model, 1.0)
    model.arbitrageur.step()
    assert model.psm.debt == pytest.approx(1e7 + 1e5)
    assert model.psm.room() == pytest.approx(0.0, abs=1e-6)
    assert model.dai_market.price() > 0.9 / (1 - TIN)  # the Dai stays above the stablecoin


def test_the_arbitrageurs_usd_bounds_the_stablecoin_it_buys(small_scenario_file):
    model = model_with(small_scenario_file, gem=0.9, usd=900.0)
    at_price(model, 1.0)
    model.arbitrageur.step()
    assert model.psm.gem == pytest.approx(1e7 + 1e3)  # 900 USD buy 1 000 tokens at 0.90


def test_a_stablecoin_at_par_gives_the_exact_band(small_scenario_file):
    """With a price configured at 1 the band is 1/(1 − tin), not the first-order 1 + tin."""
    model = model_with(small_scenario_file, gem=1.0)
    at_price(model, 1.01)
    model.arbitrageur.step()
    assert model.dai_market.price() == pytest.approx(1 / (1 - TIN), rel=1e-12)


def test_without_a_price_there_is_no_stablecoin_column_and_no_path(small_scenario_file):
    model = model_with(small_scenario_file, gem=None)
    assert model.gem_path is None and model.gem_price == 1.0
    model.run()
    series = model.recorder.series
    assert "psm_gem_price" not in series and "psm_gem" not in series and "psm_line" not in series


def test_a_run_records_the_stablecoin_price_and_what_the_psm_holds(small_scenario_file):
    model = model_with(small_scenario_file, gem=0.9)
    model.run()
    series = model.recorder.series
    assert np.all(series["psm_gem_price"] == 0.9)
    assert np.allclose(series["psm_gem"], series["psm_debt"])  # rate 1: a token per Dai
    assert series["psm_gem"][-1] > series["psm_gem"][0]


# ---------------------------------------------------------------------------------------------
# the PSM's DC-IAM

AUTOLINE = "system.psm.autoline={line: 1.0e8, gap: 2.0e6, ttl: 1h}"


def test_the_psm_autoline_keeps_gap_above_the_debt_and_waits_ttl(small_scenario_file):
    model = model_with(small_scenario_file, gem=0.9, line=1e7, extra=[AUTOLINE])
    model.step()  # exec at the first tick: line = debt + gap, then the arbitrageur fills it
    series = model.recorder.series
    assert series["psm_line"][1] == pytest.approx(1e7 + 2e6)
    assert model.psm.debt == pytest.approx(1e7 + 2e6)
    ticks_per_ttl = round(3600 / model.dt)
    for _ in range(ticks_per_ttl - 1):
        model.step()
    assert model.vat.ilks[model.psm.ilk].line == pytest.approx(1e7 + 2e6)  # ttl not yet passed
    model.step()
    model.step()
    assert model.vat.ilks[model.psm.ilk].line == pytest.approx(1e7 + 4e6)  # one more gap


def test_a_spell_cuts_the_psm_gap_and_raises_tin(small_scenario_file):
    spell = (
        "governance={spells: [{name: cut, at: 2h, set: {system.psm.tin: 0.01, "
        "system.psm.autoline: {line: 1.0e8, gap: 5.0e5, ttl: 1h}}}]}"
    )
    model = model_with(small_scenario_file, gem=0.95, line=1e7, extra=[AUTOLINE, spell])
    model.run()
    ts = model.recorder.series
    hours = ts["tick"] * model.dt / 3600
    after = hours > 2.0 + model.dt / 3600
    assert model.psm.tin == 0.01
    # after the spell the ceiling is at most debt + the new gap
    assert np.all(ts["psm_line"][after] <= ts["psm_debt"][after] + 5e5 + 1e-6)
    # and the Dai is held at 0.95 / 0.99 or above, not at 0.95 / 0.999
    assert ts["dai_price"][-1] >= 0.95 / (1 - 0.01) - 1e-9


def test_the_depeg_statistics(small_scenario_file):
    model = model_with(small_scenario_file, gem=0.9)
    result = sim.run(model.given, seed=1)
    ts = result.timeseries
    grown = compute(result, "psm_gem_growth")
    assert grown == pytest.approx(ts["psm_debt"].iloc[-1] - ts["psm_debt"].iloc[0]) and grown > 0
    assert compute(result, "psm_depeg_loss") == pytest.approx(0.1 * grown)  # 10 cents a token
    assert compute(result, "dai_low") == pytest.approx(ts["dai_price"].min())
    assert compute(result, "dai_supply_change") == pytest.approx(
        ts["dai_supply"].iloc[-1] - ts["dai_supply"].iloc[0]
    )
