"""OTLP protobuf (``ExportTraceServiceRequest``) to ``SpanRecord``s, with the generated classes.

Both the HTTP receiver (``application/x-protobuf``) and the gRPC receiver (which hands over the
raw bytes too, so a malformed message is answered INVALID_ARGUMENT) end up in
``parse_protobuf_request``. Values the index cannot hold are normalised (``normalize.py``).
"""

from __future__ import annotations

import json
from typing import Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from spanflow import attributes as attr
from spanflow.query.records import AttributeValue, EventRecord, LinkRecord, SpanRecord
from spanflow_collector.otlp.limits import (
    DecodedSpans,
    InvalidSpanError,
    OtlpDecodeError,
    check_item_count,
    check_span_fields,
)
from spanflow_collector.otlp.normalize import (
    MAX_TIME_NS,
    MAX_VALUE_DEPTH,
    SPAN_KINDS,
    STATUS_CODES,
    TRUNCATED_VALUE,
    add_notes,
    clamp_time_ns,
    enum_value,
    normalize_metric_event,
    normalize_span_attributes,
)
from spanflow_collector.otlp.wire_depth import cut_deep_values

_SCALARS = frozenset(("string_value", "bool_value", "int_value", "double_value"))
_EMPTY: dict[str, AttributeValue] = {}


def parse_protobuf_request(body: bytes) -> DecodedSpans:
    """Parse a serialized ``ExportTraceServiceRequest`` and decode its spans.

    Raises:
        OtlpDecodeError: the body is not a valid message (truncated, invalid UTF-8 in a string).
    """
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except (DecodeError, ValueError, RuntimeError) as exc:
        if "MaxDepth" not in str(exc):
            raise OtlpDecodeError(f"invalid OTLP protobuf body: {exc}") from exc
        # One over-deep attribute must not cost the whole request: cut it and parse again.
        try:
            request.ParseFromString(cut_deep_values(body))
        except (DecodeError, ValueError, RuntimeError) as again:
            raise OtlpDecodeError(f"invalid OTLP protobuf body: {again}") from again
    return decode_request(request)


def decode_request(request: Any) -> DecodedSpans:
    """Every span of a parsed ``ExportTraceServiceRequest``; invalid spans are counted apart."""
    result = DecodedSpans()
    records = result.records
    for resource_spans in request.resource_spans:
        resource_attributes = _attributes(resource_spans.resource.attributes, [])
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope
            scope_name, scope_version = _text(scope.name), _text(scope.version)
            for span in scope_spans.spans:
                try:
                    records.append(
                        _span_record(span, resource_attributes, scope_name, scope_version)
                    )
                except InvalidSpanError as exc:
                    result.reject(str(exc))
    return result


def _span_record(
    span: Any, resource_attributes: dict[str, AttributeValue], scope_name: str, scope_version: str
) -> SpanRecord:
    trace_id = span.trace_id.hex()
    span_id = span.span_id.hex()
    parent = span.parent_span_id
    parent_span_id = parent.hex() if parent else None
    notes: list[str] = []
    start_ns = span.start_time_unix_nano
    if start_ns > MAX_TIME_NS:
        start_ns = clamp_time_ns(start_ns, "start_time_unix_nano", notes)
    end_ns = span.end_time_unix_nano
    if end_ns > MAX_TIME_NS:
        end_ns = clamp_time_ns(end_ns, "end_time_unix_nano", notes)
    check_span_fields(trace_id, span_id, parent_span_id, start_ns, end_ns)
    # Each read of a repeated field makes a new wrapper object: read each once.
    span_attributes, span_events, span_links = span.attributes, span.events, span.links
    check_item_count(span_id, "attributes", len(span_attributes))
    check_item_count(span_id, "events", len(span_events))
    check_item_count(span_id, "links", len(span_links))
    status = span.status
    attributes = _attributes(span_attributes, notes) if span_attributes else _EMPTY
    events = _events(span_events, notes) if span_events else ()
    kind = span.kind
    if kind not in SPAN_KINDS:
        kind = enum_value(kind, SPAN_KINDS, "kind", notes)
    status_code = status.code
    if status_code not in STATUS_CODES:
        status_code = enum_value(status_code, STATUS_CODES, "status.code", notes)
    if attributes:
        normalize_span_attributes(attributes, notes)
    if notes:
        attributes = dict(attributes)
        add_notes(attributes, notes)
    return SpanRecord(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent_span_id,
        name=_text(span.name),
        kind=kind,
        start_time_unix_nano=start_ns,
        end_time_unix_nano=end_ns,
        attributes=attributes,
        events=events,
        links=tuple(_link_record(link, span_id, notes) for link in span_links)
        if span_links
        else (),
        status_code=status_code,
        status_message=_text(status.message),
        resource_attributes=resource_attributes,
        scope_name=scope_name,
        scope_version=scope_version,
    )


