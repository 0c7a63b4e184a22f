"""The dashboard in a real headless browser: Chromium from the system's packages, driven by
Playwright, against ``cdpsim dashboard`` started here on 127.0.0.1 (a free port) and stopped;
and that server's access guard seen from outside (foreign Host, cross-site WebSocket, the
token of ``--allow-remote``), with plain HTTP requests and WebSocket handshakes.

Enable on Debian/Ubuntu with ``apt-get install -y chromium chromium-driver`` and
``pip install -e ".[test]"`` (Playwright and the dashboard extra); elsewhere set
``CDPSIM_CHROMIUM`` to a Chromium binary. Without them these tests skip and say so, unless
``CDPSIM_BROWSER_TESTS=required`` (as in .ci/run), which makes that an error. Each test saves a
screenshot of the page in its ``tmp_path``.
"""

from __future__ import annotations

import base64
import importlib.util
import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

import sim
from scripts.make_screenshots import CHROMIUM_FLAGS, chromium_path, free_port
from sim.app.live import MAX_EVERY
from sim.plots.ensemble import MAX_ROWS
from tests.conftest import SMALL
from tests.test_targets import replayed_batch

CHROMIUM = chromium_path()
#: Generous limits: they catch a hang, they do not time anything [ms and s].
WAIT_MS = 90_000
#: How long an assertion waits for the page by default [ms].
EXPECT_MS = 30_000
#: How soon a control must answer while the model plays [ms].
ANSWER_MS = 5_000
SERVER_START_S = 120.0

_missing = [name for name in ("playwright", "solara") if importlib.util.find_spec(name) is None] + (
    [] if Path(CHROMIUM).is_file() else [CHROMIUM]
)
if _missing and os.environ.get("CDPSIM_BROWSER_TESTS") == "required":  # CI: never skip them
    pytest.fail(f"CDPSIM_BROWSER_TESTS=required but {', '.join(_missing)} missing", pytrace=False)
pytestmark = pytest.mark.skipif(
    bool(_missing),
    reason=f"browser tests need {', '.join(_missing)}: apt-get install -y chromium "
    'chromium-driver; pip install -e ".[test]" (or set CDPSIM_CHROMIUM to a Chromium binary)',
)

if not _missing:
    from playwright.sync_api import BrowserContext, Page, expect, sync_playwright


