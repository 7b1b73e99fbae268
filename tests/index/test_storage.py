"""How the index stores things: content written once, schema versions, idempotent writes."""

from __future__ import annotations

import json

import pytest
from index_builders import RunSpans, StoreFactory

from spanflow import attributes as attr
from spanflow_collector.index import SchemaVersionError, SqlRunIndexStore
from spanflow_collector.index.schema import LATEST_VERSION


def _history(turns: int) -> str:
    """gen_ai.input.messages of a chat that re-sends ``turns`` long messages."""
    messages = [
        {"role": "user", "parts": [{"type": "text", "content": f"turn {n}: " + "word " * 200}]}
        for n in range(turns)
    ]
    return json.dumps(messages)


def _count(store: SqlRunIndexStore, table: str) -> int:
    rows = store._read(lambda executor: executor.execute(f"SELECT COUNT(*) FROM {table}"))
    return int(rows[0][0])


def test_a_resent_history_is_stored_once_and_read_back_exactly(store: SqlRunIndexStore) -> None:
    """Ten calls re-sending a growing history store each message once; reads are exact."""
    run = RunSpans("01HIST")
    calls = [
        run.child("chat", offset_s=1 + n, **{attr.GEN_AI_INPUT_MESSAGES: _history(n + 1)})
        for n in range(10)
    ]
    store.write_spans([run.marker(), *calls, run.root()])
    assert _count(store, "blobs") == 10  # one per distinct message, not 1 + 2 + ... + 10
    by_id = {span.span_id: span for span in store.get_spans("01HIST")}
    for n, call in enumerate(calls):
        assert by_id[call.span_id].attributes[attr.GEN_AI_INPUT_MESSAGES] == _history(n + 1)


def test_writing_the_same_spans_twice_stores_them_once(store: SqlRunIndexStore) -> None:
    """A retried export changes nothing."""
    run = RunSpans("01TWICE")
    spans = [run.marker(), run.child("step"), run.root()]
    store.write_spans(spans)
    once = store.get_run("01TWICE")
    store.write_spans(spans)
    assert len(store.get_spans("01TWICE")) == 3
    assert store.get_run("01TWICE") == once


def test_the_schema_is_versioned_and_a_newer_index_is_refused(make_store: StoreFactory) -> None:
    """Opening records the latest version; an index from a newer spanflow is not guessed at."""
    store = make_store()
    version = store._read(lambda executor: executor.execute("SELECT version FROM schema_version"))
    assert version == [(LATEST_VERSION,)]
    store._write(
        lambda executor: executor.execute(
            "UPDATE schema_version SET version = ?", (LATEST_VERSION + 1,)
        )
    )
    with pytest.raises(SchemaVersionError, match="upgrade spanflow"):
        make_store()
