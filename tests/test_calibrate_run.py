"""ABC-SMC runs: the same posterior for any worker count and after a resume; recovery."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sim.calibrate import load_calibration
from tests.calibrate_helpers import (
    METHOD_SMALL,
    TRUTH,
    calibration_text,
    crash_folder,
    truth_targets,
)


@pytest.fixture
def folder(tmp_path):
    return crash_folder(tmp_path)


@pytest.mark.slow
def test_the_posterior_is_the_same_in_process_on_a_pool_on_dask_and_after_a_resume(
    folder, monkeypatch
):
    from sim.calibrate.run import FolderInUse, calibrate

    monkeypatch.chdir(folder)  # where Dask would leave its dask-scratch-space
    (folder / "cal.yaml").write_text(calibration_text(truth_targets(folder), METHOD_SMALL))
    one = calibrate(folder / "cal.yaml", folder / "one", workers=0)
    two = calibrate(folder / "cal.yaml", folder / "two", workers=2)
    pd.testing.assert_frame_equal(one.posterior, two.posterior)
    pd.testing.assert_frame_equal(one.predictive, two.predictive)
    # each particle's statistics are its own parameters' (a run's penalty is at most its chop)
    chop = "ilks.ETH-A.liquidation.chop"
    assert (one.posterior["effective_penalty"] <= one.posterior[chop] + 1e-12).all()
    assert (one.predictive["effective_penalty"] <= one.predictive[chop] + 1e-12).all()
    dask = calibrate(folder / "cal.yaml", folder / "dask", workers=2, backend="dask")
    pd.testing.assert_frame_equal(one.posterior, dask.posterior)
    pd.testing.assert_frame_equal(one.fixed, dask.fixed)
    assert not (folder / "dask-scratch-space").exists()
    assert not (folder / "dask" / ".tmp").exists()
    assert "dask" in json.loads((folder / "dask" / "calibration.json").read_text())["executor"]
    # stopped after one generation, then resumed to two: the same posterior
    short = load_calibration(folder / "cal.yaml").with_method(generations=1)
    calibrate(short, folder / "resumed", workers=0)
    with pytest.raises(FolderInUse, match="--resume continues it"):
        calibrate(folder / "cal.yaml", folder / "resumed", workers=0)
    resumed = calibrate(folder / "cal.yaml", folder / "resumed", workers=0, resume=True)
    pd.testing.assert_frame_equal(one.posterior, resumed.posterior)
    assert len(resumed.history) == 2
    for name in (
        "calibration.json",
        "abc.db",
        "history.parquet",
        "posterior.parquet",
        "predictive.parquet",
        "fixed.parquet",
        "summary.json",
        "summary.md",
    ):
        assert (folder / "two" / name).is_file(), name
    manifest = json.loads((folder / "two" / "calibration.json").read_text())
    assert manifest["complete"] and manifest["pyabc"]
    assert "6 runs (fewer than 50)" in (folder / "two" / "summary.md").read_text()
    # a folder holding something else is never written into
    (folder / "mine").mkdir()
    (folder / "mine" / "notes.txt").write_text("mine")
    with pytest.raises(FolderInUse):
        calibrate(folder / "cal.yaml", folder / "mine", workers=0)
    assert (folder / "mine" / "notes.txt").read_text() == "mine"


@pytest.mark.slow
def test_calibration_recovers_the_parameters_a_synthetic_record_was_made_with(folder):
    """The calibration's Ishigami test: targets from a run at known parameters, fitted back."""
    from sim.calibrate.run import calibrate

    method = "{population: 24, generations: 4, predictive: 10, fixed_seeds: 5, seed: 1}"
    (folder / "cal.yaml").write_text(calibration_text(truth_targets(folder), method))
    result = calibrate(folder / "cal.yaml", folder / "out", workers=2)
    params = result.summary["parameters"]
    for name, true in TRUTH.items():
        p = params[name]
        assert p["p05"] <= true <= p["p95"], (name, p)
        # it learned: the 5–95 % interval is under half the prior's width, on the scale the
        # prior is uniform on (log10 for a loguniform prior)
        scale = np.log10 if p["prior"]["dist"] == "loguniform" else (lambda x: x)
        low, high = p["prior"]["range"]
        assert scale(p["p95"]) - scale(p["p05"]) < 0.5 * (scale(high) - scale(low)), (name, p)
    assert params["ilks.ETH-A.liquidation.chop"]["median"] == pytest.approx(0.10, rel=0.15)
    eps = result.history["epsilon"].to_numpy()
    assert (np.diff(eps) < 0).all()  # the tolerance falls generation by generation
