"""Long runs written to a folder under an address-space cap: the streaming recorder at work.

``python -m benchmarks.long_runs`` runs each case as ``cdpsim run`` in a child process whose
address space is capped (``resource.setrlimit(RLIMIT_AS, ...)``, as ``ulimit -v`` does): the
tables streamed into the folder in row groups. It reports per case the exit code and status,
whether a traceback was printed, the peak RSS of the child (``ru_maxrss``), the wall time of
the process, ticks per second, and the size, rows and row groups of each table.

The cases (``--only NAME,...``):

- ``century``: ``eth_crash_liq2`` with daily ticks for 100 years (``clock.tick=1d``,
  ``clock.duration=36500d``): a vault snapshot every tick (the file's ``6h`` rounds up to a
  tick), 3 000 vaults × 36 501 snapshots = 110 M vault rows, under 2 GB;
- ``year``: ``eth_crash_liq2`` for a year of minute ticks (``clock.duration=365d``, 525 600
  ticks), under 2 GB;
- ``crash1m``: ``eth_crash_liq2`` scaled to 1 M vaults as ``benchmarks/run.py`` scales it
  (:func:`benchmarks.bench_scenario.scaled_scenario`), a vault snapshot every hour (49 of 1 M
  vaults), under 4 GB; the target is also < 60 s;
- ``tiny`` (no cap): the write path of a tiny run (10 vaults × 100 ticks of the benchmark
  family), 200 runs in one process: per run, building the tables and writing the folder —
  ``result_of`` + ``write_run_folder`` in memory, as before streaming, against the streamed
  path (the temporary folder made, ``result_of``, the commit) — best of 3 rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GB = 1 << 30
#: name → (overrides of eth_crash_liq2, address-space cap [bytes]); crash1m is scaled.
CASES: dict[str, tuple[tuple[str, ...], int]] = {
    "century": (("clock.tick=1d", "clock.duration=36500d"), 2 * GB),
    "year": (("clock.duration=365d",), 2 * GB),
    "crash1m": (("record.vault_snapshot_every=1h",), 4 * GB),
}
#: Vaults of the scaled crash.
CRASH_VAULTS = 1_000_000
#: Runs and rounds of the tiny case.
TINY_RUNS, TINY_ROUNDS = 200, 3


def _scenario_file(name: str, folder: Path) -> Path:
    """The scenario file of a case: the shipped file, or the scaled crash written as YAML."""
    if name != "crash1m":
        return ROOT / "scenarios" / "eth_crash_liq2.yaml"
    import yaml

    from benchmarks.bench_scenario import scaled_scenario

    path = folder / "eth_crash_liq2_1m.yaml"
    path.write_text(yaml.safe_dump(scaled_scenario("eth_crash_liq2", CRASH_VAULTS).to_dict()))
    return path


def _cap(limit: int):
    def set_cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return set_cap


def capped(name: str) -> dict:
    """``cdpsim run`` of one case in a child process under its address-space cap; its figures."""
    import pyarrow.parquet as pq

    from sim.rundir import read_manifest

    overrides, limit = CASES[name]
    folder = Path(tempfile.mkdtemp(prefix=f"cdpsim-long-{name}-"))
    out = folder / "run"
    try:
        command = [sys.executable, "-m", "sim.cli", "run", str(_scenario_file(name, folder))]
        command += [arg for o in overrides for arg in ("--set", o)] + ["--out", str(out)]
        started = time.perf_counter()
        with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
            child = subprocess.Popen(
                command, cwd=ROOT, stdout=stdout, stderr=stderr, text=True, preexec_fn=_cap(limit)
            )
            # os.wait4: this child's own resource use (its peak RSS), not the largest so far
            # of every child (RUSAGE_CHILDREN).
            _, status, usage = os.wait4(child.pid, 0)
            child.returncode = os.waitstatus_to_exitcode(status)
            wall = time.perf_counter() - started
            stdout.seek(0)
            stderr.seek(0)
            proc = subprocess.CompletedProcess(
                command, child.returncode, stdout.read(), stderr.read()
            )
        figures: dict = {
            "case": name,
            "cap_gb": limit / GB,
            "exit": proc.returncode,
            "wall_s": round(wall, 1),
            "peak_rss_mb": round(usage.ru_maxrss / 1024),
        }
        manifest = read_manifest(out) if out.is_dir() else None
        if manifest is None:
            figures["status"] = "no run folder: " + " | ".join(
                proc.stderr.strip().splitlines()[-2:]
            )
            return figures
        figures["status"] = manifest["status"]
        figures["ticks"] = manifest["ticks"]
        figures["ticks_per_s"] = round(manifest["ticks"] / wall, 1)
        figures["traceback"] = "Traceback" in proc.stderr
        figures["tables"] = {}
        for path in sorted(out.glob("*.parquet")):
            meta = pq.ParquetFile(path).metadata
            figures["tables"][path.stem] = {
                "mb": round(path.stat().st_size / 2**20, 1),
                "rows": meta.num_rows,
                "row_groups": meta.num_row_groups,
            }
        return figures
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def tiny() -> dict:
    """The write path of a tiny run, in memory (as before) and streamed; ms per run."""
    from benchmarks.bench_scenario import make_scenario
    from sim.model import ProtocolModel
    from sim.rundir import RunFolder, write_run_folder
    from sim.runner import result_of
    from sim.stream import RunStream

    spec = make_scenario(10, 100)
    root = Path(tempfile.mkdtemp(prefix="cdpsim-tiny-"))
    best = {"memory_ms": float("inf"), "stream_ms": float("inf")}
    try:
        for r in range(TINY_ROUNDS):
            spent = {"memory_ms": 0.0, "stream_ms": 0.0}
            for i in range(TINY_RUNS):
                model = ProtocolModel(spec)
                model.run()
                t0 = time.perf_counter()
                result = result_of(model, wall_time_s=0.0, final=True)
                write_run_folder(result, root / f"m{r}-{i}")
                spent["memory_ms"] += time.perf_counter() - t0
                t0 = time.perf_counter()
                folder = RunFolder(root / f"s{r}-{i}")
                stream = RunStream(folder.tmp)
                setup = time.perf_counter() - t0
                model = ProtocolModel(spec, stream=stream)
                model.run()
                t0 = time.perf_counter()
                folder.commit(result_of(model, wall_time_s=0.0, final=True))
                spent["stream_ms"] += setup + time.perf_counter() - t0
            for key, total in spent.items():
                best[key] = min(best[key], total / TINY_RUNS * 1e3)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return {"case": "tiny", "runs": TINY_RUNS, **{k: round(v, 2) for k, v in best.items()}}


def _print(fig: dict) -> None:
    if fig["case"] == "tiny":
        print(
            f"tiny: {fig['runs']} runs of 10 vaults × 100 ticks, tables + folder per run: "
            f"in memory {fig['memory_ms']:.2f} ms, streamed {fig['stream_ms']:.2f} ms"
        )
        return
    head = f"{fig['case']:8} (cap {fig['cap_gb']:g} GB) exit {fig['exit']}, {fig['status']}"
    if "tables" not in fig:
        print(head)
        return
    tables = ", ".join(
        f"{k} {v['mb']} MB ({v['rows']:,} rows, {v['row_groups']} groups)"
        for k, v in fig["tables"].items()
    )
    print(
        f"{head}: {fig['ticks']:,} ticks, wall {fig['wall_s']} s, {fig['ticks_per_s']:,} ticks/s, "
        f"peak RSS {fig['peak_rss_mb']} MB, traceback {fig['traceback']}; {tables}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="century,year,crash1m,tiny")
    args = parser.parse_args(argv)
    results = []
    for name in args.only.split(","):
        fig = tiny() if name == "tiny" else capped(name)
        _print(fig)
        results.append(fig)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
