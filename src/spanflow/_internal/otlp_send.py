"""One OTLP request over the wire (gRPC, HTTP protobuf, HTTP JSON), and what its answer means.

An answer is one of three outcomes, decided here and nowhere else:

- ``ACCEPTED``: 2xx / gRPC OK.
- ``RETRYABLE``: the endpoint could not take it now: connection refused or reset, timeout,
  HTTP 429/502/503/504, gRPC UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED,
  CANCELLED, OUT_OF_RANGE, DATA_LOSS — and also HTTP 401/403 and gRPC UNAUTHENTICATED /
  PERMISSION_DENIED, because the data is fine and fixing the token later should deliver it.
- ``REFUSED``: anything else (400, 404, 413, gRPC INVALID_ARGUMENT, ...): sending the same bytes
  again cannot succeed, so they are dropped and counted.
"""

from __future__ import annotations

import enum
import gzip
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import requests

from spanflow._internal.otlp_json import to_otlp_json

GRPC = "grpc"
HTTP_PROTOBUF = "http/protobuf"
HTTP_JSON = "http/json"
PROTOCOLS = (GRPC, HTTP_PROTOBUF, HTTP_JSON)
TRACES = "traces"
LOGS = "logs"
_HTTP_PATHS = {TRACES: "/v1/traces", LOGS: "/v1/logs"}
_GRPC_METHODS = {
    TRACES: "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    LOGS: "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
}
_RETRYABLE_HTTP = frozenset({429, 502, 503, 504})
AUTH_HTTP = frozenset({401, 403})
_UNSUPPORTED_HTTP = frozenset({404, 405, 415})  # what a trace-only receiver answers to /v1/logs
_RETRYABLE_GRPC = frozenset(
    {
        "UNAVAILABLE",
        "DEADLINE_EXCEEDED",
        "RESOURCE_EXHAUSTED",
        "ABORTED",
        "CANCELLED",
        "OUT_OF_RANGE",
        "DATA_LOSS",
    }
)
AUTH_GRPC = frozenset({"UNAUTHENTICATED", "PERMISSION_DENIED"})


class Outcome(enum.Enum):
    """What an endpoint's answer means for the request (see the module docstring)."""

    ACCEPTED = "accepted"
    RETRYABLE = "retryable"
    REFUSED = "refused"


DEFAULT_REQUEST_TIMEOUT_S = 10.0  # OTEL_EXPORTER_OTLP_TIMEOUT's default, 10,000 ms


@dataclass(frozen=True)
class Answer:
    """An outcome and how the endpoint put it (``HTTP 503``, ``connection refused``)."""

    outcome: Outcome
    detail: str
    auth: bool = False  # 401/403/UNAUTHENTICATED/PERMISSION_DENIED: kept, but worth a log line
    unsupported: bool = False  # 404/405/415/UNIMPLEMENTED: no such service (a trace-only backend)


@dataclass(frozen=True)
class LogsOptions:
    """How run records (the logs signal) travel where that differs from the spans' way.

    From ``OTEL_EXPORTER_OTLP_LOGS_*`` and the generic ``OTEL_EXPORTER_OTLP_*`` variables, as
    OpenTelemetry's logs exporter reads them; ``None`` in a field: as for the spans.
    """

    url: str | None = None  # the logs URL (HTTP) or target (gRPC)
    headers: tuple[tuple[str, str], ...] | None = None
    gzip: bool | None = None
    timeout_s: float | None = None


@dataclass(frozen=True)
class OtlpEndpoint:
    """Where to send and how: ``url`` is the traces URL for HTTP, the base URL for gRPC."""

    url: str
    protocol: str = HTTP_PROTOBUF
    headers: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    gzip: bool = field(default=False, compare=False)  # OTEL_EXPORTER_OTLP_COMPRESSION=gzip
    certificate: str | None = field(default=None, compare=False)  # CA file for https
    timeout_s: float = field(default=DEFAULT_REQUEST_TIMEOUT_S, compare=False)  # per request
    logs: LogsOptions = field(default=LogsOptions(), compare=False)

    @property
    def identity(self) -> str:
        """``protocol url``: what names the endpoint in logs and in the spool."""
        return f"{self.protocol} {self.url}"

    def signal_url(self, signal: str) -> str:
        """Where a signal goes: the traces URL (or gRPC target), or the logs one."""
        if signal == LOGS and self.logs.url is not None:
            return self.logs.url
        traces_path = _HTTP_PATHS[TRACES]
        if signal == TRACES or self.protocol == GRPC:
            return self.url
        base = self.url[: -len(traces_path)] if self.url.endswith(traces_path) else self.url
        return base.rstrip("/") + _HTTP_PATHS[signal]

    def signal_headers(self, signal: str) -> tuple[tuple[str, str], ...]:
        """The extra headers (gRPC metadata) of a signal's requests."""
        if signal == LOGS and self.logs.headers is not None:
            return self.logs.headers
        return self.headers

    def signal_gzip(self, signal: str) -> bool:
        """Whether a signal's requests are gzip-compressed."""
        if signal == LOGS and self.logs.gzip is not None:
            return self.logs.gzip
        return self.gzip

    def signal_timeout_s(self, signal: str) -> float:
        """The longest wait for one request of a signal."""
        if signal == LOGS and self.logs.timeout_s is not None:
            return self.logs.timeout_s
        return self.timeout_s


