"""The OTLP/gRPC receiver: ``opentelemetry.proto.collector.trace.v1.TraceService/Export``.

Built on grpcio and opentelemetry-proto's generated servicer. The framework parses the request
(and inflates gzip); spans go through the same decoder tail and ingest pipeline as OTLP/HTTP.
Status codes follow https://opentelemetry.io/docs/specs/otlp/#otlpgrpc-response: OK with
``partial_success`` for invalid spans, UNAVAILABLE (retryable) when the queue is full or the
store failed, UNAUTHENTICATED without the configured bearer token, RESOURCE_EXHAUSTED from
grpcio itself above the message size limit.
"""

from __future__ import annotations

import hmac
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from spanflow_collector.ingest import IngestPipeline, IngestUnavailableError
from spanflow_collector.otlp import decode_request

GRPC_WORKER_THREADS = 16


class OtlpGrpcTraceService(trace_service_pb2_grpc.TraceServiceServicer):
    """The TraceService implementation: decode, commit, then answer.

    Args:
        pipeline: Where decoded spans go.
        token: Bearer token required in the ``authorization`` metadata, or None for none.
    """

    def __init__(self, pipeline: IngestPipeline, *, token: str | None = None) -> None:
        self._pipeline = pipeline
        self._expected_authorization = f"Bearer {token}".encode() if token else None

    def Export(self, request: Any, context: Any) -> Any:
        """Store the request's valid spans and answer once they are committed."""
        if self._expected_authorization is not None and not self._authorized(context):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token")
        decoded = decode_request(request)
        try:
            self._pipeline.submit(decoded.records).result()
        except IngestUnavailableError as exc:
            context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
        except Exception as exc:
            context.abort(grpc.StatusCode.UNAVAILABLE, f"could not store spans: {exc}")
        response = ExportTraceServiceResponse()
        if decoded.rejected_spans:
            response.partial_success.rejected_spans = decoded.rejected_spans
            response.partial_success.error_message = decoded.error_message
        return response

    def _authorized(self, context: Any) -> bool:
        assert self._expected_authorization is not None
        for key, value in context.invocation_metadata():
            if key == "authorization":
                presented = value.encode() if isinstance(value, str) else value
                return hmac.compare_digest(presented, self._expected_authorization)
        return False


def start_grpc_server(
    pipeline: IngestPipeline,
    *,
    host: str,
    port: int,
    token: str | None = None,
    max_message_bytes: int,
) -> tuple[grpc.Server, int]:
    """Start serving TraceService on ``host:port`` (0 for any free port).

    Returns:
        The running server and the port it is bound to.

    Raises:
        OSError: the address could not be bound.
    """
    server = grpc.server(
        ThreadPoolExecutor(max_workers=GRPC_WORKER_THREADS, thread_name_prefix="spanflow-grpc"),
        options=[
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.so_reuseport", 0),
        ],
    )
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(  # type: ignore[no-untyped-call]
        OtlpGrpcTraceService(pipeline, token=token), server
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
