"""Case files: an event, its targets and a calibration's posterior mapped onto it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sim.calibrate.cases import case_overrides, gallery_rows, load_case, run_case
from sim.scenario import ScenarioError
from tests.calibrate_helpers import CRASH
from tests.conftest import SCENARIOS

CASE = """\
name: synthetic_event
description: "a small crash as an out-of-sample event"
scenario: crash.yaml
sample: out_of_sample
seeds: 4
posterior:
  calibration: cal.yaml
  map: {ilks.ETH-A.liquidation.chop: ilks.ETH-A.liquidation.chop}
targets:
  penalty:
    statistic: effective_penalty
    ilks: [ETH-A]
    value: 0.08
    band: [0.05, 0.12]
    source: made up for the test
  no_zero_bids: {statistic: zero_bid_share, value: 0, band: [0, 0], source: made up}
unscored:
  - {name: kickers, value: 3, source: made up, reason: not recorded by the model}
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "crash.yaml").write_text(CRASH)
    (tmp_path / "cal.yaml").write_text("name: cal\n")  # only its existence is checked here
    (tmp_path / "case.yaml").write_text(CASE)
    return tmp_path


def test_every_committed_case_file_is_valid():
    files = sorted((SCENARIOS / "cases").glob("*.yaml"))
    assert files, "scenarios/cases/ holds the pre-registered events"
    for path in files:
        case = load_case(path)
        assert path.read_text().startswith("#")
        assert "Pre-registered" in path.read_text() or case.spec.sample == "in_sample"


def test_a_case_runs_each_seed_with_its_own_posterior_draw(folder):
    case = load_case(folder / "case.yaml")
    posterior = pd.DataFrame({"ilks.ETH-A.liquidation.chop": [0.06, 0.11], "weight": [0.5, 0.5]})
    overrides = case_overrides(case, posterior)
    assert len(overrides) == 4
    assert {o[0] for o in overrides} <= {
        "ilks.ETH-A.liquidation.chop=0.06",
        "ilks.ETH-A.liquidation.chop=0.11",
    }
    runs, scored = run_case(case, posterior=posterior, workers=0)
    assert len(runs) == 4 and scored["n_runs"] == 4 and scored["few_runs"]
    chops = runs["overrides"].str.split("=").str[1].astype(float)
    # a run's penalty is at most its own chop: the draw reached the scenario
    assert (runs["penalty"] <= chops + 1e-12).all()
    rows = gallery_rows("synthetic", "out_of_sample", scored, case.spec.targets, "case.yaml")
    assert [r.n_runs for r in rows] == [4, 4, 4]
    assert rows[-1].passed is None and "of 4 runs inside every band" in rows[-1].result
    with pytest.raises(ValueError, match="needs the posterior"):
        case_overrides(case, None)


def test_a_bad_case_file_names_file_line_and_field(folder):
    path = folder / "case.yaml"
    path.write_text(CASE.replace("ilks: [ETH-A]", "ilks: [ETH-Q]").replace("cal.yaml", "x.yaml"))
    with pytest.raises(ScenarioError) as info:
        load_case(path)
    text = str(info.value)
    assert f"{path}:12: targets.penalty.ilks: no ilk 'ETH-Q'" in text
    assert f"{path}:7: posterior.calibration: no calibration file" in text
