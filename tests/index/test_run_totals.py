"""Run totals kept up to date by each batch equal the sums over every stored span."""

from __future__ import annotations

import random
from pathlib import Path

from index_builders import SECOND, RunSpans, StoreFactory, foreign_trace, new_trace_id

from spanflow import attributes as attr
from spanflow.query.records import SpanRecord, StatusCode
from spanflow.query.store import RunQuery
from spanflow_collector.index import SqlRunIndexStore, run_totals
from spanflow_collector.index.executor import Executor
from spanflow_collector.index.prepared import prepare_spans
from spanflow_collector.index.schema import LATEST_VERSION
from spanflow_collector.index.sqlite import SqliteRunIndexStore


def _scenario(seed: int, *, foreign: bool = True) -> list[SpanRecord]:
    """Spans of three runs as an agent makes them: two segments of a resumed run in two
    traces, LLM calls with tokens, failures, heartbeats; and unless not ``foreign``, spans of
    other SDKs inside a run's trace, a trace of another SDK that becomes a run of its own, and
    a trace whose spans of other SDKs change runs when a run's start marker arrives in it late
    (runs those move between are summed again; the others only ever add batches)."""
    rng = random.Random(seed)
    first = RunSpans(f"R{seed}-resumed")
    resumed = RunSpans(f"R{seed}-resumed", segment=1, start_ns=first.start_ns + 60 * SECOND)
    other = RunSpans(f"R{seed}-other", start_ns=first.start_ns - 5 * SECOND)
    late = RunSpans(f"R{seed}-late", trace_id=other.trace_id, start_ns=first.start_ns)
    spans: list[SpanRecord] = [first.marker(), resumed.marker(), other.marker()]
    for run in (first, resumed, other):
        for n in range(rng.randint(3, 12)):
            offset = rng.uniform(0.5, 9.0)
            if rng.random() < 0.4:
                span = run.llm(
                    input_tokens=rng.choice([0, 7, 10**9]),
                    output_tokens=rng.randint(0, 500),
                    offset_s=offset,
                )
            else:
                span = run.child(
                    f"step {n}",
                    offset_s=offset,
                    status_code=rng.choice([StatusCode.UNSET, StatusCode.OK, StatusCode.ERROR]),
                )
            spans.append(span)
        spans.append(run.heartbeat(run.start_ns + rng.randint(1, 9) * SECOND))
        if foreign:
            spans.append(run.child("http", offset_s=rng.uniform(0.1, 9), stamped=False))
    spans += [first.root(), resumed.root(status=attr.RunStatus.FAILED), other.root()]
    if foreign:
        spans += foreign_trace(children=rng.randint(1, 4))
        spans.append(late.marker())  # moves other's trace's spans of other SDKs to the late run
        spans.append(late.child("late step", offset_s=3))
    rng.shuffle(spans)
    return spans


def _batches(spans: list[SpanRecord], seed: int) -> list[list[list[SpanRecord]]]:
    """Export batches of ``spans``, each of one or more requests, as retrying, overlapping
    exporters send them: whole batches resent, batches holding some spans stored already,
    a span in two requests of one batch."""
    rng = random.Random(seed)
    batches: list[list[list[SpanRecord]]] = []
    position = 0
    while position < len(spans):
        size = rng.randint(1, 9)
        batch = [spans[position : position + size]]
        position += size
        roll = rng.random()
        if roll < 0.15 and batches:
            batches.append(rng.choice(batches))  # a retry of a batch that did commit
        elif roll < 0.3 and position - size >= 2:
            batch.append(rng.sample(spans[: position - size], 2))  # some stored already
        elif roll < 0.4:
            batch.append(batch[0][:1])
        batches.append(batch)
    return batches


def _totals(store: SqlRunIndexStore) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    def read(executor: Executor) -> tuple[list[tuple[object, ...]], ...]:
        return (
            executor.execute(f"SELECT {run_totals.TOTALS_COLUMNS} FROM run_totals ORDER BY run_id"),
            executor.execute("SELECT * FROM run_traces ORDER BY run_id, trace_id"),
        )

    totals, traces = store._read(read)
    return totals, traces


def test_totals_kept_batch_by_batch_equal_the_totals_summed_from_every_span(
    store: SqlRunIndexStore,
) -> None:
    for seed in range(12):
        for requests in _batches(_scenario(seed, foreign=seed % 2 == 0), seed):
            if len(requests) == 1:
                store.write_spans(requests[0])
            else:  # as the collector writes what several requests brought
                store.write_prepared([prepare_spans(spans) for spans in requests], (), ())
    kept = _totals(store)
    runs = store.list_runs(RunQuery(limit=1000)).runs
    assert {run.span_count for run in runs} != {0}
    run_ids = sorted(run.id for run in runs)

    def sum_everything_again(executor: Executor) -> None:
        run_totals.sum_again(executor, run_ids)
        store._recompute_runs(executor, run_ids)

    store._write(sum_everything_again)
    assert _totals(store) == kept
    assert store.list_runs(RunQuery(limit=1000)).runs == runs
    resumed = store.get_run("R0-resumed")
    assert resumed is not None and len(resumed.trace_ids) == 2


def test_deleting_a_run_forgets_its_totals(store: SqlRunIndexStore) -> None:
    run = RunSpans("R-deleted")
    store.write_spans([run.marker(), run.llm(), run.root()])
    assert store.delete_runs(["R-deleted"]) == 1
    assert _totals(store) == ([], [])


