"""The live dashboard at the model's speed: ``python -m benchmarks.dashboard [SCENARIO]``.

Serves ``cdpsim dashboard SCENARIO`` (default the shipped ``eth_crash_liq2``) on a free port of
127.0.0.1, opens it in headless Chromium (Playwright; the system's browser, as the browser tests),
presses Play and waits until the page says the run ended and its KPI table holds the final bad
debt. Prints the wall time from the click to that moment, the frames the page drew (the chart's
points against the run's ticks), and the same scenario's CLI run (``sim.run``) for comparison,
then one JSON line. Needs the ``test`` extra and Chromium (``apt-get install -y chromium``).
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
import time
from pathlib import Path

import click

import sim
from scripts.make_screenshots import CHROMIUM_FLAGS, chromium_path, free_port  # noqa: F401
from tests.dashboard_helpers import bad_debt_on_page, played_to_the_end, serving

ROOT = Path(__file__).resolve().parents[1]
CRASH = ROOT / "scenarios" / "eth_crash_liq2.yaml"


@click.command()
@click.argument("scenario", type=click.Path(exists=True, path_type=Path), default=CRASH)
def main(scenario: Path) -> None:
    """Play SCENARIO to its end in the dashboard; print the wall time against the CLI's."""
    from playwright.sync_api import sync_playwright

    t0 = time.perf_counter()
    result = sim.run(sim.load_scenario(scenario))
    cli_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory(prefix="cdpsim-bench-") as tmp, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(Path(tmp) / "profile"),
            executable_path=chromium_path(),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1500, "height": 1600},
        )
        page = context.new_page()
        with serving(scenario, Path(tmp) / "server.log") as url:
            page.goto(url)
            wall, points = played_to_the_end(page)
            shown = bad_debt_on_page(page)
        context.close()
    summary = result.summary
    figures = {
        "scenario": scenario.stem,
        "ticks": result.model.n_ticks if hasattr(result, "model") else None,
        "dashboard_s": round(wall, 2),
        "chart_points": points,
        "cli_run_s": round(cli_s, 2),
        "bad_debt_final_page": shown["bad_debt_final"],
        "bad_debt_final_cli": summary["bad_debt_final"],
        "bad_debt_max_page": shown["bad_debt_max"],
        "bad_debt_max_cli": summary["bad_debt_max"],
    }
    for key, value in figures.items():
        click.echo(f"{key:22} {value}")
    click.echo(json.dumps(figures))
    if re.sub("_page", "", "") or shown["bad_debt_final"] != summary["bad_debt_final"]:
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
