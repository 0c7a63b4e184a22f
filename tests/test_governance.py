"""Governance spells in the scenario file: their times, checks, changes and the timeline."""

from __future__ import annotations

import datetime as dt

import pytest

from sim.scenario import ScenarioError, advisories, load_scenario, with_overrides
from sim.scenario.governance import (
    CHANGEABLE,
    changeable,
    differences,
    spell_marks,
    spell_problems,
    timeline,
)
from tests.conftest import SMALL
from tests.scenario_helpers import messages_of, write

#: SMALL starts 2020-01-01T00:00:00Z, ticks 10 minutes and lasts 12 hours.
SPELLS = """\
governance:
  delay: 2h
  spells:
    - {name: tip, at: "2020-01-01T01:00:00Z", set: {ilks.ETH-A.liquidation.tip: 300}}
    - at: 30m
      delay: 0
      set:
        ilks.ETH-A.liquidation.chop: 0.05
        ilks.ETH-A.line: 2.0e9
"""


def with_spells(tmp_path, spells: str = SPELLS):
    return write(tmp_path, SMALL + spells)


def test_a_spell_is_cast_at_a_time_or_after_a_duration_and_waits_its_delay(tmp_path):
    s = load_scenario(with_spells(tmp_path))
    gov = s.governance
    assert gov.spells[0].at == dt.datetime(2020, 1, 1, 1, tzinfo=dt.UTC)
    assert gov.spells[1].at == 1800.0
    assert gov.effect_s(0, s.clock.start) == 3 * 3600.0  # 1 h + the default delay of 2 h
    assert gov.effect_s(1, s.clock.start) == 1800.0  # its own delay, 0
    assert [gov.tick(i, s.clock) for i in (0, 1)] == [18, 3]
    assert [gov.label(i) for i in (0, 1)] == ["tip", "spell-1"]
    # The file's form round-trips (with_overrides, manifests, the dashboard).
    again = with_overrides(s, [])
    assert again.governance == gov


def test_the_timeline_orders_spells_by_effect_and_lists_what_each_changed(tmp_path):
    plan = timeline(load_scenario(with_spells(tmp_path)))
    assert plan.at_start == ()
    first, second = plan.later
    assert (first.name, first.tick, second.name, second.tick) == ("spell-1", 3, "tip", 18)
    assert [(c.field, c.old, c.new) for c in first.changes] == [
        ("ilks.ETH-A.line", 1.0e9, 2.0e9),
        ("ilks.ETH-A.liquidation.chop", 0.13, 0.05),
    ]
    # The later spell sees the earlier one's changes: its scenario has all of them.
    assert second.scenario.ilks["ETH-A"].liquidation.chop == 0.05
    assert [(c.field, c.old, c.new) for c in second.changes] == [
        ("ilks.ETH-A.liquidation.tip", 100.0, 300.0)
    ]


def test_a_spell_at_the_start_is_folded_into_the_scenario_the_model_is_built_from(tmp_path):
    text = SPELLS.replace('at: "2020-01-01T01:00:00Z"', 'at: "2019-12-31T22:00:00Z"')
    plan = timeline(load_scenario(with_spells(tmp_path, text)))
    assert [s.name for s in plan.at_start] == ["tip"]
    assert plan.start.ilks["ETH-A"].liquidation.tip == 300.0


def test_a_bad_path_or_value_is_refused_with_the_file_and_the_line_of_the_entry(tmp_path):
    text = SPELLS.replace(
        "ilks.ETH-A.line: 2.0e9", "ilks.ETH-A.line: -5\n        ilks.ETH-B.mat: 2"
    )
    path = with_spells(tmp_path, text)
    messages = messages_of(path)
    lines = path.read_text().splitlines()
    at = {
        key: lines.index(next(x for x in lines if key in x)) + 1 for key in ("ETH-A.line", "ETH-B")
    }
    assert messages == [
        f"{path}:{at['ETH-B']}: governance.spells.1.set.ilks.ETH-B.mat: unknown ilk 'ETH-B' "
        "(defined: ETH-A); did you mean 'ETH-A'?"
    ]
    path = with_spells(tmp_path, SPELLS.replace("ilks.ETH-A.line: 2.0e9", "ilks.ETH-A.line: -5"))
    (message,) = messages_of(path)
    assert message.startswith(
        f"{path}:{at['ETH-A.line']}: governance.spells.1.set.ilks.ETH-A.line: "
    )
    assert "greater than 0" in message


def test_a_spell_failing_the_cross_checks_is_refused_at_its_entry(tmp_path):
    # dust above the cohorts' vaults at the start: the book cannot open, blamed on the spell's
    # entry with the field the check is about.
    text = SPELLS.replace("ilks.ETH-A.line: 2.0e9", "ilks.ETH-A.dust: 1.0e6")
    path = with_spells(tmp_path, text.replace("at: 30m", "at: 0s"))
    line = path.read_text().splitlines().index("    - at: 0s") + 1
    assert messages_of(path)[0] == (
        f"{path}:{line}: governance.spells.1: borrowers.0.debt: 10000 Dai per vault is below the "
        "ilk's dust 1e+06"
    )
    # During the run governance may raise dust above vaults' debts (they become dusty), but a
    # lid below bump is refused at any time.
    assert load_scenario(with_spells(tmp_path, text)).governance is not None
    text = SPELLS.replace("ilks.ETH-A.line: 2.0e9", "system.vow.lid: 10")
    (message,) = messages_of(with_spells(tmp_path, text))
    assert "governance.spells.1.set.system.vow.lid: lid 10 is below bump 10000" in message


