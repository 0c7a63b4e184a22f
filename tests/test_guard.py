"""Who may talk to the dashboard's server (sim/app/guard.py): loopback addresses and the Host
values they answer to, and the access guard as an ASGI app (Host, Origin, token and its cookie)
for HTTP requests and WebSocket handshakes.

The guard in front of a real server is tested in tests/test_app_browser.py.
"""

from __future__ import annotations

import asyncio
import socket

from sim.app.guard import (
    AccessGuard,
    allowed_hosts,
    cookie_name,
    host_names,
    is_loopback,
    new_token,
)

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
