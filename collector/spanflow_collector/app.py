"""One Starlette application: the OTLP/HTTP receiver, the query API (when present) and auth."""

from __future__ import annotations

import hmac
import importlib
import importlib.util
import json

from starlette.applications import Starlette
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from spanflow_collector.http import DEFAULT_MAX_BODY_BYTES, OtlpHttpReceiver
from spanflow_collector.ingest import IngestPipeline
from spanflow_collector.store import RunIndexStore

_API_MODULE = "spanflow_collector.api"


def build_app(
    store: RunIndexStore,
    pipeline: IngestPipeline,
    *,
    token: str | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> Starlette:
    """The collector's ASGI app.

    Args:
        store: The run index the query API reads (ingest writes go through ``pipeline``).
        pipeline: The ingest pipeline receivers submit decoded spans to.
        token: When set, every request must carry ``Authorization: Bearer <token>``.
        max_body_bytes: OTLP/HTTP body limit, compressed and decompressed.
    """
    routes: list[BaseRoute] = [
        *OtlpHttpReceiver(pipeline, max_body_bytes=max_body_bytes).routes(),
        *_api_routes(store),
    ]
    app = Starlette(routes=routes)
    if token:
        app.add_middleware(BearerTokenMiddleware, token=token)
    return app


def _api_routes(store: RunIndexStore) -> list[BaseRoute]:
    """The query API's routes if this installation has the API module, else none."""
    if importlib.util.find_spec(_API_MODULE) is None:
        return []
    routes: list[BaseRoute] = importlib.import_module(_API_MODULE).build_routes(store)
    return routes


class BearerTokenMiddleware:
    """Answer 401 to any HTTP request without ``Authorization: Bearer <token>``.

    Args:
        app: The wrapped ASGI app.
        token: The shared secret clients present.
    """

    def __init__(self, app: ASGIApp, *, token: str) -> None:
        self._app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass authorized requests through; refuse the rest before reading their bodies."""
        if scope["type"] != "http" or self._authorized(scope):
            await self._app(scope, receive, send)
            return
        body = json.dumps({"code": 16, "message": "missing or wrong bearer token"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b'Bearer realm="spanflow"'),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _authorized(self, scope: Scope) -> bool:
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        for key, value in headers:
            if key == b"authorization":
                return hmac.compare_digest(value, self._expected)
        return False
