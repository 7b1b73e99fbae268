"""The OTLP/gRPC receiver: ``TraceService/Export`` and, for run records, ``LogsService/Export``.

Built on grpcio and opentelemetry-proto's generated servicer. ``AccessInterceptor`` checks the
bearer token of every call, to every service, before the request message is read, let alone
deserialised; then the request bytes go through the same protobuf decoder, admission gate and
ingest pipeline as OTLP/HTTP. Status codes follow
https://opentelemetry.io/docs/specs/otlp/#otlpgrpc-response: OK with ``partial_success`` for
invalid spans, UNAVAILABLE (retryable) when the queue or this client's share of it is full or
the store failed, UNAUTHENTICATED without a known token, PERMISSION_DENIED with a token that
lacks the ingest scope, RESOURCE_EXHAUSTED above the message size or span count limits.

The servicer is registered with a raw-bytes request deserializer (``add_trace_service``;
grpcio still inflates gzip), so a malformed message is answered INVALID_ARGUMENT with the
reason instead of grpcio's INTERNAL for a failed deserialization.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final
from urllib.parse import unquote

import grpc
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from spanflow_collector.access import AccessScope, AccessTokens
from spanflow_collector.admission import IngestGate, RequestTooLargeError, client_key
from spanflow_collector.http import STORE_UNAVAILABLE, DecodedT
from spanflow_collector.ingest import IngestPipeline, IngestUnavailableError, Payload
from spanflow_collector.otlp import DecodedSpans, OtlpDecodeError, parse_protobuf_request
from spanflow_collector.otlp.logs import decode_logs_request
from spanflow_collector.otlp.run_records import DecodedRunRecords

GRPC_WORKER_THREADS: Final = 16
MAX_CONCURRENT_RPCS: Final = 4 * GRPC_WORKER_THREADS
"""Calls in progress or waiting for a worker; more are refused RESOURCE_EXHAUSTED at once, so
waiting messages (up to the size limit each) cannot pile up in memory."""
CONNECTION_IDLE_MS: Final = 5 * 60 * 1000


class AccessInterceptor(grpc.ServerInterceptor):  # type: ignore[misc]
    """Refuse calls without a token granting ``ingest``, before reading the request message.

    Every spanflow gRPC service receives data, so every method needs the ingest scope.

    Args:
        tokens: The configured tokens; when none are, every call passes.
    """

    def __init__(self, tokens: AccessTokens) -> None:
        self._tokens = tokens

    def intercept_service(self, continuation: Callable[[Any], Any], details: Any) -> Any:
        """The method's own handler, or one that aborts without touching the request."""
        if not self._tokens.enabled:
            return continuation(details)
        authorization = None
        for key, value in details.invocation_metadata or ():
            if key == "authorization":
                authorization = value
                break
        granted = self._tokens.scopes_for(authorization)
        if granted is None:
            return _refusal(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token")
        if AccessScope.INGEST not in granted:
            return _refusal(
                grpc.StatusCode.PERMISSION_DENIED, "this token does not grant the ingest scope"
            )
        return continuation(details)


def _refusal(code: grpc.StatusCode, message: str) -> Any:
    # A client-streaming handler is started as soon as the call arrives and reads messages only
    # when iterated; this one never iterates, so the (possibly huge) request is neither waited
    # for nor deserialised. Clients cannot tell: the wire format is the same.
    def abort(_requests: Any, context: grpc.ServicerContext) -> None:
        context.abort(code, message)

    return grpc.stream_unary_rpc_method_handler(abort)


_TRACE_SERVICE: Final = "opentelemetry.proto.collector.trace.v1.TraceService"


class _IngestingService:
    """What both OTLP services do with a request: admit, decode, cap, commit, collect refusals.

    Args:
        pipeline: Where decoded items go.
        gate: Admission to the ingest queue (item cap, per-client share).
    """

    def __init__(self, pipeline: IngestPipeline, gate: IngestGate) -> None:
        self._pipeline = pipeline
        self._gate = gate

    def _ingest(
        self, context: Any, decode: Callable[[], tuple[DecodedT, Payload, int]]
    ) -> DecodedT:
        """``decode()``'s result once its items are committed, or abort the call saying why.

        ``decode`` returns what the answer reports on, what to queue and how many items it
        refused; it may raise ``OtlpDecodeError``.
        """
        sender = peer_key(context.peer())
        try:
            self._gate.check_share(sender)
        except IngestUnavailableError as exc:
            context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
        try:
            decoded, payload, refused = decode()
        except OtlpDecodeError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        try:
            self._gate.check_size(len(payload) + refused)
        except RequestTooLargeError as exc:
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(exc))
        try:
            rejections = self._gate.submit(
                sender, len(payload), lambda: self._pipeline.submit(payload)
            ).result()
        except IngestUnavailableError as exc:
            context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
        except Exception:
            # The pipeline logged the store's error; it stays out of the answer.
            context.abort(grpc.StatusCode.UNAVAILABLE, STORE_UNAVAILABLE)
        for reason in rejections:
            decoded.reject(reason)
        return decoded


