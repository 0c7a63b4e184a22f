"""Calibration files and targets: band-scaled distances, errors with file:line:field."""

from __future__ import annotations

import numpy as np
import pytest

from sim.calibrate import load_calibration
from sim.calibrate.spec import MAX_DISTANCE, TargetSpec, combined, target_distance
from sim.scenario import ScenarioError
from tests.calibrate_helpers import crash_folder


@pytest.fixture
def folder(tmp_path):
    return crash_folder(tmp_path)


def test_a_target_distance_is_scaled_by_its_band_on_each_side():
    t = TargetSpec(value=5.0, band=[4.0, 8.0], source="s")
    assert target_distance(t, 5.0) == 0
    assert target_distance(t, 8.0) == pytest.approx(1.0)
    assert target_distance(t, 4.0) == pytest.approx(-1.0)
    assert target_distance(t, 6.5) == pytest.approx(0.5)
    assert target_distance(t, float("nan")) == MAX_DISTANCE
    assert target_distance(t, 1e30) == MAX_DISTANCE
    exact = TargetSpec(value=0.0, band=[0.0, 0.0], source="s")
    assert target_distance(exact, 0.0) == 0 and target_distance(exact, 0.01) == MAX_DISTANCE
    assert combined([0.5, -2.0], "max") == 2.0
    assert combined([3.0, -4.0], "rms") == pytest.approx(np.sqrt(12.5))


def test_a_bad_calibration_file_names_file_line_and_field(folder):
    path = folder / "bad.yaml"
    path.write_text(
        "name: bad\n"
        "base: crash.yaml\n"
        "parameters:\n"
        "  ilks.ETH-A.liquidation.chop: {range: [0.03, 0.3]}\n"
        "  ilks.ETH-A.no_such_field: {range: [1, 2]}\n"
        "targets:\n"
        "  deficit: {statistic: bad_debt_maxx, value: 1, band: [0, 2], source: s}\n"
        "  share: {statistic: zero_bid_share, ilks: [ETH-Z], value: 0.3, band: [0.2, 0.4], source: s}\n"
    )
    with pytest.raises(ScenarioError) as info:
        load_calibration(path)
    text = str(info.value)
    assert f"{path}:5" in text and "no_such_field" in text
    path.write_text(path.read_text().replace("  ilks.ETH-A.no_such_field: {range: [1, 2]}\n", ""))
    with pytest.raises(ScenarioError) as info:
        load_calibration(path)
    text = str(info.value)
    assert f"{path}:6: targets.deficit.statistic: unknown statistic 'bad_debt_maxx'" in text
    assert f"{path}:7: targets.share.ilks: no ilk 'ETH-Z'" in text


def test_a_band_that_does_not_hold_its_value_is_refused(folder):
    path = folder / "bad.yaml"
    path.write_text(
        "name: bad\nbase: crash.yaml\n"
        "parameters:\n  ilks.ETH-A.liquidation.chop: {range: [0.03, 0.3]}\n"
        "targets:\n  auctions: {value: 10, band: [12, 20], source: s}\n"
    )
    with pytest.raises(ScenarioError, match=r"bad.yaml:6: .*outside its band"):
        load_calibration(path)


def test_every_committed_calibration_file_is_valid():
    from tests.conftest import SCENARIOS

    files = sorted((SCENARIOS / "calibrations").glob("*.yaml"))
    assert files
    for path in files:
        calibration = load_calibration(path)
        assert path.read_text().startswith("#"), "a calibration file says what it fits, first"
        for target in calibration.targets.values():
            assert target.source.strip()
