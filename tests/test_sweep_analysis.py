"""A sweep folder's analysis on demand (sim/experiments/sweep_analysis.py): ``sensitivity`` and
``discover`` read a finished sweep folder, compute, and write their tables back, on small
stand-in sweeps (tests/sweep_stand_ins.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import sim
from sim.experiments.batch import BatchInterrupted, RunSpec, run_batch
from sim.experiments.discovery import BOX_COLUMNS, format_discovery
from sim.experiments.errors import AnalysisError
from sim.experiments.sensitivity import (
    RANKING_COLUMN,
    SENSITIVITY2_COLUMNS,
    SENSITIVITY_COLUMNS,
)
from sim.experiments.store import StoreError, SweepFolder
from sim.experiments.sweep import run_sweep
from sim.experiments.sweep_analysis import discover, sensitivity
from tests.conftest import SMALL
from tests.sweep_stand_ins import box_runner, linear_runner, sweep_file


@pytest.fixture
def box_sweep(tmp_path) -> Path:
    """A small LHS sweep (60 points × 2 seeds) of the box stand-in; its folder."""
    path = sweep_file(tmp_path, "{kind: lhs, n: 60, seed: 4}", seeds="2")
    run_sweep(path, workers=0, out=tmp_path / "out", runner=box_runner)
    return tmp_path / "out"


@pytest.fixture
def morris(tmp_path) -> Path:
    """A small Morris sweep of the linear stand-in (10 trajectories); its folder."""
    path = sweep_file(tmp_path, "{kind: morris, n: 10, levels: 4, seed: 1}")
    run_sweep(path, workers=0, out=tmp_path / "morris", runner=linear_runner)
    return tmp_path / "morris"


# ---------------------------------------------------------------------------------------- sensitivity


def test_sensitivity_computes_the_indices_again_from_the_folder(morris):
    written = pd.read_parquet(morris / "sensitivity.parquet")
    (morris / "sensitivity.parquet").unlink()
    table = sensitivity(morris)
    assert list(table.columns) == [*SENSITIVITY_COLUMNS, RANKING_COLUMN]
    pd.testing.assert_frame_equal(table, written)
    pd.testing.assert_frame_equal(pd.read_parquet(morris / "sensitivity.parquet"), table)
    assert set(table["kpi"]) == {"bad_debt_max", "liquidated_debt"}
    assert not (morris / "sensitivity2.parquet").exists()  # Morris has no second order
    assert sim.sensitivity is sensitivity


def test_second_order_indices_are_written_beside(tmp_path):
    path = sweep_file(tmp_path, "{kind: sobol, n: 8, second_order: true}")
    run_sweep(path, workers=0, out=tmp_path / "out", runner=linear_runner)
    (tmp_path / "out" / "sensitivity2.parquet").unlink()
    sensitivity(tmp_path / "out")
    pairs = pd.read_parquet(tmp_path / "out" / "sensitivity2.parquet")
    assert list(pairs.columns) == list(SENSITIVITY2_COLUMNS) and len(pairs) == 2 * 3


def test_an_incomplete_sweep_has_no_indices_unless_asked(tmp_path):
    path = sweep_file(tmp_path, "{kind: morris, n: 4, levels: 4, seed: 1}")
    calls = {"n": 0}

    def interrupted(spec: RunSpec) -> dict:
        calls["n"] += 1
        if calls["n"] == 7:
            raise KeyboardInterrupt
        return linear_runner(spec)

    out = tmp_path / "out"
    with pytest.raises(BatchInterrupted):
        run_sweep(path, workers=0, out=out, runner=interrupted)
    with pytest.raises(AnalysisError) as caught:
        sensitivity(out)
    assert str(caught.value) == (
        f"{out}: the sweep is incomplete (batch.json says complete: false: runs are missing, "
        f"lost or failed), so it has no indices; run the rest with cdpsim sweep SWEEP.yaml "
        f"--out {out} --resume (--retry-failed to run the failed ones again too)"
    )
    assert not (out / "sensitivity.parquet").exists()
    table = sensitivity(out, require_complete=False)  # as run_sweep does before marking it
    assert list(table.columns) == [*SENSITIVITY_COLUMNS, RANKING_COLUMN]
    assert (out / "sensitivity.parquet").is_file()


def test_sensitivity_refuses_what_is_not_a_sobol_or_morris_sweep(tmp_path, box_sweep):
    with pytest.raises(AnalysisError, match="need a sobol or morris design; this sweep's is 'lhs'"):
        sensitivity(box_sweep)
    assert not (box_sweep / "sensitivity.parquet").exists()
    (tmp_path / "s.yaml").write_text(SMALL)
    batch = tmp_path / "batch"
    run_batch([tmp_path / "s.yaml"], seeds=1, workers=0, out=batch, overrides=["clock.duration=1h"])
    with pytest.raises(AnalysisError, match=r"a batch folder, but not a sweep's"):
        sensitivity(batch)
    with pytest.raises(AnalysisError, match=r"a batch folder, but not a sweep's"):
        discover(batch, kpi="bad_debt_max", above=1.0)
    with pytest.raises(StoreError, match=r"not a cdpsim sweep folder"):
        sensitivity(tmp_path / "nowhere")


# ---------------------------------------------------------------------------------------- discover


def test_discover_finds_a_box_and_writes_it_to_the_folder(box_sweep):
    found = discover(box_sweep, kpi="bad_debt_max", above=1000)
    assert found.path == box_sweep / "discovery" / "bad_debt_max-above-1000-cart.parquet"
    assert found.path.is_file() and found.complete and found.method == "cart"
    assert found.n_runs == 120 and 0 < found.n_cases < found.n_runs  # every seed of every point
    assert list(pd.read_parquet(found.path).columns) == list(BOX_COLUMNS)
    assert [d.path for d in SweepFolder(box_sweep).discoveries()] == [found.path]
    low = discover(box_sweep, kpi="min_cr_p05", below=1.3)
    assert (low.side, low.threshold) == ("below", 1.3) and low.n_cases == found.n_cases
    assert sim.discover is discover


def test_discover_checks_the_threshold_before_reading_the_folder(tmp_path):
    for kwargs, message in (
        ({"above": 1.0, "method": "svm"}, "unknown method 'svm'"),
        ({}, "--above X or --below X"),
        ({"above": 1.0, "below": 2.0}, "--above X or --below X"),
        ({"below": float("nan")}, "--below must be a finite number"),
    ):
        with pytest.raises(AnalysisError, match=message):
            discover(tmp_path / "nowhere", kpi="bad_debt_max", **kwargs)


def test_discover_refuses_what_it_cannot_analyse(box_sweep, tmp_path):
    with pytest.raises(AnalysisError, match=r"unknown KPI 'nope'"):
        discover(box_sweep, kpi="nope", above=1)
    with pytest.raises(AnalysisError, match=r"unknown method"):
        discover(box_sweep, kpi="bad_debt_max", above=1, method="svm")  # type: ignore[arg-type]
    with pytest.raises(StoreError, match=r"not a cdpsim sweep folder"):
        discover(tmp_path / "nowhere", kpi="bad_debt_max", above=1)
    nothing = discover(box_sweep, kpi="bad_debt_max", above=1e12)
    assert nothing.n_cases == 0 and nothing.boxes.empty
    assert "no box" in format_discovery(nothing)