def test_a_batch_of_new_spans_does_not_sum_its_run_again(tmp_path: Path) -> None:
    """A long run's later batches cost what they hold, not what the run holds: the spans of
    the run are summed again only when some of a batch's spans were stored already."""
    store = SqliteRunIndexStore(tmp_path / "index.db")
    run = RunSpans("R-long")
    store.write_spans([run.marker(), *(run.llm(offset_s=n / 100) for n in range(300))])
    statements: list[str] = []
    store._connection().set_trace_callback(statements.append)
    store.write_spans([run.llm(input_tokens=3), run.child("tool")])
    summed = [sql for sql in statements if "FROM spans WHERE run_id IN" in sql]
    assert summed == []
    connection = store._connection()
    for sql in statements:  # neither are the run's other spans read to find its level spans
        if sql.startswith("SELECT") and " spans" in sql:
            plan = [row[-1] for row in connection.execute(f"EXPLAIN QUERY PLAN {sql}")]
            assert not any("spans_by_run" in step or "SCAN s" in step for step in plan), (sql, plan)
    resent = run.llm(input_tokens=4)
    store.write_spans([resent])
    store.write_spans([resent, run.llm(input_tokens=5)])  # one new, one stored: which is unknown
    assert [sql for sql in statements if "FROM spans WHERE run_id IN" in sql] != []
    summary = store.get_run("R-long")
    assert summary is not None
    assert (summary.span_count, summary.llm_call_count) == (304, 303)
    assert summary.input_tokens == 300 * 10 + 3 + 4 + 5
    store.close()


def test_spans_of_other_sdks_arriving_batch_by_batch_are_added_not_summed_again(
    tmp_path: Path,
) -> None:
    """A long trace of another SDK, and spans of other SDKs inside a spanflow run's trace, cost
    each batch what it holds: once their run is known, later batches add to it."""
    store = SqliteRunIndexStore(tmp_path / "index.db")
    trace = foreign_trace(children=200)
    root, children = trace[0], trace[1:]
    run = RunSpans("R-with-http")
    store.write_spans([root, *children[:100], run.marker()])
    statements: list[str] = []
    store._connection().set_trace_callback(statements.append)
    for start in range(100, 200, 25):
        store.write_spans(children[start : start + 25])
        store.write_spans([run.child(f"GET /{start}", stamped=False), run.llm()])
    assert [sql for sql in statements if "FROM spans WHERE run_id IN" in sql] == []
    connection = store._connection()
    for sql in statements:  # a run's level spans are not looked up among the trace's spans
        if sql.startswith("SELECT s.trace_id"):
            plan = [row[-1] for row in connection.execute(f"EXPLAIN QUERY PLAN {sql}")]
            assert not any("by_trace" in step or "SCAN s" in step for step in plan), (sql, plan)
    foreign = store.get_run(root.trace_id)
    assert foreign is not None and foreign.span_count == 201
    summary = store.get_run("R-with-http")
    assert summary is not None and (summary.span_count, summary.llm_call_count) == (8, 4)
    statements.clear()
    late = run.child("waited for its run", stamped=False)
    elsewhere = RunSpans("R-elsewhere", trace_id=new_trace_id())
    store.write_spans([elsewhere.child("no run known yet", stamped=False)])
    store.write_spans([elsewhere.marker(), late])  # the waiting span moves in: summed again
    assert [sql for sql in statements if "FROM spans WHERE run_id IN" in sql] != []
    moved = store.get_run("R-elsewhere")
    assert moved is not None and moved.span_count == 1
    summary = store.get_run("R-with-http")
    assert summary is not None and summary.span_count == 9
    store.close()


def test_an_index_of_schema_8_gets_its_run_totals_summed_on_upgrade(
    make_store: StoreFactory,
) -> None:
    store = make_store()
    store.write_spans(_scenario(7))
    before = store.list_runs(RunQuery(limit=1000)).runs

    def as_schema_8_left_it(executor: Executor) -> None:
        for statement in (
            "DROP TABLE run_totals",
            "DROP TABLE run_traces",
            "DROP INDEX spans_level",
            "DROP INDEX spans_foreign_roots",
            "DROP INDEX spans_level_by_trace",  # schema 10
            "DROP INDEX spans_roots_by_trace",
            "DROP INDEX spans_unowned_by_trace",
            "UPDATE schema_version SET version = 8",
        ):
            executor.execute(statement)

    store._write(as_schema_8_left_it)
    store.close()
    store = make_store()
    assert store.schema_version() == LATEST_VERSION
    assert store.list_runs(RunQuery(limit=1000)).runs == before
    run = RunSpans("R7-resumed", segment=1)
    store.write_spans([run.llm(input_tokens=11, output_tokens=1)])
    after = store.get_run("R7-resumed")
    earlier = next(summary for summary in before if summary.id == "R7-resumed")
    assert after is not None
    assert after.span_count == earlier.span_count + 1
    assert after.input_tokens == earlier.input_tokens + 11
    foreign = next(summary for summary in before if summary.id in summary.trace_ids)
    trace = RunSpans(foreign.id, trace_id=foreign.id)  # a trace of another SDK: a run of its own
    store.write_spans([trace.child("after the upgrade", stamped=False)])
    grown = store.get_run(foreign.id)
    assert grown is not None and grown.span_count == foreign.span_count + 1
