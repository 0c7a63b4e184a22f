"""Governance actions (sim/scenario/actions.py): a spell's ``do`` list, its checks, its effects."""

from __future__ import annotations

import subprocess

import numpy as np
import pandas as pd
import pytest

import sim
from sim.model import ProtocolModel
from sim.scenario.actions import ACTIONS, Action
from sim.scenario.governance import spell_marks, timeline
from sim.scenario.paths import union_members
from tests.conftest import SMALL
from tests.scenario_helpers import line_of, messages_of, write

#: SMALL with a small book (the crash: ETH −40 % from 1 h over 4 h; ticks of 10 minutes).
TINY = SMALL.replace("vaults: 200", "vaults: 40").replace("vaults: 50", "vaults: 10")


def spell(do: str, at: str = "2h", extra: str = "") -> str:
    return TINY + f"governance:\n  spells:\n    - {{name: act, at: {at}, do: {do}{extra}}}\n"


def run(tmp_path, text: str, name: str = "s.yaml") -> sim.RunResult:
    return sim.run(sim.load_scenario(write(tmp_path, text, name)))


@pytest.fixture(scope="module")
def plain(tmp_path_factory) -> sim.RunResult:
    """TINY without governance: what each action's run is compared with."""
    return run(tmp_path_factory.mktemp("plain"), TINY)


def kinds_from(events: pd.DataFrame, tick: int) -> set[str]:
    return set(events.loc[events["tick"] >= tick, "event"])


# ---------------------------------------------------------------------------------------- schema


def test_the_do_schema_is_the_registry():
    assert {m.model_fields["action"].annotation.__args__[0] for m in union_members(Action)} == set(
        ACTIONS
    )


def test_a_spell_with_only_actions_has_no_changes_and_keeps_its_actions(tmp_path):
    s = sim.load_scenario(write(tmp_path, spell("[{action: stop_osm, asset: ETH}]")))
    (step,) = timeline(s).later
    assert step.changes == () and [a.action for a in step.actions] == ["stop_osm"]
    assert step.scenario == s
    assert spell_marks(s.to_dict()) == [("act", 2 * 3600.0)]  # marked like any spell


@pytest.mark.parametrize(
    ("do", "field", "expected"),
    [
        ("[{action: stop_osm, asset: BTC}]", "do.0.asset", "unknown asset 'BTC' (collateral: ETH)"),
        (
            "[{action: flap, enabled: false}, {action: breaker, ilk: ETH-B, level: 1}]",
            "do.1.ilk",
            "unknown ilk 'ETH-B' (defined: ETH-A)",
        ),
    ],
)
def test_an_unknown_asset_or_ilk_is_refused_at_its_entry(tmp_path, do, field, expected):
    path = write(tmp_path, spell(do))
    (message,) = messages_of(path)
    assert (
        message
        == f"{path}:{line_of(path.read_text(), 'name: act')}: governance.spells.0.{field}: {expected}"
    )


def test_a_breaker_on_a_flip_ilk_and_an_empty_spell_are_refused(tmp_path):
    flip = TINY.replace(
        "{engine: clip, chop: 0.13, hole: 1.0e8, buf: 1.2, tail: 2h, cusp: 0.4, chip: 0.001, tip: 100}",
        "{engine: flip, chop: 0.13, lump: 50}",
    )
    text = (
        flip
        + "governance:\n  spells:\n    - {at: 1h, do: [{action: breaker, ilk: ETH-A, level: 2}]}\n    - {at: 2h}\n"
    )
    messages = [m.split(": ", 1)[1] for m in messages_of(write(tmp_path, text))]
    assert messages[0].startswith("governance.spells.0.do.0.ilk: ETH-A liquidates with a Flipper")
    assert (
        messages[1]
        == "governance.spells.1: a spell needs a set (fields to change) or a do (actions)"
    )


