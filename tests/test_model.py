from __future__ import annotations

import json
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


# ---------------------------------------------------------------------------------------- spells

#: A spell of pure parameter changes (ilk, liquidation and system), cast at ``{at}``.
SPELL = """\
governance:
  spells:
    - name: retune
      at: {at}
      set:
        ilks.ETH-A.liquidation.chop: 0.05
        ilks.ETH-A.liquidation.tip: 40
        ilks.ETH-A.stability_fee: 0.3
        ilks.ETH-A.mat: 1.52
        system.Hole: 5.0e6
"""
#: The same values as --set overrides.
SPELL_VALUES = [
    "ilks.ETH-A.liquidation.chop=0.05",
    "ilks.ETH-A.liquidation.tip=40",
    "ilks.ETH-A.stability_fee=0.3",
    "ilks.ETH-A.mat=1.52",
    "system.Hole=5.0e6",
]


def _run_with_spell(tmp_path, at: str, overrides=()):
    from tests.conftest import SMALL

    path = tmp_path / f"spell-{at.strip(chr(34))}.yaml"
    path.write_text(SMALL + SPELL.format(at=at))
    return sim.run(sim.load_scenario(path, overrides=list(overrides)))


def _digests(result, events=None):
    from tests.test_golden_runs import frame_digest

    tables = {t: frame_digest(getattr(result, t)) for t in ("timeseries", "auctions", "vaults")}
    ev = result.events if events is None else events
    tables["events"] = frame_digest(ev.reset_index(drop=True))
    return tables


def test_a_spell_at_the_start_is_the_value_in_the_file_bit_for_bit(small_scenario_file, tmp_path):
    spelled = _run_with_spell(tmp_path, "0s")
    filed = sim.run(sim.load_scenario(small_scenario_file, overrides=SPELL_VALUES))
    assert len(filed.auctions) > 0  # the comparison covers liquidations
    ev = spelled.events
    logged = ev[ev["event"] == "spell"]
    assert list(logged["tick"]) == [0] * 5  # logged at tick 0, one row per field
    assert _digests(spelled, ev[ev["event"] != "spell"]) == _digests(filed)
    assert spelled.summary == filed.summary


def test_a_spell_after_the_run_end_changes_nothing_bit_for_bit(small_scenario_file, tmp_path):
    spelled = _run_with_spell(tmp_path, "13h")
    plain = sim.run(sim.load_scenario(small_scenario_file))
    assert _digests(spelled) == _digests(plain)
    assert spelled.summary == plain.summary
    assert spelled.manifest["warnings"] and "never takes effect" in spelled.manifest["warnings"][0]


def test_a_spell_changes_nothing_before_its_tick_and_is_in_force_after(
    small_scenario_file, tmp_path
):
    spelled = _run_with_spell(tmp_path, "185m")
    plain = sim.run(sim.load_scenario(small_scenario_file))
    k = 19  # the first 10-minute tick ending at or after 185 min
    before = spelled.timeseries[spelled.timeseries["tick"] < k].reset_index(drop=True)
    plain_before = plain.timeseries[plain.timeseries["tick"] < k].reset_index(drop=True)
    from tests.test_golden_runs import frame_digest

    assert frame_digest(before) == frame_digest(plain_before)
    assert not spelled.timeseries.iloc[k:].equals(plain.timeseries.iloc[k:])
    # The new chop in the auctions started from the spell's tick on, the old one before.
    auctions = spelled.auctions
    late = auctions["start_tick"] >= k
    assert late.any() and (~late).any()
    assert np.allclose(auctions.loc[late, "tab"] / auctions.loc[late, "due"], 1.05)
    assert np.allclose(auctions.loc[~late, "tab"] / auctions.loc[~late, "due"], 1.13)
    # The event log: one row per field, at the spell's tick, with old → new.
    ev = spelled.events
    logged = ev[ev["event"] == "spell"]
    assert set(logged["tick"]) == {k} and set(logged["ilk"]) == {"ETH-A", ""}
    assert "retune: ilks.ETH-A.liquidation.chop 0.13 → 0.05" in set(logged["actor"])
    assert "retune: system.Hole 100000000 → 5000000" in set(logged["actor"])
    # The manifest keeps the scenario as given (its spells included, the old values).
    scenario = spelled.manifest["scenario"]
    assert scenario["ilks"]["ETH-A"]["liquidation"]["chop"] == 0.13
    assert scenario["governance"]["spells"][0]["name"] == "retune"