class OtlpGrpcTraceService(_IngestingService, trace_service_pb2_grpc.TraceServiceServicer):
    """The TraceService implementation: decode, admit, commit, then answer."""

    def Export(self, request: Any, context: Any) -> Any:
        """Store the request's valid spans and answer once they are committed.

        ``request`` is the serialized ``ExportTraceServiceRequest`` (see ``add_trace_service``).
        """

        def decode() -> tuple[DecodedSpans, Payload, int]:
            decoded = parse_protobuf_request(request)
            return decoded, decoded.records, decoded.rejected_spans

        decoded = self._ingest(context, decode)
        response = ExportTraceServiceResponse()
        if decoded.rejected_spans:
            response.partial_success.rejected_spans = decoded.rejected_spans
            response.partial_success.error_message = decoded.error_message
        return response


class OtlpGrpcLogsService(_IngestingService, logs_service_pb2_grpc.LogsServiceServicer):
    """The LogsService implementation: spanflow run records in, other logs acknowledged; a run
    record counts as one item against the queue."""

    def Export(self, request: Any, context: Any) -> Any:
        """Store the request's run records and answer once they are committed."""

        def decode() -> tuple[DecodedRunRecords, Payload, int]:
            decoded = decode_logs_request(request)
            return decoded, decoded.records, decoded.rejected_log_records

        decoded = self._ingest(context, decode)
        response = ExportLogsServiceResponse()
        if decoded.rejected_log_records:
            response.partial_success.rejected_log_records = decoded.rejected_log_records
            response.partial_success.error_message = decoded.error_message
        return response


def peer_key(peer: str) -> str:
    """``client_key`` for a gRPC peer such as ``ipv4:10.0.0.5:51234`` or ``ipv6:[::1]:80``."""
    kind, _, address = peer.partition(":")
    if kind not in ("ipv4", "ipv6"):
        return peer
    host, _, port = unquote(address).rpartition(":")  # some grpc versions write %5B::1%5D
    return client_key(host.strip("[]"), int(port) if port.isdigit() else None)


def add_trace_service(service: OtlpGrpcTraceService, server: grpc.Server) -> None:
    """Register ``service`` like the generated ``add_TraceServiceServicer_to_server``, except
    that ``Export`` receives the serialized request (``request_deserializer=None``)."""
    handler = grpc.unary_unary_rpc_method_handler(
        service.Export,
        request_deserializer=None,
        response_serializer=ExportTraceServiceResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(_TRACE_SERVICE, {"Export": handler}),)
    )


def start_grpc_server(
    pipeline: IngestPipeline,
    gate: IngestGate,
    *,
    host: str,
    port: int,
    tokens: AccessTokens,
    max_message_bytes: int,
    handshake_timeout_s: float,
) -> tuple[grpc.Server, int]:
    """Start serving TraceService and LogsService on ``host:port`` (0 for any free port).

    Args:
        pipeline: Where decoded spans go.
        gate: Admission to the ingest queue, shared with the HTTP receiver.
        host: Address to bind.
        port: Port to bind, 0 for any free one.
        tokens: Bearer tokens; checked by ``AccessInterceptor`` on every call.
        max_message_bytes: Largest request message (the HTTP body limit).
        handshake_timeout_s: Time a new connection has to complete its HTTP/2 handshake.

    Returns:
        The running server and the port it is bound to.

    Raises:
        OSError: the address could not be bound.
    """
    server = grpc.server(
        ThreadPoolExecutor(max_workers=GRPC_WORKER_THREADS, thread_name_prefix="spanflow-grpc"),
        interceptors=[AccessInterceptor(tokens)],
        options=[
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.so_reuseport", 0),
            ("grpc.max_connection_idle_ms", CONNECTION_IDLE_MS),
            ("grpc.server_handshake_timeout_ms", int(handshake_timeout_s * 1000)),
        ],
        maximum_concurrent_rpcs=MAX_CONCURRENT_RPCS,
    )
    add_trace_service(OtlpGrpcTraceService(pipeline, gate), server)
    logs_service_pb2_grpc.add_LogsServiceServicer_to_server(  # type: ignore[no-untyped-call]
        OtlpGrpcLogsService(pipeline, gate), server
    )
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        bound_port: int = server.add_insecure_port(address)
    except RuntimeError as exc:  # grpcio >= 1.60 raises instead of returning 0
        raise OSError(f"could not bind OTLP/gRPC on {address}: {exc}") from exc
    if bound_port == 0:
        raise OSError(f"could not bind OTLP/gRPC on {address}")
    server.start()
    return server, bound_port
