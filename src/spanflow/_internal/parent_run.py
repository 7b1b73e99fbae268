"""What a parent process handed to this process: its run, its span and its dataflow index.

The reading side of ``inherit.py`` (which writes the carriers when a child starts), kept apart
so the run lookup (``membership``) and the dataflow switch can ask for the parent's run without
depending on the process patches.
"""

from __future__ import annotations

import json
import multiprocessing.process
import os
from collections.abc import Mapping

from opentelemetry import trace
from opentelemetry.trace import SpanContext, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from spanflow import environment as env
from spanflow._internal.guard import report_internal_error
from spanflow._internal.handle import RunHandle

PROCESS_ATTRIBUTE = "_spanflow_run_context"
DATAFLOW_ATTRIBUTE = "_spanflow_dataflow_index"
_propagator = TraceContextTextMapPropagator()
# (pid, process object, what it carried): a spawned child reads it again once its ``Process``
# object replaces the placeholder that was current while ``__main__`` was being re-imported.
_cache: list[tuple[int, object, tuple[RunHandle | None, SpanContext | None]]] = []


def parse_carrier(variables: Mapping[str, str]) -> tuple[RunHandle | None, SpanContext | None]:
    """The run and parent span a carrier (environment or ``Process`` attribute) names."""
    parent_span: SpanContext | None = None
    traceparent = variables.get(env.TRACEPARENT)
    if traceparent:
        extracted = _propagator.extract({"traceparent": traceparent})
        candidate = trace.get_current_span(extracted).get_span_context()
        parent_span = candidate if candidate.is_valid else None
    raw = variables.get(env.SPANFLOW_RUN_CONTEXT)
    if not raw:
        return None, parent_span
    data = json.loads(raw)
    root: SpanContext | None = None
    if isinstance(data.get("root"), str) and "-" in data["root"]:
        trace_hex, span_hex = data["root"].split("-", 1)
        root = SpanContext(
            int(trace_hex, 16), int(span_hex, 16), is_remote=True,
            trace_flags=TraceFlags(TraceFlags.SAMPLED),
        )  # fmt: skip
    handle = RunHandle(
        run_id=str(data["id"]),
        name=data.get("name"),
        project=str(data.get("project") or "default"),
        parent_id=data.get("parent_id"),
        segment=int(data.get("segment") or 0),
        root_span_context=root,
        is_remote=True,
    )
    return handle, parent_span


def parent_run_and_span() -> tuple[RunHandle | None, SpanContext | None]:
    """The run and span a parent process handed to this process (read once per process)."""
    pid = os.getpid()
    process = multiprocessing.process.current_process()
    cached = _cache[0] if _cache else None
    if cached is not None and cached[0] == pid and cached[1] is process:
        return cached[2]
    result: tuple[RunHandle | None, SpanContext | None] = (None, None)
    try:
        variables = getattr(process, PROCESS_ATTRIBUTE, None)
        if not isinstance(variables, dict):
            variables = dict(os.environ)
        result = parse_carrier(variables)
    except Exception:
        report_internal_error("reading the parent process's run")
    _cache[:] = [(pid, process, result)]
    return result


def inherited_run() -> RunHandle | None:
    """The run a parent process handed to this process, or ``None``."""
    return parent_run_and_span()[0]


def inherited_dataflow_snapshot() -> bytes | None:
    """The dataflow index a parent process handed to this (spawned) process, if any."""
    snapshot = getattr(multiprocessing.process.current_process(), DATAFLOW_ATTRIBUTE, None)
    return snapshot if isinstance(snapshot, bytes) else None
