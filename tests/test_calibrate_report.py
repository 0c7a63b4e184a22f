"""The calibration's summary.md: the posterior, the acceptance, the joint fit with its runs."""

from __future__ import annotations

import pandas as pd

from sim.calibrate.report import few_runs_note, fmt, joint_lines, targets_table
from sim.calibrate.scoring import score
from sim.calibrate.spec import TargetSpec


def scored(n: int) -> dict:
    targets = {"a": TargetSpec(value=1.0, band=[0.5, 2.0], source="s")}
    runs = pd.DataFrame({"a": [1.0 + 0.01 * i for i in range(n)]})
    return score(runs, targets)


def test_every_quantile_shows_the_runs_behind_it():
    s = scored(12)
    table = targets_table(s)
    assert "5–95 % of 12 runs" in table
    assert "12 of 12 runs" in joint_lines(s) and "(12 runs)" in joint_lines(s)
    assert "12 runs (fewer than 50)" in few_runs_note(12)
    assert few_runs_note(60) == ""


def test_numbers_read_as_a_table_should():
    assert fmt(5.4e6) == "5.40 M"
    assert fmt(20980.0) == "20,980"
    assert fmt(0.0643) == "0.0643"
    assert fmt(float("nan")) == "–"
