"""The story of a run (sim/story.py): findings read from the tables, zero-bid causes, blocks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sim
from sim.report import render_report
from sim.results import load_run
from sim.story import (
    NO_MARKET_KEEPER,
    OUT_OF_DAI,
    PRICED_OUT,
    STUCK_OR_DRY,
    gas_by_hour,
    story,
    zero_bid_causes,
)
from tests.conftest import SCENARIOS
from tests.test_english_auctions import FLIP

NETWORK = "network: {gas: {process: constant, gwei: 100}, block_time: 12s, gas_limit: 10.0e6}\n"
LOWBALLER = (
    "  - {name: low, dai: 1.0e6, gas_bid_gwei: 300, strategy: {kind: lowball, bid: 1.0e-18}}\n"
)


def _run(tmp_path, keepers: str, *, network: bool = True, overrides=()):
    text = FLIP.replace("keepers:\n  - {name: kp, count: 2, dai: 1.0e6}\n", f"keepers:\n{keepers}")
    path = tmp_path / "s.yaml"
    path.write_text(text + (NETWORK if network else ""))
    return sim.run(sim.load_scenario(path, overrides=["mkr.bidders=0", *overrides]), seed=1)


def _zero_bids(result) -> pd.DataFrame:
    """The zero-bid auctions, by the KPI's rule written out here (not sim.metrics')."""
    a, ts = result.auctions, result.timeseries.set_index("tick")
    done = a[a.end_tick >= 0]
    price = ts.loc[done.end_tick, "price[ETH-A]"].to_numpy()
    dai = ts.loc[done.end_tick, "dai_price"].to_numpy()
    value = done.collateral_sold.to_numpy() * price
    return done[(done.collateral_sold > 0) & (done.dai_raised * dai < 0.01 * value)]


def _utc(ts: pd.DataFrame, tick: int) -> str:
    return ts.set_index("tick").loc[tick, "time"].strftime("%Y-%m-%d %H:%M UTC")


def test_a_market_keeper_priced_out_for_the_whole_crash_explains_every_zero_bid(tmp_path):
    """The lowballer bids 300 gwei, the market keeper 99 under a 100-gwei chain: nothing of it lands."""
    result = _run(tmp_path, LOWBALLER + "  - {name: kp, count: 2, dai: 1.0e6, gas_bid_gwei: 99}\n")
    ts = result.timeseries
    zero = _zero_bids(result)
    assert len(zero) > 10 and result.summary["auctions_zero_bid"] == len(zero)
    assert ts["txs.keepers.kp"].sum() == 0  # not one of its transactions landed
    causes = zero_bid_causes(result)
    assert len(causes) == len(zero)
    assert set(causes["cause"]) == {PRICED_OUT}
    told = story(result)
    (why,) = told.of_kind("zero_bid_causes")
    assert why.values == {PRICED_OUT: len(zero)}
    assert f"{len(zero):,} (100 %) no market keeper transaction landed" in why.text
    (finding,) = told.of_kind("zero_bid")
    first = int(zero.start_tick.min())
    assert finding.values["first_start_tick"] == first
    assert f"the first starting at {_utc(ts, first)}" in finding.text
    # Priced out: every tick the keepers had work and nothing landed, minute by minute.
    waiting = ts.loc[ts.tick > 0, "priced_out.keepers.kp"] > 0
    (kp,) = [f for f in told.of_kind("priced_out") if f.values["group"] == "keepers.kp"]
    assert kp.values["total_s"] == 60.0 * waiting.sum()
    runs = (waiting != waiting.shift()).cumsum()[waiting]
    assert kp.values["longest_s"] == 60.0 * runs.value_counts().max()
    assert kp.values["gas_peak_gwei"] == pytest.approx(100.0)
    assert not [f for f in told.of_kind("priced_out") if f.values["group"] == "keepers.low"]


def test_market_keepers_without_dai_explain_the_zero_bids_as_out_of_dai(tmp_path):
    """The market keeper's transactions land (200 gwei) but it holds 1 Dai: its bids are refused."""
    result = _run(tmp_path, LOWBALLER + "  - {name: kp, count: 2, dai: 1.0, gas_bid_gwei: 200}\n")
    ts = result.timeseries
    zero = _zero_bids(result)
    assert len(zero) > 10
    assert ts["txs.keepers.kp"].sum() > 0  # it landed its bites and bids
    assert ts["dai.keepers.kp"].max() < zero.tab.min()  # never the Dai for one lot
    causes = zero_bid_causes(result)
    assert set(causes["cause"]) == {OUT_OF_DAI}
    (why,) = story(result).of_kind("zero_bid_causes")
    assert why.values == {OUT_OF_DAI: len(zero)}
    assert "market keepers out of Dai" in why.text


def test_one_keeper_priced_out_and_one_out_of_dai_leave_the_auctions_to_the_lowballer(tmp_path):
    """The rich keeper bids 99 under a 100-gwei chain; the one that lands holds 1 Dai.

    Neither group alone explains it (some transactions land; the group's Dai is plenty): the
    per-keeper ``idle`` count does.
    """
    result = _run(
        tmp_path,
        LOWBALLER
        + "  - {name: rich, dai: 1.0e7, gas_bid_gwei: 99}\n"
        + "  - {name: poor, dai: 1.0, gas_bid_gwei: 200}\n",
    )
    ts = result.timeseries
    zero = _zero_bids(result)
    assert len(zero) > 10
    assert ts["txs.keepers.rich"].sum() == 0 and ts["txs.keepers.poor"].sum() > 0
    assert ts["dai.keepers.rich"].min() == 1.0e7  # the Dai was there, in a stuck account
    causes = zero_bid_causes(result)
    assert set(causes["cause"]) == {STUCK_OR_DRY}
    (why,) = story(result).of_kind("zero_bid_causes")
    assert "every market keeper priced out or out of Dai" in why.text


