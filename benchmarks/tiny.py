"""Many tiny runs at full speed: the warm pool, the pool's start-up, and the overhead per run.

Run from the repository root::

    python -m benchmarks.tiny              # every figure, best of 3 (about 2 minutes on 2 cores)
    python -m benchmarks.tiny --repeat 1   # a smoke run

The runs are the tiny sweep of ``benchmarks/scaling.py`` (``benchmarks/sweeps/scaling_tiny.yaml``:
10 vaults × 100 ten-minute ticks, 16 grid points × 16 seeds = 256 runs, ``keep: summary``).
Every figure is measured in a fresh process (``sim.runner`` imported before the clock starts,
so one and two workers start from the same warm parent) and repeated; the minimum is kept (the
machine is shared: a figure can only be slowed by other work). Figures:

- ``sweep``: ``sim.run_sweep`` of the 256 runs, four times in the same process: the **cold**
  first sweep (on two workers it starts the pool) and three **warm** ones (on two workers, on
  the pool the first left warm; the fastest is kept); on one worker all run in the parent. Speed-up = one worker's
  time ÷ two workers' time, cold and warm.
- ``pool start``: :meth:`LocalPool.start` of two workers in a fresh process, forked from a
  fork server with cdpsim preloaded (now) and ``spawn``-ed (before); and starting the pool again
  once the fork server runs (what a replaced pool costs).
- ``overhead``: per run, in ms. *In process*: a one-worker sweep's time per run minus the
  simulation (model build and ticks: the manifest's ``wall_time_s``). *Worker*: the time of
  :func:`sim.experiments.batch.execute` in the worker minus the simulation. *Parent*: the
  parent's CPU time per result on two workers (``time.process_time`` over the sweep, which
  includes the design and the final tables, divided by the runs).
- ``phases``: a tiny run's steps one by one in this process (median ms of 256 runs), as a
  batch's run takes them: taking the run from the sweep, its temporary folder
  (``rundir.RunFolder``), building the model with its table stream, the ticks, the result
  tables and KPIs (``runner.result_of``, and the KPIs within it), putting the folder in place
  (``RunFolder.commit``), the runs-table row (``store.run_row``).

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "benchmarks" / "sweeps" / "scaling_tiny.yaml"
#: Targets: two workers on a warm pool ≥ this × one worker; overhead per run in process [ms].
TARGET_SPEEDUP = 1.6
TARGET_OVERHEAD_MS = 5.0
#: Warm sweeps after the cold one in each fresh process; the fastest is kept.
WARM_SWEEPS = 3


def timed_execute(spec):
    """:func:`sim.experiments.batch.execute`, timed in the worker (module level: picklable)."""
    from sim.experiments.batch import execute

    t0 = time.perf_counter()
    row = execute(spec)
    return dict(row, bench_exec_s=time.perf_counter() - t0)


def _sweep_data() -> dict:
    import yaml

    data = yaml.safe_load(TINY.read_text())
    data["base"] = str((TINY.parent / data["base"]).resolve())
    return data


def child_sweeps(workers: int) -> dict:
    """Sweeps of the tiny runs in this fresh process: cold, then warm (the fastest of three)."""
    import sim.runner  # noqa: F401  (the parent warm: mesa, pandas, pyarrow before t0)
    from sim.experiments import run_sweep

    out: dict = {"workers": workers}
    with tempfile.TemporaryDirectory(prefix="cdpsim-tiny-") as tmp:
        for k, label in enumerate(("cold", *("warm",) * WARM_SWEEPS)):
            rows: list[dict] = []
            c0, t0 = time.process_time(), time.perf_counter()
            result = run_sweep(
                _sweep_data(),
                workers=workers,
                out=Path(tmp) / f"{label}-{k}",
                runner=timed_execute,
                progress=lambda p, rows=rows: rows.append(p.last or {}),
            )
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            runs = result.runs
            n = len(runs)
            sim_s = float(runs["wall_time_s"].astype(float).sum())
            exec_s = sum(r["bench_exec_s"] for r in rows)
            figures = {
                "runs": n,
                "ok": int((runs["status"] == "ok").sum()),
                "wall_s": wall,
                "parent_cpu_ms_per_run": cpu / n * 1e3,
                "simulation_ms": sim_s / n * 1e3,
                "execute_ms": exec_s / n * 1e3,
                "worker_overhead_ms": (exec_s - sim_s) / n * 1e3,
                "in_process_overhead_ms": (wall - sim_s) / n * 1e3,
            }
            if label not in out or figures["wall_s"] < out[label]["wall_s"]:
                out[label] = figures
    return out


def child_pool_start(method: str) -> dict:
    """Start a pool of two workers in this fresh process; its start-up time, and again."""
    import multiprocessing

    import sim.runner  # noqa: F401
    from sim.experiments.executors import LocalPool

    pool = LocalPool(2)
    t0 = time.perf_counter()
    if method == "spawn":
        pool._start(multiprocessing.get_context("spawn"))
    else:
        pool.start()
    first = time.perf_counter() - t0
    pool.close()
    t0 = time.perf_counter()
    pool.start() if method != "spawn" else pool._start(multiprocessing.get_context("spawn"))
    again = time.perf_counter() - t0
    pool.close()
    return {"method": method, "start_s": first, "again_s": again}


def child_phases() -> dict:
    """A tiny run's steps one at a time in this process (median ms over the 256 runs).

    The steps of a batch's run (:func:`sim.experiments.batch.execute`): its temporary folder,
    the model with its table stream, the ticks, the result (tables and KPIs), the folder put in
    place, the runs-table row. The tables the KPIs read and the KPIs are also timed alone, on
    the same model, before ``result_of`` (which does them again).
    """
    import sim.runner  # noqa: F401
    from sim import metrics, record
    from sim.experiments.batch import SUMMARY_FILES
    from sim.experiments.store import run_row
    from sim.experiments.sweep import SweepSpecs, load_sweep
    from sim.model import ProtocolModel
    from sim.rundir import RunFolder
    from sim.runner import result_of
    from sim.stream import RunStream

    sweep = load_sweep(TINY)
    times: dict[str, list[float]] = {}

    def mark(name: str, t0: float) -> float:
        now = time.perf_counter()
        times.setdefault(name, []).append((now - t0) * 1e3)
        return now

    with tempfile.TemporaryDirectory(prefix="cdpsim-tiny-") as tmp:
        specs = SweepSpecs(sweep, Path(tmp) / "s", "summary")
        for i in range(len(specs)):
            t = time.perf_counter()
            spec = specs[i]
            t = mark("spec (parent: the run from the sweep)", t)
            folder = RunFolder(spec.folder, clean=False)
            t = mark("run folder (rundir.RunFolder)", t)
            stream = RunStream(folder.tmp, keep=())  # keep: summary, as the batch does
            model = ProtocolModel(spec.scenario, seed=spec.seed, stream=stream)
            t = mark("build", t)
            while not model.finished:
                model.step()
            t = mark("ticks", t)
            ts, auctions = record.timeseries_frame(model), record.auctions_frame(model)
            t = mark("  result tables read by the KPIs (record.py)", t)
            metrics.summarize(ts, auctions, keeper_profit=0.0)
            t = mark("  KPIs (metrics.summarize)", t)
            result = result_of(model, wall_time_s=0.0, final=True)
            result.manifest["batch"] = spec.batch_info()
            result.manifest["files"] = list(SUMMARY_FILES)
            t = mark("result_of (runner.py, all of it)", t)
            folder.commit(result)
            t = mark("commit (rundir.RunFolder: files, rename)", t)
            run_row(Path(spec.folder))
            mark("run_row (store.py)", t)
    return {name: statistics.median(v) for name, v in times.items()}


def _child(code: str) -> dict:
    """Run ``code`` (which prints a JSON line last) in a fresh process once the machine is quiet."""
    from benchmarks.quiet import fresh_json, wait_quiet

    load = wait_quiet()
    return dict(fresh_json(f"import json; {code}"), load=load)


def _best(runs: list[dict], key) -> dict:
    return min(runs, key=key)


def measure(repeat: int = 3) -> dict:
    """Every figure, each the best of ``repeat`` fresh processes."""
    sweeps = {}
    for workers in (1, 2):
        runs = [
            _child(
                "from benchmarks.tiny import child_sweeps; "
                f"print(json.dumps(child_sweeps({workers})))"
            )
            for _ in range(repeat)
        ]
        for r in runs:
            assert r["cold"]["ok"] == r["cold"]["runs"] == r["warm"]["ok"], r
        sweeps[workers] = {
            label: _best([r[label] | {"load": r["load"]} for r in runs], lambda r: r["wall_s"])
            for label in ("cold", "warm")
        }
    starts = {
        method: _best(
            [
                _child(
                    "from benchmarks.tiny import child_pool_start; "
                    f"print(json.dumps(child_pool_start({method!r})))"
                )
                for _ in range(repeat)
            ],
            lambda r: r["start_s"],
        )
        for method in ("forkserver", "spawn")
    }
    phases = _child("from benchmarks.tiny import child_phases; print(json.dumps(child_phases()))")
    return {
        "sweeps": sweeps,
        "speedup_cold": sweeps[1]["cold"]["wall_s"] / sweeps[2]["cold"]["wall_s"],
        "speedup_warm": sweeps[1]["warm"]["wall_s"] / sweeps[2]["warm"]["wall_s"],
        "pool_start": starts,
        "phases_ms": phases,
        "repeat": repeat,
    }


def report(f: dict) -> str:
    """The figures as a table and the targets, as printed."""
    lines = [
        "sweep of 256 tiny runs (10 vaults × 100 ticks, keep: summary); best of "
        f"{f['repeat']} fresh processes",
        f"{'case':<28}{'wall s':>8}{'runs/s':>8}{'sim ms':>8}{'exec ms':>9}"
        f"{'worker ovh ms':>15}{'in-proc ovh ms':>16}{'parent CPU ms/run':>19}{'load':>6}",
    ]
    for workers, pair in f["sweeps"].items():
        for label, s in pair.items():
            lines.append(
                f"{f'{label}, {workers} worker' + ('s' if int(workers) > 1 else ''):<28}"
                f"{s['wall_s']:>8.2f}{s['runs'] / s['wall_s']:>8.1f}{s['simulation_ms']:>8.2f}"
                f"{s['execute_ms']:>9.2f}{s['worker_overhead_ms']:>15.2f}"
                f"{s['in_process_overhead_ms'] if int(workers) == 1 else float('nan'):>16.2f}"
                f"{s['parent_cpu_ms_per_run'] if int(workers) > 1 else float('nan'):>19.2f}"
                f"{s['load']:>6.2f}"
            )
    lines.append(
        f"speed-up, 2 workers over 1: cold {f['speedup_cold']:.2f}×, warm {f['speedup_warm']:.2f}×"
    )
    for method, s in f["pool_start"].items():
        lines.append(
            f"pool start (2 workers), {method}: {s['start_s']:.2f} s; again in the same process "
            f"{s['again_s']:.3f} s (load {s['load']:.2f})"
        )
    lines.append("a tiny run step by step, in one process (median ms):")
    for name, ms in f["phases_ms"].items():
        if name != "load":
            lines.append(f"  {name:<48}{ms:>7.2f}")
    in_process = f["sweeps"]["1"]["warm"]["in_process_overhead_ms"]
    for ok, text in [
        (
            f["speedup_warm"] >= TARGET_SPEEDUP,
            f"256 tiny runs, 2 workers on a warm pool ≥ {TARGET_SPEEDUP}× one: "
            f"{f['speedup_warm']:.2f}× (cold: {f['speedup_cold']:.2f}×)",
        ),
        (
            in_process <= TARGET_OVERHEAD_MS,
            f"overhead per run in process ≤ {TARGET_OVERHEAD_MS} ms: {in_process:.2f} ms",
        ),
    ]:
        lines.append(f"{'met' if ok else 'NOT MET':<9}{text}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure, print the table and the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="fresh processes per figure")
    args = parser.parse_args(argv)
    figures = json.loads(json.dumps(measure(args.repeat)))  # keys as printed: strings
    print(report(figures))
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
