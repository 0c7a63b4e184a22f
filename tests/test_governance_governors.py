"""Conditional governors (sim/scenario/governance.py ``Governors``): triggers, steps, checks."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

import sim
from sim.experiments.sweep_checks import check_sweep
from sim.model import ProtocolModel
from sim.record import ILK_FIELDS, SYSTEM_FIELDS
from sim.scenario.governance import (
    ILK_QUANTITIES,
    SYSTEM_QUANTITIES,
    Governors,
    rebase,
)
from sim.scenario.yamlfile import read_yaml
from tests.scenario_helpers import line_of, messages_of, write
from tests.test_actions import TINY

#: A governor raising ETH-A's keeper tip by 50 Dai per firing up to 250 while the Dai price is
#: below 0.99 for 30 minutes (3 ticks of 10 minutes); 1 h apart at least; effective 20 min later.
TIP = """\
governance:
  governors:
    - name: tip-up
      when: {quantity: dai_price, below: 0.99, hold: 30m}
      set: {ilks.ETH-A.liquidation.tip: {by: 50, max: 250}}
      cooldown: 1h
      delay: 20m
"""


def drive(scenario: sim.Scenario, series: list[float]) -> list[tuple[int, int, float]]:
    """Run the governors on a series of ``dai_price`` values (one per tick) as the model does.

    Returns:
        ``(tick fired, tick in effect, new tip)`` of each firing, in effect order.
    """
    gov = Governors(scenario.governance, scenario.clock.tick)
    out = []
    for t, value in enumerate(series):
        for firing in gov.due(t):
            scenario = rebase(scenario, firing.values)[0]
            out.append((firing.fired, t, firing.values["ilks.ETH-A.liquidation.tip"]))
        gov.observe(t, lambda q, v=value: {"dai_price": v}[q], scenario)
    return out


@pytest.fixture(scope="module")
def tip_scenario(tmp_path_factory) -> sim.Scenario:
    return sim.load_scenario(write(tmp_path_factory.mktemp("tip"), TINY + TIP))


def test_a_governor_fires_only_once_its_trigger_held_for_its_hold(tip_scenario):
    low, par = 0.98, 1.0
    # Below for 3 ticks (2-4): held 20 minutes only; then below from tick 6 on: held 30 minutes
    # at tick 9; in effect 20 minutes after the end of tick 9: the start of tick 12.
    series = [par, par, low, low, low, par, *[low] * 6, par, par]
    assert drive(tip_scenario, series) == [(9, 12, 150.0)]
    # Exactly at the threshold does not hold (below is strict); no low value, no firing.
    assert drive(tip_scenario, [0.99] * 12) == [] and drive(tip_scenario, [par] * 12) == []


def test_cooldown_and_bound(tip_scenario):
    # Below all along: fires at 3 (held 30 min), then each hour (cooldown), 250 at most.
    fired = drive(tip_scenario, [0.9] * 40)
    assert fired == [(3, 6, 150.0), (9, 12, 200.0), (15, 18, 250.0)]  # then at its bound


def test_a_governor_never_triggered_leaves_the_run_as_it_was(tmp_path):
    never = TIP.replace("quantity: dai_price, below: 0.99", "quantity: bad_debt, above: 1.0e12")
    plain = sim.run(sim.load_scenario(write(tmp_path, TINY, "plain.yaml")))
    ruled = sim.run(sim.load_scenario(write(tmp_path, TINY + never, "ruled.yaml")))
    for table in ("timeseries", "events", "auctions", "vaults"):
        pd.testing.assert_frame_equal(getattr(plain, table), getattr(ruled, table))
    assert plain.summary == ruled.summary


def test_a_firing_changes_the_live_protocol_and_a_later_spell_keeps_it(tmp_path):
    rule = TIP.replace(
        "quantity: dai_price, below: 0.99", "quantity: 'price[ETH-A]', below: 1800"
    ).replace("delay: 20m", "delay: 0s")
    spell = "  spells:\n    - {name: line, at: 10h, set: {ilks.ETH-A.line: 2.0e9}}\n"
    model = ProtocolModel(sim.load_scenario(write(tmp_path, TINY + rule + spell)))
    model.run()
    events = model.vat.log.columns()
    spells = [
        (int(t), a)
        for t, e, a in zip(events["tick"], events["event"], events["actor"], strict=True)
        if e == "spell"
    ]
    tips = [(t, a) for t, a in spells if a.startswith("tip-up")]
    assert [a for _, a in tips] == [
        "tip-up: ilks.ETH-A.liquidation.tip 100 → 150",
        "tip-up: ilks.ETH-A.liquidation.tip 150 → 200",
        "tip-up: ilks.ETH-A.liquidation.tip 200 → 250",
    ]
    assert [b - a for (a, _), (b, _) in itertools.pairwise(tips)] == [6, 6]  # cooldown
    assert (60, "line: ilks.ETH-A.line 1000000000 → 2000000000") in spells
    assert model.clippers["ETH-A"].tip == 250.0
    # The spell after the firings applied its set on the scenario the governor left.
    assert model.spec.ilks["ETH-A"].liquidation.tip == 250.0
    assert model.spec.ilks["ETH-A"].line == 2.0e9


def test_governors_read_recorded_columns():
    assert set(SYSTEM_QUANTITIES) <= set(SYSTEM_FIELDS)
    assert set(ILK_QUANTITIES) <= set(ILK_FIELDS)


def test_a_governors_problems_are_refused_before_the_run_at_their_lines(tmp_path):
    text = TINY + (
        TIP.replace("quantity: dai_price", "quantity: 'price[ETH-B]'")
        + """\
    - name: bad
      when: {quantity: peg, below: 1, above: 2}
      set:
        ilks.ETH-A.liquidation.tip: {by: -50, max: 300}
        ilks.ETH-A.liquidation.chip: {by: -0.01, min: -1}
        clock.tick: {by: 60, max: 3600}
        ilks.ETH-A.liquidation.tail: {by: 60, max: 3600}
    - {name: bad, when: {quantity: surplus, above: 0}, do: [{action: stop_osm, asset: BTC}]}
