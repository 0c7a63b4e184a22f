"""Serving the dashboard (sim/app/server.py): the page's address, why a port cannot be listened
on, and what :func:`serve` starts: Solara's app inside the access guard, with the settings of
a local tool without internet access.

The real server, started by ``cdpsim dashboard``, is tested in tests/test_app_browser.py.
"""

from __future__ import annotations

import os
import socket
import sys
import types

import pytest

from sim.app import APP_MODULE, DATA_DIRS_ENV, TARGET_ENV
from sim.app.guard import AccessGuard, allowed_hosts, cookie_name
from sim.app.server import CLOSED_TAB_KEPT, SOLARA_ENV, ChartScript, port_problem, serve, url


def test_the_page_s_address():
    assert url("127.0.0.1", 8765) == "http://127.0.0.1:8765/"
    assert url("localhost", 80) == "http://localhost:80/"
    assert url("::1", 8765) == "http://[::1]:8765/"  # IPv6 in brackets
    assert url("10.0.0.5", 9000, "abc-_1") == "http://10.0.0.5:9000/?token=abc-_1"
    assert url("10.0.0.5", 9000, None) == url("10.0.0.5", 9000, "") == "http://10.0.0.5:9000/"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_free_port_has_no_problem_and_a_busy_one_says_so():
    assert port_problem("127.0.0.1", _free_port()) is None
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert port_problem("127.0.0.1", port) == (
            f"cannot listen on 127.0.0.1:{port}: Address already in use; choose another --port"
        )
    assert port_problem("127.0.0.1", port) is None  # free again: the probe holds nothing


def test_the_settings_of_a_local_tool_without_internet_access():
    assert SOLARA_ENV["SOLARA_APP"] == APP_MODULE == "sim.app.app"
    assert SOLARA_ENV["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"
    assert SOLARA_ENV["SOLARA_THEME_SHOW_BANNER"] == "False"
    assert SOLARA_ENV["SOLARA_MODE"] == "production"  # no tracebacks in the page
    assert SOLARA_ENV["SOLARA_KERNEL_CULL_TIMEOUT"] == CLOSED_TAB_KEPT == "2m"


@pytest.fixture
def started(monkeypatch, tmp_path):
    """:func:`serve` with uvicorn's ``run`` and Solara's app stood in for: what it was given.

    The environment variables and Solara's settings it sets are put back afterwards.
    """
    pytest.importorskip("uvicorn")
    settings = pytest.importorskip("solara.server.settings")
    import uvicorn

    for name in (TARGET_ENV, DATA_DIRS_ENV, *SOLARA_ENV, "SERVER_NAME", "SERVER_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(settings.main, "mode", "development")
    monkeypatch.setattr(settings.theme, "show_banner", True)
    monkeypatch.setattr(settings.telemetry, "mixpanel_enable", True)
    solara_app = types.ModuleType("solara.server.starlette")
    solara_app.app = object()  # importing the real one starts an IPython shell
    monkeypatch.setitem(sys.modules, "solara.server.starlette", solara_app)
    calls: list[tuple[object, dict]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.append((app, kwargs)))
    monkeypatch.chdir(tmp_path)
    return types.SimpleNamespace(calls=calls, app=solara_app.app, settings=settings)


def test_serve_runs_solara_s_app_inside_the_guard(started, tmp_path):
    serve(
        "small.yaml", host="10.0.0.5", port=9000, data_dirs=["data", tmp_path / "more"], token="t"
    )
    ((guard, kwargs),) = started.calls
    assert isinstance(guard, AccessGuard) and isinstance(guard.app, ChartScript)
    assert guard.app.app is started.app  # Plotly's script served inside the guard
    assert guard.hosts == allowed_hosts("10.0.0.5", 9000)
    assert guard.token == "t" and guard.cookie == cookie_name(9000)
    assert (kwargs["host"], kwargs["port"]) == ("10.0.0.5", 9000)
    # what the page reads: the target and the data folders, as absolute paths
    assert os.environ[TARGET_ENV] == str((tmp_path / "small.yaml").resolve())
    data_dirs = [str((tmp_path / "data").resolve()), str((tmp_path / "more").resolve())]
    assert os.environ[DATA_DIRS_ENV] == os.pathsep.join(data_dirs)
    assert (os.environ["SERVER_NAME"], os.environ["SERVER_PORT"]) == ("10.0.0.5", "9000")
    for name, value in SOLARA_ENV.items():
        assert os.environ[name] == value, name
    # ... and Solara's settings, in case solara was imported before the variables were set
    assert started.settings.main.mode == "production"
    assert started.settings.theme.show_banner is False
    assert started.settings.telemetry.mixpanel_enable is False


def test_on_loopback_the_guard_wants_no_token(started):
    serve("small.yaml")
    ((guard, kwargs),) = started.calls
    assert guard.token is None and guard.hosts == allowed_hosts("127.0.0.1", 8765)
    assert (kwargs["host"], kwargs["port"]) == ("127.0.0.1", 8765)
    assert os.environ[DATA_DIRS_ENV] == ""


def test_an_address_not_of_this_machine_says_so_rather_than_blame_the_port():
    port = _free_port()
    problem = port_problem("192.0.2.1", port)  # TEST-NET-1: no machine's address
    assert problem is not None and problem.startswith(f"cannot listen on 192.0.2.1:{port}: ")
    assert problem.endswith("192.0.2.1 is not an address of this machine; choose another --host")
    assert "--port" not in problem


def _get(app, path: str) -> tuple[list[dict], bool]:
    """A GET of ``path`` through ``app``: the ASGI messages sent, and whether the inner app ran."""
    import asyncio

    sent: list[dict] = []
    passed: list[bool] = []

    async def inner(scope, receive, send):
        passed.append(True)

    requested: list[bool] = []

    async def receive():  # the request, then nothing until the response is done (no disconnect)
        if not requested:
            requested.append(True)
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": path, "headers": [], "query_string": b""}
    asyncio.run(
        app(inner)(scope, receive, send) if app is ChartScript else app(scope, receive, send)
    )
    return sent, bool(passed)


def test_the_live_chart_s_plotly_is_served_from_the_plotly_package():
    pytest.importorskip("plotly")
    pytest.importorskip("starlette")
    from sim.app.plotly_chart import SCRIPT_PATH, script_file

    sent, passed = _get(ChartScript, SCRIPT_PATH)
    assert not passed
    start = sent[0]
    assert start["status"] == 200
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    assert headers["content-type"].startswith("text/javascript")
    assert "immutable" in headers["cache-control"]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    assert body == script_file().read_bytes() and b"window.Plotly = Plotly" in body
    for other in ("/", "/static/plotly.min.js", SCRIPT_PATH + ".map"):
        sent, passed = _get(ChartScript, other)
        assert passed and sent == [], other