@contextmanager
def dashboard(cdpsim_cmd: list[str], target: Path, log: Path, *options: str) -> Iterator[str]:
    """``cdpsim dashboard TARGET`` on a free port of 127.0.0.1; its URL; stopped at the end.

    ``options`` come last (a ``--host`` there wins). The server is ready when it answers HTTP
    at all: beyond loopback it answers 403 until given its token.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    command = [*cdpsim_cmd, "dashboard", str(target), "--host", "127.0.0.1", "--port", str(port)]
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*command, *options], stdout=out, stderr=subprocess.STDOUT, cwd=log.parent
        )
        try:
            deadline = time.monotonic() + SERVER_START_S
            while _status(url) is None:
                if proc.poll() is not None:
                    pytest.fail(f"the server exited with {proc.returncode}:\n{log.read_text()}")
                if time.monotonic() > deadline:
                    pytest.fail(f"the server did not answer:\n{log.read_text()}")
                time.sleep(0.2)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)
    assert "Traceback" not in log.read_text(), log.read_text()


def _status(url: str, **headers: str) -> int | None:
    """The HTTP status of a GET of ``url`` with ``headers`` (``None``: no answer)."""
    return _get(url, **headers)[0]


def _get(url: str, **headers: str) -> tuple[int | None, str, list[str]]:
    """A GET of ``url``: its status (``None``: no answer), body and ``Set-Cookie`` headers."""
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, reply.read().decode(), reply.headers.get_all("set-cookie") or []
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), exc.headers.get_all("set-cookie") or []
    except (urllib.error.URLError, OSError):
        return None, "", []


def _ws_handshake(url: str, origin: str, host: str | None = None, cookie: str = "") -> str:
    """The status line the server answers a WebSocket upgrade to Solara's kernel socket with.

    The path is Solara's (``/jupyter/api/kernels/<kernel>/<channel>?session_id=<page>``, see
    ``WebSocketRoute`` in ``solara/server/starlette.py``); ``101`` means accepted.
    """
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        "GET /jupyter/api/kernels/k-test/channels?session_id=s-test HTTP/1.1",
        f"Host: {host or f'127.0.0.1:{port}'}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        f"Origin: {origin}",
        *([f"Cookie: {cookie}"] if cookie else []),
    ]
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        answer = b""
        while b"\r\n" not in answer:
            chunk = conn.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer.split(b"\r\n", 1)[0].decode()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    """Headless Chromium with a fresh profile, for the module."""
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1500, "height": 1600},
        )
        context.set_default_timeout(WAIT_MS)
        # Assertions wait as long as a loaded CI machine may need to build and draw a model;
        # the one that checks the page answers at once while playing keeps a short timeout.
        expect.set_options(timeout=EXPECT_MS)
        yield context
        context.close()


@pytest.fixture
def page(browser: BrowserContext) -> Iterator[Page]:
    tab = browser.new_page()
    yield tab
    tab.close()


def _scenario(tmp_path: Path, text: str = SMALL) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(text)
    return path


def _tick(page: Page) -> int:
    text = page.locator(".cdpsim-status").inner_text()
    found = re.search(r"tick (\d+) /", text)
    assert found, text
    return int(found.group(1))


def _changed_image(page: Page, selector: str, old_src: str | None) -> None:
    """Wait until the image's source is no longer ``old_src`` (the page drew a new frame)."""
    page.wait_for_function(
        "([sel, old]) => { const e = document.querySelector(sel); return e && e.src && e.src !== old; }",
        arg=[selector, old_src],
        timeout=WAIT_MS,
    )


#: The live chart's Plotly graph in the page (its ``data`` holds the traces drawn).
CHART = ".cdpsim-live-chart .js-plotly-plot"


def _chart_points(page: Page, points: int) -> None:
    """Wait until the live chart's traces hold ``points`` points each (ticks 0 … points − 1)."""
    page.wait_for_function(
        """([sel, n]) => { const g = document.querySelector(sel);
            return g && g.data && g.data.length > 1 && g.data.every(
                (t, k) => k >= g.data.length - 1 || t.x.length === n); }""",
        arg=[CHART, points],
        timeout=WAIT_MS,
    )


def _kpis_on_page(page: Page) -> dict[str, float]:
    """The KPI table's values, exact (each cell's ``data-value``), by name."""
    cells = page.locator(".cdpsim-kpis .kpi-value")
    found = {}
    for k in range(cells.count()):
        cell = cells.nth(k)
        name = next(
            c[4:]
            for c in cell.get_attribute("class").split()
            if c.startswith("kpi-") and c != "kpi-value"
        )
        found[name] = float(cell.get_attribute("data-value"))
    return found


