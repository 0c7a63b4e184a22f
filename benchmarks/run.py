"""Speed and memory benchmarks of cdpsim against the project's targets: one command, one table.

Run from the repository root::

    python -m benchmarks.run                      # every section (about six minutes)
    python -m benchmarks.run --quick              # a smoke run on small sizes
    python -m benchmarks.run --only family,crash  # some sections
    python -m benchmarks.run --crash eth_crash_liq1 --crash-sizes 100000
    python -m benchmarks.run --profile 1000000 --scenario eth_crash_liq2   # pyinstrument

Sections (see ``benchmarks/README.md``), each a row per case in one table:

- ``family``: the benchmark scenario family (``bench_scenario.make_scenario``) at 1k, 10k,
  100k and 1M vaults × 1 000 ticks, with the per-agent mesa reference
  (``benchmarks/reference_mesa.py``) side by side up to 10k vaults, and the fixed cost of a
  tick (10 vaults × 20 000 ticks);
- ``crash``: the shipped crash scenarios scaled to 10k, 100k and 1M vaults
  (``bench_scenario.scaled_scenario``): the ETH crash under Liquidations 2.0 and 1.0, Black
  Thursday under 1.0 and its 2.0 counterfactual;
- ``startup``: whole processes (``benchmarks/startup.py``): the mesa import floor, a worker's
  imports, ``import sim``, ``cdpsim --help``, ``cdpsim validate``, ``cdpsim run`` of a tiny
  scenario, and the tiny run in a warm worker;
- ``batch``: ``benchmarks/batch.py``: a batch of 128 ETH-crash runs and sweeps of 256 small runs
  on one worker and on two, the batch machinery's overhead and the parent's memory.

Runs (``family``, ``crash``) run in fresh subprocesses pinned to one CPU
(``os.sched_setaffinity``), so each peak memory is its own (``ru_maxrss`` of that child) and the
speed is one core's; runs shorter than 5 s are repeated (best of ``--repeat``). Every measurement
starts once the 1-minute load average is at most 1.5 (``benchmarks/quiet.py``) and records it.
Figures of a run:

- ``wall_s``: the whole run as :func:`sim.run` does it: build, ticks, result tables;
- ``cpu_s``: the CPU time of the same;
- ``tick_s``: the tick loop alone; ``vault_ticks_per_s = vaults · ticks / tick_s``;
  ``us_per_tick = tick_s / ticks``;
- ``peak_mb``: the child's peak resident memory.

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

import numpy as np

from benchmarks.quiet import MAX_LOAD, load, wait_quiet

#: Default sizes (vaults) of the benchmark family.
SIZES = (1_000, 10_000, 100_000, 1_000_000)
#: The shipped crash scenarios scaled up (``benchmarks.bench_scenario.scaled_scenario``) and
#: their sizes (vaults).
CRASH = (
    "eth_crash_liq2",
    "eth_crash_liq1",
    "eth_crash_liq2+blocks",
    "eth_crash_liq1+blocks",
    "black_thursday_2020",
    "black_thursday_liq2",
)
CRASH_SIZES = (10_000, 100_000, 1_000_000)
#: Sections of a full run, in order.
SECTIONS = ("family", "crash", "startup", "batch")
#: The project's targets: vault-ticks per second at 100k vaults, wall time and peak memory at
#: 1M vaults, the fixed cost of a tick [µs], and the speed-up over the per-agent reference.
TARGET_VTPS_100K = 30e6
TARGET_1M_WALL_S = 60.0
TARGET_1M_PEAK_MB = 4096.0
TARGET_FIXED_US = 60.0
TARGET_REF_RATIO = 50.0
#: Wall time of the ETH crash at 1M vaults on one core [s], per liquidation engine.
TARGET_CRASH_1M_S = {
    "eth_crash_liq2": 60.0,
    "eth_crash_liq1": 120.0,
    "eth_crash_liq2+blocks": 60.0,
    "eth_crash_liq1+blocks": 120.0,
}
#: The flip crash whose vault-ticks per second at 100k vaults must reach TARGET_VTPS_100K.
TARGET_FLIP_SCENARIO = "eth_crash_liq1"


# ------------------------------------------------------------------------------------ child side
def _pin(cpu: int | None) -> int | None:
    """Pin this process to one CPU (the given one, else the last one allowed)."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    allowed = sorted(os.sched_getaffinity(0))
    target = cpu if cpu is not None else allowed[-1]
    os.sched_setaffinity(0, {target})
    return target


