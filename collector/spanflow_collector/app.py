"""One Starlette application: the OTLP/HTTP receiver, the query API (when present), request
limits and access control, applied to every route alike."""

from __future__ import annotations

import importlib
import importlib.util

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from spanflow.query.store import RunIndexStore
from spanflow_collector.access import AccessMiddleware, AccessTokens, HostPolicy
from spanflow_collector.admission import IngestGate
from spanflow_collector.connections import RequestLimitsMiddleware
from spanflow_collector.http import OtlpHttpReceiver
from spanflow_collector.http_logs import OtlpHttpLogsReceiver
from spanflow_collector.ingest import IngestPipeline
from spanflow_collector.limits import DEFAULT_MAX_BODY_BYTES, MAX_HEADER_BYTES, ReceiverLimits
from spanflow_collector.prepare import PrepareWorkers
from spanflow_collector.ui import ui_middleware

_API_MODULE = "spanflow_collector.api"


def build_app(
    store: RunIndexStore,
    pipeline: IngestPipeline,
    *,
    gate: IngestGate,
    tokens: AccessTokens,
    hosts: HostPolicy,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    limits: ReceiverLimits | None = None,
    workers: PrepareWorkers | None = None,
) -> Starlette:
    """The collector's ASGI app.

    Args:
        store: The run index the query API reads (ingest writes go through ``pipeline``).
        pipeline: The ingest pipeline receivers submit decoded spans to.
        gate: Admission to the ingest queue, shared with the gRPC receiver.
        tokens: Bearer tokens and their scopes; none configured means no token is asked for.
        hosts: Which ``Host`` and ``Origin`` values are answered.
        max_body_bytes: OTLP/HTTP body limit, compressed and decompressed.
        limits: The body deadline and the decode workers' threshold; the defaults when None.
        workers: Worker processes for large trace bodies, or None to decode all in threads.
    """
    limits = limits or ReceiverLimits()
    routes: list[BaseRoute] = [
        *OtlpHttpReceiver(
            pipeline,
            gate,
            max_body_bytes=max_body_bytes,
            workers=workers,
            process_decode_min_bytes=limits.process_decode_min_bytes,
        ).routes(),
        *OtlpHttpLogsReceiver(pipeline, gate, max_body_bytes=max_body_bytes).routes(),
        *_api_routes(store),
    ]
    # Outermost first: size of the head, then Host, Origin and token, before any body is read.
    middleware = [
        Middleware(
            RequestLimitsMiddleware,
            body_timeout_s=limits.body_timeout_s,
            max_header_bytes=MAX_HEADER_BYTES,
        ),
        *ui_middleware(hosts),  # the web UI's files: Host-checked, tokenless (they hold no data)
        Middleware(AccessMiddleware, tokens=tokens, hosts=hosts),
    ]
    return Starlette(routes=routes, middleware=middleware)


def _api_routes(store: RunIndexStore) -> list[BaseRoute]:
    """The query API's routes if this installation has the API module, else none."""
    if importlib.util.find_spec(_API_MODULE) is None:
        return []
    routes: list[BaseRoute] = importlib.import_module(_API_MODULE).build_routes(store)
    return routes
