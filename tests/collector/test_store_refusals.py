"""What the collector answers when the run index refuses spans after decoding: the spans at
fault are rejected through partial_success and the rest committed (data errors); a store that
cannot write at all fails the request so the client retries (transient errors)."""

from __future__ import annotations

import secrets
import uuid
from pathlib import Path

import pytest

from spanflow import attributes as attr
from spanflow.query.records import SpanRecord
from spanflow_collector.index import open_store
from spanflow_collector.ingest import IngestPipeline
from tests.collector.hostile import json_body, json_span, post, run_spans_by_id
from tests.collector.processes import collector_process


def _record(n: int, run_id: str, *, kind: int = 1) -> SpanRecord:
    return SpanRecord(
        trace_id=f"{0xF0 << 120 | n:032x}",
        span_id=f"{n + 1:016x}",
        parent_span_id=None,
        name=f"span-{n}",
        kind=kind,
        start_time_unix_nano=1_700_000_000_000_000_000 + n,
        end_time_unix_nano=1_700_000_000_000_000_000 + n + 1,
        attributes={attr.RUN_ID: run_id},
    )


def test_pipeline_commits_the_rest_and_rejects_the_span_the_store_refuses(tmp_path: Path) -> None:
    """A batch with one span SQLite cannot bind (a kind beyond int64, as an embedded writer
    could hand over) commits the other spans and names the refused one."""
    store = open_store(tmp_path / "index.db")
    pipeline = IngestPipeline(store)
    try:
        records = [_record(n, "run-a") for n in range(9)]
        records.insert(4, _record(99, "run-a", kind=2**70))
        rejections = pipeline.submit(records).result(timeout=60)
        assert len(rejections) == 1
        assert f"{100:016x}" in rejections[0]
        stored = {span.span_id for span in store.get_spans("run-a")}
        assert stored == {f"{n + 1:016x}" for n in range(9)}
    finally:
        pipeline.close()
        store.close()


def test_pipeline_fails_the_request_when_the_store_cannot_write(tmp_path: Path) -> None:
    """A store that cannot write (closed) fails the whole request with its error, rejecting
    nothing, so the receiver answers 503 and the client retries."""
    store = open_store(tmp_path / "index.db")
    store.close()
    pipeline = IngestPipeline(store)
    try:
        with pytest.raises(RuntimeError, match="closed"):
            pipeline.submit([_record(n, "run-b") for n in range(3)]).result(timeout=60)
    finally:
        pipeline.close()


def test_collector_rejects_only_what_the_store_refuses(index_location: str) -> None:
    """A span whose run id is too long for PostgreSQL's index is rejected through
    partial_success, the other spans of the request are stored, and a resend is answered the
    same way instead of 503; SQLite, which has no such limit, stores all of them."""
    run_id = f"run-{uuid.uuid4().hex}"
    spans = [json_span(run_id=run_id) for _ in range(5)]
    oversized = json_span(run_id=secrets.token_urlsafe(8000))
    body = json_body(*spans[:2], oversized, *spans[2:])
    expected_rejections = 1 if index_location.startswith("postgresql") else 0
    with collector_process(index_location) as collector:
        for _ in range(2):
            response = post(collector, body)
            assert response.status_code == 200, response.text
            partial = response.json().get("partialSuccess") or {}
            assert int(partial.get("rejectedSpans", 0)) == expected_rejections
            if expected_rejections:
                assert oversized["spanId"] in partial["errorMessage"]
        assert set(run_spans_by_id(collector, run_id)) == {span["spanId"] for span in spans}


def test_run_id_with_nul_written_directly(index_location: str) -> None:
    """A run id holding NUL written straight to a store (embedded mode) is stored, not
    refused: as sent on SQLite, as U+FFFD on PostgreSQL, which cannot hold NUL."""
    store = open_store(index_location)
    try:
        store.write_spans([_record(7, "run\x00nul")])
        postgres = index_location.startswith("postgresql")
        run = store.get_run("run\ufffdnul" if postgres else "run\x00nul")
        assert run is not None and run.span_count == 1
    finally:
        store.close()
