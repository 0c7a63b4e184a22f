"""The README's pictures of the dashboard: ``python -m scripts.make_screenshots [OUT_DIR]``.

Makes small example outputs in a temporary folder (a batch over seeds and a Sobol sweep of
the ETH crash, cut to a few hundred vaults and 12 hours), serves each view with
``cdpsim dashboard`` on a free port of 127.0.0.1, and photographs it with headless Chromium
(Playwright, from the ``test`` extra; the browser from the system, ``CDPSIM_CHROMIUM`` or
``/usr/bin/chromium``): ``dashboard-live.png`` (the ETH crash mid-way, played in frames of
500 ticks), ``dashboard-batch.png`` (the runs table) and ``dashboard-sweep.png`` (a heatmap).
Default OUT_DIR: ``docs/img``.
"""

from __future__ import annotations

import os
import socket
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
import yaml

import sim

ROOT = Path(__file__).resolve().parents[1]
CRASH = ROOT / "scenarios" / "eth_crash_liq2.yaml"
#: The crash made small: 10-minute ticks over 12 hours, a few hundred vaults, some noise.
SMALL_CRASH = [
    "clock.tick=10m",
    "clock.duration=12h",
    "collateral.ETH.price.crash.at=1h",
    "collateral.ETH.price.crash.over=6h",
    "collateral.ETH.price.vol=0.8",
    "borrowers.0.vaults=100",
    "borrowers.1.vaults=60",
    "borrowers.3.vaults=40",
]
#: Chromium's flags: no sandbox (root in CI), and nothing that calls out of a closed network.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 120_000


def chromium_path() -> str:
    """The Chromium binary: ``CDPSIM_CHROMIUM``, else the system's ``/usr/bin/chromium``."""
    return os.environ.get("CDPSIM_CHROMIUM", "/usr/bin/chromium")


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def _serving(target: Path) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    # not ``-m sim.cli``: run as __main__, sim.cli's commands kept in other modules register on
    # another copy of the group, and ``dashboard`` is one of them
    command = [sys.executable, "-c", "from sim.cli import main; main()", "dashboard"]
    command += [str(target), "--port", str(port)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                with urllib.request.urlopen(url, timeout=5):
                    break
            except (urllib.error.URLError, OSError):
                if proc.poll() is not None:
                    raise RuntimeError(f"cdpsim dashboard {target} exited") from None
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _examples(root: Path) -> tuple[Path, Path]:
    """A batch over 8 seeds and a Sobol sweep (3 parameters, 16 base samples) of the crash."""
    batch = root / "eth_crash-8seeds"
    sim.run_batch(CRASH, seeds=8, overrides=SMALL_CRASH, workers=0, out=batch)
    from sim.experiments.sweep import run_sweep

    spec = {
        "name": "crash_sobol_small",
        "description": "buf, keeper capital and market depth in a small ETH crash",
        "base": str(CRASH),
        "overrides": {
            **{k: yaml.safe_load(v) for k, v in (o.split("=", 1) for o in SMALL_CRASH)},
            "collateral.ETH.market": {"depth_usd_2pct": 3.0e6, "recovery_half_life": "2h"},
        },
        "design": {"kind": "sobol", "n": 16, "second_order": False, "seed": 0},
        "parameters": {
            "ilks.ETH-A.liquidation.buf": {"range": [1.0, 1.5]},
            "keepers.0.dai": {"range": [2.0e5, 2.0e7], "dist": "loguniform"},
            "collateral.ETH.market.depth_usd_2pct": {
                "range": [3.0e5, 3.0e7],
                "dist": "loguniform",
            },
        },
        "seeds": 1,
        "kpis": ["bad_debt_max", "liquidated_debt"],
    }
    sweep_file = root / "sweep.yaml"
    sweep_file.write_text(yaml.safe_dump(spec, sort_keys=False))
    sweep = root / "crash_sobol_small"
    run_sweep(sweep_file, workers=0, out=sweep)
    return batch, sweep


def take(out_dir: Path) -> list[Path]:
    """Photograph the three views into ``out_dir``; the files written."""
    from playwright.sync_api import expect, sync_playwright

    out_dir.mkdir(parents=True, exist_ok=True)
    chromium = chromium_path()
    written = []
    with tempfile.TemporaryDirectory(prefix="cdpsim-screenshots-") as tmp, sync_playwright() as p:
        batch, sweep = _examples(Path(tmp))
        context = p.chromium.launch_persistent_context(
            str(Path(tmp) / "profile"),
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1600, "height": 1500},
        )
        context.set_default_timeout(WAIT_MS)
        page = context.new_page()

        with _serving(CRASH) as url:
            page.goto(url)
            expect(page.locator(".cdpsim-live-chart .js-plotly-plot")).to_be_visible()
            every = page.locator(".cdpsim-every").get_by_role("slider")
            every.focus()
            every.press("End")
            expect(page.get_by_text("render every 500 tick(s)")).to_be_visible()
            for tick in (500, 1000, 1500):
                page.locator(".cdpsim-step").click()
                expect(page.locator(".cdpsim-status")).to_contain_text(
                    f"tick {tick} /", timeout=60_000
                )
            page.wait_for_function(  # the chart holds ticks 0 … 1500
                "() => document.querySelector('.cdpsim-live-chart .js-plotly-plot')"
                ".data[0].x.length === 1501"
            )
            time.sleep(1)
            written.append(out_dir / "dashboard-live.png")
            page.screenshot(path=str(written[-1]))

        with _serving(batch) as url:
            page.goto(url)
            expect(page.locator("img.cdpsim-fan")).to_be_visible()
            page.get_by_role("tab", name="Runs").click()
            expect(page.locator(".cdpsim-runs tbody tr")).to_have_count(8)
            page.locator(".cdpsim-runs tbody tr").nth(2).click()
            expect(page.locator("img.cdpsim-run-figure")).to_be_visible()
            page.get_by_role("tab", name="Runs").click()
            time.sleep(2)  # the tab's slide has ended
            written.append(out_dir / "dashboard-batch.png")
            page.screenshot(path=str(written[-1]))

        with _serving(sweep) as url:
            page.goto(url)
            expect(page.locator("img.cdpsim-heatmap")).to_be_visible()
            time.sleep(2)
            written.append(out_dir / "dashboard-sweep.png")
            page.screenshot(path=str(written[-1]))
        context.close()
    return written


@click.command()
@click.argument("out_dir", type=click.Path(path_type=Path), default=ROOT / "docs" / "img")
def main(out_dir: Path) -> None:
    """Write dashboard-live.png, dashboard-batch.png and dashboard-sweep.png to OUT_DIR."""
    for path in take(out_dir):
        click.echo(str(path))


if __name__ == "__main__":  # pragma: no cover
    main()