def test_a_run_without_a_network_tells_no_gas_story(tmp_path):
    result = _run(tmp_path, LOWBALLER.replace(", gas_bid_gwei: 300", ""), network=False)
    assert "block_gas" not in result.timeseries
    told = story(result)
    kinds = [f.kind for f in told]
    assert "priced_out" not in kinds and "blocks" not in kinds
    zero = _zero_bids(result)
    assert told.of_kind("zero_bid_causes")[0].values == {NO_MARKET_KEEPER: len(zero)}
    assert kinds[:2] == ["crash", "liquidations"] and kinds[-1] == "outcome"
    # The crash: the market price's largest fall from a running peak.
    price = result.timeseries["price[ETH-A]"]
    fall = float((1 - price / price.cummax()).max())
    (crash,) = told.of_kind("crash")
    assert crash.values["fall"] == pytest.approx(fall)
    assert crash.values["trough_tick"] == int((1 - price / price.cummax()).idxmax())
    # The outcome: bad debt from the time series, the debt auctions from the event log.
    (outcome,) = told.of_kind("outcome")
    assert outcome.values["bad_debt_max"] == pytest.approx(result.timeseries.bad_debt.max())
    assert outcome.values["debt_auctions"] == int((result.events.event == "flop").sum())
    assert told.markdown().startswith("## What happened") and told.text().count("\n") == len(told)


def test_gas_by_hour_sums_each_hours_ticks(tmp_path):
    result = _run(tmp_path, LOWBALLER + "  - {name: kp, count: 2, dai: 1.0e6, gas_bid_gwei: 99}\n")
    ts = result.timeseries
    hours = gas_by_hour(ts)
    body = ts[ts.tick > 0]
    hour = body.time.dt.floor("h")
    assert len(hours) == hour.nunique() and hours.ticks.sum() == len(body)
    third = hours.iloc[2]
    rows = body[hour == third.hour]
    assert third.agent_share == pytest.approx(rows.agent_gas.sum() / rows.block_gas.sum())
    assert third["txs.keepers.low"] == rows["txs.keepers.low"].sum()
    assert third["priced_out_minutes.keepers.kp"] == (rows["priced_out.keepers.kp"] > 0).sum()
    assert third.gas_price_gwei == pytest.approx(100.0)
    (blocks,) = story(result).of_kind("blocks")
    share = (body.agent_gas / body.block_gas).max()
    assert blocks.values["peak_share"] == pytest.approx(share)
    assert blocks.values["hour_share_max"] == pytest.approx(hours.agent_share.max())
    assert blocks.values["busy_hours"] == list(hours.hour[hours.agent_share > 0.5])


def test_black_thursday_names_when_the_zero_bids_started_and_why():
    scenario = sim.load_scenario(
        SCENARIOS / "black_thursday_2020.yaml", overrides=["clock.duration=36h"]
    )
    result = sim.run(scenario, seed=11)
    zero = _zero_bids(result)
    assert len(zero) > 0
    told = story(result)
    (finding,) = told.of_kind("zero_bid")
    assert f"the first starting at {_utc(result.timeseries, int(zero.start_tick.min()))}" in (
        finding.text
    )
    (why,) = told.of_kind("zero_bid_causes")
    assert sum(why.values.values()) == len(zero) == result.summary["auctions_zero_bid"]
    # An auction is put down to gas exactly when, in every tick from its start to the tick
    # before its deal, no market keeper transaction landed while one waited.
    causes = zero_bid_causes(result)
    ts = result.timeseries.set_index("tick")
    gas = (ts["txs.keepers.keeper"] == 0) & (ts["priced_out.keepers.keeper"] > 0)
    expected = [
        bool(gas.loc[start : end - 1].all())
        for start, end in zip(causes.start_tick, causes.end_tick, strict=True)
    ]
    assert list(causes.cause == PRICED_OUT) == expected
    assert 0 < why.values[PRICED_OUT] == sum(expected) < len(zero)
    assert min(causes.start_tick[causes.cause == PRICED_OUT]) == zero.start_tick.min()


def test_the_report_of_a_run_folder_tells_what_happened(tmp_path):
    result = _run(tmp_path, LOWBALLER + "  - {name: kp, count: 2, dai: 1.0e6, gas_bid_gwei: 99}\n")
    folder = result.write(tmp_path / "run")
    run = load_run(folder)
    page = render_report(run, figures=[])
    assert "<h2>What happened</h2>" in page
    told = story(run)  # from the folder: no event log, the same findings otherwise
    assert [f.text for f in told.of_kind("zero_bid")] == [
        f.text for f in story(result).of_kind("zero_bid")
    ]
    for finding in told:
        assert finding.text.replace("'", "&#39;") in page
    assert np.isclose(
        told.of_kind("outcome")[0].values["bad_debt_max"], run.summary["bad_debt_max"]
    )
