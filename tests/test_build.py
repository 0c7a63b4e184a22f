"""Exogenous processes from scenario specs (sim/scenario/build.py): each price or gas section
becomes its process with the section's parameters; replayed data are read from the scenario's
folder on its clock and checked against the schema's bounds."""

from __future__ import annotations

import numpy as np
import pytest

from sim.market import gas as gasm
from sim.market import prices as px
from sim.scenario import load_scenario
from sim.scenario.build import build_gas_process, build_price_process, build_replay
from sim.scenario.schema import ConstantGasSpec, ScriptedPrice
from tests.scenario_helpers import CSV, only_error, scenario_with


def price_of(small_scenario_file, spec: str):
    """The process built from SMALL with ETH's price section replaced by ``spec``."""
    s = load_scenario(small_scenario_file, [f"collateral.ETH.price={spec}"])
    return build_price_process(s.collateral["ETH"].price, s), s


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            "{process: gbm, start: 2000, vol: 0.5, drift: 0.1}",
            px.GBM(start=2000.0, vol=0.5, drift=0.1),
        ),
        (
            "{process: jump_diffusion, start: 2000, vol: 0.5, jump_rate: 2, jump_mean: -0.1, "
            "jump_std: 0.05}",
            px.JumpDiffusion(
                start=2000.0, vol=0.5, drift=0.0, jump_rate=2.0, jump_mean=-0.1, jump_std=0.05
            ),
        ),
        (
            "{process: scripted, start: 2000, crash: {depth: 0.4, at: 1h, over: 4h}, vol: 0.2}",
            px.Scripted(start=2000.0, points=None, crash=(0.4, 3600.0, 14_400.0), vol=0.2),
        ),
        (
            "{process: scripted, points: [[1h, 1500], [2h, 1000]]}",
            px.Scripted(start=1500.0, points=[(3600.0, 1500.0), (7200.0, 1000.0)], crash=None),
        ),
        (
            "{process: bridge, start: 2000, target: 1000, at: 6h, vol: 0.3, drift: 0.05}",
            px.Bridge(start=2000.0, target=1000.0, at=21_600.0, vol=0.3, drift=0.05),
        ),
    ],
    ids=["gbm", "jump_diffusion", "crash", "points", "bridge"],
)
def test_each_price_section_builds_its_process(small_scenario_file, spec, expected):
    process, _ = price_of(small_scenario_file, spec)
    assert process == expected


def test_a_crash_without_a_start_price_cannot_be_built(small_scenario_file):
    s = load_scenario(small_scenario_file)
    spec = ScriptedPrice.model_validate(
        {"process": "scripted", "crash": {"depth": 0.5, "at": "1h", "over": "1h"}}
    )
    with pytest.raises(ValueError, match="a scripted crash needs a start price"):
        build_price_process(spec, s)


def test_a_replayed_column_is_read_from_the_scenarios_folder_on_its_clock(tmp_path):
    path = scenario_with(tmp_path, "p.csv", extra=", interpolate: previous, vol: 0.1, beyond: hold")
    (path.parent / "p.csv").write_text(CSV)
    s = load_scenario(path, overrides=["clock.start=2019-12-31T23:00:00Z", "clock.duration=2h"])
    process = build_price_process(s.collateral["ETH"].price, s)
    assert isinstance(process, px.Replay)
    assert process.times.tolist() == [3600.0 * (h + 1) for h in range(13)]  # an hour after start
    assert process.values.tolist() == [2000.0 - 50 * h for h in range(13)]
    assert process.interpolate == "previous" and process.vol == 0.1


@pytest.mark.parametrize(
    ("network", "expected"),
    [
        ("{gas: {process: constant, gwei: 40}, gas_limit: 30.0e6}", gasm.ConstantGas(40.0)),
        (
            "{gas: {process: spike, base: 30, peak: 400, at: 2h, over: 1h, decay: 30m}, gas_limit: 3.0e7}",
            gasm.SpikeGas(base=30.0, peak=400.0, at=7200.0, over=3600.0, decay=1800.0),
        ),
    ],
    ids=["constant", "spike"],
)
def test_each_gas_section_builds_its_process(small_scenario_file, network, expected):
    s = load_scenario(small_scenario_file, [f"network={network}"])
    assert build_gas_process(s.network.gas, s) == expected


def test_replayed_gas_prices_are_bounded_by_the_gwei_limit(tmp_path):
    path = scenario_with(tmp_path, "p.csv")
    (path.parent / "p.csv").write_text(CSV.replace(",10\n", ",2e6\n", 1))  # above 1e6 gwei
    path.write_text(
        path.read_text() + "network: {gas: {process: replay, file: p.csv, column: gas, "
        "beyond: hold}, gas_limit: 30.0e6}\n"
    )
    message = only_error(path)
    assert "network.gas.file:" in message
    assert "p.csv:2: gas: the value is outside the allowed range [0, 1e+06]" in message


def test_a_spec_of_the_other_kind_is_a_type_error(small_scenario_file):
    s = load_scenario(small_scenario_file)
    with pytest.raises(TypeError, match="unknown price spec ConstantGasSpec"):
        build_price_process(ConstantGasSpec(process="constant", gwei=1.0), s)
    with pytest.raises(TypeError, match="unknown gas spec ScriptedPrice"):
        build_gas_process(s.collateral["ETH"].price, s)


def test_a_replay_refuses_values_beyond_its_bounds(tmp_path):
    path = scenario_with(tmp_path, "p.csv")
    (path.parent / "p.csv").write_text(CSV)
    s = load_scenario(path)
    spec = s.collateral["ETH"].price
    assert build_replay(spec, s, bounds=(1400.0, 2000.0)).values.max() == 2000.0
    with pytest.raises(px.DataError, match=r"p.csv:2: eth: the value is outside the allowed range"):
        build_replay(spec, s, bounds=(0.0, 1500.0))


# ---------------------------------------------------------------------------------------- replayed data


def test_beyond_hold_keeps_the_first_and_last_values(tmp_path):
    path = scenario_with(tmp_path, "p.csv", extra=", beyond: hold")
    (path.parent / "p.csv").write_text(CSV)
    s = load_scenario(path, overrides=["clock.start=2019-12-31T22:00:00Z", "clock.duration=1d"])
    process = build_price_process(s.collateral["ETH"].price, s)
    p = process.path(s.n_ticks, s.clock.tick, np.random.default_rng(0))
    assert np.all(p[:13] == 2000.0)  # two hours before the data: the first value
    assert p[12] == 2000.0 and p[18] == 1950.0
    assert np.all(p[-60:] == 1400.0)  # after the data: the last value


def test_replayed_values_out_of_bounds_are_refused(tmp_path):
    path = scenario_with(tmp_path, "p.csv")
    (path.parent / "p.csv").write_text(CSV.replace(",1950,", ",1e300,"))
    message = only_error(path)
    assert "p.csv:3: eth: the value is outside the allowed range [1e-09, 1e+12]" in message
