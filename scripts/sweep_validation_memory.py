"""Peak memory of ``cdpsim validate`` on random-design sweeps of growing size.

Run from the repository root::

    python -m scripts.sweep_validation_memory                 # 1 000, 10 000, 100 000 points
    python -m scripts.sweep_validation_memory --points 1000 100000

Each size is a fresh ``cdpsim validate`` process on a sweep of the small test scenario with two
parameters and one seed (so points = runs); its peak resident memory is that child's
``ru_maxrss`` (``os.wait4``) and its time the wall clock. Sweep validation checks every point
and keeps none of their scenarios, so the peak should not grow with the number of points
beyond the design table (16 bytes a point here).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CDPSIM = str(Path(sys.executable).parent / "cdpsim")

SWEEP = """\
name: mem
base: base.yaml
design: {{kind: random, n: {n}, seed: 1}}
parameters:
  ilks.ETH-A.mat: {{range: [1.3, 1.5]}}
  keepers.0.dai: {{range: [1.0e5, 1.0e7], dist: loguniform}}
seeds: 1
"""


def measure(points: int, folder: Path) -> tuple[float, float, int]:
    """Validate a sweep of ``points`` points in a fresh process.

    Returns:
        ``(peak memory [MB], wall time [s], exit code)``.
    """
    from tests.conftest import SMALL

    (folder / "base.yaml").write_text(SMALL)
    path = folder / f"sweep-{points}.yaml"
    path.write_text(SWEEP.format(n=points))
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    started = time.perf_counter()
    proc = subprocess.Popen(
        [CDPSIM, "validate", str(path)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _pid, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        sys.stderr.write(proc.stderr.read().decode() if proc.stderr else "")
    return usage.ru_maxrss / 1024, elapsed, proc.returncode


def main() -> None:
    """Print one line per size: points, peak memory [MB], wall time [s]."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    args = parser.parse_args()
    print(f"{'points':>8} {'peak MB':>9} {'time s':>8}")
    with tempfile.TemporaryDirectory(prefix="cdpsim-sweep-mem-") as tmp:
        for n in args.points:
            peak, elapsed, code = measure(n, Path(tmp))
            note = "" if code == 0 else f"  (exit {code})"
            print(f"{n:>8,} {peak:>9.0f} {elapsed:>8.1f}{note}")


if __name__ == "__main__":
    main()
