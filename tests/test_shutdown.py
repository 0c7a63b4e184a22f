"""Emergency Shutdown in a run: ProtocolModel.cage and the shutdown_crash scenario.

The final claims are checked against End arithmetic recomputed independently from the vault
book as it was at the cage (fix = (Art·rate·tag − gap) / debt).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import sim
from sim.model import ProtocolModel
from sim.protocol.vat import ProtocolError
from sim.shutdown import MARKET, shutdown_frame

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "shutdown_crash.yaml"
CAGE_AT = 10 * 3600.0


@pytest.fixture(scope="module")
def run():
    """The scenario as written: its spell cages at the start of the tick ending at 10 h."""
    model = ProtocolModel(sim.load_scenario(SCENARIO))
    while model.now + model.dt < CAGE_AT:
        model.step()
    books = {name: (b.ink.copy(), b.art.copy(), b.rate) for name, b in model.vat.ilks.items()}
    prices = {name: model.end.pips[name]() for name in model.vat.ilks}
    running = {n: c.active_ids().size for n, c in model.clippers.items()}
    tend = {
        n: int((f.bid[f.active_ids()] < f.tab[f.active_ids()]).sum())
        for n, f in model.flippers.items()
    }
    events_before = len(model.vat.log)
    assert model.shutdown is None
    model.step()  # the spell's cage, then the tick's shutdown process
    assert model.shutdown is not None
    cage_tick = model.tick
    model.run()
    return model, books, prices, running, tend, events_before, cage_tick


def test_scenario_has_running_auctions_and_underwater_vaults_at_the_cage(run):
    model, books, prices, running, tend, *_ = run
    assert running["ETH-A"] > 0 and tend["WBTC-A"] > 0
    ink, art, rate = books["ETH-A"]
    assert np.any(ink * prices["ETH-A"] < art * rate)  # underwater: a gap appears
    assert model.end.gap["ETH-A"] > 0


def test_agents_stop_after_the_cage(run):
    model, *_, cage_tick = run
    ev = model.vat.log.columns()
    after = ev["tick"] >= cage_tick  # the spell cages at the start of its tick
    agent_verbs = {"frob", "bark", "bite", "take", "redo", "tend", "dent", "psm_sell", "psm_buy"}
    assert not (set(ev["event"][after]) & agent_verbs)
    assert {"snip", "skip", "skim", "free", "thaw", "flow", "pack", "cash"} <= set(ev["event"])
    assert not any(c.active_ids().size for c in model.clippers.values())


def test_claims_match_end_arithmetic_recomputed_from_the_book(run):
    """fix = (Art·rate·tag − gap) / debt from the book at the cage; snipped/skipped auctions add
    their tab to the vault's debt, so Art and gap are recomputed from the book after them."""
    model, books, prices, *_ = run
    end = model.end
    frame = shutdown_frame(model.shutdown)
    ilks = frame[frame.kind == "ilk"].set_index("ilk")
    cash = frame[frame.kind == "cash"]
    debt = end.debt
    for name, (ink, art, rate) in books.items():
        tag = model.par / prices[name]
        assert ilks.loc[name, "tag"] == pytest.approx(tag, rel=1e-12)
        # Auctions put back: each snip/skip row gives lot and tab back to its vault.
        ev = model.vat.log.columns()
        back = np.isin(ev["event"], ["snip", "skip"]) & (ev["ilk"] == name)
        ink, art = ink.copy(), art.copy()
        np.add.at(ink, ev["vault"][back], ev["collateral"][back])
        np.add.at(art, ev["vault"][back], ev["dai"][back] / rate)
        owe = art * rate * tag
        gap = float((owe - np.minimum(ink, owe)).sum())
        fix = (art.sum() * rate * tag - gap) / debt
        assert ilks.loc[name, "gap"] == pytest.approx(gap, rel=1e-9, abs=1e-9)
        assert ilks.loc[name, "fix"] == pytest.approx(fix, rel=1e-9)
        mine = cash[cash.ilk == name]
        if fix > 0:
            assert mine.collateral.sum() == pytest.approx(ilks.loc[name, "collateral"], rel=1e-9)
            assert np.allclose(mine.collateral, mine.dai * fix, rtol=1e-9)
        assert end.custody(name) == pytest.approx(0.0, abs=1e-6)
    # Every Dai was packed: the market's share is the Dai outside the Vat.
    bags = cash.drop_duplicates("holder").set_index("holder").dai
    assert bags.sum() == pytest.approx(debt, rel=1e-9)
    assert MARKET in bags.index and bags[MARKET] > 0


