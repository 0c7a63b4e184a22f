"""Calibration: files, statistics, distances, scoring, ABC-SMC on the executors, recovery."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim.calibrate import STATISTICS, compute, load_calibration
from sim.calibrate.scoring import p_value, score
from sim.calibrate.spec import MAX_DISTANCE, TargetSpec, combined, target_distance
from sim.scenario import ScenarioError

pytest.importorskip("pyabc")

CRASH = """\
# a small crash for calibration tests
name: synthetic_crash
description: "a small crash for calibration tests"
seed: 1
clock: {tick: 5m, duration: 12h, start: "2021-05-19T00:00:00Z"}
collateral:
  ETH:
    price: {process: scripted, start: 2000, crash: {depth: 0.4, at: 1h, over: 4h}}
ilks:
  ETH-A:
    collateral: ETH
    mat: 1.45
    stability_fee: 0.0
    line: 15.0e9
    dust: 10000
    liquidation: {engine: clip, chop: 0.10, hole: 40.0e6, buf: 1.30, tail: 140m, cusp: 0.40,
                  chip: 0.001, tip: 300, curve: {kind: stairstep, cut: 0.99, step: 90s}}
system: {Line: 20.0e9, Hole: 100.0e6, oracle: {hop: 1h}}
borrowers:
  - {name: book, ilk: ETH-A, vaults: 40, debt: 4.0e6, cr: {dist: uniform, min: 1.5, max: 3.0}}
keepers:
  - {name: keeper, count: 2, dai: 5.0e6, strategy: {discount: 0.05}}
"""
TRUTH = {"collateral.ETH.price.crash.depth": 0.4, "ilks.ETH-A.liquidation.chop": 0.10}


def calibration_text(targets: dict[str, float], method: str) -> str:
    lines = [
        "name: synthetic",
        "base: crash.yaml",
        "parameters:",
        "  collateral.ETH.price.crash.depth: {range: [0.15, 0.6]}",
        "  ilks.ETH-A.liquidation.chop: {range: [0.03, 0.3], dist: loguniform}",
        "targets:",
    ]
    for name, value in targets.items():
        lines.append(
            f"  {name}: {{value: {value!r}, band: [{value * 0.95!r}, {value * 1.05!r}], "
            "source: a run at known parameters}"
        )
    lines.append(f"method: {method}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "crash.yaml").write_text(CRASH)
    return tmp_path


def truth_targets(folder: Path) -> dict[str, float]:
    """The statistics of a run at the true parameters (computed, not typed in)."""
    scenario = sim.load_scenario(
        folder / "crash.yaml", overrides=[f"{k}={v}" for k, v in TRUTH.items()]
    )
    run = sim.run(scenario, seed=12345)
    return {
        "liquidated_debt": compute(run, "liquidated_debt"),
        "effective_penalty": compute(run, "effective_penalty"),
    }


# ---------------------------------------------------------------------------------- statistics


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


# ---------------------------------------------------------------------------------- distances


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


# ---------------------------------------------------------------------------------- files


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


def test_the_cli_refuses_a_bad_file_with_exit_2_and_no_traceback(folder, cdpsim_cmd):
    path = folder / "bad.yaml"
    path.write_text("name: bad\nbase: crash.yaml\nparameters: {}\ntargets: {}\n")
    done = subprocess.run(
        [*cdpsim_cmd, "calibrate", str(path), "--out", str(folder / "o")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "bad.yaml:3: parameters" in done.stderr
    assert not (folder / "o").exists()


# ---------------------------------------------------------------------------------- ABC-SMC

METHOD_SMALL = "{population: 8, generations: 2, predictive: 6, fixed_seeds: 4, seed: 3}"


@pytest.mark.slow
def test_the_posterior_is_the_same_for_any_worker_count_and_after_a_resume(folder):
    from sim.calibrate.run import FolderInUse, calibrate

    (folder / "cal.yaml").write_text(calibration_text(truth_targets(folder), METHOD_SMALL))
    one = calibrate(folder / "cal.yaml", folder / "one", workers=0)
    two = calibrate(folder / "cal.yaml", folder / "two", workers=2)
    pd.testing.assert_frame_equal(one.posterior, two.posterior)
    pd.testing.assert_frame_equal(one.predictive, two.predictive)
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
        low, high = p["prior"]["range"]
        assert (p["p95"] - p["p05"]) < 0.5 * (high - low), (name, p)  # it learned
    assert params["ilks.ETH-A.liquidation.chop"]["median"] == pytest.approx(0.10, rel=0.15)
    eps = result.history["epsilon"].to_numpy()
    assert (np.diff(eps) < 0).all()  # the tolerance falls generation by generation


def test_every_committed_calibration_file_is_valid():
    from tests.conftest import SCENARIOS

    files = sorted((SCENARIOS / "calibrations").glob("*.yaml"))
    assert files
    for path in files:
        calibration = load_calibration(path)
        assert path.read_text().startswith("#"), "a calibration file says what it fits, first"
        for target in calibration.targets.values():
            assert target.source.strip()
