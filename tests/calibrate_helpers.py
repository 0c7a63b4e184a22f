"""What the calibration tests share: a small crash scenario, its true parameters, a file."""

from __future__ import annotations

from pathlib import Path

import sim
from sim.calibrate import compute

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


def crash_folder(tmp_path: Path) -> Path:
    """``tmp_path`` with the crash scenario as ``crash.yaml``."""
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


METHOD_SMALL = "{population: 8, generations: 2, predictive: 6, fixed_seeds: 4, seed: 3}"
