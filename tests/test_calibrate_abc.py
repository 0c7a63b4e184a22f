"""The pyabc glue: inference scale, candidate seeds, weighted quantiles, the sampler's order."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.calibrate import load_calibration
from sim.calibrate.abc import (
    candidate_seed,
    internal_names,
    priors,
    to_scenario,
    weighted_median,
    weighted_quantile,
)
from tests.calibrate_helpers import calibration_text, crash_folder


@pytest.fixture
def calibration(tmp_path):
    folder = crash_folder(tmp_path)
    path = folder / "cal.yaml"
    path.write_text(calibration_text({"auctions": 10.0}, "{population: 8}"))
    return load_calibration(path)


def test_loguniform_priors_are_inferred_on_the_log10_scale(calibration):
    names = internal_names(calibration)
    assert names == ["p0", "p1"]
    prior = priors(calibration)
    assert prior["p1"].distribution.support() == pytest.approx((math.log10(0.03), math.log10(0.3)))
    values = to_scenario(calibration, {"p0": 0.4, "p1": -1.0})
    assert values == {
        "collateral.ETH.price.crash.depth": 0.4,
        "ilks.ETH-A.liquidation.chop": pytest.approx(0.1),
    }
    scenario = calibration.scenario_at(values)
    assert scenario.ilks["ETH-A"].liquidation.chop == pytest.approx(0.1)


def test_candidate_seeds_depend_on_generation_kind_and_number_only():
    seeds = {candidate_seed(7, t, k, i) for t in (-1, 0, 1) for k in (0, 1) for i in range(50)}
    assert len(seeds) == 3 * 2 * 50
    assert candidate_seed(7, 0, 0, 3) == candidate_seed(7, 0, 0, 3)
    assert candidate_seed(7, 0, 0, 3) != candidate_seed(8, 0, 0, 3)


def test_weighted_quantiles():
    values = np.array([1.0, 2.0, 3.0, 4.0])
    assert weighted_median(values, [1, 1, 1, 1]) == 2.0
    assert weighted_median(values, [0, 0, 0, 1]) == 4.0
    assert weighted_quantile(values, [1, 1, 1, 1], 0.95) == 4.0
    assert weighted_quantile(values, [1, 1, 1, 1], 0.05) == 1.0
