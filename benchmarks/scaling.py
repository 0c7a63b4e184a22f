"""Scaling on paper, checked by simulation: a model of a sweep's time on W workers, fitted here.

Run from the repository root::

    python -m benchmarks.scaling            # measure, fit, predict (about 2 minutes on 2 cores)
    python -m benchmarks.scaling --quick    # a smoke run: 4 points for 4 terms, w not to be trusted

The model of a sweep of N runs on W workers (``sim.run_sweep``, local pool; W = 1 runs in the
parent)::

    T(N, W) = c + s·[W > 1] + ceil(N / W)·p + N·w

- ``c`` [s]: the fixed cost in the parent (the design, the sweep folder, the final analysis's
  constant part);
- ``s`` [s]: the pool's start-up (a fork server imports cdpsim, mesa, pandas and pyarrow once,
  then forks W workers; 0 for W = 1, which runs in the parent, and for a later sweep of the
  same process, which finds the pool warm: each measurement here is a process's first sweep);
- ``p = o + r`` [s/run]: a run in a worker, ``r`` the simulation (the manifest's
  ``wall_time_s``: build, ticks, result tables) and ``o`` the overhead around it (writing the
  run folder, the row of the runs table);
- ``w`` [s/run]: the parent's serial work per run (taking each result, then rebuilding the runs
  table from every run's manifest and the sweep's points table and indices).

Every measurement is a fresh process (``sim.runner`` imported before the clock starts, so W = 1
and W = 2 start from the same warm parent) that times one ``run_sweep`` call and, from outside
the engine: the pool's start (``LocalPool.start`` wrapped), each run in its worker (a runner
that times :func:`sim.experiments.batch.execute`), the parent's CPU time while results arrive,
and the time from the last result to the return (the parent's tables). The model is fitted by
least squares to the tiny sweep at some N on 1 and 2 workers; its error is reported on the
measurements it did not use (the other N, the medium sweep and a small crash_sobol sweep, with
their own ``p`` measured in the worker). Then it predicts crash_sobol at N = 4 096 base samples
and 4 seeds on 200 workers and on this machine. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SWEEPS = ROOT / "benchmarks" / "sweeps"
TINY = SWEEPS / "scaling_tiny.yaml"
MEDIUM = SWEEPS / "scaling_medium.yaml"
SOBOL = ROOT / "scenarios" / "sweeps" / "crash_sobol.yaml"
#: The tiny sweep's grid points (runs = 16 × seeds).
TINY_POINTS = 16


def timed_execute(spec):
    """:func:`sim.experiments.batch.execute`, timed in the worker (module level: picklable)."""
    from sim.experiments.batch import execute

    t0 = time.perf_counter()
    row = execute(spec)
    return dict(row, bench_exec_s=time.perf_counter() - t0)


def _sweep_data(path: Path, **changes) -> dict:
    """The sweep file as data, ``base`` made absolute, with ``changes`` applied."""
    import yaml

    data = yaml.safe_load(path.read_text())
    data["base"] = str((path.parent / data["base"]).resolve())
    data.update(changes)
    return data


def child(path: str, workers: int, changes: dict) -> dict:
    """One sweep in this fresh process, instrumented from outside (see the module docstring)."""
    import sim.runner  # noqa: F401  (warm parent: mesa, pandas, pyarrow imported before t0)
    from sim.experiments import executors, run_sweep

    marks: dict[str, float] = {}
    start, close = executors.LocalPool.start, executors.LocalPool.close

    def timed_start(self):
        marks["pool_start0"] = time.perf_counter()
        start(self)
        marks["pool_start1"] = time.perf_counter()
        marks["cpu_loop0"] = time.process_time()

    def timed_close(self):
        marks.setdefault("close0", time.perf_counter())
        close(self)

    executors.LocalPool.start, executors.LocalPool.close = timed_start, timed_close
    rows: list[dict] = []

    def progress(p) -> None:
        now = time.perf_counter()
        if not rows:
            marks["first_result"] = now
            marks.setdefault("cpu_loop0", time.process_time())
        rows.append(p.last or {})
        marks["last_result"] = now
        marks["cpu_loop1"] = time.process_time()

    data = _sweep_data(Path(path), **changes)
    with tempfile.TemporaryDirectory(prefix="cdpsim-scaling-") as tmp:
        t0 = time.perf_counter()
        result = run_sweep(
            data, workers=workers, out=Path(tmp) / "s", progress=progress, runner=timed_execute
        )
        t1 = time.perf_counter()
        runs = result.runs
    n = len(runs)
    exec_s = [r["bench_exec_s"] for r in rows]
    sim_s = runs["wall_time_s"].astype(float).tolist()
    loop_start = marks.get("pool_start1", t0)
    return {
        "runs": n,
        "ok": int((runs["status"] == "ok").sum()),
        "workers": workers,
        "total_s": t1 - t0,
        "before_pool_s": marks.get("pool_start0", loop_start) - t0,
        "pool_start_s": marks.get("pool_start1", 0.0) - marks.get("pool_start0", 0.0),
        "loop_s": marks["last_result"] - loop_start,
        "after_last_s": t1 - marks["last_result"],
        "parent_cpu_loop_s": marks["cpu_loop1"] - marks["cpu_loop0"],
        "exec_s_sum": sum(exec_s),
        "exec_s_median": sorted(exec_s)[len(exec_s) // 2],
        "sim_s_sum": sum(sim_s),
        "sim_s_median": sorted(sim_s)[len(sim_s) // 2],
    }


def _child(path: Path, workers: int, changes: dict) -> dict:
    """Run :func:`child` in a fresh process; its figures."""
    from benchmarks.quiet import fresh_json, wait_quiet

    load = wait_quiet()
    code = (
        "import json, sys; from benchmarks.scaling import child; "
        "print(json.dumps(child(sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3]))))"
    )
    args = (str(path), str(workers), json.dumps(changes))
    figures = fresh_json(
        code, *args, env={"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    )
    if figures["ok"] != figures["runs"]:
        raise RuntimeError(f"runs failed: {figures}")
    return dict(figures, load=load, case=path.stem, changes=changes)


# ------------------------------------------------------------------------------------ the model
def design_row(n: int, w: int) -> list[float]:
    """The model's regressors for N runs on W workers: [1, W > 1, ceil(N / W), N]."""
    return [1.0, float(w > 1), float(math.ceil(n / w)), float(n)]