def _peak_mb() -> float:
    """Peak resident memory of this process [MB] (``ru_maxrss`` is in KiB on Linux)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024.0 if sys.platform != "darwin" else rss / 2**20


def _timed_run(scenario: object) -> tuple[object, tuple[float, ...], float]:
    """Build, run and tabulate ``scenario``: the result, four ``perf_counter`` marks (start,
    built, ticks done, tables done) and the CPU time of it all [s]."""
    from sim.model import ProtocolModel
    from sim.runner import result_of

    c0 = time.process_time()
    t0 = time.perf_counter()
    model = ProtocolModel(scenario)  # type: ignore[arg-type]
    t1 = time.perf_counter()
    model.run()
    t2 = time.perf_counter()
    result = result_of(model, wall_time_s=t2 - t0, final=True)
    t3 = time.perf_counter()
    return result, (t0, t1, t2, t3), time.process_time() - c0


def child_cdpsim(vaults: int, ticks: int, seed: int) -> dict:
    """Build, run and tabulate one benchmark scenario with cdpsim; return the figures."""
    from benchmarks.bench_scenario import make_scenario

    result, times, cpu = _timed_run(make_scenario(vaults, ticks, seed))
    return {
        **_figures("cdpsim", vaults, ticks, times, cpu),
        "auctions": int(result.summary["auctions"]),
        "redos": int(result.auctions["redos"].sum()) if len(result.auctions) else 0,
    }


def _figures(model: str, vaults: int, ticks: int, times: tuple[float, ...], cpu_s: float) -> dict:
    """Figures of one run from its timestamps (start, built, ticked, tables done) and CPU time."""
    t0, t1, t2, t3 = times
    tick_s = t2 - t1
    return {
        "model": model,
        "cpu_s": cpu_s,
        "vaults": vaults,
        "ticks": ticks,
        "build_s": t1 - t0,
        "tick_s": tick_s,
        "tables_s": t3 - t2,
        "wall_s": t3 - t0,
        "vault_ticks_per_s": vaults * ticks / tick_s,
        "us_per_tick": tick_s / ticks * 1e6,
        "peak_mb": _peak_mb(),
    }


def child_reference(vaults: int, ticks: int, seed: int) -> dict:
    """Build and run the per-agent mesa reference model; return the figures."""
    from benchmarks.bench_scenario import make_scenario
    from benchmarks.reference_mesa import ReferenceModel

    scenario = make_scenario(vaults, ticks, seed)
    c0 = time.process_time()
    t0 = time.perf_counter()
    model = ReferenceModel(scenario)
    t1 = time.perf_counter()
    model.run()
    t2 = time.perf_counter()
    model.timeseries()
    t3 = time.perf_counter()
    return {
        **_figures("reference", vaults, ticks, (t0, t1, t2, t3), time.process_time() - c0),
        "auctions": sum(len(v) for v in model.auctions.values()),
    }


def child_crash(name: str, vaults: int) -> dict:
    """Build, run and tabulate a shipped crash scenario scaled to ``vaults``; the figures."""
    from benchmarks.bench_scenario import scaled_scenario

    scenario = scaled_scenario(name, vaults)
    n = sum(c.vaults for c in scenario.borrowers)
    result, times, cpu = _timed_run(scenario)
    return {
        **_figures(name, n, scenario.n_ticks, times, cpu),
        "auctions": len(result.auctions),
        "events": len(result.events),
        "vaults_liquidated": int(result.summary["vaults_liquidated"]),
    }


def child_profile(vaults: int, ticks: int, seed: int, scenario: str | None = None) -> str:
    """Profile a run (build, ticks, tables) with pyinstrument; return the text report.

    Args:
        vaults: vaults of the benchmark family, or of the scaled crash scenario.
        ticks: ticks of the benchmark family (a crash scenario has its own).
        seed: the family's seed.
        scenario: a crash scenario of :data:`CRASH`, or ``None`` for the family.
    """
    from pyinstrument import Profiler

    from benchmarks.bench_scenario import make_scenario, scaled_scenario
    from sim.model import ProtocolModel
    from sim.runner import result_of

    spec = (
        make_scenario(vaults, ticks, seed)
        if scenario is None
        else scaled_scenario(scenario, vaults)
    )
    profiler = Profiler(interval=0.001)
    profiler.start()
    model = ProtocolModel(spec)
    model.run()
    result_of(model, wall_time_s=0.0, final=True)
    profiler.stop()
    return profiler.output_text(unicode=True, color=False, show_all=False)


# ------------------------------------------------------------------------------------ parent side
def _spawn(
    kind: str,
    vaults: int,
    ticks: int,
    seed: int,
    cpu: int | None,
    scenario: str | None = None,
) -> dict:
    """Run one measurement in a fresh interpreter; return its figures."""
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.run",
        "--child",
        kind,
        "--vaults",
        str(vaults),
        "--ticks",
        str(ticks),
        "--seed",
        str(seed),
    ]
    if cpu is not None:
        cmd += ["--cpu", str(cpu)]
    if scenario is not None:
        cmd += ["--scenario", scenario]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    # One thread for numpy's BLAS (nothing here uses it, but keep the child on one core).
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=root, env=env, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"benchmark child failed ({' '.join(cmd)}):\n{out.stderr}")
    if kind == "profile":
        return {"text": out.stdout}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _measure(
    kind: str,
    vaults: int,
    ticks: int,
    seed: int,
    cpu: int | None,
    repeat: int,
    scenario: str | None = None,
) -> dict:
    """Best of ``repeat`` fresh-process runs (fastest tick loop) for runs shorter than 5 s.

    The machine is shared, so a single short run is noisy; the fastest of a few is the usual
    estimate of what the code costs. ``peak_mb`` is the largest over the repeats.
    """
    loads = [wait_quiet()]
    best = _spawn(kind, vaults, ticks, seed, cpu, scenario)
    runs = [best]
    while len(runs) < repeat and best["wall_s"] < 5.0:
        loads.append(wait_quiet())
        runs.append(_spawn(kind, vaults, ticks, seed, cpu, scenario))
    best = min(runs, key=lambda r: r["tick_s"])
    best = dict(best, repeats=len(runs), peak_mb=max(r["peak_mb"] for r in runs), load=max(loads))
    return best


HEADER = (
    f"{'case':<26} {'vaults':>9} {'ticks':>7} {'wall s':>8} {'CPU s':>8} {'tick s':>8} "
    f"{'M v-t/s':>8} {'µs/tick':>9} {'peak MB':>8} {'ref M v-t/s':>11} {'×ref':>6} {'load':>5}"
)


def _cell(value: float | None, width: int, digits: int) -> str:
    """A right-aligned number, or a dash for none or NaN; seconds under 0.1 get 4 digits."""
    if value is None or value != value:
        return f"{'—':>{width}}"
    if digits == 2 and abs(value) < 0.1:
        digits = 4
    return f"{value:>{width},.{digits}f}"


def _row(label: str, r: dict, ref: dict | None = None, note: str = "") -> str:
    """One line of the table: a run (vault-ticks) or a whole process (wall, CPU, memory only)."""
    vtps = r.get("vault_ticks_per_s")
    cells = [
        f"{r['vaults']:>9,d}" if "vaults" in r else f"{'—':>9}",
        f"{r['ticks']:>7,d}" if "ticks" in r else f"{'—':>7}",
        _cell(r["wall_s"], 8, 2),
        _cell(r.get("cpu_s"), 8, 2),
        _cell(r.get("tick_s"), 8, 2),
        _cell(None if vtps is None else vtps / 1e6, 8, 2),
        _cell(r.get("us_per_tick"), 9, 1),
        _cell(r.get("peak_mb"), 8, 0),
    ]
    if ref is not None:
        cells += [
            _cell(ref["vault_ticks_per_s"] / 1e6, 11, 2),
            f"{vtps / ref['vault_ticks_per_s']:>5.0f}×",
        ]
    else:
        cells += [_cell(None, 11, 2), _cell(None, 6, 0)]
    cells.append(_cell(r.get("load"), 5, 2))
    line = f"{label:<26} " + " ".join(cells)
    return f"{line}  {note}" if note else line


def _targets(figures: dict) -> list[tuple[str, str, bool]]:
    """The targets that the figures measured can decide: (target, measured, met)."""
    out = []
    by_size = {r["vaults"]: r for r in figures["sizes"]}
    if 100_000 in by_size:
        v = by_size[100_000]["vault_ticks_per_s"]
        out.append(
            (
                "family: ≥ 30 M vault-ticks/s at 100k vaults",
                f"{v / 1e6:.1f} M",
                v >= TARGET_VTPS_100K,
            )
        )
    if 1_000_000 in by_size:
        r = by_size[1_000_000]
        if r["ticks"] >= 1000:
            out.append(
                (
                    "family: 1M vaults × 1 000 ticks < 60 s",
                    f"{r['wall_s']:.1f} s",
                    r["wall_s"] < TARGET_1M_WALL_S,
                )
            )
        out.append(
            (
                "family: 1M vaults < 4 GB peak",
                f"{r['peak_mb']:.0f} MB",
                r["peak_mb"] < TARGET_1M_PEAK_MB,
            )
        )
    if figures.get("fixed"):
        us = figures["fixed"]["us_per_tick"]
        out.append(
            (
                f"fixed cost ≤ {TARGET_FIXED_US:.0f} µs/tick (10 vaults, measured)",
                f"{us:.0f} µs",
                us <= TARGET_FIXED_US,
            )
        )
    ratio = figures.get("ratio")
    if ratio and ratio["vaults"] == 10_000:
        out.append(
            (
                "≥ 50× the per-agent reference at 10k vaults",
                f"{ratio['ratio']:.0f}×",
                ratio["ratio"] >= TARGET_REF_RATIO,
            )
        )
    crash = {(r["model"], r["vaults"]): r for r in figures.get("crash", [])}
    for (name, vaults), r in sorted(crash.items()):
        if vaults >= 999_000 and name in TARGET_CRASH_1M_S:
            limit = TARGET_CRASH_1M_S[name]
            out.append(
                (
                    f"{name} at 1M vaults < {limit:.0f} s (one core)",
                    f"{r['wall_s']:.1f} s",
                    r["wall_s"] < limit,
                )
            )
            if name.startswith("eth_crash_liq2"):
                out.append(
                    (
                        f"{name} at 1M vaults < 4 GB peak",
                        f"{r['peak_mb']:.0f} MB",
                        r["peak_mb"] < TARGET_1M_PEAK_MB,
                    )
                )
        if name.partition("+")[0] == TARGET_FLIP_SCENARIO and 99_000 <= vaults <= 101_000:
            v = r["vault_ticks_per_s"]
            out.append(
                (
                    f"flip crash ({name}) at 100k vaults ≥ 30 M vault-ticks/s",
                    f"{v / 1e6:.1f} M",
                    v >= TARGET_VTPS_100K,
                )
            )
    return out


def _derived_fixed(sizes: list[dict]) -> dict | None:
    """Fixed cost per tick from the table: µs/tick at 1k vaults minus 1k × the marginal cost.

    The marginal cost per vault-tick is the slope of µs/tick between the 10k and 100k runs.
    """
    by_size = {r["vaults"]: r for r in sizes}
    if not all(n in by_size for n in (1_000, 10_000, 100_000)):
        return None
    if len({by_size[n]["ticks"] for n in (1_000, 10_000, 100_000)}) != 1:
        return None
    slope = (by_size[100_000]["us_per_tick"] - by_size[10_000]["us_per_tick"]) / 90_000
    return {
        "marginal_ns_per_vault_tick": slope * 1e3,
        "us_per_tick": by_size[1_000]["us_per_tick"] - 1_000 * slope,
    }


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m benchmarks.run``."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    parser.add_argument(
        "--only",
        help=f"comma-separated sections to run (default all: {','.join(SECTIONS)})",
    )
    parser.add_argument("--sizes", help="comma-separated vault counts (default 1k,10k,100k,1M)")
    parser.add_argument("--ticks", type=int, help="ticks per size (default 1000)")
    parser.add_argument(
        "--crash-sizes", help="comma-separated vault counts of the crash scenarios (10k,100k,1M)"
    )
    parser.add_argument(
        "--crash", help=f"comma-separated crash scenarios (default {','.join(CRASH)})"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cpu", type=int, help="CPU to pin the children to (default: last one)")
    parser.add_argument("--fixed-ticks", type=int, help="ticks of the 10-vault fixed-cost run")
    parser.add_argument(
        "--ref-max",
        type=int,
        help="largest family size also run with the per-agent reference (default 10k)",
    )
    parser.add_argument("--no-reference", action="store_true", help="skip the reference runs")
    parser.add_argument(
        "--repeat", type=int, default=3, help="best of N runs for runs under 5 s (default 3)"
    )
    parser.add_argument(
        "--profile",
        type=int,
        metavar="VAULTS",
        help="profile one size and exit (the family, or --scenario NAME scaled)",
    )
    parser.add_argument(
        "--child", choices=("cdpsim", "reference", "crash", "profile"), help=argparse.SUPPRESS
    )
    parser.add_argument("--vaults", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--scenario", help="the crash scenario to profile (with --profile)")
    args = parser.parse_args(argv)

    if args.child:
        cpu = _pin(args.cpu)
        if args.child == "profile":
            print(child_profile(args.vaults, args.ticks, args.seed, args.scenario))
            return 0
        if args.child == "crash":
            figures = child_crash(args.scenario, args.vaults)
        else:
            run = child_cdpsim if args.child == "cdpsim" else child_reference
            figures = run(args.vaults, args.ticks, args.seed)
        figures["cpu"] = cpu
        print(json.dumps(figures))
        return 0

    if args.profile:
        ticks = args.ticks or 1000
        what = args.scenario or f"the benchmark family × {ticks:,d} ticks"
        print(f"pyinstrument profile (build, ticks, tables): {args.profile:,d} vaults, {what}")
        print(_spawn("profile", args.profile, ticks, args.seed, args.cpu, args.scenario)["text"])
        return 0

    sections = SECTIONS if not args.only else tuple(x.strip() for x in args.only.split(","))
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s) {sorted(unknown)}; choose from {', '.join(SECTIONS)}")
    if args.quick:
        sizes = [100, 1_000]
        ticks = args.ticks or 200
        fixed_ticks = args.fixed_ticks or 2_000
        ref_max = args.ref_max or 1_000
        crash_sizes = [3_000]
    else:
        sizes = list(SIZES)
        ticks = args.ticks or 1000
        fixed_ticks = args.fixed_ticks or 20_000
        ref_max = args.ref_max or 10_000
        crash_sizes = list(CRASH_SIZES)
    if args.sizes:
        sizes = [int(float(s)) for s in args.sizes.split(",") if s.strip()]
    if args.crash_sizes:
        crash_sizes = [int(float(s)) for s in args.crash_sizes.split(",") if s.strip()]
    crash_names = [c.strip() for c in args.crash.split(",")] if args.crash else list(CRASH)

    pinned = _pin_probe(args.cpu)
    loads = [load()]
    print(
        f"cdpsim benchmarks: python {platform.python_version()}, numpy {np.__version__}, "
        f"{os.cpu_count()} CPUs; every measurement starts when the 1-minute load average is "
        f"≤ {MAX_LOAD} (column load: the highest at the starts of its repeats); runs in fresh "
        f"processes pinned to CPU {pinned} (one core), runs under 5 s best of {args.repeat}"
    )
    figures: dict = {
        "sizes": [],
        "fixed": None,
        "fixed_derived": None,
        "reference": None,
        "references": [],
        "ratio": None,
        "crash": [],
        "startup": None,
        "batch": None,
    }
    print(HEADER)
    if "family" in sections:
        for vaults in sizes:
            r = _measure("cdpsim", vaults, ticks, args.seed, args.cpu, args.repeat)
            figures["sizes"].append(r)
            ref = None
            if not args.no_reference and vaults <= ref_max:
                ref = _measure("reference", vaults, ticks, args.seed, args.cpu, args.repeat)
                figures["references"].append(ref)
                if vaults == ref_max:
                    figures["reference"] = ref
                    figures["ratio"] = {
                        "vaults": vaults,
                        "ticks": ticks,
                        "cdpsim_vault_ticks_per_s": r["vault_ticks_per_s"],
                        "reference_vault_ticks_per_s": ref["vault_ticks_per_s"],
                        "ratio": r["vault_ticks_per_s"] / ref["vault_ticks_per_s"],
                    }
            note = (
                f"reference: {ref['wall_s']:.2f} s wall, {ref['peak_mb']:.0f} MB, load "
                f"{ref['load']:.2f}"
                if ref
                else ""
            )
            print(_row(f"family {_short(vaults)}", r, ref, note=note), flush=True)
        # Fixed cost per tick, measured directly: a 10-vault model over many ticks.
        fixed = _measure("cdpsim", 10, fixed_ticks, args.seed, args.cpu, args.repeat)
        figures["fixed"] = fixed
        print(_row("family 10 (fixed cost)", fixed), flush=True)
        figures["fixed_derived"] = _derived_fixed(figures["sizes"])
        loads.append(load())
    if "crash" in sections:
        for name in crash_names:
            for vaults in crash_sizes:
                r = _measure("crash", vaults, 0, args.seed, args.cpu, args.repeat, name)
                figures["crash"].append(r)
                note = f"{r['auctions']:,d} auctions, {r['events']:,d} events"
                print(_row(f"{name} {_short(vaults)}", r, note=note), flush=True)
        loads.append(load())
    if "startup" in sections:
        from benchmarks import startup

        st = startup.measure(repeat=3 if args.quick else 5, warm_repeat=10 if args.quick else 30)
        figures["startup"] = st
        for label, r in startup.rows(st):
            print(_row(label, r, note="whole process"), flush=True)
        w = st["warm"]
        for key, label in (
            ("simulation", "tiny, warm: sim.run"),
            ("execute_full", "tiny, warm: execute"),
            ("execute_summary", "tiny, warm: execute summ."),
        ):
            wall = w[f"{key}_ms"] / 1e3
            r = {
                "vaults": 10,
                "ticks": 100,
                "wall_s": wall,
                "cpu_s": float("nan"),
                "tick_s": float("nan"),
                "us_per_tick": float("nan"),
                "vault_ticks_per_s": 1000 / wall,
                "peak_mb": None,
                "load": w["load"],
            }
            print(_row(label, r, note=f"{w[f'{key}_ms']:.1f} ms per run"), flush=True)
        loads.append(load())
    if "batch" in sections:
        from benchmarks import batch

        b = batch.measure(quick=args.quick)
        figures["batch"] = b
        for kind, w in [("batch", b["speedup"])] + [("sweep", w) for w in b["sweeps"]]:
            for workers, key in ((1, "one_worker"), (2, "two_workers")):
                r = {
                    "vaults": w["vaults"],
                    "ticks": w["ticks"],
                    "wall_s": w[f"{key}_s"],
                    "cpu_s": w[f"{key}_cpu_s"],
                    "tick_s": float("nan"),
                    "us_per_tick": float("nan"),
                    "vault_ticks_per_s": w["runs"] * w["vaults"] * w["ticks"] / w[f"{key}_s"],
                    "peak_mb": w["parent_peak_mb"][workers - 1],
                    "load": w["load"],
                }
                note = f"{w['runs'] / w[f'{key}_s']:.1f} runs/s"
                if workers == 2:
                    note += f", {w['speedup']:.2f}× one worker"
                label = f"{kind} {w['runs']}×{w['label']} ×{workers}"
                print(_row(label, r, note=note), flush=True)
        o = b["overhead"]
        print(
            f"{'batch overhead per run':<26} {o['overhead_ms_in_process']:.1f} ms in process, "
            f"{o['overhead_ms_two_workers']:.1f} ms per core on two workers "
            f"(simulation {o['sim_ms']:.1f} ms)"
        )
        loads.append(load())
    if figures["fixed_derived"]:
        d = figures["fixed_derived"]
        print(
            f"fixed cost per tick, derived (information): {d['us_per_tick']:.0f} µs "
            f"(1k-vault µs/tick minus 1k × {d['marginal_ns_per_vault_tick']:.2f} ns per vault-tick)"
        )
    print(f"load average after each section: {', '.join(f'{x:.2f}' for x in loads[1:])}")
    print()
    if args.quick:
        print("(a smoke run: the targets below are decided by the full run)")
    checks = _targets(figures)
    if figures["startup"]:
        from benchmarks import startup

        checks += startup.targets(figures["startup"])
    if figures["batch"]:
        from benchmarks import batch

        checks += batch.targets(figures["batch"])
    for target, measured, met in checks:
        print(f"{'met    ' if met else 'NOT MET'}  {target}: {measured}")
    figures["targets"] = [{"target": t, "measured": m, "met": ok} for t, m, ok in checks]
    figures["load_average"] = loads
    figures["cpu"] = pinned
    figures["python"] = platform.python_version()
    figures["numpy"] = np.__version__
    figures["git"] = _git_state()
    print(json.dumps(figures))
    return 0


def _short(n: int) -> str:
    """1000000 → ``1M``, 100000 → ``100k``, 3000 → ``3k``."""
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return f"{n:,d}"


def _git_state() -> dict | None:
    """The commit of the tree measured and whether it had uncommitted changes."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        rev = subprocess.run(
            ["git", "-C", root, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
        )
        dirty = subprocess.run(
            ["git", "-C", root, "status", "--porcelain", "--", "sim"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if rev.returncode != 0:
        return None
    return {"revision": rev.stdout.strip(), "sim_modified": bool(dirty.stdout.strip())}


def _pin_probe(cpu: int | None) -> int | None:
    """The CPU the children will be pinned to."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    return cpu if cpu is not None else sorted(os.sched_getaffinity(0))[-1]


if __name__ == "__main__":
    raise SystemExit(main())
