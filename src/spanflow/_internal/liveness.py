"""Keeping open runs visible: the start record and one heartbeat thread for all runs.

A run's root span is exported only when it ends. So the moment a run opens, a start record
(name, project, tags, parent, heartbeat interval) goes out at once, and while the run stays
open a heartbeat record follows every ``heartbeat_interval_s``. Both are run records (OTLP log
records), not spans, so trace backends never show them. The index shows a run as running from
its start record and derives ``interrupted`` when the heartbeats stop arriving without the
root span ever arriving.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

from spanflow import attributes
from spanflow._internal import fork_hooks
from spanflow._internal.fork_hooks import ForkStage
from spanflow._internal.guard import report_internal_error
from spanflow._internal.handle import RunHandle
from spanflow._internal.run_records import FieldValue

_KIND = attributes.RecordKindValue


def announce_start(
    handle: RunHandle,
    interval_s: float,
    params: Mapping[str, Any],
    run_attributes: Mapping[str, Any],
    *,
    project_assumed: bool = False,
) -> None:
    """Send the start record, then the params and attributes given to ``run()``.

    ``project_assumed``: a resumed segment that does not know its run's project; its start
    record names none, so the index keeps the project it has.
    """
    fields: dict[str, FieldValue] = {
        attributes.RUN_TAGS: handle.tags,
        attributes.RUN_HEARTBEAT_INTERVAL_S: float(interval_s),
    }
    if not project_assumed:
        fields[attributes.PROJECT] = handle.project
    if handle.name is not None:
        fields[attributes.RUN_NAME] = handle.name
    if handle.parent_id is not None:
        fields[attributes.RUN_PARENT_ID] = handle.parent_id
    handle._emit_record(_KIND.START, urgent=True, fields=fields)
    if params:
        handle._log_values("param", _KIND.PARAMS, params, urgent=True)
    if run_attributes:
        handle._log_values("attribute", _KIND.ATTRIBUTES, run_attributes, urgent=True)


class HeartbeatThread:
    """One daemon thread that sends a heartbeat for every open run when it falls due."""

    def __init__(self) -> None:
        self._reset()
        fork_hooks.register(ForkStage.LIVENESS, self, after_in_child=HeartbeatThread._reset)

    def _reset(self) -> None:
        # After a fork the parent's runs are not this process's to keep alive or to end.
        self._lock = threading.RLock()
        self._wake = threading.Condition(self._lock)
        self._runs: dict[int, tuple[RunHandle, float, float]] = {}
        self._thread: threading.Thread | None = None

    def add(self, handle: RunHandle, interval_s: float) -> None:
        """Start sending heartbeats for ``handle``, the first one ``interval_s`` from now."""
        with self._lock:
            due = time.monotonic() + interval_s
            self._runs[id(handle)] = (handle, interval_s, due)
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
            due_now: list[RunHandle] = []
            with self._lock:
                now = time.monotonic()
                next_due = None
                for key, (handle, interval_s, due) in list(self._runs.items()):
                    if due <= now:
                        due_now.append(handle)
                        due = now + interval_s
                        self._runs[key] = (handle, interval_s, due)
                    next_due = due if next_due is None else min(next_due, due)
                if not due_now:
                    timeout = 1.0 if next_due is None else max(0.001, next_due - now)
                    self._wake.wait(timeout=min(timeout, 60.0))
                    continue
            for handle in due_now:
                try:
                    handle._emit_record(_KIND.HEARTBEAT)
                except Exception:
                    report_internal_error("sending a run heartbeat")


heartbeats = HeartbeatThread()
