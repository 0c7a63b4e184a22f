"""Who may talk to the dashboard's server: Host, Origin and, beyond loopback, a per-start token.

Solara's web app checks none of these: a web page the user visits could make the browser send
requests to the dashboard (DNS rebinding: a name of the attacker's that turns into 127.0.0.1)
or open its WebSocket (the browser lets any page open a WebSocket to any address; only the
server can refuse it by its ``Origin``). :class:`AccessGuard` is an ASGI middleware around
Solara's app that, for every HTTP request and every WebSocket handshake:

1. requires a ``Host`` header naming an address the server was started on
   (:func:`allowed_hosts`): a rebinding page's requests carry the attacker's name;
2. requires an ``Origin``, when the browser sends one, of ``http://`` and such a host: a
   cross-site page's requests and WebSockets carry that page's origin;
3. beyond loopback, requires the per-start token (:func:`new_token`), as Jupyter does: in the
   query (``?token=…``, the URL ``cdpsim dashboard`` prints), which sets an HttpOnly,
   SameSite=Strict cookie, or in that cookie (what the page's assets and WebSocket carry).

A refused HTTP request gets ``403`` with a plain-text reason; a refused WebSocket is closed
before it is accepted (uvicorn answers the handshake with ``403``). No solara import here.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import secrets
import socket
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

#: ASGI types (as in the ASGI spec, without a dependency for them).
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: ``--host`` values that listen on every address of the machine.
WILDCARDS = ("0.0.0.0", "::", "")
#: The loopback names a loopback server also answers to.
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
#: The query parameter that carries the token.
TOKEN_PARAM = "token"
#: Bytes of randomness in a token (43 URL-safe characters).
TOKEN_BYTES = 32
#: WebSocket close code for a refused handshake (policy violation).
WS_POLICY_VIOLATION = 1008

log = logging.getLogger("cdpsim.dashboard")


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address: 127.0.0.0/8, ``::1`` or ``localhost``.

    A name other than ``localhost`` counts as remote even if it resolves to loopback: what the
    user typed is what is judged, not what DNS says today.
    """
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_names(host: str) -> tuple[str, ...]:
    """The names and addresses a server listening on ``host`` can be reached by.

    Loopback: ``host`` and :data:`LOOPBACK_NAMES`. Every address (``0.0.0.0``, ``::``): the
    loopback names, this machine's host name, its fully qualified name and their addresses.
    Otherwise ``host`` alone. The first is the one to print in the URL.
    """
    if is_loopback(host):
        return tuple(dict.fromkeys((host, *LOOPBACK_NAMES)))
    if host not in WILDCARDS:
        return (host,)
    names = [socket.gethostname(), socket.getfqdn()]
    for name in list(names):
        try:
            names += [info[4][0] for info in socket.getaddrinfo(name, None)]
        except OSError:
            continue
    return tuple(dict.fromkeys(n for n in (*names, *LOOPBACK_NAMES) if n))


def _netloc(name: str, port: int) -> str:
    """``name:port``, an IPv6 address in brackets (as a browser writes ``Host``)."""
    return f"[{name}]:{port}" if ":" in name else f"{name}:{port}"


def allowed_hosts(host: str, port: int) -> frozenset[str]:
    """The ``Host`` header values the server on ``host:port`` accepts (lower case).

    Args:
        host: the address it listens on (``--host``).
        port: its TCP port; on port 80 the names without a port are accepted too.
    """
    names = [n.lower() for n in host_names(host)]
    allowed = {_netloc(n, port) for n in names}
    if port == 80:
        allowed |= {f"[{n}]" if ":" in n else n for n in names}
    return frozenset(allowed)


def new_token() -> str:
    """A fresh secret for one start of the server (URL-safe text)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def cookie_name(port: int) -> str:
    """The token cookie's name; cookies ignore ports, so two dashboards on one host keep theirs."""
    return f"cdpsim-dashboard-token-{port}"


