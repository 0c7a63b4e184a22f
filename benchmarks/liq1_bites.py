"""A whale bitten lump by lump under Liquidations 1.0: ~10⁵ Flipper auctions started in one tick.

Run from the repository root::

    python -m benchmarks.liq1_bites                 # the whole run (240 ticks)
    python -m benchmarks.liq1_bites --ticks 90      # up to and including the third bite wave

The case is the shipped flip crash (``scenarios/eth_crash_liq1.yaml``) perturbed by
``scripts/robustness.py`` with the factors below (the draw that an earlier version of the
robustness check gave ``eth_crash_liq1``'s first random case, and that made it the slowest
test of the suite): debts × 8.5 on vaults × 0.27 at prices × 0.17, so three whale vaults of
cohort 2 hold ~10⁸ Dai each against a ``lump`` of 50 ETH. In a tick in which the Cat may bite
again (``Hole`` × 0.16 frees room as auctions end) the keepers bite such a whale ~10⁵ times, each
bite a Flipper ``kick``, while 1.7–4.2 × 10⁵ English auctions run.

Each bite used to merge its new auction id into the running ids at once (a copy of all of
them per bite: quadratic in the bites of a tick); the auction table now keeps started ids aside
and merges them on the next read. The figures: the whole run, its slowest tick, the most
auctions running at once and the most started in one tick, from one process (the machine's
load average at the start is printed with them; ``benchmarks/quiet.py`` waits for a quiet one).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.quiet import wait_quiet  # noqa: E402

#: The robustness factors of the case (see the module docstring).
FACTORS = {
    "debt": 8.452194769716447,
    "vaults": 0.2710484968895484,
    "prices": 0.16876251434017203,
    "keeper_dai": 0.5436993946645136,
    "hole": 0.15920678934685226,
    "hump": 0.34229287854729956,
    "bump": 6.743917428379497,
    "sump": 0.43407438928221137,
}
#: The clock is coarsened to this many ticks, as the robustness test does.
MAX_TICKS = 240


def measure(ticks: int | None = None) -> dict:
    """Run the case (its first ``ticks`` ticks, or all) and return its figures.

    Args:
        ticks: ticks to run (None: to the end of the clock).

    Returns:
        ``wall_s`` (the ticks, build excluded) [s], ``slowest_tick_s`` [s] and its tick,
        ``max_running`` (English auctions running at once), ``max_kicks_per_tick``, ``kicks``
        (auctions started in all), ``ticks`` run and ``load`` (1-minute load average at the
        start).
    """
    from scripts.robustness import Case, perturbed
    from sim.model import ProtocolModel

    scenario, _ = perturbed(
        Case(ROOT / "scenarios" / "eth_crash_liq1.yaml", "bites", FACTORS), MAX_TICKS
    )
    load = wait_quiet()
    model = ProtocolModel(scenario)
    flip = next(iter(model.flippers.values()))
    end = scenario.n_ticks if ticks is None else min(ticks, scenario.n_ticks)
    slowest, slowest_tick, max_running, max_kicks = 0.0, 0, 0, 0
    started = time.perf_counter()
    while model.tick < end and not model.finished:
        kicks = flip.kicks
        t0 = time.perf_counter()
        model.step()
        dt = time.perf_counter() - t0
        if dt > slowest:
            slowest, slowest_tick = dt, model.tick
        max_running = max(max_running, int(flip.active_ids().size))
        max_kicks = max(max_kicks, flip.kicks - kicks)
    return {
        "wall_s": round(time.perf_counter() - started, 2),
        "slowest_tick_s": round(slowest, 2),
        "slowest_tick": slowest_tick,
        "max_running": max_running,
        "max_kicks_per_tick": max_kicks,
        "kicks": int(flip.kicks),
        "ticks": int(model.tick),
        "load": round(load, 2),
    }


def main(argv: list[str] | None = None) -> int:
    """Print the figures as one line of text and one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=None, help="ticks to run (default: all)")
    args = parser.parse_args(argv)
    r = measure(args.ticks)
    print(
        f"{r['ticks']} ticks in {r['wall_s']:.1f} s; slowest tick {r['slowest_tick']} "
        f"{r['slowest_tick_s']:.1f} s; up to {r['max_running']:,} auctions running, "
        f"{r['max_kicks_per_tick']:,} started in one tick, {r['kicks']:,} in all "
        f"(load {r['load']:.2f} at the start)"
    )
    print(json.dumps(r))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
