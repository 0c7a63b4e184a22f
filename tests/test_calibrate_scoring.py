"""Joint scoring: runs inside every band at once, p-values, parameter vs seed spread."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.calibrate.scoring import p_value, score
from sim.calibrate.spec import TargetSpec
from tests.calibrate_helpers import crash_folder


@pytest.fixture
def folder(tmp_path):
    return crash_folder(tmp_path)


def test_joint_scoring_counts_runs_inside_every_band_at_once():
    targets = {
        "a": TargetSpec(value=1.0, band=[0.0, 2.0], source="s"),
        "b": TargetSpec(value=10.0, band=[5.0, 15.0], source="s"),
    }
    runs = pd.DataFrame({"a": [1.0, 3.0, 0.5, 1.5], "b": [10.0, 10.0, 20.0, 6.0]})
    fixed = pd.DataFrame({"a": [1.0, 1.0, 1.0], "b": [10.0, 11.0, 9.0]})
    s = score(runs, targets, fixed=fixed, how="max")
    assert s["n_runs"] == 4 and s["joint_inside"] == 2 and s["joint_fit"] == 0.5
    assert s["few_runs"]
    assert s["targets"]["a"]["inside"] == 0.75 and s["targets"]["b"]["inside"] == 0.75
    assert s["targets"]["a"]["param_share"] == 1.0  # no spread at fixed parameters
    assert 0 < s["targets"]["b"]["param_share"] < 1


def test_the_p_value_is_small_when_the_record_is_in_a_tail():
    values = np.arange(100.0)
    assert p_value(values, 50.0) == pytest.approx(1.0, abs=0.03)
    assert p_value(values, -1.0) == 0.0
    assert p_value(values, 2.0) == pytest.approx(0.06)
