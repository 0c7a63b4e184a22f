"""Deficit and exposure in a crash run: ``bad_debt`` (realised), ``auction_debt`` and
``insolvent_debt`` (their definitions on hand-made books are tested in tests/test_record.py)."""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim.record import timeseries_frame
from tests.conftest import SCENARIOS


def test_the_columns_in_a_crash_run_and_the_old_measure_understated_the_deficit():
    # Black Thursday's first day: lowball bids realise losses while other auctions still run.
    scenario = sim.load_scenario(
        SCENARIOS / "black_thursday_2020.yaml", overrides=["clock.duration=1d"]
    )
    model = sim.ProtocolModel(scenario, seed=1)  # a seed whose keepers are priced out
    flip = model.flippers["ETH-A"]
    old = [0.0]  # the former bad_debt: Vow sin less its Dai less the running tab, penalty included
    while not model.finished:
        model.step()
        old.append(max(model.vow.awe - model.vow.joy - flip.running_tab(), 0.0))
    ts = timeseries_frame(model)
    for name in ("bad_debt", "auction_debt", "insolvent_debt"):
        values = ts[name].to_numpy()
        assert np.isfinite(values).all() and (values >= 0).all(), name
    understated = ts["bad_debt"].to_numpy() - np.array(old)
    assert understated.min() >= -1e-6 * ts["dai_supply"].max()
    assert understated.max() > 1.0e5  # the penalty of running auctions hid realised losses
    assert ts["auction_debt"].max() > 0
    summary = sim.run(scenario, seed=1).summary
    assert summary["bad_debt_max"] == pytest.approx(ts["bad_debt"].max())
    assert summary["auction_debt_max"] == pytest.approx(ts["auction_debt"].max())
    assert summary["insolvent_debt_max"] == pytest.approx(ts["insolvent_debt"].max())
