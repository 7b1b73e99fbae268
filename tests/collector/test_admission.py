"""Fair admission to the ingest queue: one client cannot take all of it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub

from spanflow_collector.admission import client_key
from spanflow_collector.grpc import peer_key
from spanflow_collector.limits import ReceiverLimits
from spanflow_collector.server import Collector
from tests.collector.conftest import MemoryStore
from tests.collector.payloads import export_request, make_span

TIMEOUT_S = 30


def _request(first: int, count: int) -> ExportTraceServiceRequest:
    return export_request([make_span(n) for n in range(first, first + count)])


@pytest.fixture
def small_queue_collector(memory_store: MemoryStore) -> Iterator[Collector]:
    """A collector whose queue holds 8 spans, of which one client may hold half."""
    running = Collector(
        memory_store,  # type: ignore[arg-type]
        http_port=0,
        grpc_port=0,
        max_queued_spans=8,
        limits=ReceiverLimits(client_queue_share=0.5),
    )
    running.start()
    try:
        yield running
    finally:
        memory_store.release_writes()
        running.stop()


def _channel(collector: Collector) -> grpc.Channel:
    # A subchannel pool of its own: a separate TCP connection, so a separate client.
    return grpc.insecure_channel(
        f"127.0.0.1:{collector.grpc_port}", options=[("grpc.use_local_subchannel_pool", 1)]
    )


def test_a_client_over_its_share_is_told_to_retry_while_others_get_in(
    small_queue_collector: Collector, memory_store: MemoryStore
) -> None:
    """A sender holding half the queue gets UNAVAILABLE for more; another sender is admitted."""
    memory_store.hold_writes()
    with _channel(small_queue_collector) as greedy, _channel(small_queue_collector) as polite:
        greedy_stub, polite_stub = TraceServiceStub(greedy), TraceServiceStub(polite)
        waiting = [
            threading.Thread(target=lambda: greedy_stub.Export(_request(1, 3), timeout=TIMEOUT_S))
        ]
        waiting[0].start()
        assert memory_store.write_started.wait(TIMEOUT_S)
        with pytest.raises(grpc.RpcError) as refused:
            greedy_stub.Export(_request(10, 3), timeout=TIMEOUT_S)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "share of the ingest queue is 4" in str(refused.value.details())
        polite_answer: list[object] = []
        waiting.append(
            threading.Thread(
                target=lambda: polite_answer.append(
                    polite_stub.Export(_request(20, 3), timeout=TIMEOUT_S)
                )
            )
        )
        waiting[1].start()
        deadline = time.monotonic() + TIMEOUT_S
        while small_queue_collector.pipeline.queued_spans < 6:  # admitted while the first waits
            assert time.monotonic() < deadline, "the second client was not admitted"
            time.sleep(0.01)
        memory_store.release_writes()
        for thread in waiting:
            thread.join(TIMEOUT_S)
        assert polite_answer, "the second client was not admitted"
        assert len(memory_store.spans) == 6
        # Committed spans no longer count against the sender's share.
        greedy_stub.Export(_request(30, 3), timeout=TIMEOUT_S)
        assert len(memory_store.spans) == 9


def test_clients_are_told_apart_by_address_and_on_loopback_by_connection() -> None:
    """Remote clients are keyed by address; local processes, all on 127.0.0.1, by connection."""
    assert client_key("10.0.0.5", 5000) == client_key("10.0.0.5", 6000) == "10.0.0.5"
    assert client_key("127.0.0.1", 5000) != client_key("127.0.0.1", 6000)
    assert peer_key("ipv4:10.0.0.5:5000") == "10.0.0.5"
    assert peer_key("ipv6:[::1]:5000") == peer_key("ipv6:%5B::1%5D:5000") == "::1:5000"
    assert peer_key("ipv6:[2001:db8::1]:443") == "2001:db8::1"
