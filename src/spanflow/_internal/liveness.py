"""Keeping open runs visible: the ``run.start`` marker and one heartbeat thread for all runs.

A run's root span is exported only when it ends. So the moment a run opens, a tiny
``run.start`` child span is ended (and exported at once by the export route's immediate path),
and while it stays open a ``run.heartbeat`` child span follows every ``heartbeat_interval_s``.
The index shows a run as running from its start marker and derives ``interrupted`` when the
heartbeats stop without the root span ever arriving.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan
from opentelemetry.util.types import AttributeValue

from spanflow import attributes
from spanflow._internal import clock, membership
from spanflow._internal.handle import RunHandle
from spanflow._internal.warn import log_internal_error_once


def emit_marker(
    tracer: trace.Tracer, handle: RunHandle, kind: str, extra: Mapping[str, AttributeValue]
) -> None:
    """End a zero-length child span of the run's root span, marking the run alive."""
    root = handle.root_span_context
    if root is None or not root.is_valid:
        return
    parent = trace.set_span_in_context(NonRecordingSpan(root), otel_context.Context())
    parent = otel_context.set_value(membership.RUN_CONTEXT_KEY, handle, parent)
    marker_attributes: dict[str, AttributeValue] = {
        attributes.SPAN_KIND: kind,
        attributes.RUN_ID: handle.id,
        attributes.PROJECT: handle.project,
        attributes.RUN_SEGMENT: handle.segment,
    }
    marker_attributes.update(extra)
    now = clock.time_ns()
    span = tracer.start_span(kind, context=parent, attributes=marker_attributes, start_time=now)
    span.end(end_time=now)


class HeartbeatThread:
    """One daemon thread that sends a heartbeat for every open run when it falls due."""

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        # After a fork the parent's runs are not this process's to keep alive or to end.
        self._lock = threading.RLock()
        self._wake = threading.Condition(self._lock)
        self._runs: dict[int, tuple[RunHandle, trace.Tracer, float, float]] = {}
        self._thread: threading.Thread | None = None

    def add(self, handle: RunHandle, tracer: trace.Tracer, interval_s: float) -> None:
        """Start sending heartbeats for ``handle``, the first one ``interval_s`` from now."""
        with self._lock:
            due = time.monotonic() + interval_s
            self._runs[id(handle)] = (handle, tracer, interval_s, due)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name="spanflow-heartbeat", daemon=True
                )
                self._thread.start()
            self._wake.notify_all()

    def remove(self, handle: RunHandle) -> None:
        """Stop sending heartbeats for ``handle``."""
        with self._lock:
            self._runs.pop(id(handle), None)

    def open_runs(self) -> list[RunHandle]:
        """The runs opened in this process that have not ended, oldest first."""
        with self._lock:
            return [entry[0] for entry in self._runs.values()]

    def _loop(self) -> None:
        while True:
            due_now: list[tuple[RunHandle, trace.Tracer]] = []
            with self._lock:
                now = time.monotonic()
                next_due = None
                for key, (handle, tracer, interval_s, due) in list(self._runs.items()):
                    if due <= now:
                        due_now.append((handle, tracer))
                        due = now + interval_s
                        self._runs[key] = (handle, tracer, interval_s, due)
                    next_due = due if next_due is None else min(next_due, due)
                if not due_now:
                    timeout = 1.0 if next_due is None else max(0.001, next_due - now)
                    self._wake.wait(timeout=min(timeout, 60.0))
                    continue
            for handle, tracer in due_now:
                try:
                    emit_marker(tracer, handle, attributes.SpanKindValue.RUN_HEARTBEAT, {})
                except Exception:
                    log_internal_error_once("heartbeat", "sending a run heartbeat failed")


heartbeats = HeartbeatThread()


def start_marker_attributes(handle: RunHandle, interval_s: float) -> dict[str, Any]:
    """What the ``run.start`` marker carries besides the common marker attributes."""
    extra: dict[str, Any] = {
        attributes.RUN_TAGS: handle.tags,
        attributes.RUN_HEARTBEAT_INTERVAL_S: float(interval_s),
    }
    if handle.name is not None:
        extra[attributes.RUN_NAME] = handle.name
    if handle.parent_id is not None:
        extra[attributes.RUN_PARENT_ID] = handle.parent_id
    return extra
