"""Run summaries derived from spans: membership, status, merge of segments, arrival order."""

from __future__ import annotations

import itertools
import random

import pytest
from index_builders import (
    SECOND,
    T0,
    FakeClock,
    RunSpans,
    StoreFactory,
    foreign_trace,
    metric_event,
)

from spanflow import attributes as attr
from spanflow.query.records import SpanRecord, StatusCode
from spanflow.query.store import RunQuery
from spanflow_collector.index import SqlRunIndexStore


def _complete_run(run_id: str = "01RUN") -> list[SpanRecord]:
    segment = RunSpans(run_id, name="eval-7")
    return [
        segment.marker(),
        segment.llm(input_tokens=100, output_tokens=20),
        segment.llm(input_tokens=50, output_tokens=7, offset_s=3),
        segment.child("tool", status_code=StatusCode.ERROR),
        segment.heartbeat(segment.start_ns + 5 * SECOND),
        segment.root(
            **{
                attr.RUN_TAGS: ("nightly", "gpt"),
                attr.PARAM_PREFIX + "lr": 0.01,
                attr.PARAM_PREFIX + "model": "gpt-4o",
                attr.METRIC_PREFIX + "accuracy": 0.93,
                attr.OUTPUT_PREFIX + "answer": "42",
                attr.RUN_ATTRIBUTE_PREFIX + "owner": "ana",
            }
        ),
    ]


def _comparable(summary: object) -> object:
    return summary


def test_completed_run_summary_counts_spans_tokens_and_errors(store: SqlRunIndexStore) -> None:
    """A finished run shows its name, params, metrics, tags and counts of LLM calls and tokens."""
    store.write_spans(_complete_run())
    run = store.get_run("01RUN")
    assert run is not None
    assert (run.name, run.project, run.status) == ("eval-7", "proj", "completed")
    assert run.tags == ("nightly", "gpt")
    assert run.params == {"lr": 0.01, "model": "gpt-4o"}
    assert run.metrics == {"accuracy": 0.93}
    assert run.outputs == {"answer": "42"}
    assert run.attributes == {"owner": "ana"}
    assert (run.span_count, run.llm_call_count, run.error_count) == (4, 2, 1)
    assert (run.input_tokens, run.output_tokens) == (150, 27)
    assert run.duration_s == 10.0
    assert run.last_heartbeat_unix_nano is not None


def test_every_arrival_order_gives_the_same_summary(make_store: StoreFactory) -> None:
    """Roots, markers and children arriving in any order and batching yield one same summary."""
    spans = _complete_run()
    reference_store = make_store()
    reference_store.write_spans(spans)
    reference = reference_store.get_run("01RUN")
    rng = random.Random(7)
    orders = [list(reversed(spans))] + [rng.sample(spans, len(spans)) for _ in range(4)]
    for order in orders:
        reference_store.delete_runs(["01RUN"])
        cut = rng.randrange(1, len(order))
        for batch in (order[:cut], order[cut:]):
            reference_store.write_spans(batch)
        assert reference_store.get_run("01RUN") == reference


def test_run_is_running_from_its_start_marker(store: SqlRunIndexStore) -> None:
    """A run shows as running as soon as its start marker arrives, before its root."""
    segment = RunSpans("01LIVE")
    store.write_spans([segment.marker()])
    run = store.get_run("01LIVE")
    assert run is not None
    assert run.status == "running"
    assert run.end_time_unix_nano is None
    assert run.duration_s is None


def test_failed_run_carries_its_error(store: SqlRunIndexStore) -> None:
    """A run whose root says failed shows the exception type and message."""
    segment = RunSpans("01FAIL")
    store.write_spans(
        [
            segment.marker(),
            segment.root(
                status="failed",
                **{attr.ERROR_TYPE: "ValueError", attr.ERROR_MESSAGE: "bad input"},
            ),
        ]
    )
    run = store.get_run("01FAIL")
    assert run is not None
    assert (run.status, run.error_type, run.error_message) == ("failed", "ValueError", "bad input")


@pytest.mark.parametrize("status", ["cancelled", "interrupted", "completed"])
def test_final_status_comes_from_the_root(store: SqlRunIndexStore, status: str) -> None:
    """The root's spanflow.run.status is the run's status."""
    segment = RunSpans(f"01{status.upper()}")
    store.write_spans([segment.root(status=status)])
    run = store.get_run(segment.run_id)
    assert run is not None and run.status == status