def test_a_new_stability_fee_starts_after_a_drip_at_the_old_one(small_scenario_file, tmp_path):
    from sim.protocol.jug import accrue

    path = tmp_path / "fee.yaml"
    path.write_text(small_scenario_file.read_text() + SPELL.format(at="1h"))
    model = sim.ProtocolModel(sim.load_scenario(path))
    for _ in range(5):
        model.step()
    rate = model.vat.ilks["ETH-A"].rate
    model.step()  # tick 6: the spell, then the tick's own drip
    assert model.vat.ilks["ETH-A"].rate == accrue(rate, 0.08, 600.0)
    assert model.jug.duty["ETH-A"] == 0.3 and model.spec.ilks["ETH-A"].stability_fee == 0.3
    rate = model.vat.ilks["ETH-A"].rate
    model.step()
    assert model.vat.ilks["ETH-A"].rate == accrue(rate, 0.3, 600.0)
    assert model.given.ilks["ETH-A"].stability_fee == 0.08


#: Every field a spell may change, a new value and where the live model holds it.
LIVE = {
    "ilks.ETH-A.mat": (1.7, lambda m: (m._spotter[0][2], m.cohorts[0].mat)),
    "ilks.ETH-A.stability_fee": (0.2, lambda m: m.jug.duty["ETH-A"]),
    "ilks.ETH-A.line": (3.0e9, lambda m: m.vat.ilks["ETH-A"].line),
    "ilks.ETH-A.dust": (50.0, lambda m: (m.vat.ilks["ETH-A"].dust, m.clippers["ETH-A"].chost)),
    "ilks.ETH-A.liquidation.chop": (
        0.2,
        lambda m: (m.dog.ilks["ETH-A"].chop, m.clippers["ETH-A"].chop),
    ),
    "ilks.ETH-A.liquidation.hole": (7.0e6, lambda m: m.dog.ilks["ETH-A"].hole),
    "ilks.ETH-A.liquidation.buf": (1.5, lambda m: m.clippers["ETH-A"].buf),
    "ilks.ETH-A.liquidation.tail": ("3h", lambda m: m.clippers["ETH-A"].tail),
    "ilks.ETH-A.liquidation.cusp": (0.3, lambda m: m.clippers["ETH-A"].cusp),
    "ilks.ETH-A.liquidation.chip": (0.01, lambda m: m.clippers["ETH-A"].chip),
    "ilks.ETH-A.liquidation.tip": (55, lambda m: m.clippers["ETH-A"].tip),
    "ilks.ETH-A.liquidation.curve": (
        {"kind": "linear", "tau": "2h"},
        lambda m: (m.clippers["ETH-A"].curve.kind, m.clippers["ETH-A"].curve.tau),
    ),
    "ilks.ETH-B.liquidation.chop": (0.2, lambda m: m.cat.ilks["ETH-B"].chop),
    "ilks.ETH-B.liquidation.lump": (20.0, lambda m: m.cat.ilks["ETH-B"].lump),
    "ilks.ETH-B.liquidation.dunk": (9.0e4, lambda m: m.cat.ilks["ETH-B"].dunk),
    "ilks.ETH-B.liquidation.beg": (0.1, lambda m: m.flippers["ETH-B"].beg),
    "ilks.ETH-B.liquidation.ttl": ("20m", lambda m: m.flippers["ETH-B"].ttl),
    "ilks.ETH-B.liquidation.tau": ("1d", lambda m: m.flippers["ETH-B"].tau),
    "system.Line": (4.0e9, lambda m: m.vat.Line),
    "system.Hole": (6.0e6, lambda m: m.dog.Hole),
    "system.box": (8.0e6, lambda m: m.cat.box),
    "system.base_fee": (0.01, lambda m: m.jug.base),
    "system.dsr": (0.02, lambda m: m.pot.dsr),
    "system.oracle.hop": ("2h", lambda m: m.osms["ETH"].hop),
    "system.vow.wait": ("1h", lambda m: m.vow.wait),
    "system.vow.sump": (6.0e4, lambda m: m.vow.sump),
    "system.vow.dump": (300.0, lambda m: m.vow.dump),
    "system.vow.bump": (2.0e4, lambda m: m.vow.bump),
    "system.vow.hump": (1.0e6, lambda m: m.vow.hump),
    "system.vow.pad": (0.2, lambda m: m.vow.flopper.pad),
    "system.vow.lid": (2.0e5, lambda m: m.vow.flapper.lid),
    "system.vow.flop": ({"beg": 0.1, "ttl": "1h", "tau": "1d"}, lambda m: m.vow.flopper.ttl),
    "system.vow.flap": ({"beg": 0.1, "ttl": "1h", "tau": "1d"}, lambda m: m.vow.flapper.tau),
    "system.psm.tin": (0.01, lambda m: m.psm.tin),
    "system.psm.tout": (0.02, lambda m: m.psm.tout),
    "system.psm.line": (5.0e8, lambda m: m.vat.ilks["PSM-USDC-A"].line),
    "system.psm.autoline": (
        {"line": 6.0e8, "gap": 5.0e8, "ttl": "1h"},
        lambda m: (
            (a.line, a.gap, a.ttl) if (a := m.autoline.ilks.get("PSM-USDC-A")) is not None else None
        ),
    ),
}
#: What each of LIVE's getters reads once the value is in force.
LIVE_WANT = {
    "system.psm.autoline": (6.0e8, 5.0e8, 3600.0),  # gap = the line: Line stays
    "ilks.ETH-A.mat": (1.7, 1.7),
    "ilks.ETH-A.dust": (50.0, 50.0 * 1.2),  # chost = dust · the spell's new chop
    "ilks.ETH-A.liquidation.chop": (1.2, 1.2),
    "ilks.ETH-A.liquidation.tail": 10800.0,
    "ilks.ETH-A.liquidation.curve": ("linear", 7200.0),
    "ilks.ETH-B.liquidation.chop": 1.2,
    "ilks.ETH-B.liquidation.ttl": 1200.0,
    "ilks.ETH-B.liquidation.tau": 86400.0,
    "system.oracle.hop": 7200.0,
    "system.vow.wait": 3600.0,
    "system.vow.pad": 1.2,
    "system.vow.flop": 3600.0,
    "system.vow.flap": 86400.0,
}
#: SMALL with a Liquidations 1.2 ilk and a PSM, so that every changeable field exists.
EVERY_ENGINE = """\
  ETH-B:
    collateral: ETH
    mat: 1.5
    line: 1.0e9
    liquidation: {engine: flip, version: "1.2"}
"""


