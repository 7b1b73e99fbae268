"""Large batches on every store: PostgreSQL copies their rows in (COPY), which must keep the
semantics of one INSERT per row — a re-sent or repeated span is stored once, the first of two
copies in one batch wins, and a span the store refuses is isolated by the ingest pipeline while
the rest of its batch commits."""

from __future__ import annotations

import json

from spanflow import attributes as attr
from spanflow.query.records import SpanRecord
from spanflow_collector.index import SqlRunIndexStore
from spanflow_collector.index.prepared import prepare_spans
from spanflow_collector.ingest import IngestPipeline

_SPANS = 2_100
_RUN_ID = "run-batch"


def _span(n: int, *, kind: int = 1, name: str = "llm") -> SpanRecord:
    messages = json.dumps([{"role": "user", "content": f"question {n % 7} " * 40}])
    return SpanRecord(
        trace_id=f"{0xB0 << 120 | n // 16:032x}",
        span_id=f"{n + 1:016x}",
        parent_span_id=None,
        name=f"{name}-{n}",
        kind=kind,
        start_time_unix_nano=1_700_000_000_000_000_000 + n,
        end_time_unix_nano=1_700_000_000_000_000_000 + n + 1,
        attributes={attr.RUN_ID: _RUN_ID, attr.GEN_AI_INPUT_MESSAGES: messages},
    )


def _stored_ids(store: SqlRunIndexStore) -> list[str]:
    return [span.span_id for span in store.get_spans(_RUN_ID)]


def test_resent_and_repeated_spans_are_stored_once(store: SqlRunIndexStore) -> None:
    """A large batch sent again (as spans and as prepared rows), small and large batches naming
    one span twice, leave each span stored exactly once, as the first copy written had it."""
    spans = [_span(n) for n in range(_SPANS)]
    store.write_spans(spans)
    first = store.get_spans(_RUN_ID)
    assert len(first) == _SPANS
    store.write_spans(spans)
    store.write_prepared([prepare_spans(spans)], (), ())
    store.write_spans([spans[5], _span(5, name="later"), spans[6]])
    assert store.get_spans(_RUN_ID) == first
    repeated = [_span(n, name="first") for n in range(_SPANS, _SPANS + 40)]
    repeated.insert(20, _span(_SPANS + 3, name="second"))
    store.write_spans(repeated)
    stored = {span.span_id: span.name for span in store.get_spans(_RUN_ID)}
    assert len(stored) == _SPANS + 40
    assert stored[repeated[3].span_id] == f"first-{_SPANS + 3}"


def test_pipeline_isolates_the_refused_span_of_a_large_batch(store: SqlRunIndexStore) -> None:
    """A span neither store can hold (a kind beyond int64) in a batch spanning several
    statements is rejected alone; every other span of the batch is committed."""
    spans = [_span(n) for n in range(1_200)]
    spans[700] = _span(700, kind=2**70)
    pipeline = IngestPipeline(store)
    try:
        rejections = pipeline.submit(spans).result(timeout=120)
    finally:
        pipeline.close()
    assert len(rejections) == 1
    assert spans[700].span_id in rejections[0]
    stored = set(_stored_ids(store))
    assert stored == {span.span_id for span in spans} - {spans[700].span_id}