def test_live_run_steps_resets_with_new_values_and_shows_errors(
    cdpsim_cmd, page: Page, tmp_path: Path
):
    target = _scenario(tmp_path)
    with dashboard(cdpsim_cmd, target, tmp_path / "server.log") as url:
        page.goto(url)
        status = page.locator(".cdpsim-status")
        expect(status).to_contain_text("small · 250 vaults · seed 3 · tick 0 / 72")
        figure = page.locator(CHART)
        expect(figure).to_be_visible()
        _chart_points(page, 1)
        expect(figure).to_contain_text("no liquidation so far")
        expect(figure.get_by_role("button", name="Zoom in")).to_have_count(1)  # interactive
        expect(figure.get_by_role("button", name="Share chart...")).to_have_count(0)  # no upload
        expect(page.locator(".cdpsim-kpis").first).to_contain_text("bad_debt_max")
        expect(page.get_by_text("KPIs so far (tick 0 of 72)")).to_be_visible()

        # Step: the tick advances and the chart gets the new tick's points.
        page.locator(".cdpsim-step").click()
        expect(status).to_contain_text("tick 1 / 72")
        _chart_points(page, 2)
        # hover shows the values at a time (Plotly's unified hover label)
        box = figure.locator(".nsewdrag").first.bounding_box()
        page.mouse.move(box["x"] + 2, box["y"] + box["height"] / 2)
        expect(figure.locator(".hoverlayer")).to_contain_text("ETH market")

        # Change two controls; Reset rebuilds the model with them.
        mat = page.locator(".cdpsim-control-mat")
        thumb = mat.get_by_role("slider")
        thumb.focus()
        for _ in range(3):
            thumb.press("ArrowRight")
        expect(mat).to_contain_text("mat [-]: 1.53 • changed")
        seed = page.locator(".cdpsim-control-seed input")
        seed.fill("11")
        seed.press("Enter")
        expect(page.locator(".cdpsim-control-seed")).to_contain_text("changed")
        page.locator(".cdpsim-reset").click()
        expect(status).to_contain_text("seed 11 · tick 0 / 72")
        built = page.locator(".cdpsim-built")
        expect(built).to_contain_text("ilks.ETH-A.mat = 1.53")
        expect(built).to_contain_text("seed = 11")
        expect(mat).not_to_contain_text("changed")

        # A second Reset keeps the values (mesa's reset trap, #2505, reverted them).
        page.locator(".cdpsim-step").click()
        expect(status).to_contain_text("tick 1 / 72")
        page.locator(".cdpsim-reset").click()
        expect(status).to_contain_text("seed 11 · tick 0 / 72")
        expect(built).to_contain_text("ilks.ETH-A.mat = 1.53")

        # A value the scenario refuses: a message naming the override; the model stays.
        dai = page.locator(".cdpsim-control-keeper_dai_0 input")
        dai.fill("-5")
        dai.press("Enter")
        page.locator(".cdpsim-reset").click()
        error = page.locator(".cdpsim-error").first
        expect(error).to_contain_text("--set keepers.0.dai=-5.0")
        expect(built).to_contain_text("keepers.0.dai = 1,000,000")
        expect(page.locator("body")).not_to_contain_text("Traceback")
        page.screenshot(path=str(tmp_path / "live.png"), full_page=True)


def test_play_at_100k_vaults_draws_every_k_ticks_and_stays_responsive(
    cdpsim_cmd, page: Page, tmp_path: Path
):
    data = yaml.safe_load(SMALL)
    # 4 320 ticks: frames cost little now, so a shorter run could end before the pause below
    data["clock"]["duration"] = "30d"
    data["ilks"]["ETH-A"]["line"] = 1.0e11
    data["borrowers"][0].update(vaults=80_000, debt=2.0e9)
    data["borrowers"][1].update(vaults=20_000, debt=1.0e9)
    target = tmp_path / "big.yaml"
    target.write_text(yaml.safe_dump(data))
    with dashboard(cdpsim_cmd, target, tmp_path / "server.log") as url:
        page.goto(url)
        status = page.locator(".cdpsim-status")
        expect(status).to_contain_text("100,000 vaults")
        every = page.locator(".cdpsim-every").get_by_role("slider")
        expect(page.locator(".cdpsim-every")).to_be_visible()
        every.focus()
        every.press("Home")
        for _ in range(5):
            every.press("ArrowRight")
        expect(page.get_by_text("render every 6 tick(s)")).to_be_visible()
        play = page.locator(".cdpsim-play")
        play.click()
        expect(play).to_contain_text("Pause")
        # Two draws of 6 ticks at 100k vaults: generous on a loaded machine (CI shares its cores).
        expect(status).to_contain_text(
            re.compile(r"tick (1[2-9]|[2-9]\d|[1-9]\d\d+) / 4320"), timeout=EXPECT_MS
        )
        # While it plays, the controls answer at once (the worker, not the page, runs the model).
        mat = page.locator(".cdpsim-control-mat")
        mat.get_by_role("slider").focus()
        mat.get_by_role("slider").press("ArrowRight")
        expect(mat).to_contain_text("changed", timeout=ANSWER_MS)
        play.click()
        expect(play).to_contain_text("Play")
        paused = _tick(page)
        assert paused % 6 == 0 and paused > 0
        page.locator(".cdpsim-step").click()
        expect(status).to_contain_text(f"tick {paused + 6} / 4320")
        page.screenshot(path=str(tmp_path / "live-100k.png"), full_page=True)