def test_every_changeable_field_reaches_the_live_model(tmp_path):
    from sim.scenario.governance import CHANGEABLE
    from tests.conftest import SMALL

    concrete = {".".join("ETH-A" if p == "*" else p for p in pattern) for pattern in CHANGEABLE} | {
        ".".join("ETH-B" if p == "*" else p for p in pattern) for pattern in CHANGEABLE
    }
    flip_only = {"lump", "dunk", "beg", "ttl", "tau"}
    wanted = {
        path
        for path in concrete
        if not (path.startswith("ilks.ETH-A.liquidation.") and path.rsplit(".", 1)[1] in flip_only)
        and not (path.startswith("ilks.ETH-B") and path not in LIVE)
    }
    assert wanted == set(LIVE), "LIVE names every field of CHANGEABLE once"
    text = SMALL.replace(
        "system: {Hole: 1.0e8}", EVERY_ENGINE + "system: {Hole: 1.0e8, psm: {line: 1.0e8}}"
    )
    entries = "".join(f"        {p}: {json.dumps(value)}\n" for p, (value, _) in LIVE.items())
    path = tmp_path / "every.yaml"
    path.write_text(text + "governance:\n  spells:\n    - at: 30m\n      set:\n" + entries)
    model = sim.ProtocolModel(sim.load_scenario(path))
    before = {p: get(model) for p, (_, get) in LIVE.items()}
    for _ in range(3):
        model.step()
    for p, (value, get) in LIVE.items():
        want = LIVE_WANT.get(p, value)
        assert get(model) == want, p
        assert before[p] != want, f"{p}: the test's value is the start value"
