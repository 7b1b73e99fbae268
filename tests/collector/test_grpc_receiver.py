"""OTLP/gRPC receiver status codes, with opentelemetry-proto's generated client stub."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub

from spanflow_collector.server import Collector
from tests.collector.conftest import MemoryStore
from tests.collector.payloads import export_request, make_span, span_id

TIMEOUT_S = 30


def _request(first: int, count: int) -> ExportTraceServiceRequest:
    return export_request([make_span(n) for n in range(first, first + count)])


@pytest.fixture
def make_stub() -> Iterator[object]:
    """Open stubs to a collector's gRPC port; channels close after the test."""
    channels: list[grpc.Channel] = []

    def open_stub(collector: Collector) -> TraceServiceStub:
        channel = grpc.insecure_channel(f"127.0.0.1:{collector.grpc_port}")
        channels.append(channel)
        return TraceServiceStub(channel)

    yield open_stub
    for channel in channels:
        channel.close()


def test_invalid_spans_get_partial_success_over_grpc(
    collector: Collector, memory_store: MemoryStore, make_stub: object
) -> None:
    """gRPC answers OK with partial_success for invalid spans and stores the valid ones."""
    stub = make_stub(collector)  # type: ignore[operator]
    request = _request(1, 2)
    request.resource_spans[0].scope_spans[0].spans[1].end_time_unix_nano = 1
    response = stub.Export(request, timeout=TIMEOUT_S)
    assert response.partial_success.rejected_spans == 1
    assert "before start_time_unix_nano" in response.partial_success.error_message
    assert memory_store.span_ids() == {span_id(1).hex()}


def test_grpc_requires_the_token_when_configured(
    memory_store: MemoryStore, make_stub: object
) -> None:
    """Without the bearer token gRPC exports fail UNAUTHENTICATED and store nothing."""
    collector = Collector(memory_store, http_port=0, grpc_port=0, token="t0k")  # type: ignore[arg-type]
    collector.start()
    try:
        stub = make_stub(collector)  # type: ignore[operator]
        with pytest.raises(grpc.RpcError) as refused:
            stub.Export(_request(1, 1), timeout=TIMEOUT_S)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert memory_store.spans == {}
        stub.Export(_request(1, 1), metadata=[("authorization", "Bearer t0k")], timeout=TIMEOUT_S)
        assert memory_store.span_ids() == {span_id(1).hex()}
    finally:
        collector.stop()


def test_grpc_answers_unavailable_when_the_queue_is_full(
    memory_store: MemoryStore, make_stub: object
) -> None:
    """A full ingest queue is UNAVAILABLE (retryable); the accepted spans still land."""
    collector = Collector(memory_store, http_port=0, grpc_port=0, max_queued_spans=3)  # type: ignore[arg-type]
    collector.start()
    try:
        stub = make_stub(collector)  # type: ignore[operator]
        memory_store.hold_writes()
        sender = threading.Thread(target=lambda: stub.Export(_request(1, 3), timeout=TIMEOUT_S))
        sender.start()
        assert memory_store.write_started.wait(TIMEOUT_S)
        with pytest.raises(grpc.RpcError) as refused:
            stub.Export(_request(10, 1), timeout=TIMEOUT_S)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        memory_store.release_writes()
        sender.join(TIMEOUT_S)
        assert len(memory_store.spans) == 3
    finally:
        memory_store.release_writes()
        collector.stop()


def test_grpc_rejects_messages_over_the_size_limit(
    memory_store: MemoryStore, make_stub: object
) -> None:
    """A message over the body limit is RESOURCE_EXHAUSTED and the server keeps serving."""
    collector = Collector(memory_store, http_port=0, grpc_port=0, max_body_bytes=64 * 1024)  # type: ignore[arg-type]
    collector.start()
    try:
        stub = make_stub(collector)  # type: ignore[operator]
        big = export_request([make_span(1, attributes={"text": "x" * 100_000})])
        with pytest.raises(grpc.RpcError) as refused:
            stub.Export(big, timeout=TIMEOUT_S)
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        stub.Export(_request(2, 1), timeout=TIMEOUT_S)
        assert memory_store.span_ids() == {span_id(2).hex()}
    finally:
        collector.stop()
