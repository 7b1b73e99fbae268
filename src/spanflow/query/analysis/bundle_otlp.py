"""Bundled spans and run records as OTLP/JSON export requests, to import through a collector.

The collector's own ``/v1/traces`` and ``/v1/logs`` receivers decode them, so an import through
a collector takes the same ingest path (redaction, admission, acknowledgement after commit) as
the SDK's exports.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

from spanflow import attributes as attr
from spanflow.query.records import AttributeValue, RunRecord, SpanRecord

JsonObject = dict[str, Any]
_KEYED_KINDS = frozenset(
    {
        attr.RecordKindValue.PARAMS,
        attr.RecordKindValue.OUTPUTS,
        attr.RecordKindValue.INPUTS,
        attr.RecordKindValue.ATTRIBUTES,
    }
)


def any_value(value: Any) -> JsonObject:
    """An OTLP/JSON ``AnyValue`` (64-bit integers as strings, as OTLP/JSON requires)."""
    if value is None:
        return {}
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, bytes):
        return {"bytesValue": base64.b64encode(value).decode("ascii")}
    if isinstance(value, Mapping):
        return {"kvlistValue": {"values": key_values(value)}}
    return {"arrayValue": {"values": [any_value(item) for item in value]}}


def key_values(values: Mapping[str, Any]) -> list[JsonObject]:
    """OTLP/JSON attributes."""
    return [{"key": key, "value": any_value(value)} for key, value in values.items()]


def _span(span: SpanRecord) -> JsonObject:
    encoded: JsonObject = {
        "traceId": span.trace_id,
        "spanId": span.span_id,
        "name": span.name,
        "kind": span.kind,
        "startTimeUnixNano": str(span.start_time_unix_nano),
        "endTimeUnixNano": str(span.end_time_unix_nano),
        "attributes": key_values(span.attributes),
        "events": [
            {
                "timeUnixNano": str(event.time_unix_nano),
                "name": event.name,
                "attributes": key_values(event.attributes),
            }
            for event in span.events
        ],
        "links": [
            {
                "traceId": link.trace_id,
                "spanId": link.span_id,
                "attributes": key_values(link.attributes),
            }
            for link in span.links
        ],
        "status": {"code": span.status_code, "message": span.status_message},
    }
    if span.parent_span_id:
        encoded["parentSpanId"] = span.parent_span_id
    return encoded


def traces_request(spans: Sequence[SpanRecord]) -> JsonObject:
    """An ``ExportTraceServiceRequest``: one resource/scope group per distinct pair."""
    groups: dict[tuple[str, str, str], tuple[SpanRecord, list[JsonObject]]] = {}
    for span in spans:
        resource_key = repr(sorted(span.resource_attributes.items()))
        key = (resource_key, span.scope_name, span.scope_version)
        groups.setdefault(key, (span, []))[1].append(_span(span))
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": key_values(first.resource_attributes)},
                "scopeSpans": [
                    {
                        "scope": {"name": first.scope_name, "version": first.scope_version},
                        "spans": encoded,
                    }
                ],
            }
            for first, encoded in groups.values()
        ]
    }


def _body(record: RunRecord) -> JsonObject:
    if record.kind in _KEYED_KINDS:
        return any_value(dict(record.values))
    if record.kind == attr.RecordKindValue.TAGS:
        return any_value(list(record.tags))
    if record.kind == attr.RecordKindValue.METRICS:
        columns: dict[str, list[AttributeValue | None]] = {
            attr.METRICS_BODY_NAME: [p.name for p in record.points],
            attr.METRICS_BODY_VALUE: [p.value for p in record.points],
            attr.METRICS_BODY_STEP: [p.step for p in record.points],
            attr.METRICS_BODY_TIME: [p.time_unix_nano for p in record.points],
        }
        return any_value(columns)
    if record.content is not None:
        return any_value(record.content)
    return {}


def logs_request(records: Sequence[RunRecord]) -> JsonObject:
    """An ``ExportLogsServiceRequest`` holding ``records`` as spanflow run records."""
    log_records = []
    for record in records:
        fields: dict[str, Any] = {
            attr.RUN_ID: record.run_id,
            attr.RECORD_KIND: record.kind,
            attr.RECORD_ID: record.record_id,
            attr.RUN_SEGMENT: record.segment,
            **record.fields,
        }
        log: JsonObject = {
            "timeUnixNano": str(record.time_unix_nano),
            "eventName": record.kind,
            "attributes": key_values(fields),
            "body": _body(record),
        }
        if record.trace_id:
            log["traceId"] = record.trace_id
        if record.span_id:
            log["spanId"] = record.span_id
        log_records.append(log)
    return {
        "resourceLogs": [
            {
                "resource": {"attributes": []},
                "scopeLogs": [{"scope": {"name": "spanflow.bundle"}, "logRecords": log_records}],
            }
        ]
    }
