"""Run records from a trace a known run has not started in yet are held, not lost (real OTLP).

A run resumed in another process opens a new segment in a new trace; its start record and the
records after it can reach the index in either order (spooled files drained by several processes
at once after an outage), or the start record can be lost while the segment's root span lands.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from spanflow import attributes as attr
from spanflow._internal.otlp_logs import encode_request
from spanflow._internal.otlp_send import GRPC, LOGS, GrpcSender, OtlpEndpoint, Outcome
from spanflow.query.records import MetricPointValue, RunRecord
from spanflow.query.store import RunIndexStore
from spanflow_collector.server import Collector
from tests.collector import payloads
from tests.collector.run_records_over_otlp import (
    HEADERS,
    INGEST_TOKEN,
    T0,
    TIMEOUT_S,
    collector_with_token,
    run_record,
    send_logs_http,
)

KIND = attr.RecordKindValue
RUN_ID = "resumed-run"
FIRST_TRACE = "a1" * 16
RESUMED_TRACE = "b2" * 16


@pytest.fixture
def served(index_location: str) -> Iterator[tuple[Collector, RunIndexStore]]:
    """A collector (HTTP and gRPC) with an ingest token over a real SQLite or PostgreSQL index."""
    with collector_with_token(index_location, grpc=True) as served:
        yield served


def _record(kind: str, trace_id: str, record_id: str, **payload: Any) -> RunRecord:
    return run_record(RUN_ID, kind, trace_id, record_id, **payload)


def _send_grpc(running: Collector, records: list[RunRecord]) -> None:
    endpoint = OtlpEndpoint(
        f"http://127.0.0.1:{running.grpc_port}",
        protocol=GRPC,
        headers=(("authorization", f"Bearer {INGEST_TOKEN}"),),
    )
    sender = GrpcSender(endpoint)
    try:
        answer = sender.send(LOGS, encode_request(records, {"service.name": "sender"}), TIMEOUT_S)
    finally:
        sender.close()
    assert answer.outcome is Outcome.ACCEPTED, answer.detail


def _first_segment(running: Collector) -> None:
    send_logs_http(
        running,
        [
            _record(KIND.START, FIRST_TRACE, "s0", fields={attr.RUN_NAME: "resumed"}),
            _record(KIND.PARAMS, FIRST_TRACE, "p0", values={"a": 1}),
        ],
    )


@pytest.mark.parametrize("transport", ["http", "grpc"])
def test_a_resumed_segments_records_that_overtake_its_start_record_are_kept(
    served: tuple[Collector, RunIndexStore], transport: str
) -> None:
    """Params and metrics of a resumed segment sent before its start record count once it lands."""
    running, store = served
    _first_segment(running)
    early = [
        _record(KIND.PARAMS, RESUMED_TRACE, "p1", segment=1, values={"b": 2}, time_ns=T0 + 6),
        _record(
            KIND.METRICS,
            RESUMED_TRACE,
            "m1",
            segment=1,
            time_ns=T0 + 7,
            points=(MetricPointValue("loss", 0.25, 3, T0 + 7),),
        ),
        _record(KIND.TAGS, RESUMED_TRACE, "t1", segment=1, tags=("resumed",), time_ns=T0 + 8),
    ]
    if transport == "http":
        assert send_logs_http(running, early).partial_success.rejected_log_records == 0
    else:
        _send_grpc(running, early)
    held = store.get_run(RUN_ID)
    assert held is not None and dict(held.params) == {"a": 1}
    assert "loss" not in held.metrics

    send_logs_http(running, [_record(KIND.START, RESUMED_TRACE, "s1", segment=1, time_ns=T0 + 5)])
    run = store.get_run(RUN_ID)
    assert run is not None
    assert dict(run.params) == {"a": 1, "b": 2}
    assert run.metrics["loss"] == 0.25
    assert "resumed" in run.tags
    assert [point.value for point in store.get_metric_history(RUN_ID)] == [0.25]


def test_records_from_a_trace_that_never_starts_a_segment_never_change_the_run(
    served: tuple[Collector, RunIndexStore],
) -> None:
    """A sender naming a known run from a foreign trace changes nothing; deleting the run
    clears what it sent."""
    running, store = served
    _first_segment(running)
    later = T0 + 10**9
    forged = send_logs_http(
        running, [_record(KIND.PARAMS, RESUMED_TRACE, "evil", values={"a": 99}, time_ns=later)]
    )
    assert forged.partial_success.rejected_log_records == 0
    send_logs_http(running, [_record(KIND.OUTPUTS, FIRST_TRACE, "o", values={"answer": 42})])
    run = store.get_run(RUN_ID)
    assert run is not None
    assert (dict(run.params), dict(run.outputs)) == ({"a": 1}, {"answer": 42})

    assert store.delete_runs([RUN_ID]) == 1
    send_logs_http(running, [_record(KIND.START, RESUMED_TRACE, "s1", segment=1, time_ns=later)])
    reopened = store.get_run(RUN_ID)
    assert reopened is not None and dict(reopened.params) == {}


def test_held_records_count_once_a_span_of_the_run_arrives_in_their_trace(
    served: tuple[Collector, RunIndexStore],
) -> None:
    """A resumed segment whose start record never arrived: its root span releases its records."""
    running, store = served
    _first_segment(running)
    segment_trace = payloads.trace_id(7)
    early = _record(KIND.PARAMS, segment_trace.hex(), "p1", segment=1, values={"b": 2})
    send_logs_http(running, [early])
    root = payloads.make_span(1, trace=7, attributes={attr.RUN_ID: RUN_ID})
    response = requests.post(
        f"{running.http_url}/v1/traces",
        data=payloads.export_request([root]).SerializeToString(),
        headers=HEADERS,
        timeout=TIMEOUT_S,
    )
    assert response.status_code == 200, response.text
    run = store.get_run(RUN_ID)
    assert run is not None and dict(run.params) == {"a": 1, "b": 2}