def test_the_shipped_crash_plays_to_its_end_with_the_cli_s_kpis(cdpsim_cmd, page: Page, tmp_path):
    """scenarios/eth_crash_liq2.yaml (3 000 vaults, 2 880 ticks) played whole in the page, in
    frames of 500 ticks (the slider's end: the fewest frames, to keep this test short; the
    default cadence's wall time is benchmarks/dashboard.py's), ends with the KPIs the CLI's run
    of the same seed gives, bad debt first, and the chart holds every tick."""
    crash = Path(sim.__file__).resolve().parents[1] / "scenarios" / "eth_crash_liq2.yaml"
    cli = sim.run(sim.load_scenario(crash)).summary
    with dashboard(cdpsim_cmd, crash, tmp_path / "server.log") as url:
        page.goto(url)
        status = page.locator(".cdpsim-status")
        expect(status).to_contain_text("eth_crash_liq2 · 3,000 vaults · seed 7 · tick 0 / 2880")
        every = page.locator(".cdpsim-every").get_by_role("slider")
        every.focus()
        every.press("End")
        expect(page.get_by_text(f"render every {MAX_EVERY} tick(s)")).to_be_visible()
        page.locator(".cdpsim-play").click()
        expect(status).to_contain_text("tick 2880 / 2880", timeout=WAIT_MS)
        expect(page.get_by_text("KPIs of the whole run")).to_be_visible()
        _chart_points(page, 2881)
        shown = _kpis_on_page(page)
        page.screenshot(path=str(tmp_path / "crash.png"), full_page=True)
    assert shown["bad_debt_final"] == cli["bad_debt_final"]
    assert shown["bad_debt_max"] == cli["bad_debt_max"]
    numbers = {k: float(v) for k, v in cli.items() if isinstance(v, int | float)}
    assert shown == numbers  # every KPI, not only bad debt
    assert cli["auctions"] > 1000  # the crash liquidates: the comparison is not of zeros alone


def test_batch_folder_shows_its_runs_table_and_a_runs_dashboard(
    cdpsim_cmd, page: Page, tmp_path: Path
):
    batch = tmp_path / "batch"
    sim.run_batch(_scenario(tmp_path), seeds=3, workers=0, out=batch)
    runs = sim.load_runs(batch)
    first = runs.iloc[0]
    with dashboard(cdpsim_cmd, batch, tmp_path / "server.log") as url:
        page.goto(url)
        expect(page.locator("img.cdpsim-fan")).to_be_visible()
        table = page.locator(".cdpsim-runs")
        expect(table.locator("tbody tr")).to_have_count(3)
        for run_id in runs["run_id"]:
            expect(table).to_contain_text(run_id)
        page.screenshot(path=str(tmp_path / "batch.png"), full_page=True)
        help_text = page.locator(".cdpsim-filter-help")  # the columns the filter accepts
        for column in runs.columns:
            expect(help_text).to_contain_text(str(column))
        query = page.locator(".cdpsim-filter input")
        query.fill(f"seed == {first['seed']}")
        query.press("Enter")
        expect(page.locator(".cdpsim-count")).to_contain_text("1 of 3 runs")
        expect(table.locator("tbody tr")).to_have_count(1)
        query.fill("no_such_column > 1")
        query.press("Enter")
        expect(page.locator(".cdpsim-error")).to_contain_text("no_such_column")
        query.fill(f"seed == {first['seed']}")
        query.press("Enter")
        table.locator("tbody tr").first.click()
        expect(page.get_by_role("tab", name=f"Run {first['run_id']}")).to_be_visible()
        expect(page.locator("img.cdpsim-run-figure")).to_be_visible()
        expect(page.locator(".cdpsim-kpis").first).to_contain_text("bad_debt_max")
        page.locator(".cdpsim-live").click()
        expect(page.locator(".cdpsim-status")).to_contain_text(
            f"seed {first['seed']} · tick 0 / 72"
        )
        page.locator(".cdpsim-back").click()
        expect(page.locator("img.cdpsim-fan")).to_be_visible()


