"""The span processor spanflow adds to the tracer provider: run membership and export routes.

spanflow adds exactly one :class:`SpanflowProcessor` to a tracer provider. Its list of export
routes can be swapped at any time (``configure()`` again, or the test capture), which matters
because OpenTelemetry lets a process set its global tracer provider only once.

Each :class:`ExportRoute` sends spans through a ``BatchSpanProcessor`` and, for destinations
that index runs (an OTLP endpoint, the embedded index, a test capture), run records through a
:class:`~spanflow._internal.record_queue.RecordQueue` (see ``run_records.py``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)

from spanflow import attributes
from spanflow._internal import fork_hooks, membership, otlp_transport
from spanflow._internal.fork_hooks import ForkStage
from spanflow._internal.guard import report_internal_error
from spanflow._internal.record_queue import RecordQueue, RunRecordExporter
from spanflow.query.records import RunRecord

# Each open run root's span id → the process's dropped-span count when it started.
_drop_baselines: dict[int, int] = {}
_drop_lock = threading.Lock()


def _remember_drop_baseline(span: Span) -> None:
    with _drop_lock:
        _drop_baselines[span.context.span_id] = otlp_transport.dropped_spans_total()


def stamp_dropped_spans(root: trace.Span) -> None:
    """Record on a run root, just before it ends, how many spans were dropped while it ran.

    Counted process-wide (every run open at the time carries the gap), and only what was
    known to be lost before the root ended; set only when it is not zero.
    """
    with _drop_lock:
        baseline = _drop_baselines.pop(root.get_span_context().span_id, None)
    if baseline is None:
        return
    dropped = otlp_transport.dropped_spans_total() - baseline
    if dropped > 0:
        root.set_attribute(attributes.RUN_DROPPED_SPANS, dropped)


class SerializedExporter(SpanExporter):
    """Calls into the wrapped exporter one at a time (the batch thread and ``force_flush``).

    A ``fork()`` waits until no export is in progress: an exporter thread caught mid-export may
    hold a module import lock (HTTP clients import lazily), and a child forked at that moment
    deadlocks on its first export.
    """

    def __init__(self, exporter: SpanExporter) -> None:
        self.exporter = exporter
        self._lock = threading.Lock()
        fork_hooks.hold_lock(ForkStage.EXPORT_LOCK, self, "_lock")

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self._lock:
            return self.exporter.export(spans)

    def shutdown(self) -> None:
        with self._lock:
            self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.exporter.force_flush(timeout_millis)


class ExportRoute:
    """One destination: its spans through a batch processor, its run records through a queue.

    With ``batch=False`` every span and record is exported synchronously as it ends (tests, the
    console). ``records`` is None for destinations that take spans only.
    """

    def __init__(
        self,
        exporter: SpanExporter,
        *,
        batch: bool = True,
        records: RunRecordExporter | None = None,
    ) -> None:
        self.exporter = exporter
        serialized = SerializedExporter(exporter)
        self._processor: SpanProcessor = (
            BatchSpanProcessor(serialized) if batch else SimpleSpanProcessor(serialized)
        )
        self.records = RecordQueue(records, batch=batch) if records is not None else None

    def on_end(self, span: ReadableSpan) -> None:
        self._processor.on_end(span)

    def emit_record(self, record: RunRecord, urgent: bool) -> None:
        if self.records is not None:
            self.records.submit(record, urgent=urgent)

    def force_flush(self, timeout_millis: int) -> bool:
        """Hand everything queued to the exporters, then let them flush within what is left."""
        deadline = time.monotonic() + timeout_millis / 1000
        records_done = self.records is None or self.records.force_flush(timeout_millis / 1000)
        handed_over = self._processor.force_flush(timeout_millis)
        # The SDK's batch processor neither bounds its flush nor asks the exporter to flush;
        # an OTLP exporter only queues in export(), so its own force_flush is where we wait
        # (for the run records handed to the same transport too).
        remaining_ms = max(int((deadline - time.monotonic()) * 1000), 0)
        exporter_done = self.exporter.force_flush(remaining_ms)
        return handed_over and records_done and exporter_done

    def shutdown(self) -> None:
        if self.records is not None:
            self.records.shutdown()
        self._processor.shutdown()


class SpanflowProcessor(SpanProcessor):
    """Stamps ``spanflow.run.id`` on spans started inside a run, and feeds the export routes."""

    def __init__(self) -> None:
        # A tuple swapped whole, so on_end never sees a half-updated list.
        self._routes: tuple[ExportRoute, ...] = ()
        # Spans and run records handed to the routes so far (approximate under threads): a pool
        # task flushes only when this moved while it ran.
        self.handed_off_count = 0

    @property
    def routes(self) -> tuple[ExportRoute, ...]:
        """The export routes in use."""
        return self._routes

    def swap_routes(self, routes: Sequence[ExportRoute]) -> tuple[ExportRoute, ...]:
        """Use ``routes`` from now on; returns the previous ones (not shut down)."""
        previous, self._routes = self._routes, tuple(routes)
        return previous

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        try:
            membership.stamp_run_id(span, parent_context)
        except Exception:
            report_internal_error("stamping the run id on a span")
        if span.attributes is not None and (
            span.attributes.get(attributes.SPAN_KIND) == attributes.SpanKindValue.RUN
        ):
            _remember_drop_baseline(span)

    def on_end(self, span: ReadableSpan) -> None:
        self.handed_off_count += 1
        for route in self._routes:
            try:
                route.on_end(span)
            except Exception:
                report_internal_error("queueing a span for export")

    def emit_record(self, record: RunRecord, urgent: bool = False) -> None:
        """Queue a run record on every route that takes run records; never raises."""
        self.handed_off_count += 1
        for route in self._routes:
            try:
                route.emit_record(record, urgent)
            except Exception as exc:
                if isinstance(exc, Warning):  # a SpanflowWarning under -W error: the user's call
                    raise
                report_internal_error("queueing a run record")

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        flushed = True
        deadline = time.monotonic() + timeout_millis / 1000
        for route in self._routes:
            remaining_ms = max(int((deadline - time.monotonic()) * 1000), 0)
            try:
                flushed = route.force_flush(remaining_ms) and flushed
            except Exception:
                report_internal_error("flushing an exporter")
                flushed = False
        return flushed

    def shutdown(self) -> None:
        for route in self.swap_routes(()):
            try:
                route.shutdown()
            except Exception:
                report_internal_error("shutting down an exporter")
