"""``spanflow ui``: the web UI over a local run index, or in front of a collector's query API."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
import webbrowser
from collections.abc import Callable
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from spanflow_collector.access import AccessMiddleware, AccessScope, AccessTokens, HostPolicy
from spanflow_collector.api.run_paths import RUN_ID_CONVERTOR
from spanflow_collector.server import check_binding, is_loopback, open_index
from spanflow_collector.ui.static import STATIC_DIR, UiAssetsMissing, ui_middleware

PROXY_TIMEOUT_S = 30.0
_FORWARDED_HEADERS = (
    "content-type",
    "cache-control",
    # artifact downloads: saved as a file under a safe name, never sniffed or rendered
    "content-disposition",
    "x-content-type-options",
    "content-security-policy",
)


def index_app(db: str, *, host: str, token: str | None = None) -> Starlette:
    """The UI and the query API over the run index at ``db`` (SQLite path or PostgreSQL URL).

    Args:
        db: The run index.
        host: The address served (``Host`` values other than it and loopback names get 421).
        token: When set, API calls must carry it; it grants reads only (the UI never deletes).
    """
    from spanflow_collector.api import build_routes

    tokens = AccessTokens([(token, AccessScope.READ)])
    # Only the read routes: without a token every request passes access control, and a page on
    # any loopback origin could otherwise DELETE runs through a server meant for browsing.
    routes = [route for route in build_routes(open_index(db)) if _reads_only(route)]
    return _ui_app(routes, host=host, tokens=tokens)


def _reads_only(route: BaseRoute) -> bool:
    methods: set[str] = getattr(route, "methods", None) or set()
    return bool(methods) and methods <= {"GET", "HEAD"}


def proxy_app(collector_url: str, *, host: str, token: str | None = None) -> Starlette:
    """The UI, forwarding ``GET /api/...`` to the collector at ``collector_url``.

    Args:
        collector_url: The collector's HTTP base URL, e.g. ``http://127.0.0.1:4318``.
        host: The address served (``Host`` values other than it and loopback names get 421).
        token: The collector's bearer token, added to forwarded requests that carry none.
    """
    base = collector_url.rstrip("/")

    def forward(request: Request) -> Response:
        # The path as the browser sent it (still percent-encoded), not Starlette's decoded one.
        raw_path = request.scope.get("raw_path")
        path = raw_path.decode("latin-1") if raw_path else request.url.path
        url = f"{base}{path}"
        if request.url.query:
            url += f"?{request.url.query}"
        headers = {"accept": "application/json"}
        authorization = request.headers.get("authorization")
        if authorization:
            headers["authorization"] = authorization
        elif token:
            headers["authorization"] = f"Bearer {token}"
        outgoing = urllib.request.Request(url, headers=headers, method="GET")
        try:
            with urllib.request.urlopen(outgoing, timeout=PROXY_TIMEOUT_S) as answer:
                return _relay(answer.status, answer.headers, answer.read())
        except urllib.error.HTTPError as error:
            return _relay(error.code, error.headers, error.read())
        except (urllib.error.URLError, OSError) as error:
            message = f"the collector at {base} did not answer: {error}"
            return JSONResponse({"error": "bad_gateway", "message": message}, status_code=502)

    # The collector checks tokens; this server checks only Host and Origin.
    # run_path, not path: a run id may hold a line break (run_paths.py).
    routes: list[BaseRoute] = [Route(f"/api/{{path:{RUN_ID_CONVERTOR}}}", forward, methods=["GET"])]
    return _ui_app(routes, host=host, tokens=AccessTokens([]))


def _ui_app(routes: list[BaseRoute], *, host: str, tokens: AccessTokens) -> Starlette:
    """The UI's files in front of access control (Host, Origin, token) and ``routes``."""
    hosts = HostPolicy(host, (), enforce=is_loopback(host))
    ui = ui_middleware(hosts)
    if not ui:
        raise UiAssetsMissing(
            f"the web UI is not built ({STATIC_DIR / 'index.html'} is missing); "
            "run `make ui` in a source checkout"
        )
    access = Middleware(AccessMiddleware, tokens=tokens, hosts=hosts)
    return Starlette(routes=routes, middleware=[*ui, access])


def _relay(status: int, headers: Any, body: bytes) -> Response:
    kept = {name: headers[name] for name in _FORWARDED_HEADERS if headers.get(name)}
    if status == 401:  # the browser's own token prompt needs to know a token is wanted
        kept["www-authenticate"] = headers.get("www-authenticate") or 'Bearer realm="spanflow"'
    return Response(body, status_code=status, headers=kept)


def serve(
    app: Starlette,
    *,
    host: str,
    port: int,
    token: str | None,
    describe: str,
    open_browser: bool = False,
    announce: Callable[[str], None] = print,
) -> None:
    """Serve ``app`` until interrupted, announcing one line with the URL when listening.

    Raises:
        CollectorConfigError: ``host`` is beyond loopback and no token protects the API.
        OSError: the port could not be bound.
    """
    check_binding(host, token)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    bound_port = listener.getsockname()[1]
    shown_host = f"[{host}]" if family == socket.AF_INET6 else host
    url = f"http://{shown_host}:{bound_port}/"
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    original_startup = server.startup

    async def startup(sockets: list[socket.socket] | None = None) -> None:
        await original_startup(sockets=sockets)
        announce(f"spanflow ui ready: {url} ({describe})")
        if open_browser:
            webbrowser.open(url)

    server.startup = startup  # type: ignore[method-assign]
    server.run(sockets=[listener])
