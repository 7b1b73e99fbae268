"""JSON forms of runs, spans, span trees, metric points and comparisons, both ways.

Field names follow the record dataclasses, so ``decode_*(encode_*(x)) == x``. Times are unix
nanoseconds (integers beyond 2**53: JavaScript readers should use the ISO 8601 ``started_at`` /
``ended_at`` twins). Arrays come back as tuples. Non-finite floats, which JSON cannot carry, are
the strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import fields
from datetime import datetime, timezone
from typing import Any

from spanflow.query.graph import DataflowEdge, DataflowGraph, DataflowNode
from spanflow.query.records import AttributeValue, EventRecord, LinkRecord, SpanRecord
from spanflow.query.store import MetricPoint, RunPage, RunSummary
from spanflow.query.views import RunComparison, RunDetail, SpanNode, ValueDiff

JsonObject = dict[str, Any]

_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def dumps(value: Any) -> str:
    """Compact JSON text of an already encoded value."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def iso_time(unix_nano: int | None) -> str | None:
    """UTC ISO 8601 with microseconds, e.g. ``2026-01-31T12:00:00.123456Z``."""
    if unix_nano is None:
        return None
    moment = datetime.fromtimestamp(unix_nano // 1000 / 1e6, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- values -----------------------------------------------------------------------------------
def encode_float(value: float) -> float | str:
    """A float, or its name when JSON has no literal for it."""
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def decode_float(value: Any) -> float:
    """The inverse of ``encode_float``."""
    if isinstance(value, str):
        return _NON_FINITE[value]
    return float(value)


def encode_value(value: AttributeValue | None) -> Any:
    """An attribute value as JSON (arrays as lists)."""
    if isinstance(value, float):
        return encode_float(value)
    if isinstance(value, tuple):
        return [encode_value(item) for item in value]
    return value


def decode_value(value: Any) -> AttributeValue:
    """A JSON attribute value back to the record form (lists as tuples)."""
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, str | bool | int | float):
        return value
    return json.dumps(value)  # an object: kept as its JSON text, as the decoder stores kvlists


def encode_attributes(attributes: Mapping[str, AttributeValue]) -> JsonObject:
    """A mapping of attribute values as a JSON object."""
    return {key: encode_value(value) for key, value in attributes.items()}


def decode_attributes(obj: Mapping[str, Any] | None) -> dict[str, AttributeValue]:
    """The inverse of ``encode_attributes``."""
    return {key: decode_value(value) for key, value in (obj or {}).items()}


# --- runs -------------------------------------------------------------------------------------
def encode_run(run: RunSummary) -> JsonObject:
    """A run summary with ISO times and duration alongside the raw fields."""
    return {
        "id": run.id,
        "project": run.project,
        "name": run.name,
        "status": run.status,
        "start_time_unix_nano": run.start_time_unix_nano,
        "end_time_unix_nano": run.end_time_unix_nano,
        "started_at": iso_time(run.start_time_unix_nano),
        "ended_at": iso_time(run.end_time_unix_nano),
        "duration_s": run.duration_s,
        "parent_id": run.parent_id,
        "tags": list(run.tags),
        "params": encode_attributes(run.params),
        "metrics": {name: encode_float(value) for name, value in run.metrics.items()},
        "outputs": encode_attributes(run.outputs),
        "attributes": encode_attributes(run.attributes),
        "error_type": run.error_type,
        "error_message": run.error_message,
        "span_count": run.span_count,
        "llm_call_count": run.llm_call_count,
        "error_count": run.error_count,
        "input_tokens": run.input_tokens,
        "output_tokens": run.output_tokens,
        "segment_count": run.segment_count,
        "trace_ids": list(run.trace_ids),
        "last_heartbeat_unix_nano": run.last_heartbeat_unix_nano,
        "inputs": encode_attributes(run.inputs),
        "artifacts": {name: dict(facts) for name, facts in run.artifacts.items()},
        "truncated": list(run.truncated),
    }


