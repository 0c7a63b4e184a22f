"""Statistics of a run that calibration targets and cases compare."""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim.calibrate import STATISTICS, compute
from tests.calibrate_helpers import crash_folder


@pytest.fixture
def folder(tmp_path):
    return crash_folder(tmp_path)


def test_every_statistic_is_computed_on_a_crash(folder):
    run = sim.run(sim.load_scenario(folder / "crash.yaml"))
    values = {name: compute(run, name) for name in STATISTICS}
    assert values["auctions"] == len(run.auctions) > 0
    assert values["auctions"] == compute(run, "auctions", ilks=["ETH-A"])
    assert values["effective_penalty"] == pytest.approx(
        run.summary["penalty_collected"] / run.summary["liquidated_debt"]
    )
    assert 0 < values["effective_penalty"] <= 0.10 + 1e-12  # at most chop
    assert np.isnan(values["first_zero_bid_hour"])  # keepers bid near market: no ~0 bid
    assert values["zero_bid_share"] == 0
    assert values["takers"] >= 1
    assert values["mean_auction_minutes"] > 0
    with pytest.raises(KeyError):
        compute(run, "no_such_statistic")
