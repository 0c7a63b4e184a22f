"""Start-up and tiny runs: what a user waits for before and around a small run.

Run from the repository root::

    python -m benchmarks.startup            # the table and one JSON line

Every figure is a whole fresh process (imports paid as a user pays them) timed by this parent,
best of ``--repeat``; CPU time and peak memory are that child's own (``os.wait4``):

- ``import mesa``: the floor mesa imposes on anything that builds a model (mesa's package
  imports pandas, scipy and networkx);
- ``worker imports``: what a batch worker imports before its first run (``import sim.runner``);
- ``import sim``, ``cdpsim --help``, ``cdpsim validate FILE``: the light commands;
- ``cdpsim run tiny``: a whole 10-vault × 100-tick run, writing its run folder;
- the tiny run in a warm worker (:func:`child_warm`, imports done and one run behind it): the
  simulation alone (``sim.run``), and what a batch worker does per run (``execute``: build,
  ticks, tables, the run folder, with ``keep`` full and summary).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import batch
from benchmarks.quiet import wait_quiet

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
CDPSIM = str(Path(sys.executable).parent / "cdpsim")

#: Targets: validate one file [s], a tiny run in a warm worker [ms].
TARGET_VALIDATE_S = 0.5
TARGET_WARM_MS = 20.0

#: The tiny run: 10 vaults × 100 ten-minute ticks through a crash, one keeper.
TINY = batch.TINY


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def timed_process(cmd: list[str], cwd: Path = ROOT) -> dict:
    """Run ``cmd`` to its end on a quiet machine; wall time, CPU time, peak memory, load."""
    started_at = wait_quiet()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err}")
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_mb": usage.ru_maxrss / 1024.0,
        "load": started_at,
    }


def best_process(cmd: list[str], repeat: int) -> dict:
    """The fastest of ``repeat`` runs of ``cmd`` (peak memory: the largest)."""
    runs = [timed_process(cmd) for _ in range(repeat)]
    best = min(runs, key=lambda r: r["wall_s"])
    return dict(
        best,
        repeats=repeat,
        peak_mb=max(r["peak_mb"] for r in runs),
        load=max(r["load"] for r in runs),
    )


def child_warm(path: str, repeat: int) -> dict:
    """Tiny runs in a warm process: ms per run, best of ``repeat`` after one warm-up run each."""
    import sim
    from sim.experiments.batch import RunSpec, execute

    scenario = sim.load_scenario(path)
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="cdpsim-warm-") as tmp:

        def run_only(k: int) -> None:
            sim.run(scenario)

        def run_keep(keep: str):
            def go(k: int) -> None:
                spec = RunSpec(
                    run_id=f"{keep}-{k}",
                    scenario=scenario,
                    scenario_file=path,
                    overrides=(),
                    seed=scenario.seed,
                    folder=str(Path(tmp) / f"{keep}-{k}"),
                    keep=keep,  # type: ignore[arg-type]
                )
                row = execute(spec)
                if row.get("status") != "ok":
                    raise RuntimeError(f"tiny run failed: {row}")

            return go

        for name, fn in (
            ("simulation", run_only),
            ("execute_full", run_keep("full")),
            ("execute_summary", run_keep("summary")),
        ):
            fn(-1)  # warm-up: first-use costs (lazy imports, caches) are not a warm worker's
            times = []
            for k in range(repeat):
                t0 = time.perf_counter()
                fn(k)
                times.append(time.perf_counter() - t0)
            out[f"{name}_ms"] = 1e3 * min(times)
            out[f"{name}_median_ms"] = 1e3 * sorted(times)[len(times) // 2]
    return out


def measure(repeat: int = 5, warm_repeat: int = 30, scenario: str | None = None) -> dict:
    """Every start-up figure (see the module docstring)."""
    scenario = scenario or str(ROOT / "scenarios" / "eth_crash_liq2.yaml")
    with tempfile.TemporaryDirectory(prefix="cdpsim-startup-") as tmp:
        tiny = Path(tmp) / "tiny.yaml"
        tiny.write_text(TINY)
        figures = {
            "python": best_process([PYTHON, "-c", "pass"], repeat),
            "import_mesa": best_process([PYTHON, "-c", "import mesa"], repeat),
            "worker_imports": best_process([PYTHON, "-c", "import sim.runner"], repeat),
            "import_sim": best_process([PYTHON, "-c", "import sim"], repeat),
            "cdpsim_help": best_process([CDPSIM, "--help"], repeat),
            "cdpsim_validate": best_process([CDPSIM, "validate", scenario], repeat),
        }
        runs = [
            timed_process([CDPSIM, "run", str(tiny), "--out", str(Path(tmp) / f"r{k}")])
            for k in range(repeat)
        ]
        figures["cdpsim_run_tiny"] = dict(min(runs, key=lambda r: r["wall_s"]), repeats=repeat)
        code = (
            "import json, sys; from benchmarks.startup import child_warm; "
            "print(json.dumps(child_warm(sys.argv[1], int(sys.argv[2]))))"
        )
        warm_load = wait_quiet()
        out = subprocess.run(
            [PYTHON, "-c", code, str(tiny), str(warm_repeat)],
            cwd=ROOT,
            env=_env(),
            capture_output=True,
            text=True,
            check=True,
        )
        figures["warm"] = dict(json.loads(out.stdout.strip().splitlines()[-1]), load=warm_load)
    figures["validate_file"] = Path(scenario).name
    return figures


ROWS = (
    ("python", "python -c pass"),
    ("import_mesa", "import mesa (floor)"),
    ("worker_imports", "import sim.runner (worker)"),
    ("import_sim", "import sim"),
    ("cdpsim_help", "cdpsim --help"),
    ("cdpsim_validate", "cdpsim validate"),
    ("cdpsim_run_tiny", "cdpsim run tiny (10×100)"),
)


def rows(figures: dict) -> list[tuple[str, dict]]:
    """``(label, figures)`` of each whole-process measurement, in table order."""
    return [(label, figures[key]) for key, label in ROWS if key in figures]


def targets(figures: dict) -> list[tuple[str, str, bool]]:
    """``(target, measured, met)`` for the start-up targets."""
    out = []
    v = figures["cdpsim_validate"]["wall_s"]
    out.append(
        (
            f"cdpsim validate of one file ≤ {TARGET_VALIDATE_S} s",
            f"{v:.2f} s",
            v <= TARGET_VALIDATE_S,
        )
    )
    w = figures["warm"]
    out.append(
        (
            f"10-vault × 100-tick run in a warm worker ≤ {TARGET_WARM_MS:.0f} ms "
            "(execute: build, ticks, tables, run folder)",
            f"{w['execute_full_ms']:.1f} ms (summary only {w['execute_summary_ms']:.1f} ms, "
            f"simulation {w['simulation_ms']:.1f} ms)",
            w["execute_full_ms"] <= TARGET_WARM_MS,
        )
    )
    return out


def main(argv: list[str] | None = None) -> int:
    """Measure, print the table and one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    figures = measure(args.repeat)
    print(f"{'process':32s} {'wall s':>8s} {'CPU s':>8s} {'peak MB':>8s}")
    for label, r in rows(figures):
        print(f"{label:32s} {r['wall_s']:>8.3f} {r['cpu_s']:>8.3f} {r['peak_mb']:>8.0f}")
    w = figures["warm"]
    print(
        f"tiny run in a warm worker: simulation {w['simulation_ms']:.1f} ms, execute (full) "
        f"{w['execute_full_ms']:.1f} ms, execute (summary) {w['execute_summary_ms']:.1f} ms"
    )
    for target, measured, met in targets(figures):
        print(f"{'met    ' if met else 'NOT MET'}  {target}: {measured}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
