"""Checks across sections (sim/scenario/checks.py): names that refer to other sections, cohorts,
keepers, markets, ceilings, the clock, price paths that would overflow, the processes built once
and replayed data that must cover the run; and the advisories that do not stop a run."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from sim.scenario import advisories, load_scenario
from sim.scenario.build import build_gas_process
from sim.scenario.checks import LOG_MOVE_MAX, SIGMAS, log_move, run_end
from sim.scenario.schema import BridgePrice, GbmPrice, ScriptedPrice
from tests.conftest import SMALL
from tests.scenario_helpers import (
    CSV,
    error_of,
    messages_of,
    only_error,
    scenario_with,
    write,
)


def test_missing_csv_column_named(tmp_path):
    data = tmp_path / "p.csv"
    data.write_text("timestamp,eth\n2020-01-01T00:00:00Z,100\n2020-01-01T01:00:00Z,90\n")
    text = SMALL.replace(
        "price: {process: scripted, start: 2000, crash: {depth: 0.4, at: 1h, over: 4h}}",
        "price: {process: replay, file: p.csv, column: eth_close}",
    )
    errs = messages_of(write(tmp_path, text))
    assert "collateral.ETH.price.file" in errs[0] and "eth_close" in errs[0]


def test_cross_checks(tmp_path):
    text = SMALL.replace("ilk: ETH-A, vaults: 200", "ilk: ETH-B, vaults: 200").replace(
        "median: 2.0", "median: 1.4"
    )
    errs = messages_of(write(tmp_path, text))
    assert any("borrowers.0.ilk: unknown ilk 'ETH-B'" in e for e in errs), errs
    assert any("borrowers.1.cr.median" in e and "mat" in e for e in errs), errs


def test_cross_section_conflicts(tmp_path):
    text = SMALL.replace("line: 1.0e9", "line: 1.0e6") + (
        "mkr: {price: {process: scripted, crash: {depth: 0.5, at: 1h, over: 1h}}}\n"
    )
    errs = messages_of(write(tmp_path, text))
    assert any("ilks.ETH-A.line" in e and "above its line" in e for e in errs), errs
    assert any("mkr.price" in e and "start" in e for e in errs), errs


def test_mixed_cat_versions_are_valid_and_the_mkr_name_is_reserved(tmp_path):
    text = (
        SMALL.replace(
            "liquidation: {engine: clip, chop: 0.13, hole: 1.0e8, buf: 1.2, tail: 2h, cusp: 0.4, chip: 0.001, tip: 100}",
            "liquidation: {engine: flip, version: '1.0'}",
        )
        .replace(
            "system: {Hole: 1.0e8}",
            "  ETH-B: {collateral: ETH, mat: 1.5, line: 1.0e9, liquidation: {engine: flip, version: '1.2'}}\n"
            "system: {Hole: 1.0e8}",
        )
        .replace(
            "collateral:\n", "collateral:\n  MKR: {price: {process: gbm, start: 1000, vol: 1}}\n"
        )
    )
    text += "mkr: {price: {process: gbm, start: 1000, vol: 1}}\n"
    errs = messages_of(write(tmp_path, text))
    # Each flip ilk has its own Cat version, as on mainnet while ilks moved to 1.2 one by one.
    assert not any("liquidation.version" in e for e in errs), errs
    assert any("collateral.MKR" in e and "taken" in e for e in errs), errs


def test_a_long_volatile_run_is_refused_before_its_path_overflows(tmp_path):
    text = SMALL.replace("tick: 10m, duration: 12h", "tick: 1d, duration: 36500d").replace(
        "{process: scripted, start: 2000, crash: {depth: 0.4, at: 1h, over: 4h}}",
        "{process: gbm, start: 2000, vol: 5}",
    )
    err = error_of(write(tmp_path, text))
    assert [e.path for e in err.errors] == ["collateral.ETH.price"]
    assert f"(limit {LOG_MOVE_MAX:g})" in err.errors[0].message
    # the same process over a month is fine
    load_scenario(write(tmp_path, text.replace("duration: 36500d", "duration: 30d"), "ok.yaml"))


def test_a_run_ending_after_the_year_9999_is_refused(small_scenario_file):
    err = error_of(
        small_scenario_file,
        ["clock.start=9999-06-01T00:00:00Z", "clock.duration=365d", "clock.tick=1d"],
    )
    assert [(e.path, e.message) for e in err.errors] == [
        ("clock.duration", "the run would end after the year 9999")
    ]


def test_data_that_end_before_the_run_are_an_error_naming_both_spans(tmp_path):
    path = scenario_with(tmp_path, "p.csv")
    (path.parent / "p.csv").write_text(CSV)
    load_scenario(path)  # 12 h of data for a 12 h run
    message = only_error(path, overrides=["clock.duration=13h"])
    assert message == (
        f"{path}:6: collateral.ETH.price.file: p.csv: column 'eth' "
        "covers 2020-01-01T00:00:00Z to 2020-01-01T12:00:00Z, but the run needs "
        "2020-01-01T00:00:00Z to 2020-01-01T13:00:00Z; extend the data, change the clock, or "
        "set beyond: hold (the first value before the data, the last after)"
    )
    message = only_error(path, overrides=["clock.start=2019-12-31T23:00:00Z"])
    assert "needs 2019-12-31T23:00:00Z to 2020-01-01T11:00:00Z" in message


def test_gas_coverage_is_checked_too(tmp_path):
    path = scenario_with(tmp_path, "p.csv")
    (path.parent / "p.csv").write_text(CSV)
    gas = "network: {gas: {process: replay, file: p.csv, column: gas}, gas_limit: 30.0e6}\n"
    path.write_text(path.read_text() + gas)
    message = only_error(path)
    assert "network.gas.file: p.csv: column 'gas' covers 2020-01-01T00:00:00Z to " in message
    path.write_text(path.read_text().replace("column: gas}", "column: gas, beyond: hold}"))
    s = load_scenario(path)
    g = build_gas_process(s.network.gas, s).path(s.n_ticks, s.clock.tick, np.random.default_rng())
    assert g[-1] == 15.0  # the gas column's last value, at 05:00


# ---------------------------------------------------------------------------------------- each check


@pytest.mark.parametrize(
    ("overrides", "path", "message"),
    [
        (["clock.tick=13h"], "clock.tick", "the tick is longer than the duration"),
        (
            ["ilks.ETH-A.collateral=BTC"],
            "ilks.ETH-A.collateral",
            "unknown collateral 'BTC' (defined: ETH)",
        ),
        (
            ["collateral.ETH.price.points=[[0h, 2000]]"],
            "collateral.ETH.price",
            "scripted needs exactly one of crash or points",
        ),
        (["borrowers.1.name=tail"], "borrowers.1.name", "duplicate cohort name 'tail'"),
        (
            ["borrowers.0.cr={dist: uniform, min: 1.6}"],
            "borrowers.0.cr",
            "uniform needs min and max",
        ),
        (["borrowers.0.cr.max=1.5"], "borrowers.0.cr.max", "max is below min"),
        (
            ["borrowers.0.debt=1e4"],
            "borrowers.0.debt",
            "50 Dai per vault is below the ilk's dust 100",
        ),
        (
            ["borrowers.1.strategy.target=1.6"],
            "borrowers.1.strategy.target",
            "target must be above trigger",
        ),
        (
            ["borrowers.1.strategy.trigger=1.4"],
            "borrowers.1.strategy.trigger",
            "trigger 1.4 is not above the ilk's mat 1.5",
        ),
        (
            ["keepers=[{name: kp, count: 1, dai: 1e6}, {name: kp, count: 1, dai: 1e6}]"],
            "keepers.1.name",
            "duplicate keeper name 'kp'",
        ),
        (
            ["keepers.0.strategy={kind: lowball}"],
            "keepers.0.strategy.kind",
            "lowball keepers bid in English auctions; no ilk uses engine: flip",
        ),
        (
            ["network={gas: {process: constant, gwei: 10}, gas_limit: 30.0e6, eth: BTC}"],
            "network.eth",
            "unknown collateral 'BTC' to price gas with",
        ),
        (["correlation={BTC: {ETH: 0.5}}"], "correlation.BTC", "unknown asset (defined: ETH)"),
        (
            ["correlation={ETH: {ETH: 0.5}}"],
            "correlation.ETH.ETH",
            "an asset's own correlation is 1",
        ),
        (["system.psm={line: 1e6, start: 2e6}"], "system.psm.start", "above the PSM line 1e+06"),
        (
            ["system.Line=1e6"],
            "system.Line",
            "the vaults (and PSM) start with 3e+06 Dai, above Line 1e+06",
        ),
        (
            ["system.vow.lid=5000"],
            "system.vow.lid",
            "lid 5000 is below bump 10000: no surplus auction could start",
        ),
    ],
)
def test_each_cross_check_names_its_field(small_scenario_file, overrides, path, message):
    err = error_of(small_scenario_file, overrides)
    assert (path, message) in [(e.path, e.message) for e in err.errors], str(err)


def test_a_valid_scenario_passes_every_check(small_scenario_file):
    load_scenario(small_scenario_file, ["correlation={ETH: {ETH: 1}}", "system.Line=3e6"])


def test_log_move_bounds_drift_and_noise():
    gbm = GbmPrice(process="gbm", start=2000.0, vol=0.8, drift=0.1)
    assert log_move(gbm, 2.0) == pytest.approx(
        abs(0.1 - 0.5 * 0.8**2) * 2.0 + SIGMAS * 0.8 * math.sqrt(2.0)
    )
    assert log_move(ScriptedPrice(process="scripted", start=1.0, points=[(0.0, 1.0)]), 5.0) == 0
    bridge = BridgePrice(process="bridge", start=2000.0, target=500.0, at="1h", vol=0.0)
    assert log_move(bridge, 1.0) == pytest.approx(math.log(4.0))
    assert LOG_MOVE_MAX == 300.0


def test_the_run_ends_after_its_ticks(small_scenario_file):
    s = load_scenario(small_scenario_file, ["clock.tick=7m"])  # 103 ticks, past 12 h
    assert run_end(s) == dt.datetime(2020, 1, 1, 12, 1, tzinfo=dt.UTC)


def test_advisories_warn_without_refusing(small_scenario_file):
    assert advisories(load_scenario(small_scenario_file)) == []
    gas = load_scenario(small_scenario_file, ["keepers.0.gas_bid_gwei=50"])
    assert advisories(gas) == [
        "keepers.0.gas_bid_gwei: without a network section there are no gas prices to bid "
        "against: the bid is ignored and transactions cost nothing"
    ]
    slow = load_scenario(small_scenario_file, ["clock.tick=3h"])
    (warning,) = advisories(slow)
    assert warning.startswith(
        "clock.tick: a tick of 3h is longer than ilks.ETH-A.liquidation.tail 2h: keepers act once"
    )


def test_autoline_needs_a_system_line_at_least_the_ilk_line(tmp_path):
    text = SMALL.replace("system: {Hole: 1.0e8}", "system: {Hole: 1.0e8, Line: 5.0e8}").replace(
        "tip: 100}", "tip: 100}\n    autoline: {line: 1.0e9, gap: 1.0e6, ttl: 1h}"
    )
    errs = messages_of(write(tmp_path, text))
    assert any("ilks.ETH-A.autoline" in e and "exec reverts" in e for e in errs), errs
