"""How the index stores things: content written once, schema versions, idempotent writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from index_builders import RunSpans, StoreFactory

from spanflow import attributes as attr
from spanflow.query.records import AttributeValue
from spanflow_collector.index import SchemaVersionError, SqlRunIndexStore, sqlstore
from spanflow_collector.index.executor import Executor, placeholders
from spanflow_collector.index.rows import SPAN_COLUMNS, build_rows
from spanflow_collector.index.schema import LATEST_VERSION, MIGRATIONS
from spanflow_collector.index.sqlite import SqliteRunIndexStore


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


def test_attribute_values_of_every_kind_are_stored_as_json_text_and_read_back_exactly(
    store: SqlRunIndexStore,
) -> None:
    """Floats in exponent form, NaN, integers past 64 bits and escaped text read back as sent."""
    run = RunSpans("01VALUES")
    values: dict[str, AttributeValue] = {
        "small": 1e-05,
        "large": 2.5e16,
        "plain": 0.25,
        "negative_zero": -0.0,
        "not_a_number": float("nan"),
        "infinite": float("-inf"),
        "huge_int": 2**70,
        "floats": (1.5, 3e-9),
        "text": 'quotes " and \\ and \u2028 and \x01',
        "flag": True,
    }
    call = run.child("step", **values)
    store.write_spans([run.marker(), call, run.root()])
    [stored] = [span for span in store.get_spans("01VALUES") if span.span_id == call.span_id]
    for key, value in values.items():
        got = stored.attributes[key]
        if isinstance(value, float) and value != value:
            assert isinstance(got, float) and got != got, key
        else:
            assert got == value and type(got) is type(value), key
    raw = store._read(
        lambda executor: executor.execute(
            "SELECT attributes FROM spans WHERE span_id = ?", [call.span_id]
        )
    )
    # The text is the standard library's compact JSON of the values, whichever encoder wrote it.
    assert '"small":1e-05' in raw[0][0] and '"large":2.5e+16' in raw[0][0]


def test_an_index_of_schema_5_keeps_its_blob_references_through_the_upgrade(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An index written when blobs were referenced per span (schema 5) opens with its spans
    read back exactly, and deleting runs still keeps exactly the blobs in use."""
    path = tmp_path / "v5.db"
    earlier = [migration for migration in MIGRATIONS if migration.version <= 5]
    monkeypatch.setattr(
        sqlstore,
        "pending_migrations",
        lambda version: [migration for migration in earlier if migration.version > version],
    )
    shared, alone = RunSpans("01SHARED"), RunSpans("01ALONE")
    history = _history(3)
    written = {
        "01SHARED": [shared.marker(), shared.child(**{attr.GEN_AI_INPUT_MESSAGES: history})],
        "01ALONE": [
            alone.marker(),
            alone.child(**{attr.GEN_AI_INPUT_MESSAGES: history}),
            alone.child(**{attr.GEN_AI_INPUT_MESSAGES: _history(5)}),
        ],
    }
    # Rows as schema 5's writer stored them: span_blobs held one row per span and blob.
    rows = build_rows([span for spans in written.values() for span in spans])
    old = SqliteRunIndexStore(path)

    def write_as_schema_5(executor: Executor) -> None:
        executor.executemany("INSERT INTO blobs VALUES (?, ?)", sorted(rows.blobs.items()))
        executor.executemany("INSERT INTO resources VALUES (?, ?)", rows.resources.items())
        executor.executemany(
            f"INSERT INTO spans ({SPAN_COLUMNS}) VALUES ({placeholders(20)})", rows.spans
        )
        executor.executemany("INSERT INTO span_blobs VALUES (?, ?, ?)", rows.span_blobs)

    old._write(write_as_schema_5)
    assert old.schema_version() == 5
    old_references = _count(old, "span_blobs")
    old.close()
    monkeypatch.undo()

    store = SqliteRunIndexStore(path)
    try:
        assert store.schema_version() == LATEST_VERSION
        assert old_references == 3 + 3 + 5  # per span
        assert _count(store, "trace_blobs") == 3 + 5  # per trace
        store.write_spans([shared.root(), alone.root()])  # the runs' summaries
        for run_id, spans in written.items():
            stored = {span.span_id: span.attributes for span in store.get_spans(run_id)}
            assert {key: stored[key] for key in (span.span_id for span in spans)} == {
                span.span_id: span.attributes for span in spans
            }
        assert _count(store, "blobs") == 5
        assert store.delete_runs(["01SHARED"]) == 1
        assert _count(store, "blobs") == 5  # every message is still used by 01ALONE
        assert store.delete_runs(["01ALONE"]) == 1
        assert (_count(store, "blobs"), _count(store, "trace_blobs")) == (0, 0)
    finally:
        store.close()


def test_deleting_a_run_keeps_the_blobs_other_runs_of_its_trace_still_use(
    store: SqlRunIndexStore,
) -> None:
    """Blob references are kept per trace: deleting one run of a shared trace releases only
    what no span left in that trace uses."""
    first = RunSpans("01FIRST")
    second = RunSpans("01SECOND", trace_id=first.trace_id, start_ns=first.start_ns)
    short, long = _history(2), _history(4)
    kept = second.child("chat", **{attr.GEN_AI_INPUT_MESSAGES: short})
    store.write_spans(
        [
            first.marker(),
            first.child("chat", **{attr.GEN_AI_INPUT_MESSAGES: long}),
            second.marker(),
            kept,
        ]
    )
    assert (_count(store, "blobs"), _count(store, "trace_blobs")) == (4, 4)
    assert store.delete_runs(["01FIRST"]) == 1
    assert (_count(store, "blobs"), _count(store, "trace_blobs")) == (2, 2)
    stored = {span.span_id: span for span in store.get_spans("01SECOND")}
    assert stored[kept.span_id].attributes[attr.GEN_AI_INPUT_MESSAGES] == short
    assert store.delete_runs(["01SECOND"]) == 1
    assert (_count(store, "blobs"), _count(store, "trace_blobs")) == (0, 0)


def test_run_totals_are_read_from_the_spans_by_run_index(store: SqlRunIndexStore) -> None:
    """The per-write recomputation of a run's totals reads the index, not the span rows."""
    if store.DIALECT != "sqlite":
        pytest.skip("SQLite's query plan")
    run = RunSpans("01TOTALS")
    store.write_spans([run.marker(), run.child("chat"), run.root()])
    plan = store._read(
        lambda executor: executor.execute(
            "EXPLAIN QUERY PLAN SELECT run_id, CAST(SUM(is_llm) AS BIGINT), MIN(start_ns), "
            "MAX(end_ns), SUM(input_tokens), MAX(sf_kind), MAX(status_code), MIN(trace_id) "
            "FROM spans WHERE run_id IN (?) GROUP BY run_id",
            ["01TOTALS"],
        )
    )
    assert any("COVERING INDEX spans_by_run" in row[-1] for row in plan)
    assert store.get_run("01TOTALS") is not None
