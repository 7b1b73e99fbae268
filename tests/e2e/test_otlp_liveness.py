"""Runs exported over real OTLP/HTTP: visible while running, final status and shape on end."""

from __future__ import annotations

import time

import pytest

import spanflow
from spanflow import attributes
from spanflow.testing import OTLPReceiver, export_to

RUN = attributes.SpanKindValue.RUN
START = attributes.RecordKindValue.START
HEARTBEAT = attributes.RecordKindValue.HEARTBEAT


def _heartbeats(receiver: OTLPReceiver, run_id: str) -> int:
    return sum(1 for r in receiver.records() if r.kind == HEARTBEAT and r.run_id == run_id)


def test_start_record_and_heartbeats_arrive_before_the_run_ends(receiver: OTLPReceiver) -> None:
    """A receiver gets the start record at once and heartbeat records while the run is open."""
    with export_to(receiver, heartbeat_interval_s=0.05), spanflow.run("live") as handle:
        start = receiver.wait_for_record(kind=START, run_id=handle.id)
        assert start.fields[attributes.RUN_NAME] == "live"
        assert start.fields[attributes.RUN_HEARTBEAT_INTERVAL_S] == 0.05
        assert start.trace_id == handle.trace_id
        heartbeat = receiver.wait_for_record(kind=HEARTBEAT, run_id=handle.id)
        assert (heartbeat.trace_id, heartbeat.span_id) == (start.trace_id, start.span_id)
        assert not any(s.spanflow_kind == RUN for s in receiver.spans())
        assert handle.status == "running"
    root = receiver.wait_for_span(kind=RUN, run_id=handle.id)
    assert root.span_id == start.span_id
    assert root.attributes[attributes.RUN_STATUS] == "completed"
    assert [span.name for span in receiver.spans()] == ["live"]  # no bookkeeping spans


def test_heartbeats_stop_when_the_run_ends(receiver: OTLPReceiver) -> None:
    """After a run ends no further heartbeat for it is sent."""
    with export_to(receiver, heartbeat_interval_s=0.02):
        with spanflow.run("short") as handle:
            receiver.wait_for_record(kind=HEARTBEAT, run_id=handle.id)
        # A second, later run's heartbeats prove time passed; the first run's count is frozen.
        spanflow.force_flush()
        ended_count = _heartbeats(receiver, handle.id)
        with spanflow.run("later") as later:
            for count in (1, 3):
                deadline = time.monotonic() + 15
                while _heartbeats(receiver, later.id) < count and time.monotonic() < deadline:
                    receiver.wait_for_record(kind=HEARTBEAT, run_id=later.id)
                    spanflow.force_flush()
    assert _heartbeats(receiver, handle.id) == ended_count


def test_the_exported_run_root_carries_params_metrics_tags_and_the_error(
    receiver: OTLPReceiver,
) -> None:
    """Decoded OTLP of a failed run has its facts, run records and error."""
    with (
        export_to(receiver),
        pytest.raises(ZeroDivisionError),
        spanflow.run("failing", project="p1", tags=["t"], params={"k": [1, 2]}),
    ):
        spanflow.log_metric("loss", 0.25, step=3)
        spanflow.log_output("answer", "x")
        _ = 1 / 0
    (run,) = receiver.runs()
    assert run.name == "failing" and run.project == "p1" and run.tags == ["t"]
    assert run.params == {"k": [1, 2]}
    assert run.metrics == {"loss": 0.25}
    assert [(p.name, p.value, p.step) for p in run.metric_points] == [("loss", 0.25, 3)]
    assert run.outputs == {"answer": "x"}
    assert run.status == "failed" and run.root.status == "ERROR"
    assert run.root.attributes[attributes.ERROR_TYPE] == "ZeroDivisionError"
    assert run.root.attributes[attributes.ERROR_MESSAGE] == "division by zero"
    assert any(event.name == "exception" for event in run.root.events)


def test_a_subrun_exported_over_otlp_links_to_its_parent_root(receiver: OTLPReceiver) -> None:
    """The decoded subrun root has the parent id and a parent_run link to the parent's root."""
    with export_to(receiver), spanflow.run("parent"), spanflow.run("child"):
        pass
    runs = {run.name: run for run in receiver.runs()}
    child, parent = runs["child"], runs["parent"]
    assert child.parent_id == parent.id
    (link,) = child.root.links
    assert (link.trace_id, link.span_id) == (parent.root.trace_id, parent.root.span_id)
    assert link.attributes[attributes.LINK_TYPE] == "parent_run"


def test_several_endpoints_each_receive_every_span() -> None:
    """`configure(endpoint=[a, b])` exports the same run to both receivers."""
    with OTLPReceiver() as first, OTLPReceiver() as second:
        spanflow.configure(endpoint=[first.endpoint, second.traces_url])
        try:
            with spanflow.run("fan-out") as handle:
                pass
        finally:
            spanflow.force_flush()
            spanflow.configure(exporters=["none"])
        for receiver in (first, second):
            receiver.wait_for_span(kind=RUN, run_id=handle.id)
            receiver.wait_for_record(kind=START, run_id=handle.id)


def test_many_metric_points_travel_in_few_records(receiver: OTLPReceiver) -> None:
    """1,000 log_metric calls reach an OTLP receiver whole, folded into a handful of records."""
    with export_to(receiver), spanflow.run("batched") as handle:
        for step in range(1000):
            spanflow.log_metric("loss", step, step=step)
    metrics = [
        record
        for record in receiver.records()
        if record.kind == attributes.RecordKindValue.METRICS and record.run_id == handle.id
    ]
    assert [point.step for record in metrics for point in record.points] == list(range(1000))
    assert len(metrics) <= 10
    assert len({record.record_id for record in metrics}) == len(metrics)
