"""Large OTLP/HTTP trace bodies decoded in worker processes are stored exactly as in-process.

The collector hands bodies above a size threshold to worker processes that decode, redact and
build the rows (``spanflow_collector.prepare``). These tests set the threshold to zero so every
body takes that path, and compare what lands in the index and what the client is answered with
the same bodies decoded in a thread of the collector's own process.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from spanflow import attributes as attr
from spanflow.query.store import RunQuery
from spanflow.redaction import CUSTOM_KIND, marker
from spanflow_collector.index.sqlite import SqliteRunIndexStore
from spanflow_collector.limits import ReceiverLimits
from spanflow_collector.redact import set_extra_patterns
from spanflow_collector.server import Collector
from tests.collector.payloads import (
    any_value,
    export_request,
    make_span,
    otlp_json_bytes,
    span_id,
    trace_id,
)

IN_WORKERS = ReceiverLimits(decode_processes=1, process_decode_min_bytes=0)
IN_THREADS = ReceiverLimits(decode_processes=0)
REQUEST_TIMEOUT_S = 60.0
CUSTOM_SECRET = "ACME-12345678"


def _mixed_spans() -> list[Span]:
    """Runs with roots and children, spans without a run id, events, links, big content."""
    spans: list[Span] = []
    for n in range(1, 61):
        root = n - (n - 1) % 10
        attributes: dict[str, object] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.usage.input_tokens": 100 + n,
            "gen_ai.input.messages": json.dumps(
                [{"role": "user", "content": f"question {n} " + "x" * 1500}]
            ),
            "gen_ai.response.finish_reasons": ["stop"],
            "nested": {"a": [1, 2, {"b": n}]},
        }
        if n <= 40:  # the last two traces carry no spanflow run id (another OTel SDK's)
            attributes[attr.RUN_ID] = f"run-{root}"
        span = make_span(n, trace=root, parent=None if n == root else root, attributes=attributes)
        if n % 7 == 0:
            event = span.events.add(name=attr.EVENT_METRIC, time_unix_nano=span.end_time_unix_nano)
            event.attributes.add(key=attr.EVENT_METRIC_NAME, value=any_value("score"))
            event.attributes.add(key=attr.EVENT_METRIC_VALUE, value=any_value(0.5 * n))
        if n % 5 == 0:
            link = span.links.add(trace_id=trace_id(1), span_id=span_id(1))
            link.attributes.add(key=attr.LINK_TYPE, value=any_value("dataflow"))
        spans.append(span)
    broken = make_span(99, trace=1)
    broken.span_id = bytes(8)  # invalid: rejected on its own, reported in partial_success
    spans.append(broken)
    return spans


@pytest.fixture(autouse=True)
def _default_redaction() -> Iterator[None]:
    yield
    set_extra_patterns(())


def _ingest(db: Path, limits: ReceiverLimits, body: bytes, content_type: str) -> requests.Response:
    """POST ``body`` to a collector over a fresh index at ``db``; stop it; return the answer."""
    collector = Collector(SqliteRunIndexStore(db), http_port=0, grpc_port=None, limits=limits)
    collector.start()
    try:
        return requests.post(
            f"{collector.http_url}/v1/traces",
            data=body,
            headers={"Content-Type": content_type},
            timeout=REQUEST_TIMEOUT_S,
        )
    finally:
        collector.stop()


def _index_contents(db: Path) -> list[tuple[Any, ...]]:
    store = SqliteRunIndexStore(db, read_only=True)
    try:
        runs = store.list_runs(RunQuery(limit=100)).runs
        ordered = sorted(runs, key=lambda run: run.id)
        return [
            (r, store.get_spans(r.id), store.get_links(r.id), store.get_metric_history(r.id))
            for r in ordered
        ]
    finally:
        store.close()


@pytest.mark.parametrize("encoding", ["protobuf", "json"])
def test_worker_decoding_stores_and_answers_what_thread_decoding_does(
    tmp_path: Path, encoding: str
) -> None:
    """Runs, spans, links, metric points and the partial-success answer match, byte for byte."""
    request = export_request(_mixed_spans())
    if encoding == "json":
        body, content_type = otlp_json_bytes(request), "application/json"
    else:
        body, content_type = request.SerializeToString(), "application/x-protobuf"
    in_workers = _ingest(tmp_path / "workers.db", IN_WORKERS, body, content_type)
    in_threads = _ingest(tmp_path / "threads.db", IN_THREADS, body, content_type)
    assert in_workers.status_code == in_threads.status_code == 200
    assert in_workers.content == in_threads.content
    assert b"span_id must be 8 non-zero bytes" in in_workers.content
    stored = _index_contents(tmp_path / "workers.db")
    assert len(stored) == 6  # four spanflow runs, two foreign traces
    assert stored == _index_contents(tmp_path / "threads.db")


def test_worker_processes_apply_the_collectors_extra_redaction_patterns(tmp_path: Path) -> None:
    """A ``--redact-pattern`` given to the collector is applied by its decode workers too."""
    set_extra_patterns([r"ACME-[0-9]{8}"])
    span = make_span(1, attributes={attr.RUN_ID: "run-1", "note": f"key {CUSTOM_SECRET} here"})
    body = export_request([span]).SerializeToString()
    answer = _ingest(tmp_path / "index.db", IN_WORKERS, body, "application/x-protobuf")
    assert answer.status_code == 200
    ((_, spans, _, _),) = _index_contents(tmp_path / "index.db")
    assert spans[0].attributes["note"] == f"key {marker(CUSTOM_KIND)} here"
    assert CUSTOM_SECRET.encode() not in (tmp_path / "index.db").read_bytes()


def _decode_worker_pids() -> list[int]:
    """This process's children that are multiprocessing spawn workers (from /proc)."""
    children = [
        int(pid)
        for task in Path("/proc/self/task").iterdir()
        for pid in (task / "children").read_text().split()
    ]
    return [pid for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]


def test_a_killed_decode_worker_costs_one_retryable_answer_and_the_pool_starts_again(
    tmp_path: Path,
) -> None:
    """A worker killed (as the OOM killer would) turns the next export into a 503 the client
    retries; the export after it is decoded by a fresh worker and stored."""
    db = tmp_path / "index.db"
    collector = Collector(SqliteRunIndexStore(db), http_port=0, grpc_port=None, limits=IN_WORKERS)
    collector.start()

    def export(n: int) -> int:
        body = export_request([make_span(n, attributes={attr.RUN_ID: f"run-{n}"})])
        response = requests.post(
            f"{collector.http_url}/v1/traces",
            data=body.SerializeToString(),
            headers={"Content-Type": "application/x-protobuf"},
            timeout=REQUEST_TIMEOUT_S,
        )
        return response.status_code

    try:
        assert export(1) == 200  # starts the pool
        workers = _decode_worker_pids()
        assert len(workers) == 1
        os.kill(workers[0], signal.SIGKILL)
        assert export(2) == 503
        assert export(3) == 200
    finally:
        collector.stop()
    stored = {run.id for run, _, _, _ in _index_contents(db)}
    assert stored == {"run-1", "run-3"}