def _events(events: Any, notes: list[str]) -> tuple[EventRecord, ...]:
    records = []
    for event in events:
        name = _text(event.name)
        attributes = _attributes(event.attributes, notes)
        if name == attr.EVENT_METRIC:
            normalize_metric_event(attributes, notes)
        time_ns = clamp_time_ns(event.time_unix_nano, "event time_unix_nano", notes)
        records.append(EventRecord(name=name, time_unix_nano=time_ns, attributes=attributes))
    return tuple(records)


def _link_record(link: Any, span_id: str, notes: list[str]) -> LinkRecord:
    linked_trace_id = link.trace_id.hex()
    linked_span_id = link.span_id.hex()
    if len(linked_trace_id) != 32 or len(linked_span_id) != 16:
        raise InvalidSpanError(f"span {span_id}: a link has a malformed trace_id or span_id")
    return LinkRecord(
        trace_id=linked_trace_id,
        span_id=linked_span_id,
        attributes=_attributes(link.attributes, notes),
    )


def _text(text: str) -> str:
    """protobuf strings are valid UTF-8 already; only NUL needs replacing (see normalize.py)."""
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


def _attributes(key_values: Any, notes: list[str]) -> dict[str, AttributeValue]:
    out: dict[str, AttributeValue] = {}
    for key_value in key_values:
        value = key_value.value
        key = key_value.key
        if "\x00" in key:  # inline, not _text(): this loop is the decoder's hot path
            key = key.replace("\x00", "\ufffd")
        which = value.WhichOneof("value")
        if which == "string_value":  # by far the most common: checked first, read directly
            text = value.string_value
            out[key] = text.replace("\x00", "\ufffd") if "\x00" in text else text
        elif which in _SCALARS:
            out[key] = getattr(value, which)
        elif which is not None:
            truncated: list[bool] = []
            out[key] = _composite_value(value, which, truncated)
            if truncated:
                notes.append(f"{key}: nested deeper than {MAX_VALUE_DEPTH} levels, cut there")
    return out


def _composite_value(value: Any, which: str, truncated: list[bool]) -> AttributeValue:
    """Arrays of one scalar type stay tuples; anything else becomes a JSON or hex string."""
    if which == "bytes_value":
        hex_value: str = value.bytes_value.hex()
        return hex_value
    if which == "array_value":
        items = value.array_value.values
        if not items:
            return ()
        # One pass (arrays are short: finish reasons, tags): stop at the first other type.
        kind = items[0].WhichOneof("value")
        if kind in _SCALARS:
            scalars: list[Any] = []
            for item in items:
                if item.WhichOneof("value") != kind:
                    break
                scalar = getattr(item, kind)
                if kind == "string_value" and "\x00" in scalar:
                    scalar = scalar.replace("\x00", "\ufffd")
                scalars.append(scalar)
            else:
                return tuple(scalars)
    return json.dumps(_plain_value(value, 0, truncated), ensure_ascii=False, default=str)


def _plain_value(value: Any, depth: int, truncated: list[bool]) -> object:
    if depth > MAX_VALUE_DEPTH:
        truncated.append(True)
        return TRUNCATED_VALUE
    which = value.WhichOneof("value")
    if which == "string_value":
        return _text(value.string_value)
    if which in _SCALARS:
        return getattr(value, which)
    if which == "bytes_value":
        return value.bytes_value.hex()
    if which == "array_value":
        return [_plain_value(item, depth + 1, truncated) for item in value.array_value.values]
    if which == "kvlist_value":
        return {
            _text(kv.key): _plain_value(kv.value, depth + 1, truncated)
            for kv in value.kvlist_value.values
        }
    return None