def test_bad_actions_exit_2_with_file_and_line_through_the_cli(cdpsim_cmd, tmp_path):
    path = write(
        tmp_path,
        spell("[{action: pause_everything}, {action: breaker, ilk: ETH-A, level: 5}]"),
    )
    res = subprocess.run(
        [*cdpsim_cmd, "validate", str(path)], capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 2 and "Traceback" not in res.stderr
    line = line_of(path.read_text(), "name: act")
    assert (
        f"{path}:{line}: governance.spells.0.do.0: unknown 'action' 'pause_everything'; expected "
        "one of 'stop_osm', 'start_osm', 'void_osm', 'breaker', 'flap', 'flop'"
    ) in res.stderr
    assert f"{path}:{line}: governance.spells.0.do.1.level:" in res.stderr


# ---------------------------------------------------------------------------------------- effects


def test_stop_osm_freezes_its_price_and_the_run_is_the_same_before(tmp_path, plain):
    result = run(tmp_path, spell("[{action: stop_osm, asset: ETH}]"))
    ts, base = result.timeseries, plain.timeseries
    t = 12  # cast at 2 h, no delay: the start of tick 12
    pd.testing.assert_frame_equal(ts.iloc[:t], base.iloc[:t])
    osm = ts["osm_price[ETH-A]"].to_numpy()
    assert (osm[t - 1 :] == osm[t - 1]).all()  # frozen from the stop on
    assert not (base["osm_price[ETH-A]"].to_numpy()[t:] == osm[t - 1]).all()  # else it moves
    spells = result.events[result.events["event"] == "spell"]
    assert list(zip(spells["tick"], spells["actor"], strict=True)) == [(t, "act: stop_osm ETH")]


def test_void_osm_files_spot_zero_and_no_bark_or_redo_follows(tmp_path):
    short = TINY.replace("tail: 2h", "tail: 30m")  # unsold lots need a reset every 30 minutes
    t = 24  # 4 h: barks started at 3 h
    plain = run(tmp_path, short, "plain.yaml")
    result = run(
        tmp_path,
        spell("[{action: void_osm, asset: ETH}]", at="4h").replace("tail: 2h", "tail: 30m"),
    )
    assert {"bark", "redo"} <= kinds_from(plain.events, t)  # without the void, they go on
    assert result.timeseries["auctions_active[ETH-A]"].iloc[t - 1] > 0
    assert not {"bark", "kick", "redo"} & kinds_from(result.events, t)
    assert (result.timeseries["osm_price[ETH-A]"].iloc[t:] == 0).all()
    assert (result.timeseries["liquidations[ETH-A]"].iloc[t:] == 0).all()
    assert result.manifest["status"] == "ok"


def test_void_then_start_needs_two_hops_before_liquidations_resume(tmp_path):
    do = "[{action: void_osm, asset: ETH}]}\n    - {at: 4h, do: [{action: start_osm, asset: ETH}]"
    model = ProtocolModel(sim.load_scenario(write(tmp_path, spell(do, at="3h"))))
    model.run_for(24)  # 4 h: started again
    osm, book = model.osms["ETH"], model.vat.ilks["ETH-A"]
    assert osm.stopped == 0 and not osm.cur_has and book.spot == 0
    model.run_for(12)  # two hops later the current price is valid again
    assert osm.cur_has and book.spot > 0


def test_a_breaker_at_the_start_refuses_every_bark(tmp_path, plain):
    result = run(tmp_path, spell("[{action: breaker, ilk: ETH-A, level: 1, delay: 1h}]", at="0s"))
    assert "bark" in set(plain.events["event"])
    events = result.events
    assert "bark" not in set(events["event"])
    breaker = events[events["event"] == "breaker"]
    assert list(zip(breaker["tick"], breaker["auction"], strict=True)) == [(0, 1)]


def test_flap_and_flop_turn_the_vows_auctions_off_and_on(tmp_path):
    do = "[{action: flop, enabled: false}, {action: flap, enabled: false}]}\n    - {at: 1h, do: [{action: flop, enabled: true}]"
    model = ProtocolModel(sim.load_scenario(write(tmp_path, spell(do, at="10m"))))
    assert model.vow.flopping and model.vow.flapping
    model.step()
    assert not model.vow.flopping and not model.vow.flapping
    model.run_for(5)
    assert model.vow.flopping and not model.vow.flapping
    actors = set(model.vat.log.columns()["actor"])
    assert "act: flop off" in actors and "spell-1: flop on" in actors


def test_actions_follow_the_spells_set_in_the_same_tick(tmp_path):
    extra = ", set: {ilks.ETH-A.liquidation.tip: 300}"
    model = ProtocolModel(
        sim.load_scenario(write(tmp_path, spell("[{action: stop_osm, asset: ETH}]", extra=extra)))
    )
    model.run_for(12)
    actors = [a for a in model.vat.log.columns()["actor"] if a.startswith("act:")]
    assert actors == ["act: ilks.ETH-A.liquidation.tip 100 → 300", "act: stop_osm ETH"]
    assert model.osms["ETH"].stopped == 1 and np.isclose(model.clippers["ETH-A"].tip, 300)


# ------------------------------------------------------------------------- emergency shutdown


def test_a_cage_spell_shuts_down_and_later_changes_and_cages_are_refused(tmp_path, plain):
    text = TINY + (
        "governance:\n  spells:\n"
        "    - {name: shut, at: 2h, do: [{action: cage}]}\n"
        "    - {name: fee, at: 3h, set: {ilks.ETH-A.stability_fee: 0.2}}\n"
        "    - {name: again, at: 4h, do: [{action: cage}, {action: esm, mkr: 1.0e6}]}\n"
    )
    result = run(tmp_path, text)
    ev = result.events
    spells = list(ev.loc[ev["event"] == "spell", "actor"])
    assert spells[0] == "shut: cage"
    assert spells[1].startswith("fee: refused: the system is shut down")
    assert spells[2].startswith("again: cage refused") and spells[3].startswith(
        "again: esm refused"
    )
    cage = ev.loc[(ev["event"] == "cage") & (ev["ilk"] == ""), "tick"]
    assert list(cage) == [12]  # 2 h at 10-minute ticks
    # Before the cage's tick the run is the plain run's.
    ts, base = result.timeseries, plain.timeseries
    pd.testing.assert_frame_equal(ts[ts["tick"] < 12], base[base["tick"] < 12])
    assert not kinds_from(ev, 12) & {"frob", "bark", "take", "redo"}


def test_the_esm_fires_once_its_minimum_is_joined(tmp_path):
    text = (
        TINY.replace("system: {Hole: 1.0e8}", "system: {Hole: 1.0e8, esm: {min: 100000}}")
        + "governance:\n  spells:\n"
        + "    - {name: some, at: 1h, do: [{action: esm, mkr: 60000}]}\n"
        + "    - {name: rest, at: 2h, do: [{action: esm, mkr: 40000}]}\n"
    )
    result = run(tmp_path, text)
    ev = result.events
    spells = list(ev.loc[ev["event"] == "spell", "actor"])
    assert spells == [
        "some: esm: 60000 MKR joined, 60000 of 100000",
        "rest: esm: 40000 MKR joined, 100000 of 100000: fired",
    ]
    assert list(ev.loc[ev["event"] == "esm_fire", "tick"]) == [12]
    assert result.shutdown is not None
