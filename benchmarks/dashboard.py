"""The live dashboard at the model's speed: ``python -m benchmarks.dashboard [SCENARIO]``.

Serves ``cdpsim dashboard SCENARIO`` (default the shipped crash, ``eth_crash_liq2``: 3 000
vaults, 2 880 ticks) on a free port of 127.0.0.1, opens it in headless Chromium (Playwright and
the system's browser, as tests/test_app_browser.py), presses Play at the page's default render
interval and waits until the page shows the last tick, the KPIs of the whole run and a chart
holding every tick. Prints the wall time from the click to then, the CPU time the server and the
browser spent meanwhile, the same scenario's CLI run (``sim.run``) and whether the page's KPIs
(read exactly, from each cell's ``data-value``) equal the CLI's; then one JSON line.

Options: ``--every N`` (the render interval to play at; default the page's), ``--repeat N``
(best of N), ``--max-load X`` (wait for a 1-minute load average of at most X first; default
:data:`benchmarks.quiet.MAX_LOAD`; negative: do not wait). Needs the ``test`` extra and Chromium
(``apt-get install -y chromium``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

import sim
from benchmarks.quiet import MAX_LOAD, load, wait_quiet
from scripts.make_screenshots import CHROMIUM_FLAGS, chromium_path, free_port

ROOT = Path(__file__).resolve().parents[1]
CRASH = ROOT / "scenarios" / "eth_crash_liq2.yaml"
#: A hang, not a figure [ms].
WAIT_MS = 600_000
#: The live chart's Plotly graph.
CHART = ".cdpsim-live-chart .js-plotly-plot"


def cpu_s(pid: int) -> float:
    """CPU time (user + system) process ``pid`` has used, all its threads [s]."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def browser_cpu_s() -> float:
    """CPU time of every Chromium process on the machine [s] (the one this script started)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if "chrom" in (entry / "comm").read_text():
                    total += cpu_s(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return total


@contextmanager
def serving(target: Path, log: Path) -> Iterator[tuple[str, int]]:
    """``cdpsim dashboard TARGET`` on a free port; its URL and process id; stopped after."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    command = [sys.executable, "-c", "from sim.cli import main; main()", "dashboard"]
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*command, str(target), "--port", str(port)], stdout=out, stderr=subprocess.STDOUT
        )
        try:
            for _ in range(600):
                try:
                    with urllib.request.urlopen(url, timeout=5):
                        break
                except (urllib.error.URLError, OSError):
                    if proc.poll() is not None:
                        raise RuntimeError(f"the server exited:\n{log.read_text()}") from None
                    time.sleep(0.2)
            yield url, proc.pid
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def kpis_on_page(page) -> dict[str, float]:
    """The KPI table's values by name, exact (each value cell's ``data-value``)."""
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('.cdpsim-kpis .kpi-value')]
            .map(c => [[...c.classList].find(k => k.startsWith('kpi-') && k !== 'kpi-value')
                       .slice(4), parseFloat(c.dataset.value)]))"""
    )


def play_once(scenario: Path, every: int | None, tmp: Path) -> dict[str, float | int | bool]:
    """One play of ``scenario`` to its end in a fresh server and browser; its figures."""
    from playwright.sync_api import expect, sync_playwright

    n_ticks = sim.load_scenario(scenario).n_ticks
    with sync_playwright() as p, serving(scenario, tmp / "server.log") as (url, pid):
        browser = p.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_FLAGS
        )
        page = browser.new_page(viewport={"width": 1500, "height": 1600})
        page.set_default_timeout(WAIT_MS)
        page.goto(url)
        expect(page.locator(CHART)).to_be_visible(timeout=WAIT_MS)
        slider = page.locator(".cdpsim-every").get_by_role("slider")
        if every is not None:
            slider.focus()
            slider.press("End")
            for _ in range(int(slider.get_attribute("aria-valuemax")) - every):
                slider.press("ArrowLeft")
            expect(page.get_by_text(f"render every {every} tick(s)")).to_be_visible()
        frames_every = int(slider.get_attribute("aria-valuenow"))
        server0, browser0 = cpu_s(pid), browser_cpu_s()
        start = time.perf_counter()
        page.locator(".cdpsim-play").click()
        expect(page.locator(".cdpsim-status")).to_contain_text(
            f"tick {n_ticks} / {n_ticks}", timeout=WAIT_MS
        )
        expect(page.get_by_text("KPIs of the whole run")).to_be_visible(timeout=WAIT_MS)
        page.wait_for_function(
            "([sel, n]) => { const g = document.querySelector(sel); "
            "return g && g.data && g.data[0].x.length === n; }",
            arg=[CHART, n_ticks + 1],
            timeout=WAIT_MS,
        )
        wall = time.perf_counter() - start
        figures = {
            "wall_s": wall,
            "server_cpu_s": cpu_s(pid) - server0,
            "browser_cpu_s": browser_cpu_s() - browser0,
            "every": frames_every,
            "kpis": kpis_on_page(page),
        }
        browser.close()
    return figures


@click.command()
@click.argument("scenario", type=click.Path(exists=True, path_type=Path), default=CRASH)
@click.option("--every", type=int, default=None, help="render interval [ticks]; default the page's")
@click.option("--repeat", type=int, default=1, show_default=True, help="best of N plays")
@click.option("--max-load", type=float, default=MAX_LOAD, show_default=True)
def main(scenario: Path, every: int | None, repeat: int, max_load: float) -> None:
    """Play SCENARIO to its end in the dashboard; print its wall time against the CLI's run."""
    started_at = wait_quiet(max_load)
    t0 = time.perf_counter()
    cli = sim.run(sim.load_scenario(scenario)).summary
    cli_s = time.perf_counter() - t0
    plays = []
    for _ in range(repeat):
        wait_quiet(max_load)
        with tempfile.TemporaryDirectory(prefix="cdpsim-bench-dashboard-") as tmp:
            plays.append(play_once(scenario, every, Path(tmp)))
    best = min(plays, key=lambda f: f["wall_s"])
    shown = best.pop("kpis")
    numbers = {k: float(v) for k, v in cli.items() if isinstance(v, int | float)}
    out = {
        "scenario": scenario.stem,
        "ticks": sim.load_scenario(scenario).n_ticks,
        "every": best["every"],
        "dashboard_wall_s": round(best["wall_s"], 2),
        "server_cpu_s": round(best["server_cpu_s"], 2),
        "browser_cpu_s": round(best["browser_cpu_s"], 2),
        "cli_run_s": round(cli_s, 2),
        "bad_debt_final_page": shown.get("bad_debt_final"),
        "bad_debt_final_cli": cli["bad_debt_final"],
        "bad_debt_max_page": shown.get("bad_debt_max"),
        "bad_debt_max_cli": cli["bad_debt_max"],
        "kpis_equal_cli": shown == numbers,
        "load_at_start": round(started_at, 2),
        "load_at_end": round(load(), 2),
    }
    for key, value in out.items():
        click.echo(f"{key:22} {value}")
    click.echo(json.dumps(out))
    if not out["kpis_equal_cli"]:
        click.echo("the page's KPIs differ from the CLI's run", err=True)
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
