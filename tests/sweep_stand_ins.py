"""Stand-in models for sweep tests: run folders written as the batch layer writes them.

The sensitivity and discovery machinery is checked end to end — sweep file → design → runs →
runs table → points table → indices or boxes — with stand-in models plugged in where the
simulation runs (``run_sweep(runner=...)``): a stand-in writes its run folder and returns its row
exactly as :func:`sim.experiments.batch.execute` does, so everything after the run is the real
path. Used by tests/test_sensitivity.py, tests/test_discovery.py and tests/test_store.py.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from sim.experiments.batch import RunSpec
from sim.experiments.store import run_row
from sim.experiments.sweep import run_sweep
from sim.rundir import MANIFEST_KIND, RUN_FORMAT
from tests.conftest import SMALL

#: The stand-ins' inputs: three scenario fields whose ranges map linearly onto [-π, π].
ISHIGAMI = {
    "collateral.ETH.price.crash.depth": (0.1, 0.9),
    "ilks.ETH-A.liquidation.buf": (1.0, 3.0),
    "ilks.ETH-A.liquidation.chop": (0.0, 1.0),
}
#: Ishigami's constants and its analytical indices (Ishigami & Homma 1990).
A, B = 7.0, 0.1
ISHIGAMI_S1 = (0.3139, 0.4424, 0.0)
ISHIGAMI_ST = (0.5576, 0.4424, 0.2437)
#: Tolerance of the estimated indices at the sample size used below [-].
INDEX_TOL = 0.05
#: The linear stand-in's slopes (per whole range) for Morris.
SLOPES = (3.0, -1.0, 0.0)


def write_stand_in(spec: RunSpec, kpis: dict[str, float], status: str = "ok") -> dict:
    """Write a run folder as the batch layer does (summary, then the manifest) and return its row."""
    folder = Path(spec.folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "summary.json").write_text(json.dumps(kpis))
    manifest = {
        "kind": MANIFEST_KIND,
        "format": RUN_FORMAT,
        "scenario": {"name": spec.scenario.name},
        "seed": spec.seed,
        "ticks": 0,
        "status": status,
        "error": None if status == "ok" else "stand-in failure\nTraceback: none",
        "wall_time_s": 0.0,
        "files": ["manifest.json", "summary.json"],
        "batch": spec.batch_info(),
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    row = run_row(folder)
    assert row is not None
    return row


def unit_inputs(spec: RunSpec) -> list[float]:
    """The stand-ins' inputs in [0, 1]."""
    return [(spec.parameters[k] - lo) / (hi - lo) for k, (lo, hi) in ISHIGAMI.items()]


def ishigami_runner(spec: RunSpec) -> dict:
    x1, x2, x3 = (-math.pi + 2 * math.pi * u for u in unit_inputs(spec))
    y = math.sin(x1) + A * math.sin(x2) ** 2 + B * x3**4 * math.sin(x1)
    return write_stand_in(spec, {"bad_debt_max": y, "liquidated_debt": abs(y)})


def linear_runner(spec: RunSpec) -> dict:
    y = sum(s * u for s, u in zip(SLOPES, unit_inputs(spec), strict=True))
    return write_stand_in(spec, {"bad_debt_max": y, "liquidated_debt": 0.0})


def box_runner(spec: RunSpec) -> dict:
    """Bad debt (1 M Dai) and a low CR exactly where depth > 0.6 and buf < 1.8 (15 % of the
    space); a seed-dependent wobble."""
    depth = spec.parameters["collateral.ETH.price.crash.depth"]
    buf = spec.parameters["ilks.ETH-A.liquidation.buf"]
    inside = depth > 0.6 and buf < 1.8
    kpis = {
        "bad_debt_max": (1.0e6 if inside else 0.0) + spec.seed % 7,
        "liquidated_debt": 1.0,
        "min_cr_p05": 1.1 if inside else 1.6,
    }
    return write_stand_in(spec, kpis)


def sweep_file(tmp_path: Path, design: str, seeds: str = "1") -> Path:
    (tmp_path / "base.yaml").write_text(SMALL)
    params = "\n".join(f"  {k}: {{range: [{lo}, {hi}]}}" for k, (lo, hi) in ISHIGAMI.items())
    path = tmp_path / "sweep.yaml"
    path.write_text(
        f"name: standin\nbase: base.yaml\ndesign: {design}\nparameters:\n{params}\n"
        f"seeds: {seeds}\nkpis: [bad_debt_max, liquidated_debt]\n"
    )
    return path


def box_sweep(tmp_path: Path) -> Path:
    """An LHS sweep of 400 points × 2 seeds of :func:`box_runner`; its folder."""
    path = sweep_file(tmp_path, "{kind: lhs, n: 400, seed: 4}", seeds="2")
    run_sweep(path, workers=0, out=tmp_path / "out", runner=box_runner)
    return tmp_path / "out"