def test_cage_is_the_single_entry_and_checks_the_time(run):
    model, *_ = run
    with pytest.raises(ProtocolError, match="End/not-live"):
        model.cage()
    fresh = ProtocolModel(sim.load_scenario(SCENARIO, overrides=["clock.duration=1h"]))
    with pytest.raises(ValueError):
        fresh.cage(now=123.0)
    fresh.vow.give_mkr("whale", 2e5)
    fresh.esm.join("whale", 1.5e5)
    fresh.esm.fire(fresh.now)  # the ESM fires through model.cage
    assert fresh.shutdown is not None and fresh.end.live == 0


def test_run_result_has_a_shutdown_table_only_with_a_shutdown(tmp_path):
    plain = sim.run(sim.load_scenario(SCENARIO, overrides=["clock.duration=1h"]))
    assert plain.shutdown is None
    assert "shutdown.parquet" not in plain.manifest["files"]


def test_run_folder_holds_the_shutdown_table(tmp_path, run):
    from sim.runner import result_of

    model, *_ = run
    result = result_of(model, wall_time_s=0.0)
    folder = result.write(tmp_path / "run")
    assert "shutdown.parquet" in result.manifest["files"]
    import pandas as pd

    table = pd.read_parquet(folder / "shutdown.parquet")
    assert set(table.kind) == {"free", "ilk", "cash"}


def test_bad_debt_after_the_cage_is_the_dai_the_collateral_does_not_back(run):
    """The recorder's deficit after a shutdown: Dai outstanding minus the End's collateral at the
    cage prices, i.e. debt·(1 − Σ fix/tag) — the loss Dai holders bear — held from settlement
    on (not the whole skimmed debt, which the End's collateral covers)."""
    from sim.runner import result_of

    model, *_, cage_tick = run
    ts = result_of(model, wall_time_s=0.0).timeseries.set_index("tick")
    end = model.end
    per_dai = sum(end.fix[ilk] / end.tag[ilk] for ilk in end.fix)  # Dai value of one Dai's claim
    unbacked = end.debt * (1.0 - per_dai)
    assert unbacked > 1e6  # underwater vaults: holders lose
    assert ts.loc[cage_tick, "bad_debt"] == pytest.approx(unbacked, rel=1e-9)
    assert ts.loc[model.shutdown.thawed - 1, "bad_debt"] == pytest.approx(unbacked, rel=1e-9)
    assert ts["bad_debt"].iloc[-1] == pytest.approx(unbacked, rel=1e-9)  # held once settled


def test_settled_at_once_the_loss_still_shows_and_dent_auctions_end(tmp_path):
    """With no End wait the shutdown settles in its first tick: bad_debt still reads the
    holders' loss, and Flipper auctions past their Dai-bid phase are dealt afterwards."""
    result = sim.run(
        sim.load_scenario(SCENARIO, overrides=["system.end.wait=0s", "clock.duration=16h"])
    )
    assert result.summary["bad_debt_max"] > 1e6
    assert result.summary["bad_debt_final"] == result.summary["bad_debt_max"]
    ev = result.events
    cage_tick = int(ev.loc[ev["event"] == "thaw", "tick"].iloc[0])
    assert (ev.loc[ev["event"] == "deal", "tick"] > cage_tick).any()


def test_a_voided_oracle_delays_its_ilk_s_cage_price_not_the_run(tmp_path):
    """dss cage(ilk) needs a price: an ilk whose OSM was voided is caged once governance has
    started the OSM again and it has a price; nothing is settled before. Never started, the
    run goes on without settling."""
    spells = (
        "governance:\n  spells:\n"
        "    - {name: void, at: 9h, do: [{action: void_osm, asset: ETH}]}\n"
        "    - {name: shut, at: 10h, do: [{action: cage}]}\n"
    )
    kept = [
        line
        for line in SCENARIO.read_text().splitlines()
        if not line.startswith(("governance:", "  spells:")) and "emergency-shutdown" not in line
    ]
    text = "\n".join(kept) + "\n" + spells
    plain = tmp_path / "void.yaml"
    plain.write_text(text)
    stuck = sim.run(sim.load_scenario(plain, overrides=["clock.duration=18h"]))
    caged = stuck.events.query("event == 'cage'")["ilk"]
    assert "ETH-A" not in set(caged) and "WBTC-A" in set(caged)
    assert stuck.shutdown is None or not (stuck.shutdown["kind"] == "cash").any()
    restart = plain.with_name("restart.yaml")
    restart.write_text(
        text + "    - {name: start, at: 11h, do: [{action: start_osm, asset: ETH}]}\n"
    )
    done = sim.run(sim.load_scenario(restart))
    ev = done.events
    eth = ev.loc[(ev["event"] == "cage") & (ev["ilk"] == "ETH-A"), "tick"]
    assert len(eth) == 1 and int(eth.iloc[0]) > 11 * 12  # two hops after the start
    assert (done.shutdown["kind"] == "cash").any()
