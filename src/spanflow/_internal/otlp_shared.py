"""The process's transports, one per endpoint, shared by every exporter that sends there.

Exporters :func:`acquire` the transport of their endpoint and :func:`release` it when they shut
down; the last release closes it (what is still queued goes to the spool). :func:`post_logs`
sends an encoded OTLP logs request through the live transport of the same endpoint, so log
records share its ordering, spool and retries.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass

from spanflow._internal.otlp_send import HTTP_PROTOBUF, LOGS, OtlpEndpoint
from spanflow._internal.otlp_transport import OtlpTransport
from spanflow._internal.spool import Spool

_LOGS_PATH = "/v1/logs"
_TRACES_PATH = "/v1/traces"


@dataclass
class _Shared:
    transport: OtlpTransport
    users: int = 0


_registry_lock = threading.Lock()
_registry: dict[tuple[object, ...], _Shared] = {}


def acquire(
    endpoint: OtlpEndpoint,
    spool: Spool | None,
    *,
    request_timeout_s: float | None = None,
) -> OtlpTransport:
    """The process's transport for ``endpoint`` (shared, counted; give it back with release).

    Each request waits at most ``request_timeout_s``, by default the endpoint's own timeout
    (``OTEL_EXPORTER_OTLP_TIMEOUT``).
    """
    if request_timeout_s is None:
        request_timeout_s = endpoint.timeout_s
    key = (
        endpoint.identity,
        endpoint.headers,
        endpoint.logs,
        spool.root if spool else None,
        spool.max_bytes if spool else 0,
        request_timeout_s,
    )
    with _registry_lock:
        shared = _registry.get(key)
        if shared is None:
            transport = OtlpTransport(endpoint, spool, request_timeout_s=request_timeout_s)
            shared = _registry[key] = _Shared(transport)
        shared.users += 1
        first_user = shared.users == 1
    if first_user:
        shared.transport.check_spool()  # deliver what earlier processes left for this endpoint
    return shared.transport


def release(transport: OtlpTransport, *, timeout_s: float = 0.5) -> None:
    """Give back a transport from :func:`acquire`; the last user closes it."""
    with _registry_lock:
        for key, shared in list(_registry.items()):
            if shared.transport is transport:
                shared.users -= 1
                if shared.users > 0:
                    return
                del _registry[key]
                break
    transport.close(timeout_s)


def spool_unsent(timeout_s: float) -> None:
    """Close every transport of this process, so what its endpoint has not taken is spooled.

    For a process about to leave without ``shutdown()`` (a ``multiprocessing`` child, which
    must not close what it shares with its parent): a forked child's transports are its own.
    """
    with _registry_lock:
        transports = [shared.transport for shared in _registry.values()]
    for transport in transports:
        transport.close(timeout_s)


def post_logs(
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    timeout_s: float,
    *,
    spool: Spool | None = None,
) -> bool:
    """POST an encoded ``ExportLogsServiceRequest`` to ``url`` (``{base}/v1/logs``).

    Goes through the live transport whose logs URL is ``url`` when there is one (it spools if
    the endpoint is down), else through a transport made for this call and closed after it.
    Returns True when the endpoint accepted it within ``timeout_s``.
    """
    with _registry_lock:
        live = [
            shared.transport
            for shared in _registry.values()
            if shared.transport.endpoint.signal_url(LOGS) == url
        ]
    if live:
        return live[0].send(LOGS, body, timeout_s=timeout_s)
    base = url[: -len(_LOGS_PATH)] if url.endswith(_LOGS_PATH) else url.rstrip("/")
    endpoint = OtlpEndpoint(base + _TRACES_PATH, HTTP_PROTOBUF, tuple(headers.items()))
    transport = acquire(endpoint, spool)
    try:
        return transport.send(LOGS, body, timeout_s=timeout_s)
    finally:
        release(transport)
