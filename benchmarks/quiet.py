"""Measure on a quiet machine: wait until the 1-minute load average is low, and record it.

The machine is shared: a figure measured while other work runs is worthless (one batch
measurement gave 0.96× under load, 1.85× quiet). Every benchmark calls :func:`wait_quiet` before
each measurement and records the load average it started at next to the figure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Highest 1-minute load average at which a measurement may start.
MAX_LOAD = float(os.environ.get("CDPSIM_BENCH_MAX_LOAD", "1.5"))
#: Seconds between two looks at the load average while waiting.
POLL_S = 15.0


def load() -> float:
    """The 1-minute load average (NaN where the platform has none)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def wait_quiet(max_load: float = MAX_LOAD) -> float:
    """Wait until the 1-minute load average is at most ``max_load``; return it.

    The environment variable ``CDPSIM_BENCH_MAX_LOAD`` sets the default (1.5); a negative value
    disables the wait (a smoke run on a busy machine, whose figures mean nothing).
    """
    now = load()
    if max_load < 0 or now != now:  # disabled, or no load average on this platform
        return now
    waited = 0.0
    while now > max_load:
        if waited == 0.0:
            print(f"(load average {now:.2f} > {max_load}: waiting)", file=sys.stderr, flush=True)
        time.sleep(POLL_S)
        waited += POLL_S
        now = load()
    return now


def fresh_json(code: str, *args: str, env: dict[str, str] | None = None) -> dict:
    """Run ``code`` in a fresh ``python -c`` from the repository root; the JSON line it prints last.

    The repository is put first on ``PYTHONPATH``; ``args`` are the process's ``sys.argv[1:]``
    and ``env`` adds variables to this process's environment.

    Raises:
        RuntimeError: the process failed (its stderr is in the message).
    """
    environ = dict(os.environ)
    environ["PYTHONPATH"] = str(ROOT) + os.pathsep + environ.get("PYTHONPATH", "")
    environ.update(env or {})
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{code} {' '.join(args)} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])
