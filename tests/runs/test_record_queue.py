"""The run record queue of one destination: batching, flushing, and never silent when full."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

import spanflow
from spanflow import attributes
from spanflow._internal.record_queue import RecordQueue
from spanflow.query.records import MetricPointValue, RunRecord

WAIT_S = 30.0


class GatedExporter:
    """A destination that takes records only once the test opens its gate."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.batches: list[list[RunRecord]] = []

    def export(self, records: Sequence[RunRecord]) -> bool:
        self.entered.set()
        assert self.gate.wait(WAIT_S)
        self.batches.append(list(records))
        return True

    def shutdown(self) -> None:
        return None


def _point_record(step: int) -> RunRecord:
    return RunRecord(
        kind=attributes.RecordKindValue.METRICS,
        run_id="01QUEUE",
        segment=0,
        trace_id="1" * 32,
        span_id="2" * 16,
        record_id=f"p{step}",
        time_unix_nano=step + 1,
        points=(MetricPointValue("loss", float(step), step, step + 1),),
    )


def test_a_full_queue_drops_with_a_warning_and_marks_the_run_truncated() -> None:
    """Records past the queue bound are dropped, one warning says so, the run gets a truncation."""
    exporter = GatedExporter()
    queue = RecordQueue(exporter, max_queued_items=5, delay_s=0.0)
    queue.submit(_point_record(0), urgent=True)
    assert exporter.entered.wait(WAIT_S)  # the sender is busy with record 0
    for step in range(1, 6):
        queue.submit(_point_record(step))
    with pytest.warns(spanflow.SpanflowWarning, match="dropped"):
        queue.submit(_point_record(6))
    queue.submit(_point_record(7))  # dropped too, without a second warning
    exporter.gate.set()
    assert queue.force_flush(WAIT_S)
    queue.shutdown()
    sent = [record for batch in exporter.batches for record in batch]
    steps = [point.step for record in sent for point in record.points]
    assert steps == [0, 1, 2, 3, 4, 5]
    (truncation,) = [r for r in sent if r.kind == attributes.RecordKindValue.TRUNCATED]
    assert truncation.run_id == "01QUEUE"
    assert truncation.fields[attributes.RUN_TRUNCATED] == ("queue_full",)


def test_queued_points_are_folded_into_one_record_per_batch() -> None:
    """Points queued while the sender is busy leave as one metrics record, in order."""
    exporter = GatedExporter()
    queue = RecordQueue(exporter, delay_s=0.0)
    queue.submit(_point_record(0), urgent=True)
    assert exporter.entered.wait(WAIT_S)
    for step in range(1, 101):
        queue.submit(_point_record(step))
    exporter.gate.set()
    assert queue.force_flush(WAIT_S)
    queue.shutdown()
    assert len(exporter.batches) == 2
    (folded,) = exporter.batches[1]
    assert [point.step for point in folded.points] == list(range(1, 101))