def decode_run(obj: Mapping[str, Any]) -> RunSummary:
    """The inverse of ``encode_run`` (derived fields are ignored)."""
    return RunSummary(
        id=obj["id"],
        project=obj["project"],
        name=obj["name"],
        status=obj["status"],
        start_time_unix_nano=obj["start_time_unix_nano"],
        end_time_unix_nano=obj.get("end_time_unix_nano"),
        parent_id=obj.get("parent_id"),
        tags=tuple(obj.get("tags") or ()),
        params=decode_attributes(obj.get("params")),
        metrics={name: decode_float(value) for name, value in (obj.get("metrics") or {}).items()},
        outputs=decode_attributes(obj.get("outputs")),
        attributes=decode_attributes(obj.get("attributes")),
        error_type=obj.get("error_type"),
        error_message=obj.get("error_message"),
        span_count=obj.get("span_count", 0),
        llm_call_count=obj.get("llm_call_count", 0),
        error_count=obj.get("error_count", 0),
        input_tokens=obj.get("input_tokens", 0),
        output_tokens=obj.get("output_tokens", 0),
        segment_count=obj.get("segment_count", 1),
        trace_ids=tuple(obj.get("trace_ids") or ()),
        last_heartbeat_unix_nano=obj.get("last_heartbeat_unix_nano"),
        inputs=decode_attributes(obj.get("inputs")),
        artifacts=dict(obj.get("artifacts") or {}),
        truncated=tuple(obj.get("truncated") or ()),
    )


def encode_page(page: RunPage) -> JsonObject:
    """``{"runs": [...], "next_cursor": ...}``."""
    return {"runs": [encode_run(run) for run in page.runs], "next_cursor": page.next_cursor}


def decode_page(obj: Mapping[str, Any]) -> RunPage:
    """The inverse of ``encode_page``."""
    return RunPage(
        runs=tuple(decode_run(run) for run in obj["runs"]), next_cursor=obj.get("next_cursor")
    )


def encode_metric_point(point: MetricPoint) -> JsonObject:
    """One metric point."""
    return {
        "name": point.name,
        "value": encode_float(point.value),
        "step": point.step,
        "time_unix_nano": point.time_unix_nano,
    }


def decode_metric_point(obj: Mapping[str, Any]) -> MetricPoint:
    """The inverse of ``encode_metric_point``."""
    return MetricPoint(
        name=obj["name"],
        value=decode_float(obj["value"]),
        step=obj.get("step"),
        time_unix_nano=obj["time_unix_nano"],
    )


def encode_detail(detail: RunDetail) -> JsonObject:
    """``{"run": ..., "metric_history": [...], "children": [ids]}``."""
    return {
        "run": encode_run(detail.run),
        "metric_history": [encode_metric_point(point) for point in detail.metric_history],
        "children": list(detail.children),
    }


def decode_detail(obj: Mapping[str, Any]) -> RunDetail:
    """The inverse of ``encode_detail``."""
    return RunDetail(
        run=decode_run(obj["run"]),
        metric_history=tuple(decode_metric_point(point) for point in obj["metric_history"]),
        children=tuple(obj["children"]),
    )


# --- spans ------------------------------------------------------------------------------------
def encode_span(span: SpanRecord) -> JsonObject:
    """A span with its events and links."""
    return {
        "trace_id": span.trace_id,
        "span_id": span.span_id,
        "parent_span_id": span.parent_span_id,
        "name": span.name,
        "kind": span.kind,
        "start_time_unix_nano": span.start_time_unix_nano,
        "end_time_unix_nano": span.end_time_unix_nano,
        "attributes": encode_attributes(span.attributes),
        "events": [
            {
                "name": event.name,
                "time_unix_nano": event.time_unix_nano,
                "attributes": encode_attributes(event.attributes),
            }
            for event in span.events
        ],
        "links": [
            {
                "trace_id": link.trace_id,
                "span_id": link.span_id,
                "attributes": encode_attributes(link.attributes),
            }
            for link in span.links
        ],
        "status_code": span.status_code,
        "status_message": span.status_message,
        "resource_attributes": encode_attributes(span.resource_attributes),
        "scope_name": span.scope_name,
        "scope_version": span.scope_version,
    }