def test_a_batch_of_many_scenarios_pages_its_fan_chart(cdpsim_cmd, page: Page, tmp_path: Path):
    data = yaml.safe_load(SMALL)
    data["clock"]["duration"] = "2h"
    files = []
    for k in range(MAX_ROWS + 1):
        data["name"] = f"small_{k}"
        files.append(tmp_path / f"small_{k}.yaml")
        files[-1].write_text(yaml.safe_dump(data))
    batch = tmp_path / "batch"
    sim.run_batch(files, workers=0, out=batch)
    with dashboard(cdpsim_cmd, batch, tmp_path / "server.log") as url:
        page.goto(url)
        fan = page.locator("img.cdpsim-fan")
        expect(fan).to_be_visible()
        src = fan.get_attribute("src")
        pages = page.locator(".cdpsim-page")
        expect(pages).to_contain_text(f"1–{MAX_ROWS} of {MAX_ROWS + 1}")
        pages.click()
        page.get_by_role("option", name=re.compile(f"^{MAX_ROWS + 1} of")).click()
        _changed_image(page, "img.cdpsim-fan", src)
        expect(pages).to_contain_text(f"small_{MAX_ROWS}")


def test_sweep_folder_shows_a_heatmap_and_the_sensitivity_indices(
    cdpsim_cmd, page: Page, tmp_path: Path
):
    from sim.experiments.sweep import run_sweep

    spec = {
        "name": "small_sobol",
        "base": str(_scenario(tmp_path)),
        "design": {"kind": "sobol", "n": 2},
        "parameters": {
            "ilks.ETH-A.liquidation.buf": {"range": [1.05, 1.5]},
            "keepers.0.dai": {"range": [1.0e5, 5.0e6]},
        },
        "seeds": 1,
        "kpis": ["bad_debt_max", "liquidated_debt"],
    }
    sweep_file = tmp_path / "sweep.yaml"
    sweep_file.write_text(yaml.safe_dump(spec, sort_keys=False))
    folder = tmp_path / "sweep"
    run_sweep(sweep_file, workers=0, out=folder)
    with dashboard(cdpsim_cmd, folder, tmp_path / "server.log") as url:
        page.goto(url)
        heatmap = page.locator("img.cdpsim-heatmap")
        expect(heatmap).to_be_visible()
        src = heatmap.get_attribute("src")
        page.locator(".cdpsim-kpi").click()
        page.get_by_role("option", name="liquidated_debt").click()
        _changed_image(page, "img.cdpsim-heatmap", src)
        expect(page.locator("img.cdpsim-sensitivity")).to_be_visible()
        page.screenshot(path=str(tmp_path / "sweep.png"), full_page=True)
        page.get_by_role("tab", name="Runs").click()
        expect(page.locator(".cdpsim-runs tbody tr")).to_have_count(8)


def test_the_server_refuses_a_foreign_host_and_a_cross_site_websocket(cdpsim_cmd, tmp_path: Path):
    with dashboard(cdpsim_cmd, _scenario(tmp_path), tmp_path / "server.log") as url:
        port = url.rsplit(":", 1)[1].strip("/")
        # DNS rebinding: the attacker's name in Host
        status, body, _ = _get(url, Host="evil.example")
        assert status == 403 and "evil.example" in body, (status, body)
        assert _status(url, Host=f"evil.example:{port}") == 403
        # a cross-site page: its origin
        assert _status(url, Origin="http://evil.example") == 403
        refused = _ws_handshake(url, origin="http://evil.example")
        assert refused.startswith("HTTP/1.1 403"), refused
        # the dashboard's own page still loads, and its websocket is accepted
        status, body, _ = _get(url)
        assert status == 200 and "cdpsim dashboard" in body, (status, body[:200])
        assert _status(f"http://localhost:{port}/") == 200
        accepted = _ws_handshake(url, origin=url.rstrip("/"))
        assert accepted.startswith("HTTP/1.1 101"), accepted
    assert "refused websocket" in (tmp_path / "server.log").read_text()


