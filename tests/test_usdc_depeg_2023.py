"""The USDC depeg case of March 2023: its two scenario files stay one apart, and the case's run
follows USDC through the PSM until the DC-IAM's room runs out."""

from __future__ import annotations

import sim
from sim.calibrate.cases import load_case
from sim.calibrate.statistics import compute
from tests.conftest import SCENARIOS

EVENTS = SCENARIOS / "events"


def test_the_no_spell_file_is_the_case_without_its_governance():
    with_spell = sim.load_scenario(EVENTS / "usdc_depeg_2023.yaml").to_dict()
    without = sim.load_scenario(EVENTS / "usdc_depeg_2023_nospell.yaml").to_dict()
    for data in (with_spell, without):
        data.pop("name")
        data.pop("description")
    assert with_spell.pop("governance") is not None and without.pop("governance", None) is None
    assert with_spell == without


def test_the_case_loads_with_its_targets_and_the_spell_takes_effect_on_13_march():
    case = load_case(SCENARIOS / "cases" / "usdc_depeg_2023.yaml")
    assert case.spec.sample == "out_of_sample" and case.spec.posterior is None
    assert set(case.spec.targets) == {"dai_low", "dai_low_hour", "dai_supply_change"}
    gov = case.scenario.governance
    # cast 11 March 12:57:11 UTC + 48 h: 13 March 12:57:11, i.e. 3 d 12 h 57 min 11 s after the start
    assert gov.effect_s(0, case.scenario.clock.start) == (3 * 24 + 12) * 3600 + 57 * 60 + 11


def test_the_dai_follows_usdc_down_while_the_psm_has_room():
    result = sim.run(sim.load_scenario(EVENTS / "usdc_depeg_2023.yaml", ["clock.duration=32h"]))
    ts = result.timeseries
    # the Dai never trades below USDC (tin 0: the band's lower edge is g/(1 + tout) = g)
    assert (ts["dai_price"] >= ts["psm_gem_price"] - 1e-12).all()
    assert compute(result, "psm_gem_growth") > 0
    assert (ts["psm_debt"] <= ts["psm_line"] + 1e-3).all()  # the ceiling holds
