"""The span processor spanflow adds to the tracer provider: run membership and export routes.

spanflow adds exactly one :class:`SpanflowProcessor` to a tracer provider. Its list of export
routes can be swapped at any time (``configure()`` again, or the test capture), which matters
because OpenTelemetry lets a process set its global tracer provider only once.

Each :class:`ExportRoute` sends ordinary spans through a ``BatchSpanProcessor``, and the tiny
``run.start`` / ``run.heartbeat`` marker spans through an immediate path: a dedicated thread
exports them the moment they end, so a run is visible as running without waiting for the batch
delay. One lock serialises the two paths' calls into the (not necessarily thread-safe) exporter.
"""

from __future__ import annotations

import os
import queue
import threading
import weakref
from collections.abc import Sequence

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)

from spanflow import attributes
from spanflow._internal import membership
from spanflow._internal.warn import log_internal_error_once

_MARKER_KINDS = frozenset(
    {attributes.SpanKindValue.RUN_START, attributes.SpanKindValue.RUN_HEARTBEAT}
)


def is_marker(span: ReadableSpan) -> bool:
    """Whether ``span`` is a run start marker or heartbeat (exported immediately)."""
    span_attributes = span.attributes
    return (
        span_attributes is not None and span_attributes.get(attributes.SPAN_KIND) in _MARKER_KINDS
    )


class SerializedExporter(SpanExporter):
    """Calls into the wrapped exporter one at a time (batch thread and marker thread share it).

    A ``fork()`` waits until no export is in progress: an exporter thread caught mid-export may
    hold a module import lock (HTTP clients import lazily), and a child forked at that moment
    deadlocks on its first export.
    """

    def __init__(self, exporter: SpanExporter) -> None:
        self.exporter = exporter
        self._lock = threading.Lock()
        ref = weakref.ref(self)

        def before_fork() -> None:
            me = ref()
            if me is not None:
                me._lock.acquire()

        def after_fork_in_parent() -> None:
            me = ref()
            if me is not None:
                me._lock.release()

        def after_fork_in_child() -> None:
            me = ref()
            if me is not None:
                me._lock = threading.Lock()

        os.register_at_fork(
            before=before_fork,
            after_in_parent=after_fork_in_parent,
            after_in_child=after_fork_in_child,
        )

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self._lock:
            return self.exporter.export(spans)

    def shutdown(self) -> None:
        with self._lock:
            self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.exporter.force_flush(timeout_millis)


class ImmediateExporter:
    """Exports marker spans on its own thread as soon as they arrive; never blocks the caller."""

    def __init__(self, exporter: SpanExporter) -> None:
        self._exporter = exporter
        self._reset()
        ref = weakref.ref(self)

        def reset_in_child() -> None:
            me = ref()
            if me is not None:
                me._reset()

        os.register_at_fork(after_in_child=reset_in_child)

    def _reset(self) -> None:
        self._queue: queue.SimpleQueue[ReadableSpan | None] = queue.SimpleQueue()
        self._pending = 0
        self._idle = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    def submit(self, span: ReadableSpan) -> None:
        """Queue ``span`` for export now."""
        with self._idle:
            if self._closed:
                return
            self._pending += 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._work, name="spanflow-marker-export", daemon=True
                )
                self._thread.start()
        self._queue.put(span)

    def _work(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while True:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)
                    break
                batch.append(more)
            try:
                self._exporter.export(batch)
            except Exception:
                log_internal_error_once("marker-export", "exporting run markers failed")
            with self._idle:
                self._pending -= len(batch)
                self._idle.notify_all()

    def force_flush(self, timeout_s: float) -> bool:
        """Wait until every queued marker has been handed to the exporter."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending <= 0, timeout=timeout_s)

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Export what is queued, then stop the thread."""
        self.force_flush(timeout_s)
        with self._idle:
            self._closed = True
            thread = self._thread
        self._queue.put(None)
        if thread is not None:
            thread.join(timeout_s)


class ExportRoute:
    """One destination: batched ordinary spans, immediately exported run markers.

    With ``batch=False`` every span is exported synchronously as it ends (tests, the console).
    """

    def __init__(self, exporter: SpanExporter, *, batch: bool = True) -> None:
        self.exporter = exporter
        serialized = SerializedExporter(exporter)
        self._processor: SpanProcessor = (
            BatchSpanProcessor(serialized) if batch else SimpleSpanProcessor(serialized)
        )
        self._markers = ImmediateExporter(serialized) if batch else None

    def on_end(self, span: ReadableSpan) -> None:
        if self._markers is not None and is_marker(span):
            self._markers.submit(span)
        else:
            self._processor.on_end(span)

    def force_flush(self, timeout_millis: int) -> bool:
        markers_done = self._markers is None or self._markers.force_flush(timeout_millis / 1000)
        return self._processor.force_flush(timeout_millis) and markers_done

    def shutdown(self) -> None:
        if self._markers is not None:
            self._markers.shutdown()
        self._processor.shutdown()


class SpanflowProcessor(SpanProcessor):
    """Stamps ``spanflow.run.id`` on spans started inside a run, and feeds the export routes."""

    def __init__(self) -> None:
        # A tuple swapped whole, so on_end never sees a half-updated list.
        self._routes: tuple[ExportRoute, ...] = ()

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
            log_internal_error_once("membership", "stamping the run id on a span failed")

    def on_end(self, span: ReadableSpan) -> None:
        for route in self._routes:
            try:
                route.on_end(span)
            except Exception:
                log_internal_error_once("route-on-end", "queueing a span for export failed")

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        flushed = True
        for route in self._routes:
            try:
                flushed = route.force_flush(timeout_millis) and flushed
            except Exception:
                log_internal_error_once("route-flush", "flushing an exporter failed")
                flushed = False
        return flushed

    def shutdown(self) -> None:
        for route in self.swap_routes(()):
            try:
                route.shutdown()
            except Exception:
                log_internal_error_once("route-shutdown", "shutting down an exporter failed")
