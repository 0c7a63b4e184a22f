"""The dashboard's controls (sim/app/controls.py): scenario fields as knobs, their labels and
units from the schema, their values written back as ``--set`` overrides and validated.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import sim
from sim.app.controls import Control, apply, controls_for, overrides, values_of
from sim.scenario import ScenarioError, load_scenario
from tests.conftest import SCENARIOS, SMALL


def _small(tmp_path: Path, text: str = SMALL) -> sim.Scenario:
    path = tmp_path / "small.yaml"
    path.write_text(text)
    return load_scenario(path)


def _by_key(controls: list[Control]) -> dict[str, Control]:
    return {c.key: c for c in controls}


# ---------------------------------------------------------------------------------------- controls


def test_controls_hold_the_scenarios_values_in_display_units():
    scenario = load_scenario(SCENARIOS / "eth_crash_liq2.yaml")
    controls = _by_key(controls_for(scenario))
    assert list(controls) == [
        "crash_depth",
        "crash_over",
        "mat",
        "chop",
        "buf",
        "tail",
        "cusp",
        "market_depth",
        "keeper_dai_0",
        "seed",
    ]
    assert controls["crash_depth"].value == 0.5
    assert controls["crash_over"].value == 24.0  # hours
    assert controls["tail"].value == 140.0  # minutes
    assert controls["mat"].value == 1.45
    assert controls["market_depth"].value == 2.0e6 and controls["market_depth"].optional
    assert controls["keeper_dai_0"].value == 5.0e6
    assert controls["seed"].value == 7
    for c in controls.values():
        if c.widget == "slider":
            assert c.lo <= c.value <= c.hi, c.key


def test_every_ilk_and_collateral_has_its_controls(tmp_path):
    base = load_scenario(SCENARIOS / "multi_collateral.yaml")
    controls = _by_key(controls_for(base))
    assert controls["mat"].path == "ilks.ETH-A.mat"
    assert controls["mat_1"].path == "ilks.WBTC-A.mat"
    assert controls["tail_1"].path == "ilks.WBTC-A.liquidation.tail"
    assert controls["market_depth_1"].path == "collateral.WBTC.market.depth_usd_2pct"
    assert controls["market_depth_1"].value == 2.0e7
    assert [k for k in controls if k.startswith("keeper_dai")] == ["keeper_dai_0", "keeper_dai_1"]
    changed = apply(list(controls.values()), {"mat_1": 1.48, "market_depth_1": 1.0e6}, base)
    assert changed.ilks["WBTC-A"].mat == 1.48 and changed.ilks["ETH-A"].mat == 1.45
    assert changed.collateral["WBTC"].market.depth_usd_2pct == 1.0e6
    assert values_of(list(controls.values()), changed)["mat_1"] == 1.48


def test_gas_controls_only_with_a_network_and_per_bidding_strategy():
    crash = controls_for(load_scenario(SCENARIOS / "eth_crash_liq2.yaml"))
    assert not [c for c in crash if c.key.startswith("keeper_gas")]
    thursday = load_scenario(SCENARIOS / "black_thursday_2020.yaml")
    gas = [c for c in controls_for(thursday) if c.key.startswith("keeper_gas")]
    assert gas, "black_thursday_2020 has a network section and keepers"
    for c in gas:
        i = int(c.key.rsplit("_", 1)[1])
        assert c.path.startswith(f"keepers.{i}.gas")
        # a Flip scenario: no buf/tail/cusp
    assert "buf" not in _by_key(controls_for(thursday))


def test_override_texts_round_trip_through_the_scenario_api(tmp_path):
    base = _small(tmp_path)
    controls = controls_for(base)
    values = values_of(controls, base)
    assert overrides(controls, values, base) == []  # unchanged values give no override
    assert apply(controls, values, base) is base
    changed = {
        **values,
        "crash_over": 2.5,
        "tail": 45.0,
        "mat": 1.52,
        "market_depth": 3.0e6,
        "keeper_dai_0": 2.5e14,
        "seed": 11,
    }
    texts = overrides(controls, changed, base)
    assert "collateral.ETH.price.crash.over=2.5h" in texts
    assert "ilks.ETH-A.liquidation.tail=45m" in texts
    assert "seed=11" in texts
    new = apply(controls, changed, base)
    assert new.collateral["ETH"].price.crash.over == 2.5 * 3600
    assert new.ilks["ETH-A"].liquidation.tail == 45 * 60
    assert new.ilks["ETH-A"].mat == 1.52
    assert new.collateral["ETH"].market.depth_usd_2pct == 3.0e6
    assert new.keepers[0].dai == 2.5e14
    assert new.seed == 11
    assert values_of(controls, new) == changed
    # clearing an optional field unsets it again
    cleared = apply(controls, {**changed, "market_depth": None}, new)
    assert cleared.collateral["ETH"].market is None


def test_a_value_the_scenario_refuses_names_its_override(tmp_path):
    base = _small(tmp_path)
    controls = controls_for(base)
    values = {**values_of(controls, base), "keeper_dai_0": -5.0}
    with pytest.raises(ScenarioError, match=r"--set keepers\.0\.dai=-5\.0"):
        apply(controls, values, base)


def test_labels_and_units_come_from_the_schema():
    controls = _by_key(controls_for(load_scenario(SCENARIOS / "eth_crash_liq2.yaml")))
    assert {key: c.label for key, c in controls.items()} == {
        "crash_depth": "ETH crash depth [-]",
        "crash_over": "ETH crash length [h] (shorter = faster)",  # shown in hours
        "mat": "ETH-A liquidation ratio mat [-]",
        "chop": "ETH-A liquidation penalty chop [-]",
        "buf": "ETH-A start price over OSM buf [-]",
        "tail": "ETH-A auction reset time tail [min]",  # shown in minutes
        "cusp": "ETH-A reset price over start cusp [-]",
        "market_depth": "ETH market depth per 2 % move [USD]",
        "keeper_dai_0": "keepers 'keeper': capital per keeper [Dai]",
        "seed": "seed",
    }
    thursday = _by_key(controls_for(load_scenario(SCENARIOS / "black_thursday_2020.yaml")))
    assert thursday["keeper_gas_0"].label == "keepers 'keeper': median gas bid [gwei]"
