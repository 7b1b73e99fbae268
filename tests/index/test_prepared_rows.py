"""Rows built ahead of the write (in the collector's decode workers) store what spans store."""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from typing import Any

from index_builders import RunSpans, foreign_trace, metric_event

from spanflow import attributes as attr
from spanflow.query.records import LinkRecord, SpanRecord
from spanflow.query.store import RunQuery
from spanflow_collector.index import SqlRunIndexStore
from spanflow_collector.index.prepared import prepare_spans


def _batch() -> list[SpanRecord]:
    """Two runs (roots, LLM calls with long shared content, a link, metric points) and a
    foreign trace, in export order."""
    spans: list[SpanRecord] = []
    for index in range(2):
        run = RunSpans(f"run-{index}")
        history = json.dumps([{"role": "user", "content": "long question " * 100}] * 3)
        first = run.llm(**{attr.GEN_AI_INPUT_MESSAGES: history})
        link = LinkRecord(first.trace_id, first.span_id, {attr.LINK_TYPE: "dataflow"})
        second = run.child("tool", links=(link,))
        root = run.root(events=(metric_event("loss", 0.5, step=1, at_ns=run.start_ns),))
        spans += [run.marker(), first, second, root]
    return spans + foreign_trace(children=3)


def _contents(store: SqlRunIndexStore) -> list[tuple[Any, ...]]:
    runs = sorted(store.list_runs(RunQuery(limit=100)).runs, key=lambda run: run.id)
    return [
        (run, store.get_spans(run.id), store.get_links(run.id), store.get_metric_history(run.id))
        for run in runs
    ]


def _read_and_empty(store: SqlRunIndexStore) -> list[tuple[Any, ...]]:
    """Everything the index holds, then delete it (runs, spans, content) for the next write."""
    contents = _contents(store)
    store.delete_runs([run.id for run, *_ in contents])
    assert _contents(store) == []
    return contents


def _write_in_parts(store: SqlRunIndexStore, spans: Sequence[SpanRecord], cuts: list[int]) -> None:
    prepared = prepare_spans(spans)
    for start, end in itertools.pairwise([0, *cuts, len(prepared)]):
        store.write_prepared([prepared[start:end]], (), ())


def test_prepared_rows_store_exactly_what_write_spans_stores(store: SqlRunIndexStore) -> None:
    """Runs, spans, links and metric points read back the same either way."""
    spans = _batch()
    store.write_spans(spans)
    reference = _read_and_empty(store)
    assert len(reference) == 3
    _write_in_parts(store, spans, [])
    assert _read_and_empty(store) == reference


def test_prepared_rows_split_by_span_store_what_the_whole_batch_stores(
    store: SqlRunIndexStore,
) -> None:
    """Parts of a prepared batch (as when a poison span is bisected out, or a large request is
    committed in parts) written one by one add up to the whole batch, content blobs included."""
    spans = _batch()
    _write_in_parts(store, spans, [])
    reference = _read_and_empty(store)
    for cuts in ([1], [3, 4, 9], list(range(1, len(spans)))):
        _write_in_parts(store, spans, cuts)
        assert _read_and_empty(store) == reference
