"""Serve the built UI files, with a Content-Security-Policy that forbids inline code and CDNs.

The shell (HTML, JavaScript, CSS) holds no run data, so it is served without the collector's
bearer token: a browser cannot attach a token to a page load. Every datum comes from the query
API, which stays behind the token; the app asks for it when the API answers 401. The ``Host``
check against DNS rebinding still applies to the shell.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

from spanflow_collector.access import HostPolicy

STATIC_DIR = Path(__file__).resolve().parent / "static"
"""Where ``make ui`` writes the built front-end (git-ignored, shipped in the wheel)."""

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
_SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
_INDEX_PATHS = ("/", "/index.html")
_ASSET_PREFIX = "/assets/"
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


class UiAssetsMissing(RuntimeError):
    """The front-end was not built into the package (a source checkout without ``make ui``)."""


class UiStaticMiddleware:
    """Answer the UI's own paths from ``static_dir``; hand every other request to ``app``.

    Args:
        app: The wrapped ASGI app (access control, the OTLP receiver and query API).
        hosts: The ``Host`` values answered (DNS rebinding); others get 421.
        static_dir: The built front-end (``index.html`` and ``assets/``).
    """

    def __init__(self, app: ASGIApp, *, hosts: HostPolicy, static_dir: Path = STATIC_DIR) -> None:
        self._app = app
        self._hosts = hosts
        self._files = _load_files(static_dir)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve ``GET``/``HEAD`` of a UI path; pass everything else through untouched."""
        path = scope.get("path", "") if scope["type"] == "http" else ""
        is_ui_path = path in _INDEX_PATHS or path.startswith(_ASSET_PREFIX)
        if not is_ui_path or scope.get("method") not in ("GET", "HEAD"):
            await self._app(scope, receive, send)
            return
        host = dict(scope["headers"]).get(b"host")
        if not self._hosts.host_allowed(host.decode("latin-1") if host is not None else None):
            body = b"this server does not answer for that Host\n"
            await _send(send, scope, 421, b"text/plain; charset=utf-8", body, cache=False)
            return
        name = "index.html" if path in _INDEX_PATHS else path.removeprefix("/")
        found = self._files.get(name)
        if found is None:
            await _send(send, scope, 404, b"text/plain; charset=utf-8", b"not found\n", cache=False)
            return
        media_type, body = found
        # index.html names hashed asset files, so only it must be revalidated on every load.
        await _send(send, scope, 200, media_type, body, cache=name != "index.html")


def _load_files(static_dir: Path) -> dict[str, tuple[bytes, bytes]]:
    """Every built file, read once: the app is small and never changes while serving."""
    index = static_dir / "index.html"
    if not index.is_file():
        raise UiAssetsMissing(
            f"the web UI is not built ({index} is missing); run `make ui` in a source checkout"
        )
    files: dict[str, tuple[bytes, bytes]] = {}
    for file in static_dir.rglob("*"):
        if not file.is_file():
            continue
        name = file.relative_to(static_dir).as_posix()
        guessed = _TYPES.get(file.suffix) or mimetypes.guess_type(file.name)[0]
        media_type = guessed or "application/octet-stream"
        if media_type.startswith("text/") and "charset" not in media_type:
            media_type += "; charset=utf-8"
        files[name] = (media_type.encode(), file.read_bytes())
    return files


async def _send(
    send: Send, scope: Scope, status: int, media_type: bytes, body: bytes, *, cache: bool
) -> None:
    cache_control = b"public, max-age=31536000, immutable" if cache else b"no-cache"
    headers = [
        (b"content-type", media_type),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", cache_control),
        *_SECURITY_HEADERS,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


def ui_middleware(hosts: HostPolicy, *, static_dir: Path = STATIC_DIR) -> list[Middleware]:
    """The UI's middleware, to place before access control; none when the UI is not built.

    Before the token check, so that page loads need no token; the query API behind it still does.
    """
    if not (static_dir / "index.html").is_file():
        return []
    return [Middleware(UiStaticMiddleware, hosts=hosts, static_dir=static_dir)]