"""
    )
    path = write(tmp_path, text)
    got = [m.split(": ", 1) for m in messages_of(path)]
    at = {
        key: f"{path}:{line_of(text, key)}"
        for key in (
            "price[ETH-B]",
            "peg",
            "tip: {by: -50",
            "chip: {by",
            "tick: {by",
            "tail: {by",
            "BTC",
        )
    }
    joined = "\n".join(": ".join(m) for m in got)
    assert len(got) == 9, joined
    assert got[0] == [
        at["price[ETH-B]"],
        "governance.governors.0.when.quantity: unknown ilk 'ETH-B' in price[ETH-B] "
        "(defined: ETH-A)",
    ]
    assert f"{at['peg']}: governance.governors.1.when.quantity: unknown quantity 'peg'" in joined
    assert f"{at['peg']}: governance.governors.1.when: give one of below or above" in joined
    assert (
        f"{at['tip: {by: -50']}: governance.governors.1.set.ilks.ETH-A.liquidation.tip: a step "
        "down (by < 0) needs a min"
    ) in joined
    assert (
        f"{at['chip: {by']}: governance.governors.1.set.ilks.ETH-A.liquidation.chip.min: min -1: "
        "ilks.ETH-A.liquidation.chip: Input should be greater than or equal to 0"
    ) in joined
    assert (
        f"{at['tick: {by']}: governance.governors.1.set.clock.tick: clock.tick cannot change during a run"
    ) in joined
    assert "set.ilks.ETH-A.liquidation.tail: a governor steps numbers; " in joined
    assert f"{at['BTC']}: governance.governors.2.name: governor name 'bad' is used twice" in joined
    assert f"{at['BTC']}: governance.governors.2.do.0.asset: unknown asset 'BTC'" in joined


def test_governors_and_spells_fields_are_sweepable(tmp_path):
    spell = "  spells:\n    - {name: s, at: 1h, do: [{action: flap, enabled: false}]}\n"
    (tmp_path / "base.yaml").write_text(TINY + TIP + spell)
    sweep = write(
        tmp_path,
        """\
name: gov
base: base.yaml
overrides: {clock.duration: 1h}
design: {kind: grid}
parameters:
  governance.governors.0.when.below: {values: [0.98, 0.99]}
  governance.governors.tip-up.cooldown: {values: [30m, 2h]}
  governance.spells.0.delay: {values: [0s, 1h]}
