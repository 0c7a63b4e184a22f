"""The analysis error (sim/experiments/errors.py): a request the compute modules or a sweep
folder's readers cannot answer, as a message for the user, apart from a folder that is not a
batch folder at all (StoreError)."""

from __future__ import annotations

import json
import pickle

import pandas as pd
import pytest

from sim.experiments.discovery import threshold_of
from sim.experiments.errors import AnalysisError
from sim.experiments.sensitivity import sensitivity_table
from sim.experiments.store import StoreError, SweepFolder
from sim.rundir import BATCH_MANIFEST


def test_an_analysis_error_is_a_value_error_with_the_users_message():
    error = AnalysisError("unknown KPI 'nope'; expected one of bad_debt_max")
    assert isinstance(error, ValueError) and not isinstance(error, StoreError)
    assert str(error) == "unknown KPI 'nope'; expected one of bad_debt_max"
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is AnalysisError and str(again) == str(error)


def test_the_compute_modules_raise_it_for_a_request_they_cannot_answer():
    with pytest.raises(AnalysisError, match="unknown method 'svm'; expected one of cart, prim"):
        threshold_of("svm", 1.0, None)
    section = {"design": {"kind": "grid"}, "parameters": [], "kpis": []}
    with pytest.raises(AnalysisError, match="this sweep's is 'grid'"):
        sensitivity_table(pd.DataFrame(), section)


def test_a_batch_folder_that_is_not_a_sweeps_is_an_analysis_error(tmp_path):
    (tmp_path / BATCH_MANIFEST).write_text(
        json.dumps({"kind": "cdpsim-batch", "format": 1, "complete": True})
    )
    with pytest.raises(AnalysisError, match="a batch folder, but not a sweep's"):
        SweepFolder(tmp_path).section()
    with pytest.raises(StoreError):  # not a batch folder at all: the other error
        SweepFolder(tmp_path / "nowhere").section()