def fit(points: list[dict]) -> dict:
    """Least squares of ``total_s`` on :func:`design_row`: c, s, p, w."""
    import numpy as np

    x = np.array([design_row(m["runs"], m["workers"]) for m in points])
    y = np.array([m["total_s"] for m in points])
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    c, s, p, w = (float(v) for v in coef)
    return {"c_s": c, "s_s": s, "p_s": p, "w_s": w}


def predict(terms: dict, n: int, w: int, p: float | None = None) -> float:
    """T(N, W) with the fitted terms (``p``: another scenario's per-run time in the worker)."""
    p = terms["p_s"] if p is None else p
    c, s, _, ww = design_row(n, w)
    return terms["c_s"] * c + terms["s_s"] * s + p * math.ceil(n / w) + terms["w_s"] * ww


def sobol_runs(n_base: int, params: int, seeds: int, second_order: bool = False) -> int:
    """Runs of Saltelli's design: N·(D + 2) points (N·(2D + 2) with second order) × seeds."""
    return n_base * ((2 * params + 2) if second_order else (params + 2)) * seeds


def measure(quick: bool = False) -> dict:
    """Every measurement, the fit, its error on held-out cases, and the predictions."""
    fit_seeds = [2, 8, 32] if not quick else [2, 8]
    held_seeds = [4, 16] if not quick else [4]
    tiny = {}
    for seeds in sorted(fit_seeds + held_seeds):
        for w in (1, 2):
            tiny[(seeds, w)] = _child(TINY, w, {"seeds": seeds})
    used = [tiny[(k, w)] for k in fit_seeds for w in (1, 2)]
    terms = fit(used)
    held = []

    def check(m: dict, p: float | None) -> None:
        pred = predict(terms, m["runs"], m["workers"], p)
        held.append(dict(m, predicted_s=pred, error=pred / m["total_s"] - 1.0))

    for k in held_seeds:
        for w in (1, 2):
            check(tiny[(k, w)], None)
    # Other scenarios: p is their own per-run time in the worker (measured on one worker);
    # c, s and w are the tiny sweep's fitted terms.
    others = {}
    sobol_design = {"kind": "sobol", "n": 2 if quick else 4, "second_order": False, "seed": 0}
    for name, path, changes in (
        ("medium", MEDIUM, {"seeds": 2 if quick else 4}),
        ("crash_sobol", SOBOL, {"design": sobol_design}),
    ):
        one = _child(path, 1, changes)
        p = one["exec_s_sum"] / one["runs"]
        two = _child(path, 2, changes)
        others[name] = {"p_s": p, "one": one, "two": two}
        check(one, p)
        check(two, p)
    # The direct measurements of each term, beside the fitted ones.
    pools = [m for m in tiny.values() if m["workers"] == 2]
    direct = {
        "pool_start_s": sorted(m["pool_start_s"] for m in pools)[len(pools) // 2],
        "exec_s_per_run": sum(m["exec_s_sum"] for m in tiny.values())
        / sum(m["runs"] for m in tiny.values()),
        "sim_s_per_run": sum(m["sim_s_sum"] for m in tiny.values())
        / sum(m["runs"] for m in tiny.values()),
        "parent_cpu_per_result_s": sum(m["parent_cpu_loop_s"] for m in pools)
        / sum(m["runs"] for m in pools),
        "after_last_per_run_s": [
            (m["runs"], m["workers"], m["after_last_s"]) for m in tiny.values()
        ],
    }
    # crash_sobol as shipped (8 parameters) at N = 4 096 base samples and 4 seeds.
    import yaml

    params = len(yaml.safe_load(SOBOL.read_text())["parameters"])
    n_runs = sobol_runs(4096, params, 4)
    p_sobol = others["crash_sobol"]["p_s"]
    predictions = {}
    for w in (1, 2, 200):
        compute = math.ceil(n_runs / w) * p_sobol
        parent = n_runs * terms["w_s"]
        predictions[w] = {
            "total_s": predict(terms, n_runs, w, p_sobol),
            "compute_s": compute,
            "parent_serial_s": parent,
            "start_s": terms["c_s"] + (terms["s_s"] if w > 1 else 0.0),
            # The parent must take one result every p/W seconds to keep W workers busy.
            "result_interval_s": p_sobol / w,
        }
    errors = [abs(h["error"]) for h in held]
    return {
        "cpus": len(os.sched_getaffinity(0)),
        "tiny": [tiny[k] for k in sorted(tiny)],
        "fit_on": [(m["runs"], m["workers"]) for m in used],
        "terms": terms,
        "direct": direct,
        "held_out": held,
        "max_abs_error": max(errors),
        "mean_abs_error": sum(errors) / len(errors),
        "others": others,
        "sobol": {"params": params, "n_base": 4096, "seeds": 4, "runs": n_runs},
        "predictions": predictions,
        "parent_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }


def main(argv: list[str] | None = None) -> int:
    """Measure, fit, predict; print the tables and one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer sizes")
    args = parser.parse_args(argv)
    f = measure(args.quick)
    hdr = (
        f"{'case':12s} {'runs':>5s} {'W':>2s} {'total s':>8s} {'pool s':>7s} {'loop s':>7s} "
        f"{'after s':>7s} {'exec ms':>8s} {'sim ms':>7s} {'parent CPU ms/run':>17s} {'load':>5s}"
    )
    print(hdr)
    every = f["tiny"] + [m for o in f["others"].values() for m in (o["one"], o["two"])]
    for m in every:
        print(
            f"{m['case']:12s} {m['runs']:>5d} {m['workers']:>2d} {m['total_s']:>8.2f} "
            f"{m['pool_start_s']:>7.2f} {m['loop_s']:>7.2f} {m['after_last_s']:>7.2f} "
            f"{1e3 * m['exec_s_sum'] / m['runs']:>8.2f} {1e3 * m['sim_s_sum'] / m['runs']:>7.2f} "
            f"{1e3 * m['parent_cpu_loop_s'] / m['runs']:>17.3f} {m['load']:>5.2f}"
        )
    t = f["terms"]
    print(
        f"fit on {f['fit_on']}: c = {t['c_s']:.3f} s, s = {t['s_s']:.3f} s, "
        f"p = {1e3 * t['p_s']:.2f} ms/run, w = {1e3 * t['w_s']:.3f} ms/run"
    )
    d = f["direct"]
    print(
        f"measured directly: pool start {d['pool_start_s']:.2f} s, run in worker "
        f"{1e3 * d['exec_s_per_run']:.2f} ms (simulation {1e3 * d['sim_s_per_run']:.2f} ms), "
        f"parent CPU per result {1e3 * d['parent_cpu_per_result_s']:.3f} ms"
    )
    for h in f["held_out"]:
        print(
            f"held out {h['case']:12s} N={h['runs']:>4d} W={h['workers']}: measured "
            f"{h['total_s']:.2f} s, model {h['predicted_s']:.2f} s ({100 * h['error']:+.1f} %)"
        )
    print(f"fit error on held-out cases: max {100 * f['max_abs_error']:.1f} %")
    s = f["sobol"]
    print(
        f"crash_sobol: N = {s['n_base']} × ({s['params']} + 2) × {s['seeds']} seeds = "
        f"{s['runs']:,} runs, {1e3 * f['others']['crash_sobol']['p_s']:.0f} ms per run here"
    )
    for w, pr in f["predictions"].items():
        print(
            f"  W = {w:>3d}: {pr['total_s']:>9.0f} s ({pr['total_s'] / 3600:.2f} h): compute "
            f"{pr['compute_s']:.0f} s, parent's serial work {pr['parent_serial_s']:.0f} s, "
            f"start {pr['start_s']:.1f} s; a result every {1e3 * pr['result_interval_s']:.2f} ms"
        )
    print(json.dumps(f, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