""",
        "sweep.yaml",
    )
    data, lines = read_yaml(sweep)
    checked = check_sweep(data, filename=str(sweep), base_dir=tmp_path, lines=lines)
    assert len(checked.points) == 8
    last = checked.scenarios[7].governance
    assert (last.governors[0].when.below, last.governors[0].cooldown, last.spells[0].delay) == (
        0.99,
        7200.0,
        3600.0,
    )


#: TINY with a PSM charging 1 % to sell USDC (the governors below step its fee).
PSM = TINY.replace(
    "system: {Hole: 1.0e8}",
    "system:\n  Hole: 1.0e8\n  psm: {gem: USDC, tin: 0.01, tout: 0.0, line: 3.0e7, start: 1.0e7}",
)
#: Lowers the PSM's tin by 0.2 % an hour at most while ETH is under 1 950 (from the start).
FEE_DOWN = (
    "  governors:\n"
    "    - {name: g, when: {quantity: 'price[ETH-A]', below: 1950},\n"
    "       set: {system.psm.tin: {by: -0.002, min: 0.001}}, cooldown: 1h}\n"
)


def fee_moves(tmp_path, spells: str, governors: str = FEE_DOWN) -> list[str]:
    text = PSM + "governance:\n  spells:\n" + spells + governors
    model = ProtocolModel(sim.load_scenario(write(tmp_path, text)))
    model.run()
    ev = model.vat.log.columns()
    return [a for e, a in zip(ev["event"], ev["actor"], strict=True) if e == "spell"]


def test_a_spell_of_actions_only_keeps_the_values_a_governor_set(tmp_path):
    moves = fee_moves(
        tmp_path,
        "    - {at: 10m, set: {system.psm.tout: 0.001}}\n"
        "    - {name: noflap, at: 3h, do: [{action: flap, enabled: false}]}\n",
    )
    steps = [m for m in moves if m.startswith("g: system.psm.tin")]
    olds = [float(m.split()[2]) for m in steps]
    news = [float(m.split()[4]) for m in steps]
    assert "noflap: flap off" in moves
    assert all(b < a for a, b in zip(olds, news, strict=True))  # only ever down
    assert olds[1:] == news[:-1]  # each step from where the last one left it


def test_a_step_never_moves_against_its_sign_and_a_removed_field_is_refused(tmp_path):
    # A spell puts the fee above the governor's max: a step up leaves it there.
    up = FEE_DOWN.replace("by: -0.002, min: 0.001", "by: 0.001, max: 0.01")
    moves = fee_moves(tmp_path, "    - {at: 10m, set: {system.psm.tin: 0.05}}\n", up)
    assert not [m for m in moves if m.startswith("g: system.psm.tin")]
    # A spell removes the section the governor steps: refused and logged, not a crash.
    auto = PSM.replace(
        "start: 1.0e7}", "start: 1.0e7, autoline: {line: 1.0e8, gap: 2.0e7, ttl: 1h}}"
    )
    text = auto + (
        "governance:\n  spells:\n    - {at: 1h, set: {system.psm.autoline: null}}\n"
        + FEE_DOWN.replace(
            "system.psm.tin: {by: -0.002, min: 0.001}",
            "system.psm.autoline.gap: {by: -1.0e6, min: 1.0e6}",
        )
    )
    model = ProtocolModel(sim.load_scenario(write(tmp_path, text, "removed.yaml")))
    model.run()
    ev = model.vat.log.columns()
    assert "g: not fired: a field it steps is no longer set" in set(ev["actor"])


def test_psm_debt_needs_a_psm_and_a_shutdown_needs_the_dai_it_settles(tmp_path):
    rule = FEE_DOWN.replace("'price[ETH-A]', below: 1950", "psm_debt, below: 1").replace(
        "set: {system.psm.tin: {by: -0.002, min: 0.001}}", "do: [{action: flap, enabled: false}]"
    )
    path = write(tmp_path, TINY + "governance:\n" + rule, "nopsm.yaml")
    (message,) = messages_of(path)
    assert "psm_debt needs a system.psm section" in message
    rich = TINY.replace("dai: 1.0e6", "dai: 5.0e6") + (
        "governance:\n  spells:\n    - {name: shut, at: 2h, do: [{action: cage}]}\n"
    )
    path = write(tmp_path, rich, "rich.yaml")
    (message,) = messages_of(path)
    assert f"{path}:{line_of(rich, 'name: shut')}: governance.spells.0.do.0: " in message
    assert "the agents start with 10,000,000 Dai from outside (keepers 10,000,000 Dai)" in message
