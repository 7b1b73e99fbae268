"""OTLP protobuf (``ExportTraceServiceRequest``) to ``SpanRecord``s, with the generated classes.

Both the HTTP receiver (``application/x-protobuf``) and the gRPC receiver, whose framework
has already parsed the message, end up in ``decode_request``.
"""

from __future__ import annotations

import json
from typing import Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from spanflow_collector.otlp.limits import (
    DecodedSpans,
    InvalidSpanError,
    OtlpDecodeError,
    check_item_count,
    check_span_fields,
)
from spanflow_collector.records import AttributeValue, EventRecord, LinkRecord, SpanRecord

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
        raise OtlpDecodeError(f"invalid OTLP protobuf body: {exc}") from exc
    return decode_request(request)


def decode_request(request: Any) -> DecodedSpans:
    """Every span of a parsed ``ExportTraceServiceRequest``; invalid spans are counted apart."""
    result = DecodedSpans()
    records = result.records
    for resource_spans in request.resource_spans:
        resource_attributes = _attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope
            scope_name, scope_version = scope.name, scope.version
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
    start_ns = span.start_time_unix_nano
    end_ns = span.end_time_unix_nano
    check_span_fields(trace_id, span_id, parent_span_id, start_ns, end_ns)
    check_item_count(span_id, "attributes", len(span.attributes))
    check_item_count(span_id, "events", len(span.events))
    check_item_count(span_id, "links", len(span.links))
    status = span.status
    return SpanRecord(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent_span_id,
        name=span.name,
        kind=span.kind,
        start_time_unix_nano=start_ns,
        end_time_unix_nano=end_ns,
        attributes=_attributes(span.attributes) if span.attributes else _EMPTY,
        events=_events(span.events) if span.events else (),
        links=tuple(_link_record(link, span_id) for link in span.links) if span.links else (),
        status_code=status.code,
        status_message=status.message,
        resource_attributes=resource_attributes,
        scope_name=scope_name,
        scope_version=scope_version,
    )


def _events(events: Any) -> tuple[EventRecord, ...]:
    return tuple(
        EventRecord(
            name=event.name,
            time_unix_nano=event.time_unix_nano,
            attributes=_attributes(event.attributes),
        )
        for event in events
    )


def _link_record(link: Any, span_id: str) -> LinkRecord:
    linked_trace_id = link.trace_id.hex()
    linked_span_id = link.span_id.hex()
    if len(linked_trace_id) != 32 or len(linked_span_id) != 16:
        raise InvalidSpanError(f"span {span_id}: a link has a malformed trace_id or span_id")
    return LinkRecord(
        trace_id=linked_trace_id, span_id=linked_span_id, attributes=_attributes(link.attributes)
    )


def _attributes(key_values: Any) -> dict[str, AttributeValue]:
    out: dict[str, AttributeValue] = {}
    for key_value in key_values:
        value = key_value.value
        which = value.WhichOneof("value")
        if which == "string_value":  # by far the most common: checked first, read directly
            out[key_value.key] = value.string_value
        elif which in _SCALARS:
            out[key_value.key] = getattr(value, which)
        elif which is not None:
            out[key_value.key] = _composite_value(value, which)
    return out


def _composite_value(value: Any, which: str) -> AttributeValue:
    """Arrays of one scalar type stay tuples; anything else becomes a JSON or hex string."""
    if which == "bytes_value":
        hex_value: str = value.bytes_value.hex()
        return hex_value
    if which == "array_value":
        items = value.array_value.values
        kinds = {item.WhichOneof("value") for item in items}
        if len(kinds) == 1 and (kind := next(iter(kinds))) in _SCALARS:
            return tuple(getattr(item, kind) for item in items)
        if not kinds:
            return ()
    return json.dumps(_plain_value(value), ensure_ascii=False, default=str)


def _plain_value(value: Any) -> object:
    which = value.WhichOneof("value")
    if which in _SCALARS:
        return getattr(value, which)
    if which == "bytes_value":
        return value.bytes_value.hex()
    if which == "array_value":
        return [_plain_value(item) for item in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: _plain_value(kv.value) for kv in value.kvlist_value.values}
    return None
