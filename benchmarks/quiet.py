"""Measure on a quiet machine: wait until the 1-minute load average is low, and record it.

The machine is shared: a figure measured while other work runs is worthless (one batch
measurement gave 0.96× under load, 1.85× quiet). Every benchmark calls :func:`wait_quiet` before
each measurement and records the load average it started at next to the figure.
"""

from __future__ import annotations

import os
import sys
import time

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
