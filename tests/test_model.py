from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import sim

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


@pytest.fixture
def small(small_scenario_file):
    return sim.load_scenario(small_scenario_file)


def test_crash_liquidates_and_keepers_clear(small):
    result = sim.run(small, seed=1)
    s = result.summary
    assert s["auctions"] > 0
    auctions = result.auctions
    done = auctions[auctions.end_tick >= 0]
    assert len(done) > 0
    # Competitive keepers with ample capital: a finished auction either raised its whole tab or
    # sold its whole lot (a vault already under water); penalties cover the shortfalls.
    raised_tab = done.dai_raised >= done.tab * (1 - 1e-9)
    sold_all = np.isclose(done.collateral_sold, done.lot, rtol=1e-9)
    assert (raised_tab | sold_all).all()
    assert raised_tab.any() and sold_all.any()
    # Realised losses (shortfalls of underwater vaults, keeper incentives) show in bad_debt
    # until penalties come in; by the end the penalties have covered them.
    assert s["bad_debt_final"] == 0.0
    assert 0 < s["bad_debt_max"] <= done.bad_debt.sum() + s["keeper_incentives"]
    assert s["penalty_collected"] > 0
    # Leftover collateral goes back to the owners.
    assert done.collateral_returned.sum() > 0
    ts = result.ilk("ETH-A")
    assert ts["liquidations"].sum() == s["auctions"]
    assert ts["vaults_open"].iloc[-1] < ts["vaults_open"].iloc[0]
    # The OSM lags the market in a falling price.
    falling = ts[(ts.tick > 12) & (ts.tick < 30)]
    assert (falling["osm_price"] > falling["price"]).all()
    assert s["keeper_profit"] > 0


def test_target_cr_cohort_defends_its_vaults(small):
    result = sim.run(small, seed=1)
    snap = result.vaults
    last = snap[snap.tick == snap.tick.max()]
    careful = last[last.cohort == "careful"]
    tail = last[last.cohort == "tail"]
    # The careful cohort topped up (ink grew), was never liquidated, and sits near its target.
    first = snap[(snap.tick == 0) & (snap.cohort == "careful")]
    assert careful.ink.sum() > first.ink.sum()
    assert (careful.debt > 0).all()
    liquidated = set(result.auctions.vault)
    assert not liquidated & set(careful.vault)
    assert liquidated & set(tail.vault)
    frobs = result.events[result.events.event == "frob"]
    assert set(frobs.actor) == {"careful"}
    assert (frobs.collateral > 0).all()


def test_model_is_a_mesa_model(small):
    model = sim.ProtocolModel(small, seed=2)
    model.step()
    model.run_for(5)
    assert model.tick == 6 and model.steps == 6
    assert model.now == 6 * small.clock.tick
    assert model.vat.check() == []
    assert {type(a).__name__ for a in model.agents} == {
        "PriceShockAgent",
        "BorrowerCohort",
        "Keeper",
    }


def test_invariants_hold_through_a_run(small):
    model = sim.ProtocolModel(small, seed=3)
    while not model.finished:
        model.step()
        assert model.vat.check() == [], model.tick
    ilk = model.vat.ilks["ETH-A"]
    assert np.all(ilk.ink >= 0) and np.all(ilk.art >= 0)


def test_no_keepers_means_no_liquidations(small_scenario_file):
    bare = sim.load_scenario(small_scenario_file)
    bare = bare.model_copy(update={"keepers": []})
    result = sim.run(bare, seed=1)
    assert result.summary["auctions"] == result.summary["vaults_liquidated"] == 0
    ts = result.ilk("ETH-A")
    assert ts["unsafe_vaults"].max() > 0
    # Nobody acts between the two samples: what keepers would see is what is left.
    assert np.array_equal(ts["unsafe_vaults"], ts["unsafe_vaults_after"])
    assert np.array_equal(ts["unsafe_debt"], ts["unsafe_debt_after"])


def test_the_model_records_when_each_replay_runs_out_of_data():
    scenario = sim.load_scenario(
        SCENARIOS / "black_thursday_2020.yaml",
        overrides=["clock.duration=3d", *(f"borrowers.{i}.vaults=20" for i in range(4))],
    )
    assert sim.ProtocolModel(scenario).data_held == {"ETH": 47 * 3600.0, "gas": 23 * 3600.0}


# ---------------------------------------------------------------------------------- levers
def _levers_scenario(tmp_path: Path) -> sim.Scenario:
    """conftest's small scenario with a DC-IAM and a breaker, ETH −40 % in 30 min at 1 h."""
    from tests.conftest import SMALL

    text = SMALL.replace(
        "crash: {depth: 0.4, at: 1h, over: 4h}", "crash: {depth: 0.4, at: 1h, over: 30m}"
    )
    text = text.replace(
        "tip: 100}",
        "tip: 100, breaker: {tolerance: 0.7}}\n    autoline: {line: 5.0e6, gap: 1.0e6, ttl: 2h}",
    )
    path = tmp_path / "levers.yaml"
    path.write_text(text)
    return sim.load_scenario(path)


def test_breaker_trips_at_the_osm_poke_and_stops_barks(tmp_path):
    result = sim.run(_levers_scenario(tmp_path), seed=1)
    ts, ev = result.timeseries, result.events
    stopped = ts["stopped[ETH-A]"].to_numpy()
    # The 2 h poke: cur = 2 000 (read at 1 h), nxt = 1 200 < 0.7 × 2 000.
    assert (stopped[:12] == 0).all() and (stopped[12:] == 2).all()
    trips = ev[ev.event == "breaker"]
    assert trips.tick.tolist() == [12] and trips.price.iloc[0] == pytest.approx(1200.0)
    assert (ev.event == "bark").sum() == 0
    assert ts["unsafe_vaults_after[ETH-A]"].iloc[-1] > 0


def test_autoline_sets_the_line_every_tick_by_dss_rules(tmp_path):
    result = sim.run(_levers_scenario(tmp_path), seed=1)
    ts = result.timeseries
    line, debt = ts["line[ETH-A]"].to_numpy(), ts["debt[ETH-A]"].to_numpy()
    assert line[0] == 1.0e9  # the scenario's line until the first exec
    assert line[1] == pytest.approx(debt[1] + 1.0e6)  # a decrease: at once
    ups = np.flatnonzero(np.diff(line[1:]) > 0) + 2
    assert ups.size >= 2 and (np.diff(ups) >= 12).all()  # increases 2 h (12 ticks) apart
    assert (line[1:] <= 5.0e6).all()


def test_no_lever_columns_unless_configured(small):
    columns = sim.run(small, seed=1).timeseries.columns
    assert not any(c.startswith(("line[", "stopped[")) for c in columns)
