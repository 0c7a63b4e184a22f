"""Shared fixtures: small scenario texts and the path of the installed ``cdpsim`` command."""

from __future__ import annotations

import atexit
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import configuration as hypothesis_configuration

# Tests write only to temporary folders: keep hypothesis's example database out of the repo,
# in a folder removed when the session ends.
_HYPOTHESIS_HOME = tempfile.mkdtemp(prefix="cdpsim-hypothesis-")
hypothesis_configuration.set_hypothesis_home_dir(_HYPOTHESIS_HOME)
atexit.register(shutil.rmtree, _HYPOTHESIS_HOME, ignore_errors=True)

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"

SMALL = """\
name: small
seed: 3
clock: {tick: 10m, duration: 12h}
collateral:
  ETH:
    price: {process: scripted, start: 2000, crash: {depth: 0.4, at: 1h, over: 4h}}
ilks:
  ETH-A:
    collateral: ETH
    mat: 1.5
    stability_fee: 0.08
    line: 1.0e9
    dust: 100
    liquidation: {engine: clip, chop: 0.13, hole: 1.0e8, buf: 1.2, tail: 2h, cusp: 0.4, chip: 0.001, tip: 100}
system: {Hole: 1.0e8}
borrowers:
  - {name: tail, ilk: ETH-A, vaults: 200, debt: 2.0e6, cr: {dist: uniform, min: 1.55, max: 2.4}}
  - {name: careful, ilk: ETH-A, vaults: 50, debt: 1.0e6, cr: {dist: fixed, median: 2.0},
     strategy: {kind: target_cr, trigger: 1.7, target: 2.2}}
keepers:
  - {name: kp, count: 2, dai: 1.0e6}
"""


@pytest.fixture
def small_scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    return path


@pytest.fixture(scope="session")
def cdpsim_cmd() -> list[str]:
    """The installed console script (the real entry point)."""
    exe = Path(sys.executable).parent / "cdpsim"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("cdpsim")
    if found is None:
        pytest.fail("the cdpsim command is not installed (pip install -e .)")
    return [found]