def test_allow_remote_warns_and_lets_in_only_the_tokens_holder(cdpsim_cmd, tmp_path: Path):
    log = tmp_path / "server.log"
    with dashboard(
        cdpsim_cmd, _scenario(tmp_path), log, "--host", "0.0.0.0", "--allow-remote"
    ) as url:
        printed = log.read_text()
        assert "WARNING: listening on every address of this machine" in printed
        assert "plain HTTP" in printed and "SSH tunnel" in printed
        port = url.rsplit(":", 1)[1].strip("/")
        found = re.search(rf"http://127\.0\.0\.1:{port}/\?token=([\w-]+)", printed)
        assert found, printed
        token = found.group(1)
        status, body, _ = _get(url)
        assert status == 403 and "?token=" in body, (status, body)
        assert _status(f"{url}?token=wrong") == 403
        status, body, cookies = _get(f"{url}?token={token}")
        assert status == 200 and "cdpsim dashboard" in body
        mine = [c for c in cookies if c.startswith(f"cdpsim-dashboard-token-{port}=")]
        assert mine and "HttpOnly" in mine[0] and "SameSite=Strict" in mine[0], cookies
        cookie = mine[0].split(";", 1)[0]
        assert _status(url, Cookie=cookie) == 200
        assert _ws_handshake(url, origin=url.rstrip("/")).startswith("HTTP/1.1 403")
        accepted = _ws_handshake(url, origin=url.rstrip("/"), cookie=cookie)
        assert accepted.startswith("HTTP/1.1 101"), accepted
        # the token does not let a foreign Host in
        assert _status(f"{url}?token={token}", Host="evil.example") == 403


def test_a_malicious_filter_runs_nothing_and_live_reads_no_data_from_outside(
    cdpsim_cmd, page: Page, tmp_path: Path
):
    batch, _run, source = replayed_batch(tmp_path, seeds=(1, 2, 3, 4))
    runs = sim.load_runs(batch)
    wanted = runs[(runs["seed"] > 2) & (runs["bad_debt_max"] >= 0)]
    assert 0 < len(wanted) < len(runs)  # the good filter below must filter something out
    pwned = tmp_path / "pwned"
    with dashboard(cdpsim_cmd, batch, tmp_path / "server.log") as url:
        page.goto(url)
        table = page.locator(".cdpsim-runs")
        expect(table.locator("tbody tr")).to_have_count(len(runs))
        query = page.locator(".cdpsim-filter input")
        error = page.locator(".cdpsim-error")
        for text, says in (
            (f"@pd.io.common.os.system('touch {pwned}') == 0 or seed > 0", "not a condition"),
            (f"__import__('os').system('touch {pwned}') == 0", "function calls are not allowed"),
            (f"seed.__class__.__init__.__globals__ == 0 or '{pwned}' == 1", "not allowed"),
        ):
            query.fill(text)
            query.press("Enter")
            expect(error).to_contain_text(says)
            expect(page.locator(".cdpsim-count")).to_contain_text(f"0 of {len(runs)} runs")
            assert not pwned.exists(), text
        query.fill("seed > 2 and bad_debt_max >= 0")
        query.press("Enter")
        expect(page.locator(".cdpsim-count")).to_contain_text(f"{len(wanted)} of {len(runs)} runs")
        expect(error).to_have_count(0)
        expect(table.locator("tbody tr")).to_have_count(len(wanted))

        # Run it live: the run's scenario replays scenarios/prices.csv, outside the batch
        # folder the dashboard was started on: refused in the page, with what to do.
        table.locator("tbody tr").first.click()
        page.locator(".cdpsim-live").click()
        refused = page.locator(".cdpsim-live-error")
        expect(refused).to_contain_text(f"--data-dir {source}")
        expect(page.locator(".cdpsim-status")).to_have_count(0)
        expect(page.locator("body")).not_to_contain_text("Traceback")
        page.screenshot(path=str(tmp_path / "refused.png"), full_page=True)
