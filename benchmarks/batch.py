"""Benchmarks of the batch layer: speed-up on two workers, per-run overhead, parent memory.

Run from the repository root::

    python -m benchmarks.batch            # all three, about two minutes on two cores
    python -m benchmarks.batch --quick    # smaller batches (a smoke run)

Each measurement runs in a fresh subprocess, so imports are paid as a user pays them and each
peak memory is that process's own (``ru_maxrss`` of the parent only: workers are separate
processes). Figures (see ``benchmarks/README.md``):

- ``speedup``: wall time of a batch of equal runs (the ETH crash, 3 000 vaults) on one worker in
  this process, divided by the wall time of the same batch on a local pool of two workers (pool
  start-up, imports in the workers and every write included);
- ``overhead_ms``: batch wall time ÷ runs − one run's in-process simulation time (build and
  ticks, no writing), for a batch of tiny runs (10 vaults × 100 ticks) in this process and on
  two workers (where it is wall × workers ÷ runs − simulation time, the cost per run per core);
- ``parent_peak_mb``: the batch process's peak resident memory for 20 and for 200 tiny runs on
  two workers: flat means results stream to disk instead of piling up in the parent.

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Targets: two workers at least this much faster than one; overhead per run; parent memory
#: growth from 20 to 200 runs.
TARGET_SPEEDUP = 1.8
TARGET_OVERHEAD_MS = 50.0
TARGET_MEMORY_GROWTH = 1.10

TINY = """\
name: tiny
seed: 1
clock: {tick: 10m, duration: 1000m}
collateral:
  ETH:
    price: {process: scripted, start: 2000, crash: {depth: 0.3, at: 100m, over: 300m}}
ilks:
  ETH-A:
    collateral: ETH
    mat: 1.5
    line: 1.0e9
    liquidation: {engine: clip, chop: 0.13, hole: 1.0e8, buf: 1.2, tail: 2h, cusp: 0.4}
borrowers:
  - {name: tail, ilk: ETH-A, vaults: 10, debt: 1.0e6, cr: {dist: uniform, min: 1.55, max: 2.4}}
keepers:
  - {name: kp, count: 1, dai: 1.0e6}
"""


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# ------------------------------------------------------------------------------------ children
def child_batch(paths: list[str], seeds: int, workers: int, overrides: list[str]) -> dict:
    """Run one batch in this (fresh) process; its wall time and this process's peak memory."""
    from sim.experiments.batch import run_batch

    with tempfile.TemporaryDirectory(prefix="cdpsim-bench-") as tmp:
        t0 = time.perf_counter()
        table = run_batch(
            paths, seeds=seeds, workers=workers, overrides=overrides, out=Path(tmp) / "b"
        )
        wall = time.perf_counter() - t0
    return {
        "runs": len(table),
        "ok": int((table["status"] == "ok").sum()),
        "wall_s": wall,
        "parent_peak_mb": _peak_mb(),
    }


def child_simulation(path: str, overrides: list[str], repeat: int) -> dict:
    """One run's in-process simulation time (build and ticks, no writing), best of ``repeat``."""
    import sim
    from sim.model import ProtocolModel

    scenario = sim.load_scenario(path, overrides=overrides)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        model = ProtocolModel(scenario)
        model.run()
        best = min(best, time.perf_counter() - t0)
    return {"sim_s": best}


def _child(kind: str, **kwargs) -> dict:
    code = (
        f"import json, sys; from benchmarks.batch import child_{kind} as f; "
        "print(json.dumps(f(**json.loads(sys.argv[1]))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(kwargs)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------ figures
def speedup(n_runs: int) -> dict:
    """One worker vs two on ``n_runs`` equal runs of the ETH crash."""
    path = str(ROOT / "scenarios" / "eth_crash_liq2.yaml")
    one = _child("batch", paths=[path], seeds=n_runs, workers=1, overrides=[])
    two = _child("batch", paths=[path], seeds=n_runs, workers=2, overrides=[])
    return {
        "runs": n_runs,
        "one_worker_s": one["wall_s"],
        "two_workers_s": two["wall_s"],
        "speedup": one["wall_s"] / two["wall_s"],
    }


def overhead(path: str, n_runs: int) -> dict:
    """Per-run overhead of the batch machinery on tiny runs, in this process and on 2 workers."""
    sim_s = _child("simulation", path=path, overrides=[], repeat=20)["sim_s"]
    one = _child("batch", paths=[path], seeds=n_runs, workers=1, overrides=[])
    two = _child("batch", paths=[path], seeds=n_runs, workers=2, overrides=[])
    return {
        "runs": n_runs,
        "sim_ms": 1e3 * sim_s,
        "overhead_ms_in_process": 1e3 * (one["wall_s"] / n_runs - sim_s),
        "overhead_ms_two_workers": 1e3 * (two["wall_s"] * 2 / n_runs - sim_s),
        "runs_per_s_two_workers": n_runs / two["wall_s"],
    }


def parent_memory(path: str, small: int, large: int) -> dict:
    """The batch process's peak memory for ``small`` and ``large`` tiny runs on two workers."""
    a = _child("batch", paths=[path], seeds=small, workers=2, overrides=[])
    b = _child("batch", paths=[path], seeds=large, workers=2, overrides=[])
    return {
        "runs": [small, large],
        "parent_peak_mb": [a["parent_peak_mb"], b["parent_peak_mb"]],
        "growth": b["parent_peak_mb"] / a["parent_peak_mb"],
    }


def main(argv: list[str] | None = None) -> int:
    """Measure, print a table and one JSON line; exit 1 if a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller batches")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cdpsim-bench-") as tmp:
        tiny = Path(tmp) / "tiny.yaml"
        tiny.write_text(TINY)
        figures = {
            "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
            "speedup": speedup(8 if args.quick else 64),
            "overhead": overhead(str(tiny), 40 if args.quick else 200),
            "memory": parent_memory(str(tiny), 20, 60 if args.quick else 200),
        }
    s, o, m = figures["speedup"], figures["overhead"], figures["memory"]
    checks = {
        "speedup": s["speedup"] >= TARGET_SPEEDUP,
        "overhead": o["overhead_ms_in_process"] <= TARGET_OVERHEAD_MS,
        "memory": m["growth"] <= TARGET_MEMORY_GROWTH,
    }
    print(f"{'figure':44s} {'measured':>22s}  target")
    print(
        f"{'2 workers vs 1, ' + str(s['runs']) + ' ETH-crash runs':44s} "
        f"{s['speedup']:>9.2f}× ({s['one_worker_s']:.1f} s → {s['two_workers_s']:.1f} s)"
        f"  ≥ {TARGET_SPEEDUP}×"
    )
    print(
        f"{'overhead per run, in process (' + str(o['runs']) + ' tiny runs)':44s} "
        f"{o['overhead_ms_in_process']:>19.1f} ms  ≤ {TARGET_OVERHEAD_MS:.0f} ms"
    )
    print(
        f"{'overhead per run per core, 2 workers':44s} "
        f"{o['overhead_ms_two_workers']:>19.1f} ms  (simulation {o['sim_ms']:.1f} ms)"
    )
    print(
        f"{'parent peak memory, ' + ' vs '.join(map(str, m['runs'])) + ' runs':44s} "
        f"{m['parent_peak_mb'][0]:>8.0f} → {m['parent_peak_mb'][1]:.0f} MB  ≤ "
        f"{TARGET_MEMORY_GROWTH:.2f}×"
    )
    figures["targets_met"] = checks
    print(json.dumps(figures))
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
