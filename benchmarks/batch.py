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
  two workers: flat means results stream to disk instead of piling up in the parent;
- ``sweep``: a sweep of 256 small runs (a grid of 16 points × 16 seeds, ``keep: summary``) on one
  worker (in process) and on two, whole processes timed as the user runs them: runs per second
  and the speed-up. Two kinds of small run: the ETH crash scaled to 300 vaults (two days of
  one-minute ticks, about a tenth of a second each: the target's case) and the tiny run (10
  vaults × 100 ticks, a few milliseconds: start-up and per-run overhead dominate).

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

from benchmarks.quiet import wait_quiet

ROOT = Path(__file__).resolve().parents[1]
#: Targets: two workers at least this much faster than one (batch and sweep); overhead per run;
#: parent memory growth from 20 to 200 runs.
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


#: A sweep over a small scenario: 16 grid points × 16 seeds = 256 runs, KPIs only.
SWEEP = """\
name: bench_sweep
description: "256 small runs: mat x crash depth, 16 seeds"
base: {base}
design: {{kind: grid}}
parameters:
  ilks.ETH-A.mat: {{values: [1.45, 1.46, 1.47, 1.48]}}
  collateral.ETH.price.crash.depth: {{values: [0.3, 0.35, 0.4, 0.45]}}
seeds: 16
kpis: [bad_debt_max, liquidated_debt]
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


def child_sweep(path: str, workers: int) -> dict:
    """Run one sweep in this (fresh) process; its wall time and this process's peak memory."""
    from sim.experiments import run_sweep

    with tempfile.TemporaryDirectory(prefix="cdpsim-bench-") as tmp:
        t0 = time.perf_counter()
        result = run_sweep(path, workers=workers, out=Path(tmp) / "s")
        wall = time.perf_counter() - t0
        runs = result.runs
    return {
        "runs": len(runs),
        "ok": int((runs["status"] == "ok").sum()),
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
    """Run ``child_<kind>(**kwargs)`` in a fresh process once the machine is quiet.

    Returns the child's figures plus the whole process's wall time (``process_wall_s``, imports
    included), its CPU time and its workers' (``process_cpu_s``) and the load average it
    started at.
    """
    started_at = wait_quiet()
    code = (
        f"import json, sys; from benchmarks.batch import child_{kind} as f; "
        "print(json.dumps(f(**json.loads(sys.argv[1]))))"
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(kwargs)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    return dict(figures, load=started_at, process_wall_s=wall, process_cpu_s=cpu)


# ------------------------------------------------------------------------------------ figures
def speedup(n_runs: int) -> dict:
    """One worker vs two on ``n_runs`` equal runs of the ETH crash."""
    path = str(ROOT / "scenarios" / "eth_crash_liq2.yaml")
    one = _child("batch", paths=[path], seeds=n_runs, workers=1, overrides=[])
    two = _child("batch", paths=[path], seeds=n_runs, workers=2, overrides=[])
    return {
        "label": "eth_crash_liq2",
        "runs": n_runs,
        "vaults": 3000,
        "ticks": 2880,
        "one_worker_s": one["wall_s"],
        "two_workers_s": two["wall_s"],
        "one_worker_cpu_s": one["process_cpu_s"],
        "two_workers_cpu_s": two["process_cpu_s"],
        "parent_peak_mb": [one["parent_peak_mb"], two["parent_peak_mb"]],
        "speedup": one["wall_s"] / two["wall_s"],
        "load": max(one["load"], two["load"]),
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


def sweep(tmp: Path, base_data: dict | None, label: str) -> dict:
    """256 small runs of a sweep on one worker and on two (whole processes).

    Args:
        tmp: a folder for the sweep and base files.
        base_data: the base scenario as data (``None``: the tiny scenario).
        label: the name of the small run, for the table.
    """
    import yaml

    base = tmp / f"{label}.yaml"
    if base_data is None:
        base.write_text(TINY)
    else:
        base.write_text(yaml.safe_dump(base_data, sort_keys=False))
    path = tmp / f"sweep-{label}.yaml"
    path.write_text(SWEEP.format(base=base.name))
    one = _child("sweep", path=str(path), workers=1)
    two = _child("sweep", path=str(path), workers=2)
    if one["ok"] != one["runs"] or two["ok"] != two["runs"]:
        raise RuntimeError(f"sweep runs failed: {one}, {two}")
    from sim.scenario import load_scenario

    spec = load_scenario(base)
    return {
        "label": label,
        "vaults": sum(c.vaults for c in spec.borrowers),
        "ticks": spec.n_ticks,
        "runs": one["runs"],
        "one_worker_s": one["process_wall_s"],
        "two_workers_s": two["process_wall_s"],
        "one_worker_cpu_s": one["process_cpu_s"],
        "two_workers_cpu_s": two["process_cpu_s"],
        "runs_per_s_one": one["runs"] / one["process_wall_s"],
        "runs_per_s_two": two["runs"] / two["process_wall_s"],
        "speedup": one["process_wall_s"] / two["process_wall_s"],
        "parent_peak_mb": [one["parent_peak_mb"], two["parent_peak_mb"]],
        "load": max(one["load"], two["load"]),
    }


def sweeps(tmp: Path) -> list[dict]:
    """The two sweep cases: the 300-vault ETH crash (the target's) and the tiny run."""
    from benchmarks.bench_scenario import scaled_data

    return [
        sweep(tmp, scaled_data("eth_crash_liq2", 300), "eth_crash_liq2-300"),
        sweep(tmp, None, "tiny"),
    ]


def measure(quick: bool = False, with_sweeps: bool = True) -> dict:
    """Every batch figure (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="cdpsim-bench-") as tmp:
        tiny = Path(tmp) / "tiny.yaml"
        tiny.write_text(TINY)
        figures = {
            "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
            "speedup": speedup(8 if quick else 128),
            "overhead": overhead(str(tiny), 40 if quick else 200),
            "memory": parent_memory(str(tiny), 20, 60 if quick else 200),
            "sweeps": sweeps(Path(tmp)) if with_sweeps else [],
        }
    return figures


def targets(figures: dict) -> list[tuple[str, str, bool]]:
    """``(target, measured, met)`` for the batch and sweep targets."""
    s, o, m = figures["speedup"], figures["overhead"], figures["memory"]
    out = [
        (
            f"2 workers ≥ {TARGET_SPEEDUP}× one, batch of {s['runs']} ETH-crash runs",
            f"{s['speedup']:.2f}× ({s['one_worker_s']:.1f} s → {s['two_workers_s']:.1f} s)",
            s["speedup"] >= TARGET_SPEEDUP,
        ),
        (
            f"overhead per run ≤ {TARGET_OVERHEAD_MS:.0f} ms, in process",
            f"{o['overhead_ms_in_process']:.1f} ms",
            o["overhead_ms_in_process"] <= TARGET_OVERHEAD_MS,
        ),
        (
            f"parent memory flat from {m['runs'][0]} to {m['runs'][1]} runs "
            f"(≤ {TARGET_MEMORY_GROWTH:.2f}×)",
            f"{m['parent_peak_mb'][0]:.0f} → {m['parent_peak_mb'][1]:.0f} MB",
            m["growth"] <= TARGET_MEMORY_GROWTH,
        ),
    ]
    for w in figures.get("sweeps", []):
        if w["label"] == "tiny":
            continue  # information: start-up bound, see the README
        out.append(
            (
                f"sweep of {w['runs']} small runs ({w['label']}) on 2 workers ≥ "
                f"{TARGET_SPEEDUP}× one",
                f"{w['speedup']:.2f}× ({w['one_worker_s']:.1f} s → {w['two_workers_s']:.1f} s)",
                w["speedup"] >= TARGET_SPEEDUP,
            )
        )
    return out


def main(argv: list[str] | None = None) -> int:
    """Measure, print a table and one JSON line; exit 1 if a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller batches")
    parser.add_argument("--no-sweeps", action="store_true", help="skip the sweep cases")
    args = parser.parse_args(argv)
    figures = measure(args.quick, with_sweeps=not args.no_sweeps)
    o = figures["overhead"]
    print(
        f"overhead per run per core, 2 workers: {o['overhead_ms_two_workers']:.1f} ms "
        f"(simulation {o['sim_ms']:.1f} ms)"
    )
    for w in figures["sweeps"]:
        print(
            f"sweep {w['label']}: {w['runs']} runs, {w['runs_per_s_one']:.1f} runs/s on one "
            f"worker, {w['runs_per_s_two']:.1f} on two ({w['speedup']:.2f}×)"
        )
    checks = targets(figures)
    for target, measured, met in checks:
        print(f"{'met    ' if met else 'NOT MET'}  {target}: {measured}")
    figures["targets_met"] = {target: met for target, _, met in checks}
    print(json.dumps(figures))
    return 0 if all(met for _, _, met in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
