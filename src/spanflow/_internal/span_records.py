"""OpenTelemetry SDK spans to ``spanflow.query.records.SpanRecord``: the one conversion.

The embedded exporter writes these records into the local index and ``spanflow.testing``
hands them to tests, so both see exactly what the collector's OTLP decoder would produce for
the same span: OTLP ``SpanKind`` numbers, status codes 0/1/2, arrays as tuples.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode as OtelStatusCode

from spanflow.query.records import (
    AttributeValue,
    EventRecord,
    LinkRecord,
    SpanRecord,
    StatusCode,
)

_STATUS_CODES = {
    OtelStatusCode.UNSET: StatusCode.UNSET,
    OtelStatusCode.OK: StatusCode.OK,
    OtelStatusCode.ERROR: StatusCode.ERROR,
}
_START_KEYS = ("start_time_unix_nano", "start_time_ns", "start_time")


def _attribute_value(value: Any) -> AttributeValue:
    if isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, list | tuple):
        return tuple(value)
    return str(value)


def plain_attributes(attributes: Mapping[str, Any] | None) -> dict[str, AttributeValue]:
    """OpenTelemetry attribute values as record values: sequences become tuples."""
    if not attributes:
        return {}
    return {key: _attribute_value(value) for key, value in attributes.items()}


_PLAIN_TYPES = frozenset({str, bool, int, float, tuple})


def _span_attributes(span: ReadableSpan) -> dict[str, AttributeValue]:
    """``plain_attributes(span.attributes)``, copied in C when the values need no conversion.

    ``span.attributes`` is a read-only view of the SDK's ``BoundedAttributes``, which walks
    its items in Python; the plain ``dict`` inside it (values already cleaned to these types)
    is copied in one call instead. Any other shape takes the general path.
    """
    held = getattr(getattr(span, "_attributes", None), "_dict", None)
    if held.__class__ is dict and _PLAIN_TYPES.issuperset(map(type, held.values())):
        return dict(held)
    return plain_attributes(span.attributes)


# The spans of a TracerProvider share one Resource. Converting it once lets them share one
# attribute mapping too, which the store redacts and encodes once per batch instead of per span.
_last_resource: tuple[Resource | None, dict[str, AttributeValue]] = (None, {})


def _resource_attributes(resource: Resource) -> dict[str, AttributeValue]:
    global _last_resource
    known, converted = _last_resource  # one tuple: read and replaced atomically across threads
    if known is not resource:
        converted = plain_attributes(resource.attributes)
        _last_resource = (resource, converted)
    return converted


def span_record_from_readable(span: ReadableSpan) -> SpanRecord:
    """The SpanRecord of an ended SDK span (what the OTLP decoder would produce for it)."""
    context = span.context
    assert context is not None, "ended SDK spans always have a context"
    parent = span.parent
    scope = span.instrumentation_scope
    status = span.status
    start_ns = span.start_time or 0
    return SpanRecord(
        trace_id=format(context.trace_id, "032x"),
        span_id=format(context.span_id, "016x"),
        parent_span_id=format(parent.span_id, "016x") if parent is not None else None,
        name=span.name,
        # The Python API numbers SpanKind from INTERNAL = 0; OTLP from UNSPECIFIED = 0.
        kind=span.kind.value + 1,
        start_time_unix_nano=start_ns,
        end_time_unix_nano=span.end_time or start_ns,
        attributes=_span_attributes(span),
        events=tuple(
            EventRecord(event.name, event.timestamp or start_ns, plain_attributes(event.attributes))
            for event in span.events
        ),
        links=tuple(
            LinkRecord(
                format(link.context.trace_id, "032x"),
                format(link.context.span_id, "016x"),
                plain_attributes(link.attributes),
            )
            for link in span.links
        ),
        status_code=_STATUS_CODES.get(status.status_code, StatusCode.UNSET),
        status_message=status.description or "",
        resource_attributes=_resource_attributes(span.resource),
        scope_name=scope.name if scope is not None else "",
        scope_version=(scope.version or "") if scope is not None else "",
    )


def _hex_id(value: Any, width: int) -> str:
    if isinstance(value, int):
        return format(value, f"0{width}x")
    return str(value or "").lower()


def _record_from_mapping(span: Mapping[str, Any]) -> SpanRecord:
    start_ns = next((span[key] for key in _START_KEYS if span.get(key) is not None), 0)
    parent = span.get("parent_span_id")
    return SpanRecord(
        trace_id=_hex_id(span.get("trace_id"), 32),
        span_id=_hex_id(span.get("span_id"), 16),
        parent_span_id=_hex_id(parent, 16) if parent is not None else None,
        name=str(span.get("name", "")),
        kind=int(span.get("kind") or 0),
        start_time_unix_nano=int(start_ns),
        end_time_unix_nano=int(span.get("end_time_unix_nano") or start_ns),
        attributes=plain_attributes(span.get("attributes")),
        links=tuple(
            LinkRecord(
                _hex_id(link.get("trace_id"), 32),
                _hex_id(link.get("span_id"), 16),
                plain_attributes(link.get("attributes")),
            )
            for link in span.get("links") or ()
        ),
    )


def as_span_records(
    spans: Iterable[object],
) -> list[SpanRecord]:
    """``spans`` as SpanRecords: SDK spans converted, records kept, mappings read by key.

    A mapping names ``span_id``, ``name``, ``attributes`` and ``links`` (each a mapping with
    ``span_id`` and ``attributes``), optionally ``trace_id``, ``parent_span_id`` and
    ``start_time_unix_nano``; ids may be ints or hex.
    """
    records: list[SpanRecord] = []
    for span in spans:
        if isinstance(span, SpanRecord):
            records.append(span)
        elif isinstance(span, ReadableSpan):
            records.append(span_record_from_readable(span))
        elif isinstance(span, Mapping):
            records.append(_record_from_mapping(span))
        else:
            raise TypeError(
                f"expected ReadableSpans, SpanRecords or mappings, got {type(span).__name__}"
            )
    return records