def test_a_resumed_segment_that_assumed_its_project_keeps_the_runs_project(
    store: SqlRunIndexStore,
) -> None:
    """A later segment marked project_assumed does not move the run out of its project."""
    first = RunSpans("01MOVED", project="evals", start_ns=T0 - 300 * SECOND)
    second = RunSpans("01MOVED", project="default", segment=1, start_ns=T0 - 10 * SECOND)
    assumed = {attr.RUN_PROJECT_ASSUMED: True}
    store.write_spans([first.marker(), first.root(), second.marker(**assumed)])
    store.write_spans([second.root(**assumed)])
    run = store.get_run("01MOVED")
    assert run is not None
    assert (run.project, run.segment_count) == ("evals", 2)


def test_resumed_run_merges_segments(store: SqlRunIndexStore) -> None:
    """Two segments with one run id are one run: counts add up and the last segment decides."""
    first = RunSpans("01RESUME", start_ns=T0 - 3_000 * SECOND)
    second = RunSpans("01RESUME", segment=1, start_ns=T0 - 10 * SECOND)
    store.write_spans(
        [
            first.marker(),
            first.llm(),
            first.root(status="failed", **{attr.PARAM_PREFIX + "lr": 0.1}),
            second.marker(),
        ]
    )
    running = store.get_run("01RESUME")
    assert running is not None
    assert (running.status, running.segment_count) == ("running", 2)
    store.write_spans(
        [
            second.llm(),
            second.root(
                end_ns=T0 - SECOND,
                **{attr.PARAM_PREFIX + "lr": 0.2, attr.METRIC_PREFIX + "loss": 0.5},
            ),
        ]
    )
    run = store.get_run("01RESUME")
    assert run is not None
    assert (run.status, run.segment_count, run.llm_call_count) == ("completed", 2, 2)
    assert run.start_time_unix_nano == T0 - 3_000 * SECOND
    assert run.end_time_unix_nano == T0 - SECOND
    assert run.params == {"lr": 0.2}
    assert run.metrics == {"loss": 0.5}
    assert set(run.trace_ids) == {first.trace_id, second.trace_id}
    assert run.error_type is None


def test_spans_without_run_id_join_the_run_of_their_trace(store: SqlRunIndexStore) -> None:
    """Unstamped spans (e.g. from a downstream service) join the run whose marker is in their
    trace, whether they arrive before or after it."""
    segment = RunSpans("01MAP")
    early = segment.child("remote call", stamped=False)
    store.write_spans([early])
    assert store.list_runs(RunQuery()).runs == ()
    store.write_spans([segment.marker()])
    late = segment.child("remote call 2", stamped=False, offset_s=4)
    store.write_spans([late, segment.root()])
    span_ids = {span.span_id for span in store.get_spans("01MAP")}
    assert {early.span_id, late.span_id} <= span_ids
    run = store.get_run("01MAP")
    assert run is not None and run.span_count == 3  # the root and both remote calls
    assert [r.id for r in store.list_runs(RunQuery()).runs] == ["01MAP"]


def test_traces_from_other_sdks_become_runs(store: SqlRunIndexStore) -> None:
    """A trace without spanflow attributes is one run: id from the trace, name from its root,
    project from service.name, failed when the root's status is ERROR."""
    ok = foreign_trace(service="checkout")
    bad = foreign_trace(service=None, root_name="POST /pay", error=True)
    store.write_spans(list(reversed(ok)) + bad)
    run = store.get_run(ok[0].trace_id)
    assert run is not None
    assert (run.name, run.project, run.status, run.span_count) == (
        "GET /checkout",
        "checkout",
        "completed",
        3,
    )
    failed = store.get_run(bad[0].trace_id)
    assert failed is not None
    assert (failed.project, failed.status, failed.error_message) == ("default", "failed", "boom")


def test_foreign_children_without_root_wait_for_it(store: SqlRunIndexStore) -> None:
    """Children of another SDK's trace appear with their run once the root arrives."""
    root, *children = foreign_trace()
    store.write_spans(children)
    assert store.get_run(root.trace_id) is None
    store.write_spans([root])
    run = store.get_run(root.trace_id)
    assert run is not None and run.span_count == 3


def test_subrun_knows_its_parent(store: SqlRunIndexStore) -> None:
    """A subrun is its own run carrying its parent's id; the parent lists it as a child."""
    parent = RunSpans("01PARENT")
    child = RunSpans("01CHILD", parent_run_id="01PARENT", start_ns=parent.start_ns + SECOND)
    store.write_spans([parent.root(), child.root()])
    page = store.list_runs(RunQuery(parent_id="01PARENT"))
    assert [run.id for run in page.runs] == ["01CHILD"]
    top = store.list_runs(RunQuery(top_level_only=True))
    assert [run.id for run in top.runs] == ["01PARENT"]


