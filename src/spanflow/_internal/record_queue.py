"""Send run records to one destination: a bounded queue, one background thread, batches.

``log_metric`` only appends to a queue; the thread folds what is queued (``coalesce``) and
hands it to the destination's :class:`RunRecordExporter` in batches. A start record wakes the
thread at once, so a run shows as running within moments of opening; everything else waits
up to ``delay_s`` to travel with its neighbours. When the queue is full (the destination is far
slower than the program) records are dropped, and the runs they belonged to get a
``run.truncated`` record saying so, which is never dropped: losing data is never silent.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import Literal, Protocol

from spanflow import attributes
from spanflow._internal import clock
from spanflow._internal.background_worker import STOP, BackgroundWorker, Stop, Wait
from spanflow._internal.fork_hooks import ForkStage
from spanflow._internal.guard import report_internal_error
from spanflow._internal.run_records import coalesce, new_record_id, record_weight, split_by_size
from spanflow._internal.warn import warn_once
from spanflow.query.records import RunRecord

logger = logging.getLogger("spanflow")

DEFAULT_MAX_QUEUED_ITEMS = 2_000_000
"""Params, points, tags ... waiting to be sent to one destination before records are dropped."""
DEFAULT_DELAY_S = 0.5
MAX_ITEMS_PER_EXPORT = 20_000
TRUNCATED_QUEUE = "queue_full"


class RunRecordExporter(Protocol):
    """Where a route's run records go (an OTLP endpoint, the embedded index, memory)."""

    def export(self, records: Sequence[RunRecord]) -> bool:
        """Deliver ``records``; False when they could not be delivered (they are dropped)."""

    def shutdown(self) -> None:
        """Release resources; later exports do nothing."""


class InMemoryRunRecordExporter:
    """Keeps every exported run record in a list (tests, ``exporters=["memory"]``)."""

    def __init__(self) -> None:
        self._records: list[RunRecord] = []
        self._lock = threading.Lock()

    def export(self, records: Sequence[RunRecord]) -> bool:
        with self._lock:
            self._records.extend(records)
        return True

    def get_records(self) -> list[RunRecord]:
        """Every record exported so far, in export order."""
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        """Forget the records exported so far."""
        with self._lock:
            self._records.clear()

    def shutdown(self) -> None:
        return None


class RecordQueue(BackgroundWorker[list[RunRecord]]):
    """Queues run records for one exporter and sends them from a background thread.

    Args:
        exporter: The destination.
        batch: False sends each record synchronously in the caller's thread (tests).
        max_queued_items: Items waiting before new records are dropped (and their runs marked
            truncated).
        delay_s: How long an ordinary record may wait for companions.
    """

    def __init__(
        self,
        exporter: RunRecordExporter,
        *,
        batch: bool = True,
        max_queued_items: int = DEFAULT_MAX_QUEUED_ITEMS,
        delay_s: float = DEFAULT_DELAY_S,
    ) -> None:
        self.exporter = exporter
        self._batch = batch
        self._max_queued_items = max_queued_items
        self._delay_s = delay_s
        super().__init__(
            thread_name="spanflow-run-records",
            failure_context="sending run records",
            fork_stage=ForkStage.RECORD_QUEUE,
        )

    def _reset(self) -> None:
        # A forked child starts empty: the parent sends what it queued itself.
        self._pending: deque[RunRecord] = deque()
        self._pending_items = 0
        self._in_flight = 0
        self._urgent = False
        self._flush_requested = 0
        self._oldest_monotonic = 0.0
        self._dropped: dict[str, RunRecord] = {}  # run id -> a record of it, for the ids

    def submit(self, record: RunRecord, *, urgent: bool = False) -> None:
        """Queue ``record``; ``urgent`` (start records) wakes the sender at once."""
        if not self._batch:
            self._send([record])
            return
        with self._cond:
            if self._closed:
                return
            if self._pending_items + record_weight(record) > self._max_queued_items:
                self._dropped.setdefault(record.run_id, record)
                warn_once(
                    "record-queue-full",
                    "spanflow: run data is logged faster than it can be sent; some was dropped "
                    "and the run is marked truncated",
                    stacklevel=5,
                )
                return
            first = not self._pending
            if first:
                self._oldest_monotonic = time.monotonic()
            self._pending.append(record)
            self._pending_items += record_weight(record)
            self._urgent = self._urgent or urgent
            self._ensure_worker()
            if urgent or first:
                # The sender sleeps without a deadline while the queue is empty.
                self._cond.notify_all()

    def _due(self) -> bool:
        if not self._pending and not self._dropped:
            return False
        return (
            self._urgent
            or self._flush_requested > 0
            or self._closed
            or self._pending_items >= MAX_ITEMS_PER_EXPORT
            or time.monotonic() - self._oldest_monotonic >= self._delay_s
        )

    def _next_job(self) -> list[RunRecord] | Wait | Literal[Stop.STOP]:
        """What is queued once it is due (with a truncation record per run that lost some)."""
        if not self._due():
            if self._closed:
                return STOP
            if not self._pending:
                return Wait(None)
            waited_s = time.monotonic() - self._oldest_monotonic
            return Wait(max(0.0, self._delay_s - waited_s))
        taken = list(self._pending)
        self._pending.clear()
        self._in_flight = self._pending_items or 1
        self._pending_items = 0
        self._urgent = False
        dropped, self._dropped = self._dropped, {}
        taken.extend(_truncation_record(record) for record in dropped.values())
        return taken

    def _run_job(self, job: list[RunRecord]) -> None:
        try:
            self._send(job)
        finally:
            with self._cond:
                self._in_flight = 0
                self._cond.notify_all()

    def _send(self, records: list[RunRecord]) -> None:
        with self._send_lock:
            for group in split_by_size(coalesce(records), MAX_ITEMS_PER_EXPORT):
                try:
                    self.exporter.export(group)
                except Exception:
                    report_internal_error("sending run records")

    def force_flush(self, timeout_s: float) -> bool:
        """Send everything queued now; True when it was handed over within ``timeout_s``."""
        if not self._batch:
            return True
        with self._cond:
            self._flush_requested += 1
            self._cond.notify_all()
            try:
                return self._cond.wait_for(
                    lambda: not self._pending and not self._dropped and not self._in_flight,
                    timeout=timeout_s,
                )
            finally:
                self._flush_requested -= 1

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Send what is queued, stop the thread and shut the exporter down."""
        self.force_flush(timeout_s)
        with self._cond:
            self._closed = True
            thread = self._thread
            self._cond.notify_all()
        if thread is not None:
            thread.join(timeout_s)
        try:
            self.exporter.shutdown()
        except Exception:
            report_internal_error("closing a run record exporter")


def _truncation_record(sample: RunRecord) -> RunRecord:
    return RunRecord(
        kind=attributes.RecordKindValue.TRUNCATED,
        run_id=sample.run_id,
        record_id=new_record_id(),
        segment=sample.segment,
        trace_id=sample.trace_id,
        span_id=sample.span_id,
        time_unix_nano=clock.time_ns(),
        fields={attributes.RUN_TRUNCATED: (TRUNCATED_QUEUE,)},
    )