class AccessGuard:
    """ASGI middleware: refuse requests and WebSockets with a foreign Host or Origin, or no token.

    Args:
        app: the ASGI app guarded (Solara's Starlette app).
        hosts: the accepted ``Host`` values (:func:`allowed_hosts`).
        token: the per-start token, or ``None`` for none (loopback).
        cookie: the token cookie's name (:func:`cookie_name`).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        hosts: Iterable[str],
        token: str | None = None,
        cookie: str = "cdpsim-dashboard-token",
    ) -> None:
        self.app = app
        self.hosts = frozenset(h.lower() for h in hosts)
        self.token = token
        self.cookie = cookie

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check an HTTP or WebSocket scope, then pass it on or refuse it; others pass."""
        kind = scope.get("type")
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        problem, by_query = self.check(scope)
        if problem:
            log.warning("cdpsim dashboard: refused %s %s: %s", kind, scope.get("path", ""), problem)
            if kind == "websocket":
                await receive()  # the client's websocket.connect
                await send({"type": "websocket.close", "code": WS_POLICY_VIOLATION})
                return
            body = f"403 Forbidden: {problem}\n".encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 403,
                    "headers": [
                        (b"content-type", b"text/plain; charset=utf-8"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        if by_query and kind == "http":
            send = self._setting_cookie(send)
        await self.app(scope, receive, send)

    def check(self, scope: Scope) -> tuple[str, bool]:
        """Why ``scope`` is refused (``""`` if it is not), and whether its query had the token."""
        headers = _headers(scope)
        hosts = headers.get("host", [])
        if len(hosts) != 1:
            return (
                "the request has no Host header, or several; open the URL cdpsim dashboard printed",
                False,
            )
        host = hosts[0].lower()
        if host not in self.hosts:
            return (
                f"Host {hosts[0]!r} is not an address this dashboard serves "
                f"({', '.join(sorted(self.hosts))}); open the URL cdpsim dashboard printed",
                False,
            )
        for origin in headers.get("origin", []):
            if not origin.lower().startswith("http://") or origin[7:].lower() not in self.hosts:
                return (
                    f"Origin {origin!r} is another site: only the dashboard's own page may "
                    "talk to it",
                    False,
                )
        if self.token is None:
            return "", False
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if any(_same(t, self.token) for t in query.get(TOKEN_PARAM, [])):
            return "", True
        if any(_same(t, self.token) for t in _cookies(headers).get(self.cookie, [])):
            return "", False
        return (
            "this dashboard needs its token: open the URL with ?token=… that cdpsim dashboard "
            "printed when it started",
            False,
        )

    def _setting_cookie(self, send: Send) -> Send:
        """``send`` with the token cookie added to the response's headers."""
        assert self.token is not None
        cookie = f"{self.cookie}={self.token}; Path=/; HttpOnly; SameSite=Strict".encode()

        async def sending(message: Message) -> None:
            if message.get("type") == "http.response.start":
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"set-cookie", cookie)],
                }
            await send(message)

        return sending


def _headers(scope: Scope) -> dict[str, list[str]]:
    """The scope's headers by lower-case name, each with its values in order."""
    found: dict[str, list[str]] = {}
    for name, value in scope.get("headers", []):
        found.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
    return found


def _cookies(headers: dict[str, list[str]]) -> dict[str, list[str]]:
    """The cookies of the ``Cookie`` headers, ``name=value`` pairs split at ``;``.

    Leniently, as browsers send them: another site's odd cookie on the same host (cookies
    ignore ports) must not hide ours, as it would from :class:`http.cookies.SimpleCookie`.
    """
    found: dict[str, list[str]] = {}
    for line in headers.get("cookie", []):
        for pair in line.split(";"):
            name, equals, value = pair.partition("=")
            if equals:
                found.setdefault(name.strip(), []).append(value.strip().strip('"'))
    return found


def _same(given: str, token: str) -> bool:
    """Constant-time comparison, so the token cannot be guessed by timing."""
    return hmac.compare_digest(given.encode(), token.encode())
