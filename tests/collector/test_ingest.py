"""The ingest pipeline: acknowledgement after commit, batching, backpressure, failures."""

from __future__ import annotations

from concurrent.futures import Future

import pytest

from spanflow.query.records import SpanRecord
from spanflow_collector.ingest import IngestClosedError, IngestPipeline, IngestQueueFullError
from spanflow_collector.otlp import parse_protobuf_request
from tests.collector.conftest import MemoryStore
from tests.collector.payloads import export_request, make_span

WAIT_S = 10


def _records(first: int, count: int) -> list[SpanRecord]:
    spans = [make_span(n) for n in range(first, first + count)]
    return parse_protobuf_request(export_request(spans).SerializeToString()).records


def test_a_submission_resolves_only_after_its_spans_are_committed(
    memory_store: MemoryStore,
) -> None:
    """The future a receiver waits on is done only once the store holds the spans."""
    pipeline = IngestPipeline(memory_store)  # type: ignore[arg-type]
    memory_store.hold_writes()
    done = pipeline.submit(_records(0, 3))
    assert memory_store.write_started.wait(WAIT_S)
    assert not done.done()
    memory_store.release_writes()
    done.result(WAIT_S)
    assert len(memory_store.spans) == 3
    pipeline.close()


def test_concurrent_submissions_are_committed_together_in_one_write(
    memory_store: MemoryStore,
) -> None:
    """Requests queued while a write is running are folded into the next single write."""
    pipeline = IngestPipeline(memory_store)  # type: ignore[arg-type]
    memory_store.hold_writes()
    first = pipeline.submit(_records(0, 1))
    assert memory_store.write_started.wait(WAIT_S)
    waiting = [pipeline.submit(_records(10 * i, 5)) for i in range(1, 11)]
    memory_store.release_writes()
    for done in [first, *waiting]:
        done.result(WAIT_S)
    assert memory_store.write_calls == [1, 50]
    pipeline.close()


def test_a_full_queue_refuses_new_spans_instead_of_growing(memory_store: MemoryStore) -> None:
    """Past ``max_queued_spans`` submit raises at once; capacity returns after the commit."""
    pipeline = IngestPipeline(memory_store, max_queued_spans=10)  # type: ignore[arg-type]
    memory_store.hold_writes()
    accepted = pipeline.submit(_records(0, 8))
    with pytest.raises(IngestQueueFullError):
        pipeline.submit(_records(100, 5))
    memory_store.release_writes()
    accepted.result(WAIT_S)
    pipeline.submit(_records(100, 5)).result(WAIT_S)
    assert len(memory_store.spans) == 13
    pipeline.close()


def test_a_store_failure_fails_only_the_requests_it_concerns(memory_store: MemoryStore) -> None:
    """When a batch write fails, each request is retried alone and gets its own outcome."""

    class RefusesSpan7(MemoryStore):
        def write_spans(self, spans: object) -> None:
            if any(s.span_id.endswith("07") for s in spans):  # type: ignore[attr-defined]
                raise RuntimeError("disk full")
            super().write_spans(spans)  # type: ignore[arg-type]

    store = RefusesSpan7()
    pipeline = IngestPipeline(store)  # type: ignore[arg-type]
    store.hold_writes()
    blocker = pipeline.submit(_records(100, 1))
    assert store.write_started.wait(WAIT_S)
    good: Future[None] = pipeline.submit(_records(0, 5))
    bad = pipeline.submit(_records(5, 5))
    store.release_writes()
    blocker.result(WAIT_S)
    good.result(WAIT_S)
    with pytest.raises(RuntimeError, match="disk full"):
        bad.result(WAIT_S)
    assert len(store.spans) == 6
    pipeline.close()


def test_close_commits_everything_already_accepted_then_refuses(
    memory_store: MemoryStore,
) -> None:
    """Shutdown drains the queue into the store; later submissions are refused."""
    pipeline = IngestPipeline(memory_store)  # type: ignore[arg-type]
    futures = [pipeline.submit(_records(10 * i, 10)) for i in range(20)]
    pipeline.close()
    assert all(f.done() and f.exception() is None for f in futures)
    assert len(memory_store.spans) == 200
    with pytest.raises(IngestClosedError):
        pipeline.submit(_records(1000, 1))


def test_an_empty_submission_is_acknowledged_without_a_write(memory_store: MemoryStore) -> None:
    """A request whose spans were all rejected does not cost a transaction."""
    pipeline = IngestPipeline(memory_store)  # type: ignore[arg-type]
    assert pipeline.submit([]).done()
    pipeline.close()
    assert memory_store.write_calls == []


def test_a_large_request_is_committed_in_parts_taking_turns_with_smaller_ones(
    memory_store: MemoryStore,
) -> None:
    """A request over the batch size is written in parts, a small request queued behind it goes
    between them, and the large one is acknowledged once its last part is committed."""
    pipeline = IngestPipeline(memory_store, max_batch_spans=10)  # type: ignore[arg-type]
    memory_store.hold_writes()
    large = pipeline.submit(_records(0, 35))
    assert memory_store.write_started.wait(WAIT_S)
    small = pipeline.submit(_records(100, 2))
    memory_store.release_writes()
    assert small.result(WAIT_S) == ()
    assert large.result(WAIT_S) == ()
    assert memory_store.write_calls == [10, 10, 2, 10, 5]
    assert len(memory_store.spans) == 37
    pipeline.close()


def test_a_failed_part_fails_the_whole_large_request(memory_store: MemoryStore) -> None:
    """When one part of a large request cannot be stored, its sender is told, not acknowledged."""

    class RefusesSpan23(MemoryStore):
        def write_spans(self, spans: object) -> None:
            if any(s.span_id.endswith("17") for s in spans):  # type: ignore[attr-defined]
                raise RuntimeError("disk full")
            super().write_spans(spans)  # type: ignore[arg-type]

    store = RefusesSpan23()
    pipeline = IngestPipeline(store, max_batch_spans=10)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="disk full"):
        pipeline.submit(_records(0, 35)).result(WAIT_S)
    pipeline.close()
