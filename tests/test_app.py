"""The dashboard's logic without a browser: the live session's commands, the runs table, the
targets and the folders it reads, the server's access guard (Host, Origin, token) as an ASGI
app, and ``cdpsim dashboard``'s refusals (exit 2, no traceback).

The controls (scenario fields ↔ overrides) are tested in tests/test_controls.py; the page
itself, in a real browser, and the guard in front of a real server in tests/test_app_browser.py.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest

import sim
from sim.app import INSTALL_HINT, missing_extra
from sim.app.guard import (
    AccessGuard,
    allowed_hosts,
    cookie_name,
    host_names,
    is_loopback,
    new_token,
)
from sim.app.live import Frame, LiveSession, default_every
from sim.app.tables import (
    filter_runs,
    headers,
    kpi_cells,
    shown_columns,
    table_items,
)
from sim.app.targets import TargetError, check_inside, resolve, scenario_of_run
from sim.experiments.store import BatchFolder
from sim.filters import FilterError
from sim.metrics import format_kpis
from sim.scenario import ScenarioError, load_scenario
from tests.conftest import SMALL


def _small(tmp_path: Path, text: str = SMALL) -> sim.Scenario:
    path = tmp_path / "small.yaml"
    path.write_text(text)
    return load_scenario(path)


# ---------------------------------------------------------------------------------------- session


class Frames(list):
    """The frames a session published, in order."""

    @property
    def last(self) -> Frame:
        return self[-1]


def _session(scenario: sim.Scenario, **kwargs) -> tuple[LiveSession, Frames]:
    frames = Frames()
    return LiveSession(scenario, frames.append, **kwargs), frames


def test_session_builds_steps_and_resets_with_the_controls_values(tmp_path):
    base = _small(tmp_path)
    session, frames = _session(base)
    session.drain()
    first = frames.last
    assert (first.tick, first.n_ticks, first.generation) == (0, base.n_ticks, 1)
    assert first.png.startswith(b"\x89PNG") and first.kpis["dai_supply_start"] == 3.0e6
    session.render_every(4)
    session.step()
    session.drain()
    assert frames.last.tick == 4 and frames.last.every == 4
    assert frames.last.png != first.png
    values = {**session.initial_values, "mat": 1.52, "seed": 5}
    session.reset(values)
    session.drain()
    rebuilt = frames.last
    assert (rebuilt.tick, rebuilt.generation) == (0, 2)
    assert session.model.spec.ilks["ETH-A"].mat == 1.52 and session.model.seed == 5
    assert rebuilt.values["mat"] == 1.52 and rebuilt.values["seed"] == 5
    # a second reset with the same values keeps them (the trap of mesa's reset, #2505)
    session.reset(values)
    session.drain()
    assert frames.last.values["mat"] == 1.52 and frames.last.generation == 3


def test_a_refused_reset_keeps_the_model_and_reports(tmp_path):
    base = _small(tmp_path)
    session, frames = _session(base)
    session.step()
    session.drain()
    model = session.model
    session.reset({**session.initial_values, "mat": 0.9})
    session.drain()
    assert session.model is model
    assert frames.last.tick == 1 and frames.last.generation == 1
    assert any(
        "ilks.ETH-A.mat" in e and "--set ilks.ETH-A.mat=0.9" in e for e in frames.last.errors
    )
    session.reset(session.initial_values)
    session.drain()
    assert frames.last.errors == () and frames.last.generation == 2


def _wait_for(condition, what: str, timeout_s: float = 120.0) -> None:
    """Wait until ``condition()`` holds; fail (a hang, not a slow machine) after ``timeout_s``."""
    pause = threading.Event()
    for _ in range(int(timeout_s / 0.05)):
        if condition():
            return
        pause.wait(0.05)
    pytest.fail(f"timed out waiting for {what}")


def test_the_worker_plays_in_frames_of_k_ticks_until_paused_or_done(tmp_path):
    base = _small(tmp_path)
    session, frames = _session(base)
    cancel = threading.Event()
    worker = threading.Thread(target=session.run, args=(cancel,), daemon=True)
    worker.start()
    try:
        session.render_every(8)
        session.play()
        _wait_for(lambda: frames and frames.last.tick >= 16, "two frames of play")
        session.pause()
        _wait_for(lambda: not frames.last.playing, "the pause")
        paused = frames.last.tick
        assert all(f.tick % 8 == 0 for f in frames), [f.tick for f in frames]
        session.step()  # a step after the pause advances exactly one render interval
        _wait_for(lambda: frames.last.tick != paused, "the step")
        assert frames.last.tick == paused + 8 and not frames.last.playing
        session.play()  # then it plays to the end and stops by itself
        _wait_for(lambda: frames.last.finished and not frames.last.playing, "the end")
        assert frames.last.tick == base.n_ticks
    finally:
        cancel.set()
        worker.join(timeout=30)
    assert not worker.is_alive()


def test_default_render_interval():
    assert default_every(72) == 1
    assert default_every(2880) == 29
    assert default_every(10**7) == 500


def test_a_run_at_100k_vaults_steps_and_draws(tmp_path):
    text = (
        SMALL.replace("vaults: 200, debt: 2.0e6", "vaults: 80000, debt: 2.0e9")
        .replace("vaults: 50, debt: 1.0e6", "vaults: 20000, debt: 1.0e9")
        .replace("line: 1.0e9", "line: 1.0e11")
    )
    base = _small(tmp_path, text)
    session, frames = _session(base)
    session.render_every(12)
    session.step()
    session.drain()
    assert frames.last.vaults == 100_000 and frames.last.tick == 12
    assert frames.last.png.startswith(b"\x89PNG")


# ---------------------------------------------------------------------------------------- tables


def test_runs_filter_and_items():
    runs = pd.DataFrame(
        {
            "run_id": ["a", "b", "c"],
            "scenario": ["s", "s", "s"],
            "seed": [1, 2, 2**60],
            "status": ["ok", "failed", "ok"],
            "bad_debt_max": [0.0, float("nan"), 1.5e6],
            "auctions": [3, 0, 7],
        }
    )
    assert list(filter_runs(runs, "", "ok")["run_id"]) == ["a", "c"]
    assert list(filter_runs(runs, "bad_debt_max > 1e6")["run_id"]) == ["c"]
    with pytest.raises(FilterError, match="nope"):
        filter_runs(runs, "nope > 1")
    with pytest.raises(FilterError):
        filter_runs(runs, "auctions")  # not a condition
    columns = shown_columns(runs)
    assert columns == ["run_id", "scenario", "seed", "status", "bad_debt_max", "auctions"]
    items = table_items(runs, columns)
    assert items[0]["bad_debt_max"] == 0.0 and items[1]["bad_debt_max"] is None
    assert items[2]["bad_debt_max"] == 1_500_000 and items[2]["seed"] == str(2**60)
    heads, divisors = headers(runs, columns)
    assert [h["text"] for h in heads][4:] == ["bad_debt_max [M Dai]", "auctions"]
    assert divisors == {"bad_debt_max": 1e6}
    assert table_items(runs, columns, divisors)[2]["bad_debt_max"] == 1.5


def test_fan_pages_are_labelled_by_their_scenarios():
    from sim.app.views import fan_page_labels

    pages = [[f"s{k}" for k in range(8)], ["s8", "s9"]]
    assert fan_page_labels(pages) == ["1–8 of 10: s0, s1, s2, …", "9–10 of 10: s8, s9"]
    assert fan_page_labels([["only"]]) == ["1 of 1: only"]
    assert fan_page_labels([["a", "b"], ["c"]])[1] == "3 of 3: c"


def test_kpi_cells_print_as_the_cli_does():
    cells = {name: (value, unit) for name, value, unit, _ in kpi_cells({"bad_debt_max": 1234567.8})}
    assert cells == {"bad_debt_max": ("1,234,568", "Dai")}
    summary = {"min_cr_p05": float("nan"), "auctions": 3, "keepers": {"k": 1.0}}
    shown = [(name, value, unit) for name, value, unit, _ in kpi_cells(summary)]
    assert shown == [("min_cr_p05", "n/a", "-"), ("auctions", "3", "count")]
    for name, value, unit in shown:  # the value and the unit as format_kpis prints them
        assert format_kpis({name: summary[name]}).split()[1:] == [value, unit]


# ---------------------------------------------------------------------------------------- targets


def test_targets(tmp_path):
    scenario = tmp_path / "small.yaml"
    scenario.write_text(SMALL)
    assert resolve(scenario).kind == "scenario"
    run = tmp_path / "run"
    sim.run(load_scenario(scenario), seed=9, out=run)
    assert resolve(run).kind == "run"
    again, seed = scenario_of_run(run, resolve(run).roots)
    assert seed == 9 and again.name == "small"
    for bad, message in (
        (tmp_path / "missing", "no such file or folder"),
        (tmp_path / "missing.yaml", "missing.yaml: no such file"),
        (tmp_path, "not a cdpsim run, batch or sweep folder"),
    ):
        with pytest.raises(TargetError, match=message):
            resolve(bad)
    text = tmp_path / "notes.txt"
    text.write_text("x")
    with pytest.raises(TargetError, match="not a scenario file"):
        resolve(text)


#: 13 hourly ETH prices from SMALL's start (2020-01-01T00:00:00Z), for a replayed scenario.
PRICES_CSV = "timestamp,eth\n" + "".join(
    f"2020-01-01T{h:02d}:00:00Z,{2000 - 50 * h}\n" for h in range(13)
)
SCRIPTED_ETH = "{process: scripted, start: 2000, crash: {depth: 0.4, at: 1h, over: 4h}}"


def replayed_batch(tmp_path: Path, seeds: tuple[int, ...] = (4,)) -> tuple[Path, Path, Path]:
    """A batch over ``seeds`` of SMALL replaying ``prices.csv`` kept next to its scenario file.

    Returns:
        The batch folder, its first run's folder, and the scenario's folder (outside the batch).
    """
    source = tmp_path / "scenarios"
    source.mkdir()
    (source / "prices.csv").write_text(PRICES_CSV)
    scenario = source / "replayed.yaml"
    replay = "{process: replay, file: prices.csv, column: eth, beyond: hold}"
    scenario.write_text(SMALL.replace(SCRIPTED_ETH, replay).replace("12h", "2h"))
    batch = tmp_path / "batch"
    runs = sim.run_batch(scenario, seeds=list(seeds), workers=0, out=batch)
    return batch, BatchFolder(batch).run_folder(str(runs["run_id"].iloc[0])), source


def test_run_it_live_reads_data_files_only_under_the_dashboards_folders(tmp_path):
    batch, run, source = replayed_batch(tmp_path)
    target = resolve(batch)
    assert target.roots == (batch.resolve(),)
    # The manifest names the scenario file in scenarios/, outside the batch: its data file is
    # not read; the message says how to allow that folder.
    with pytest.raises(TargetError) as refused:
        scenario_of_run(run, target.roots)
    message = str(refused.value)
    assert f"restart cdpsim dashboard with --data-dir {source}" in message
    assert "Traceback" not in message
    # ... which works: with scenarios/ as a data folder the run is rebuilt from its data.
    allowed = resolve(batch, [source]).roots
    scenario, seed = scenario_of_run(run, allowed)
    assert seed == 4 and scenario.collateral["ETH"].price.file == "prices.csv"
    assert Path(scenario.base_dir) == source

    # A manifest edited to name a file elsewhere by its absolute path: refused, by where it is.
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "prices.csv").write_text(PRICES_CSV)
    manifest_path = run / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["scenario"]["collateral"]["ETH"]["price"]["file"] = str(secret / "prices.csv")
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(ScenarioError, match="is outside the scenario's folder"):
        scenario_of_run(run, allowed)
    # ... also when it names a scenario file next to that file: the folder is not used.
    manifest["batch"]["scenario_file"] = str(secret / "replayed.yaml")
    (secret / "replayed.yaml").write_text("name: decoy\n")
    manifest["scenario"]["collateral"]["ETH"]["price"]["file"] = "prices.csv"
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(TargetError, match=re.escape(f"--data-dir {secret}")):
        scenario_of_run(run, allowed)


def test_a_run_folder_outside_the_roots_is_refused(tmp_path):
    batch, run, _source = replayed_batch(tmp_path)
    copied = tmp_path / "elsewhere"
    shutil.copytree(run, copied)
    roots = resolve(batch).roots
    check_inside(run, roots)
    # a run id of a runs table or a click, walking out of the batch
    escaped = BatchFolder(batch).run_folder("../../elsewhere")
    for folder in (escaped, copied):
        with pytest.raises(TargetError, match="outside the folders this dashboard reads"):
            check_inside(folder, roots)
        with pytest.raises(TargetError, match="add it with --data-dir"):
            scenario_of_run(folder, roots)
    link = batch / "runs" / "link"
    link.symlink_to(copied, target_is_directory=True)
    with pytest.raises(TargetError, match="outside the folders"):
        check_inside(link, roots)  # symlinks are followed
    scenario = tmp_path / "scenarios" / "replayed.yaml"
    assert resolve(scenario).roots == (scenario.parent.resolve(),)


# ---------------------------------------------------------------------------------------- guard

PORT = 8765


def _scope(kind: str = "http", host: str | None = f"127.0.0.1:{PORT}", **extra) -> dict:
    """An ASGI scope of ``kind`` for ``/`` with a ``Host`` and ``extra`` headers (and query)."""
    query = extra.pop("query", "")
    headers = [(b"host", host.encode())] if host is not None else []
    headers += [(k.replace("_", "-").encode(), v.encode()) for k, v in extra.items()]
    return {"type": kind, "path": "/", "headers": headers, "query_string": query.encode()}


class Called:
    """What the guard did with one scope: the messages it sent and whether the app was called."""

    def __init__(self) -> None:
        self.sent: list[dict] = []
        self.app_called = False

    @property
    def status(self) -> int | None:
        return next((m["status"] for m in self.sent if m["type"] == "http.response.start"), None)

    @property
    def body(self) -> str:
        return b"".join(m.get("body", b"") for m in self.sent).decode()

    def header(self, name: bytes) -> list[bytes]:
        start = next(m for m in self.sent if m["type"] == "http.response.start")
        return [v for k, v in start["headers"] if k == name]


def _call(scope: dict, token: str | None = None, host: str = "127.0.0.1") -> Called:
    """Run ``scope`` through an :class:`AccessGuard` around an app that answers 200 / accepts."""
    called = Called()

    async def app(scope, receive, send):
        called.app_called = True
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept"})
        else:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"page"})

    async def receive():
        return {"type": "websocket.connect"} if scope["type"] == "websocket" else {}

    async def send(message):
        called.sent.append(message)

    guard = AccessGuard(app, hosts=allowed_hosts(host, PORT), token=token, cookie=cookie_name(PORT))
    asyncio.run(guard(scope, receive, send))
    return called


def test_loopback_addresses_and_the_hosts_they_answer_to():
    for host in ("127.0.0.1", "127.3.2.1", "::1", "localhost", "LOCALHOST"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "::", "", "10.0.0.5", "192.168.1.2", "example.org", "[::1]"):
        assert not is_loopback(host), host
    assert allowed_hosts("127.0.0.1", PORT) == {
        f"127.0.0.1:{PORT}",
        f"localhost:{PORT}",
        f"[::1]:{PORT}",
    }
    assert allowed_hosts("10.0.0.5", PORT) == {f"10.0.0.5:{PORT}"}
    assert "localhost" in allowed_hosts("localhost", 80)  # browsers leave out port 80
    every = host_names("0.0.0.0")
    assert socket.gethostname() in every and "127.0.0.1" in every and every[0] != "0.0.0.0"
    assert new_token() != new_token() and len(new_token()) >= 40


def test_the_guard_refuses_a_foreign_host_or_origin():
    refused = _call(_scope(host="evil.example"))
    assert refused.status == 403 and not refused.app_called
    assert "Host 'evil.example' is not an address this dashboard serves" in refused.body
    assert f"127.0.0.1:{PORT}" in refused.body
    assert _call(_scope(host=f"evil.example:{PORT}")).status == 403
    assert _call(_scope(host=None)).status == 403  # no Host at all
    for origin in (
        "http://evil.example",
        f"http://evil.example:{PORT}",
        f"https://127.0.0.1:{PORT}",
        "null",
        f"http://127.0.0.1:{PORT + 1}",
    ):
        refused = _call(_scope(origin=origin))
        assert refused.status == 403 and not refused.app_called, origin
        assert "another site" in refused.body
    # the dashboard's own page, by each of its loopback names, passes
    for name in ("127.0.0.1", "localhost", "[::1]"):
        passed = _call(_scope(host=f"{name}:{PORT}", origin=f"http://{name}:{PORT}"))
        assert passed.status == 200 and passed.app_called and passed.body == "page", name
    assert _call(_scope()).status == 200  # no Origin: a navigation, or a script-less client


def test_the_guard_closes_a_foreign_websocket_before_accepting_it():
    refused = _call(_scope("websocket", origin="http://evil.example"))
    assert [m["type"] for m in refused.sent] == ["websocket.close"] and not refused.app_called
    assert _call(_scope("websocket", host="evil.example")).sent[0]["type"] == "websocket.close"
    passed = _call(_scope("websocket", origin=f"http://localhost:{PORT}", host=f"localhost:{PORT}"))
    assert passed.app_called and [m["type"] for m in passed.sent] == ["websocket.accept"]
    lifespan = _call({"type": "lifespan"})  # the server's start and stop pass untouched
    assert lifespan.app_called


def test_beyond_loopback_the_guard_wants_the_token_then_its_cookie():
    token = new_token()
    at = f"10.0.0.5:{PORT}"
    bare = _call(_scope(host=at), token=token, host="10.0.0.5")
    assert bare.status == 403 and not bare.app_called
    assert "open the URL with ?token=" in bare.body
    wrong = _call(_scope(host=at, query="token=nope"), token=token, host="10.0.0.5")
    assert wrong.status == 403
    good = _call(_scope(host=at, query=f"x=1&token={token}"), token=token, host="10.0.0.5")
    assert good.status == 200 and good.app_called
    (cookie,) = good.header(b"set-cookie")
    assert cookie.decode() == (f"{cookie_name(PORT)}={token}; Path=/; HttpOnly; SameSite=Strict")
    # later requests (assets, the websocket) carry the cookie, among others' cookies
    jar = f'other="a b"; {cookie_name(PORT)}={token}; solara-session-id=x'
    assert _call(_scope(host=at, cookie=jar), token=token, host="10.0.0.5").status == 200
    ws = _call(_scope("websocket", host=at, cookie=jar), token=token, host="10.0.0.5")
    assert ws.app_called and ws.sent[0]["type"] == "websocket.accept"
    for bad in (f"{cookie_name(PORT)}=nope", f"{cookie_name(PORT + 1)}={token}"):
        assert _call(_scope(host=at, cookie=bad), token=token, host="10.0.0.5").status == 403
        ws = _call(_scope("websocket", host=at, cookie=bad), token=token, host="10.0.0.5")
        assert not ws.app_called and ws.sent[0]["type"] == "websocket.close"
    # the token does not excuse a foreign Host or Origin
    assert _call(_scope(host="evil.example", query=f"token={token}"), token=token).status == 403
    evil = _scope(host=at, query=f"token={token}", origin="http://evil.example")
    assert _call(evil, token=token, host="10.0.0.5").status == 403


# ---------------------------------------------------------------------------------------- CLI


def _cdpsim(cmd: list[str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*cmd, *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_importing_the_app_package_is_light():
    code = (
        "import sys, sim.app; "
        "heavy = [m for m in ('solara', 'pandas', 'matplotlib', 'mesa') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == ""


def test_without_the_extra_the_command_says_how_to_install_it(small_scenario_file):
    # The extra's packages made unimportable in a fresh interpreter, as in a core-only install.
    code = (
        "import sys; sys.modules['solara'] = None; sys.modules['uvicorn'] = None; "
        "from sim.cli import main; sys.argv = ['cdpsim', 'dashboard', sys.argv[1]]; main()"
    )
    res = subprocess.run(
        [sys.executable, "-c", code, str(small_scenario_file)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 2, res.stderr
    assert 'pip install -e ".[dashboard]"' in res.stderr
    assert "Traceback" not in res.stderr
    assert missing_extra() is None  # here, the extra is installed
    assert "[dashboard]" in INSTALL_HINT


def test_bad_targets_and_a_busy_port_exit_2(cdpsim_cmd, small_scenario_file, tmp_path):
    pytest.importorskip("solara")
    bad = tmp_path / "bad.yaml"
    bad.write_text(SMALL.replace("mat: 1.5", "mat: 0.9"))
    for args, needle in (
        ([str(bad)], "ilks.ETH-A.mat"),
        ([str(tmp_path / "nothing")], "no such file or folder"),
        ([str(tmp_path)], "not a cdpsim run, batch or sweep folder"),
        ([], "give a scenario file"),
    ):
        res = _cdpsim(cdpsim_cmd, "dashboard", *args, cwd=tmp_path)
        assert res.returncode == 2, (args, res.stderr)
        assert needle in res.stderr and "Traceback" not in res.stderr, (args, res.stderr)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        res = _cdpsim(cdpsim_cmd, "dashboard", str(small_scenario_file), "--port", str(port))
    assert res.returncode == 2 and f"127.0.0.1:{port}" in res.stderr, res.stderr
    assert "Traceback" not in res.stderr


def test_a_host_beyond_loopback_needs_allow_remote(cdpsim_cmd, small_scenario_file):
    for host in ("0.0.0.0", "10.0.0.5", "example.org"):
        res = _cdpsim(cdpsim_cmd, "dashboard", str(small_scenario_file), "--host", host)
        assert res.returncode == 2, (host, res.stderr)
        assert f"--host {host} is not a loopback address" in res.stderr
        assert "--allow-remote" in res.stderr and "ssh -L 8765:127.0.0.1:8765" in res.stderr
        assert "Traceback" not in res.stderr and res.stdout == ""