def test_a_spell_before_the_run_start_is_an_error(tmp_path):
    text = SPELLS.replace('at: "2020-01-01T01:00:00Z"', 'at: "2019-12-31T20:00:00Z"')
    path = with_spells(tmp_path, text)
    (message,) = messages_of(path)
    line = (
        path.read_text()
        .splitlines()
        .index(next(x for x in path.read_text().splitlines() if "2019" in x))
        + 1
    )
    assert message.startswith(f"{path}:{line}: governance.spells.0.at: takes effect 2h before")


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ("clock.tick: 5m", "clock.tick"),
        ("borrowers.0.vaults: 100", "borrowers.0.vaults"),
        ("collateral.ETH.price.start: 1000", "collateral.ETH.price.start"),
        ("ilks.ETH-A.liquidation: {engine: flip}", "ilks.ETH-A.liquidation.engine"),
        ("ilks.ETH-A.liquidation.stopped: 1", "ilks.ETH-A.liquidation.stopped"),
        ("system.par: 1.01", "system.par"),
        ("keepers.0.dai: 5.0e6", "keepers.0.dai"),
        ("governance.delay: 1h", "governance.delay"),
    ],
)
def test_a_spell_changing_a_field_fixed_for_the_run_is_refused(tmp_path, entry, field):
    text = SPELLS.replace("ilks.ETH-A.line: 2.0e9", entry)
    messages = messages_of(with_spells(tmp_path, text))
    assert f"governance.spells.1.set.{entry.split(':')[0]}: {field} cannot change during a run" in [
        m.split(": ", 1)[1] for m in messages
    ], messages


def test_a_spell_after_the_run_end_is_allowed_with_a_warning(tmp_path):
    s = load_scenario(with_spells(tmp_path, SPELLS.replace("at: 30m", "at: 13h")))
    assert [step.name for step in timeline(s).later] == ["tip"]
    (warning,) = advisories(s)
    assert warning.startswith("governance.spells.1: spell-1 takes effect 13h after the start")
    assert "never takes effect" in warning


def test_set_paths_address_spells_like_any_field(tmp_path):
    path = with_spells(tmp_path)
    s = load_scenario(path, overrides=["governance.spells.1.delay=2h", "governance.delay=0"])
    assert s.governance.tick(1, s.clock) == 15 and s.governance.tick(0, s.clock) == 6
    (message,) = messages_of(path, ["governance.spells.5.delay=2h"])
    assert "no spell '5' in governance.spells (items 0 to 1 or by name: tip)" in message
    s = load_scenario(path, overrides=["governance.spells.tip.delay=0"])
    assert s.governance.effect_s(0, s.clock.start) == 3600.0


def test_at_takes_durations_or_times_only(tmp_path):
    messages = messages_of(with_spells(tmp_path, SPELLS.replace("at: 30m", "at: soon")))
    assert any("neither a duration since the start" in m for m in messages)
    messages = messages_of(with_spells(tmp_path, SPELLS.replace("at: 30m", "at: 1800")))
    assert any("durations are strings with a unit" in m for m in messages)


def test_changeable_patterns_and_differences():
    assert changeable(("ilks", "ETH-A", "liquidation", "curve", "cut"))
    assert changeable(("system", "vow", "flop", "ttl"))
    assert not changeable(("ilks", "ETH-A", "collateral"))
    assert not changeable(("system", "psm", "gem"))
    assert differences({"a": {"b": 1, "c": [1, 2]}}, {"a": {"b": 1, "c": [1, 3]}})[0].path == (
        "a",
        "c",
        1,
    )
    (added,) = differences({"psm": None}, {"psm": {"tin": 0.0}})
    assert added.path == ("psm",) and added.field == "psm"
    assert all(isinstance(p, str) for pattern in CHANGEABLE for p in pattern)


def test_no_governance_no_problems_and_no_marks(tmp_path):
    s = load_scenario(write(tmp_path, SMALL))
    assert spell_problems(s) == [] and timeline(s).start is s
    assert spell_marks(s.to_dict()) == []


def test_spell_marks_read_a_manifest_scenario(tmp_path):
    s = load_scenario(with_spells(tmp_path, SPELLS.replace("at: 30m", "at: 13h")))
    # The spell after the end is left out; each mark at the start of its tick.
    assert spell_marks(s.to_dict()) == [("tip", 3 * 3600.0)]
    assert spell_marks({"clock": {"tick": "x"}, "governance": {"spells": []}}) == []


def test_a_refused_spell_is_a_scenario_error_of_the_loader(tmp_path):
    with pytest.raises(ScenarioError):
        load_scenario(with_spells(tmp_path, SPELLS.replace("ilks.ETH-A.line", "clock.start")))
