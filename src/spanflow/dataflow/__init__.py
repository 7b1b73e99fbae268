"""Dataflow graph: which call's output fed which later call, recorded as span links.

The seam with instrumentation is two calls per traced call::

    pending = on_call_start(span, inputs)   # right after the span starts
    ...                                      # the call runs
    on_call_end(pending, outputs)            # before span.end(); outputs None on failure

Neither ever raises. ``SPANFLOW_DATAFLOW=false`` turns detection off, ``inline`` runs it on the
caller's thread (default: a background worker matches while the request is in flight).
See docs/dataflow.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan

from spanflow._internal.guard import report_internal_error
from spanflow._internal.span_records import as_span_records
from spanflow.dataflow.detector import DataflowDetector, PendingCall
from spanflow.dataflow.explicit import link, link_dataflow, register_output
from spanflow.dataflow.records import CallInputs, CallOutputs, TextField
from spanflow.dataflow.scope import call_scope
from spanflow.dataflow.switch import dataflow_mode, get_detector, set_dataflow
from spanflow.query.graph import DataflowEdge, DataflowGraph, DataflowNode
from spanflow.query.records import SpanRecord

__all__ = [
    "CallInputs",
    "CallOutputs",
    "DataflowDetector",
    "DataflowEdge",
    "DataflowGraph",
    "DataflowNode",
    "TextField",
    "dataflow_mode",
    "get_detector",
    "graph",
    "link",
    "link_dataflow",
    "on_call_end",
    "on_call_start",
    "register_output",
    "set_dataflow",
]


def graph(spans: Iterable[ReadableSpan | SpanRecord | Mapping[str, Any]]) -> DataflowGraph:
    """The dataflow graph of ``spans``: OpenTelemetry ``ReadableSpan``s, span records, or
    mappings (``span_id``, ``name``, ``attributes``, ``links``; see
    :func:`spanflow._internal.span_records.as_span_records`)."""
    return DataflowGraph.from_spans(as_span_records(spans))


def on_call_start(span: Any, inputs: CallInputs) -> object | None:
    """Start matching ``inputs`` against what the current run produced; return a handle."""
    try:
        detector = get_detector()
        if detector is None or not span.is_recording():
            return None
        return detector.start_call(span, call_scope(span), inputs)
    except Exception:
        report_internal_error("starting dataflow detection for a call", span)
        return None


def on_call_end(pending: object | None, outputs: CallOutputs | None) -> None:
    """Add the found links to the consumer span and register ``outputs`` as a producer."""
    if not isinstance(pending, PendingCall):
        return
    try:
        detector = get_detector()
        if detector is not None:
            detector.end_call(pending, outputs)
    except Exception:
        report_internal_error("ending dataflow detection for a call", pending.span)