def grpc_target(url: str) -> tuple[str, bool]:
    """``http://host:4317`` → ``("host:4317", secure=False)``; a bare ``host:port`` is insecure."""
    parsed = urlparse(url if "://" in url else f"http://{url}")
    port = parsed.port or 4317
    return f"{parsed.hostname}:{port}", parsed.scheme == "https"


class HttpSender:
    """OTLP/HTTP, protobuf or JSON, over one ``requests`` session."""

    def __init__(self, endpoint: OtlpEndpoint) -> None:
        self._endpoint = endpoint
        self._json = endpoint.protocol == HTTP_JSON
        self._session = requests.Session()
        if endpoint.certificate:
            self._session.verify = endpoint.certificate
        self._headers = {signal: self._signal_headers(signal) for signal in _HTTP_PATHS}

    def _signal_headers(self, signal: str) -> dict[str, str]:
        endpoint = self._endpoint
        headers = {
            **dict(endpoint.signal_headers(signal)),
            "Content-Type": "application/json" if self._json else "application/x-protobuf",
        }
        if endpoint.signal_gzip(signal):
            headers["Content-Encoding"] = "gzip"
        return headers

    def send(self, signal: str, body: bytes, timeout_s: float) -> Answer:
        payload = to_otlp_json(signal, body) if self._json else body
        if self._endpoint.signal_gzip(signal):
            payload = gzip.compress(payload, compresslevel=6)
        try:
            response = self._session.post(
                self._endpoint.signal_url(signal),
                data=payload,
                headers=self._headers[signal],
                timeout=max(timeout_s, 0.01),
            )
        except requests.Timeout:
            return Answer(Outcome.RETRYABLE, "timed out")
        except requests.ConnectionError as exc:
            return Answer(Outcome.RETRYABLE, _connection_detail(exc))
        response.close()
        status = response.status_code
        detail = f"HTTP {status} {response.reason or ''}".strip()
        if 200 <= status < 300:
            return Answer(Outcome.ACCEPTED, detail)
        if status in AUTH_HTTP:
            return Answer(Outcome.RETRYABLE, detail, auth=True)
        if status in _RETRYABLE_HTTP:
            return Answer(Outcome.RETRYABLE, detail)
        return Answer(Outcome.REFUSED, detail, unsupported=status in _UNSUPPORTED_HTTP)

    def close(self) -> None:
        self._session.close()


def _connection_detail(exc: Exception) -> str:
    text = str(exc)
    if "refused" in text.lower():
        return "connection refused"
    return f"connection failed ({type(exc).__name__})"


class GrpcSender:
    """OTLP/gRPC: the Export methods called with the already-encoded request bytes."""

    def __init__(self, endpoint: OtlpEndpoint) -> None:
        import grpc  # checked at configure time (ConfigurationError names the pip install)

        self._grpc: Any = grpc
        self._endpoint = endpoint
        self._channels: dict[str, Any] = {}  # per target: the logs may have their own
        self._lock = threading.Lock()
        self._methods: dict[str, Any] = {}

    def _channel(self, url: str) -> Any:
        grpc = self._grpc
        target, secure = grpc_target(url)
        channel = self._channels.get(target)
        if channel is not None:
            return channel
        # Short reconnect backoff: after a collector restart the channel must not sit in
        # TRANSIENT_FAILURE for grpc's default of up to two minutes.
        options = [
            ("grpc.initial_reconnect_backoff_ms", 500),
            ("grpc.min_reconnect_backoff_ms", 500),
            ("grpc.max_reconnect_backoff_ms", 5000),
        ]
        if secure:
            root_certificates = None
            if self._endpoint.certificate:
                with open(self._endpoint.certificate, "rb") as handle:
                    root_certificates = handle.read()
            credentials = grpc.ssl_channel_credentials(root_certificates=root_certificates)
            channel = grpc.secure_channel(target, credentials, options=options)
        else:
            channel = grpc.insecure_channel(target, options=options)
        self._channels[target] = channel
        return channel

    def send(self, signal: str, body: bytes, timeout_s: float) -> Answer:
        endpoint = self._endpoint
        with self._lock:
            method = self._methods.get(signal)
            if method is None:
                # No serializers: the request is already bytes, the response is not needed.
                channel = self._channel(endpoint.signal_url(signal))
                method = channel.unary_unary(_GRPC_METHODS[signal])
                self._methods[signal] = method
        metadata = tuple((key.lower(), value) for key, value in endpoint.signal_headers(signal))
        compression = self._grpc.Compression.Gzip if endpoint.signal_gzip(signal) else None
        try:
            method(body, timeout=max(timeout_s, 0.01), metadata=metadata, compression=compression)
        except self._grpc.RpcError as exc:
            code = exc.code()
            name = code.name if code is not None else "UNKNOWN"
            detail = f"gRPC {name}"
            if name in AUTH_GRPC:
                return Answer(Outcome.RETRYABLE, detail, auth=True)
            if name in _RETRYABLE_GRPC:
                return Answer(Outcome.RETRYABLE, detail)
            return Answer(Outcome.REFUSED, detail, unsupported=name == "UNIMPLEMENTED")
        return Answer(Outcome.ACCEPTED, "gRPC OK")

    def close(self) -> None:
        with self._lock:
            for channel in self._channels.values():
                channel.close()


Sender = HttpSender | GrpcSender


def make_sender(endpoint: OtlpEndpoint) -> Sender:
    """The sender for ``endpoint``'s protocol."""
    return GrpcSender(endpoint) if endpoint.protocol == GRPC else HttpSender(endpoint)