def decode_span(obj: Mapping[str, Any]) -> SpanRecord:
    """The inverse of ``encode_span``."""
    return SpanRecord(
        trace_id=obj["trace_id"],
        span_id=obj["span_id"],
        parent_span_id=obj.get("parent_span_id"),
        name=obj["name"],
        kind=obj["kind"],
        start_time_unix_nano=obj["start_time_unix_nano"],
        end_time_unix_nano=obj["end_time_unix_nano"],
        attributes=decode_attributes(obj.get("attributes")),
        events=tuple(
            EventRecord(e["name"], e["time_unix_nano"], decode_attributes(e.get("attributes")))
            for e in obj.get("events") or ()
        ),
        links=tuple(
            LinkRecord(link["trace_id"], link["span_id"], decode_attributes(link.get("attributes")))
            for link in obj.get("links") or ()
        ),
        status_code=obj.get("status_code", 0),
        status_message=obj.get("status_message", ""),
        resource_attributes=decode_attributes(obj.get("resource_attributes")),
        scope_name=obj.get("scope_name", ""),
        scope_version=obj.get("scope_version", ""),
    )


def encode_tree(roots: tuple[SpanNode, ...]) -> list[JsonObject]:
    """Span trees as nested ``{"span": ..., "children": [...]}`` objects."""
    return [
        {"span": encode_span(node.span), "children": encode_tree(node.children)} for node in roots
    ]


def decode_tree(items: list[Any]) -> tuple[SpanNode, ...]:
    """The inverse of ``encode_tree``."""
    return tuple(
        SpanNode(span=decode_span(item["span"]), children=decode_tree(item["children"]))
        for item in items
    )


# --- comparison -------------------------------------------------------------------------------
def encode_comparison(comparison: RunComparison) -> JsonObject:
    """Runs plus, per section, ``{"key", "values" (one per run, null if absent), "differs"}``."""

    def diffs(items: tuple[ValueDiff, ...]) -> list[JsonObject]:
        return [
            {"key": d.key, "values": [encode_value(v) for v in d.values], "differs": d.differs}
            for d in items
        ]

    return {
        "runs": [encode_run(run) for run in comparison.runs],
        "params": diffs(comparison.params),
        "metrics": diffs(comparison.metrics),
        "outputs": diffs(comparison.outputs),
        "inputs": diffs(comparison.inputs),
        "attributes": diffs(comparison.attributes),
        "artifacts": diffs(comparison.artifacts),
    }


def decode_comparison(obj: Mapping[str, Any]) -> RunComparison:
    """The inverse of ``encode_comparison``."""

    def diffs(items: list[Any], *, numeric: bool = False) -> tuple[ValueDiff, ...]:
        def value(raw: Any) -> AttributeValue | None:
            if raw is None:
                return None
            return decode_float(raw) if numeric else decode_value(raw)

        return tuple(ValueDiff(d["key"], tuple(value(v) for v in d["values"])) for d in items)

    return RunComparison(
        runs=tuple(decode_run(run) for run in obj["runs"]),
        params=diffs(obj["params"]),
        metrics=diffs(obj["metrics"], numeric=True),
        outputs=diffs(obj["outputs"]),
        inputs=diffs(obj.get("inputs", [])),  # absent from collectors before inputs existed
        attributes=diffs(obj.get("attributes", [])),
        artifacts=diffs(obj.get("artifacts", [])),
    )


# --- dataflow graph ---------------------------------------------------------------------------
def encode_graph(graph: DataflowGraph) -> JsonObject:
    """``{"nodes": [...], "edges": [...]}`` as the graph itself renders it."""
    return graph.to_dict()


def decode_graph(obj: Mapping[str, Any]) -> DataflowGraph:
    """The inverse of ``encode_graph`` (keys this version does not know are ignored)."""
    node_fields = {f.name for f in fields(DataflowNode)}
    edge_fields = {f.name for f in fields(DataflowEdge)}
    nodes = tuple(
        DataflowNode(**{k: v for k, v in node.items() if k in node_fields}) for node in obj["nodes"]
    )
    edges = tuple(
        DataflowEdge(
            **{k: v for k, v in edge.items() if k in edge_fields and k != "input_fields"},
            input_fields=tuple(edge.get("input_fields") or ()),
        )
        for edge in obj["edges"]
    )
    return DataflowGraph(nodes=nodes, edges=edges)
