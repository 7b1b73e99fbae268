"""Run records sent over real OTLP/HTTP to a collector guarded by an ingest token."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse

from spanflow._internal.otlp_logs import encode_request
from spanflow.query.records import RunRecord
from spanflow.query.store import RunIndexStore
from spanflow_collector.index import open_store
from spanflow_collector.server import Collector

TIMEOUT_S = 30
INGEST_TOKEN = "ingest-only"
HEADERS = {"Content-Type": "application/x-protobuf", "Authorization": f"Bearer {INGEST_TOKEN}"}
T0 = 1_800_000_000_000_000_000


@contextmanager
def collector_with_token(
    index_location: str, *, grpc: bool = False
) -> Iterator[tuple[Collector, RunIndexStore]]:
    """A collector (HTTP, and gRPC when asked) with an ingest token over a real index."""
    store = open_store(index_location)
    running = Collector(
        store, http_port=0, grpc_port=0 if grpc else None, ingest_token=INGEST_TOKEN
    )
    running.start()
    try:
        yield running, store
    finally:
        running.stop()
        store.close()


def run_record(run_id: str, kind: str, trace_id: str, record_id: str, **payload: Any) -> RunRecord:
    """A run record of ``run_id``; ``segment`` and ``time_ns`` may be given in ``payload``."""
    return RunRecord(
        kind,
        run_id=run_id,
        segment=payload.pop("segment", 0),
        trace_id=trace_id,
        span_id="c3" * 8,
        time_unix_nano=payload.pop("time_ns", T0),
        record_id=record_id,
        **payload,
    )


def send_logs_http(running: Collector, records: list[RunRecord]) -> ExportLogsServiceResponse:
    """POST ``records`` to ``/v1/logs`` with the ingest token; the answer must be 200."""
    response = requests.post(
        f"{running.http_url}/v1/logs",
        data=encode_request(records, {"service.name": "sender"}),
        headers=HEADERS,
        timeout=TIMEOUT_S,
    )
    assert response.status_code == 200, response.text
    return ExportLogsServiceResponse.FromString(response.content)