def test_run_goes_interrupted_when_heartbeats_stop(
    store: SqlRunIndexStore, clock: FakeClock
) -> None:
    """A run without a root whose heartbeats stopped reads as interrupted after 3 intervals
    (at least 90 s), from the clock alone, without any write."""
    segment = RunSpans("01KILLED", start_ns=clock.now_ns, heartbeat_interval_s=40)
    store.write_spans([segment.marker(), segment.heartbeat(clock.now_ns + 40 * SECOND)])
    clock.advance(40 + 119)
    run = store.get_run("01KILLED")
    assert run is not None and run.status == "running"
    assert [r.id for r in store.list_runs(RunQuery(statuses=("running",))).runs] == ["01KILLED"]
    clock.advance(2)
    run = store.get_run("01KILLED")
    assert run is not None and run.status == "interrupted"
    assert store.list_runs(RunQuery(statuses=("running",))).runs == ()
    interrupted = store.list_runs(RunQuery(statuses=("interrupted",)))
    assert [r.id for r in interrupted.runs] == ["01KILLED"]


def test_interrupted_timeout_is_at_least_90_seconds(
    store: SqlRunIndexStore, clock: FakeClock
) -> None:
    """Short heartbeat intervals still allow 90 s of silence before interrupted."""
    segment = RunSpans("01SHORT", start_ns=clock.now_ns, heartbeat_interval_s=1)
    store.write_spans([segment.marker()])
    clock.advance(89)
    assert store.get_run("01SHORT").status == "running"  # type: ignore[union-attr]
    clock.advance(2)
    assert store.get_run("01SHORT").status == "interrupted"  # type: ignore[union-attr]


def test_metric_history_in_time_order(store: SqlRunIndexStore) -> None:
    """Every logged metric point comes back with its step, in time order."""
    segment = RunSpans("01METRICS")
    t = segment.start_ns
    events = (
        metric_event("loss", 0.5, step=2, at_ns=t + 2),
        metric_event("loss", 0.9, step=1, at_ns=t + 1),
        metric_event("acc", 0.7, step=None, at_ns=t + 3),
    )
    store.write_spans([segment.root(events=events)])
    history = store.get_metric_history("01METRICS")
    assert [(p.name, p.value, p.step) for p in history] == [
        ("loss", 0.9, 1),
        ("loss", 0.5, 2),
        ("acc", 0.7, None),
    ]


def test_all_arrival_orders_of_a_small_run(make_store: StoreFactory) -> None:
    """Every permutation of marker, unstamped child and root gives the same summary."""
    store = make_store()
    segment = RunSpans("01PERM")
    spans = [segment.marker(), segment.child(stamped=False), segment.root()]
    results = []
    for order in itertools.permutations(spans):
        store.delete_runs(["01PERM"])
        for span in order:
            store.write_spans([span])
        results.append(store.get_run("01PERM"))
    assert results[0] is not None and results[0].span_count == 2
    assert all(result == results[0] for result in results)


def test_spans_of_other_sdks_join_a_trace_that_only_spans_of_the_run_reach_later(
    make_store: StoreFactory,
) -> None:
    """A trace holding spans of a run but none of its roots or markers (a call traced in a
    thread of its own), and another SDK's span in it: the HTTP span ends first and may be
    exported in an earlier batch than the call it belongs to. It joins the run in every order."""
    store = make_store()
    store.write_spans([RunSpans("01THREAD").marker()])
    results = []
    for attempt, order in enumerate(("http first", "llm first", "together")):
        thread = RunSpans("01THREAD", trace_id=f"{attempt + 7:032x}")
        llm = thread.llm(offset_s=attempt)
        http = thread.child("POST /v1/chat/completions", stamped=False, offset_s=attempt)
        batches = {"http first": [[http], [llm]], "llm first": [[llm], [http]]}
        for batch in batches.get(order, [[http, llm]]):
            store.write_spans(batch)
        names = [span.name for span in store.get_spans("01THREAD")]
        results.append(names.count("POST /v1/chat/completions"))
    assert results == [1, 2, 3]
    run = store.get_run("01THREAD")
    assert run is not None and run.span_count == 6 and len(run.trace_ids) == 4


def test_nul_characters_are_stored_not_refused(store: SqlRunIndexStore) -> None:
    """Text with NUL (U+0000) is stored by both stores; PostgreSQL keeps it as U+FFFD."""
    run = RunSpans("01NUL")
    child = run.child("tool\x00call", note="a\x00b")
    store.write_spans([run.marker(), child, run.root()])
    (stored,) = [span for span in store.get_spans("01NUL") if span.span_id == child.span_id]
    assert stored.name in ("tool\x00call", "tool\ufffdcall")
    assert stored.attributes["note"] in ("a\x00b", "a\ufffdb")
    assert store.get_run("01NUL") is not None
