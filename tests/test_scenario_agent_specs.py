"""The schema's agents: cohorts, strategies, keepers, gas bids (sim/scenario/agent_specs.py)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sim.scenario.agent_specs import (
    Cohort,
    KeeperSpec,
    LowballStrategy,
    MarketKeeperStrategy,
    TargetCrStrategy,
)


def test_a_keeper_strategy_without_a_kind_is_the_market_keepers():
    keeper = KeeperSpec.model_validate({"name": "k", "count": 2, "dai": 1.0e6, "strategy": {}})
    assert isinstance(keeper.strategy, MarketKeeperStrategy)
    low = KeeperSpec.model_validate(
        {"name": "l", "count": 1, "dai": 1.0, "strategy": {"kind": "lowball"}}
    )
    assert isinstance(low.strategy, LowballStrategy)


def test_a_cohort_needs_at_least_one_vault_and_reads_counts_written_with_an_exponent():
    data = {
        "name": "c",
        "ilk": "ETH-A",
        "vaults": "1e3",
        "debt": 1.0e6,
        "cr": {"dist": "uniform", "min": 1.6, "max": 2.0},
    }
    assert Cohort.model_validate(data).vaults == 1000
    with pytest.raises(ValidationError, match="vaults"):
        Cohort.model_validate({**data, "vaults": 0})


def test_a_strategy_reads_its_delay_as_a_duration():
    strategy = TargetCrStrategy.model_validate(
        {"kind": "target_cr", "trigger": 1.6, "target": 2.0, "react_prob": 0.5, "delay": "15m"}
    )
    assert strategy.delay == 900.0
    with pytest.raises(ValidationError, match="react_prob"):
        TargetCrStrategy.model_validate(
            {"kind": "target_cr", "trigger": 1.6, "target": 2.0, "react_prob": 1.5}
        )
