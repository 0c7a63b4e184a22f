"""Serving the dashboard: Solara's web app under uvicorn, on one address, until stopped.

Settings that matter on a machine without internet access and for a local tool: the page's
JavaScript and fonts come from the ``solara-assets`` package (no CDN), the live chart's Plotly
from the ``plotly`` package (:class:`ChartScript`), Solara's usage
telemetry is off, the "runs on Solara" banner is hidden, production mode (no tracebacks in the
page), and the state of a closed browser tab (its model) is dropped after
:data:`CLOSED_TAB_KEPT` instead of Solara's 24 hours.

Solara's app is served inside :class:`sim.app.guard.AccessGuard`: only requests naming the
served address (``Host``) from the dashboard's own page (``Origin``) get through, and beyond
loopback only with the per-start token.
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Sequence
from pathlib import Path

from sim.app import APP_MODULE, DATA_DIRS_ENV, TARGET_ENV
from sim.app.guard import (
    TOKEN_PARAM,
    AccessGuard,
    ASGIApp,
    Receive,
    Scope,
    Send,
    allowed_hosts,
    cookie_name,
)

#: How long the state of a closed tab is kept, for a reload to find it (Solara's syntax).
CLOSED_TAB_KEPT = "2m"
#: Solara's settings, as environment variables read when solara is first imported.
SOLARA_ENV = {
    "SOLARA_APP": APP_MODULE,
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
    "SOLARA_THEME_SHOW_BANNER": "False",
    "SOLARA_THEME_TITLE": "cdpsim dashboard",
    "SOLARA_KERNEL_CULL_TIMEOUT": CLOSED_TAB_KEPT,
    "SOLARA_MODE": "production",
}


class ChartScript:
    """Serves Plotly's JavaScript for the live chart at :data:`sim.app.plotly_chart.SCRIPT_PATH`.

    The file is the one the installed ``plotly`` package ships (so the page never asks a CDN);
    its name carries the version, so the browser may keep it (``Cache-Control: immutable``).
    Every other request goes to ``app``.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a GET of the script, pass anything else on."""
        from sim.app.plotly_chart import SCRIPT_PATH, script_file

        if scope["type"] == "http" and scope.get("path") == SCRIPT_PATH:
            from starlette.responses import FileResponse

            response = FileResponse(
                script_file(),
                media_type="text/javascript",
                headers={"Cache-Control": "public, max-age=31536000, immutable"},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def url(host: str, port: int, token: str | None = None) -> str:
    """The page's address (IPv6 addresses in brackets), with ``?token=…`` when there is one."""
    shown = f"[{host}]" if ":" in host else host
    query = f"?{TOKEN_PARAM}={token}" if token else ""
    return f"http://{shown}:{port}/{query}"


def port_problem(host: str, port: int) -> str | None:
    """Why the server could not listen on ``host:port`` (in use, no such address), or ``None``.

    The message says what to change: ``--host`` when the address is not one of this machine's,
    ``--port`` otherwise (in use, or a port the user may not open).
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return f"cannot listen on {host}: {exc.strerror or exc}"
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            why = f"cannot listen on {host}:{port}: {exc.strerror or exc}"
            if exc.errno == errno.EADDRNOTAVAIL:
                return f"{why}; {host} is not an address of this machine; choose another --host"
            return f"{why}; choose another --port"
    return None


def serve(
    target: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    data_dirs: Sequence[str | Path] = (),
    token: str | None = None,
) -> None:
    """Serve the dashboard of ``target`` until interrupted (Ctrl-C or SIGTERM).

    Args:
        target: a scenario file or a run, batch or sweep folder (checked by the caller with
            :func:`sim.app.targets.resolve`).
        host: the address to listen on (the caller decides whether a non-loopback one is
            allowed: :func:`sim.app.guard.is_loopback`).
        port: the TCP port.
        data_dirs: extra folders a scenario's data files may come from.
        token: the secret every client must show (:func:`sim.app.guard.new_token`), or
            ``None`` for none (loopback).
    """
    os.environ[TARGET_ENV] = str(Path(target).resolve())
    os.environ[DATA_DIRS_ENV] = os.pathsep.join(str(Path(d).resolve()) for d in data_dirs)
    os.environ.update(SOLARA_ENV)
    os.environ["SERVER_NAME"], os.environ["SERVER_PORT"] = host, str(port)

    import uvicorn
    from solara.server import settings
    from solara.server.starlette import app

    settings.main.mode = "production"
    settings.theme.show_banner = False
    settings.telemetry.mixpanel_enable = False
    guarded = AccessGuard(
        ChartScript(app), hosts=allowed_hosts(host, port), token=token, cookie=cookie_name(port)
    )
    uvicorn.run(
        guarded,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
    )
