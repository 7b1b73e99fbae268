"""OTLP/JSON to ``SpanRecord``s, decoded by hand over the parsed dict.

OTLP/JSON is not proto3 JSON (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding):
trace and span ids are hex strings, not base64; enums are integers; keys are lowerCamelCase
(the original snake_case names are accepted too, as proto3 JSON parsers do); 64-bit integers
may come as strings or numbers. ``json_format.Parse`` would read the ids as base64, so it is
not used.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from spanflow_collector.otlp.limits import (
    DecodedSpans,
    InvalidSpanError,
    OtlpDecodeError,
    check_item_count,
    check_span_fields,
)
from spanflow_collector.records import AttributeValue, EventRecord, LinkRecord, SpanRecord

_HEX_DIGITS = frozenset("0123456789abcdef")
_SPAN_KINDS = {
    "SPAN_KIND_UNSPECIFIED": 0,
    "SPAN_KIND_INTERNAL": 1,
    "SPAN_KIND_SERVER": 2,
    "SPAN_KIND_CLIENT": 3,
    "SPAN_KIND_PRODUCER": 4,
    "SPAN_KIND_CONSUMER": 5,
}
_STATUS_CODES = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}
_SCALAR_KEYS = (
    ("stringValue", "string_value"),
    ("boolValue", "bool_value"),
    ("intValue", "int_value"),
    ("doubleValue", "double_value"),
)
_NO_ITEMS: list[Any] = []


def parse_json_request(body: bytes) -> DecodedSpans:
    """Parse an OTLP/JSON ``ExportTraceServiceRequest`` body and decode its spans.

    Raises:
        OtlpDecodeError: the body is not UTF-8 JSON, or not shaped like an export request.
    """
    try:
        document = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise OtlpDecodeError(f"request body is not valid UTF-8: {exc}") from exc
    except (ValueError, RecursionError) as exc:
        raise OtlpDecodeError(f"request body is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise OtlpDecodeError("OTLP/JSON body must be an object with a resourceSpans list")
    try:
        return _decode_document(document)
    except (TypeError, AttributeError, ValueError, KeyError, RecursionError) as exc:
        raise OtlpDecodeError(f"malformed OTLP/JSON export request: {exc}") from exc


def _field(message: Mapping[str, Any], camel: str, snake: str, default: Any = None) -> Any:
    value = message.get(camel)
    if value is None:
        value = message.get(snake, default)
    return default if value is None else value


def _list(message: Mapping[str, Any], camel: str, snake: str) -> list[Any]:
    value = _field(message, camel, snake, _NO_ITEMS)
    if not isinstance(value, list):
        raise TypeError(f"{camel} must be a list")
    return value


def _decode_document(document: Mapping[str, Any]) -> DecodedSpans:
    result = DecodedSpans()
    for resource_spans in _list(document, "resourceSpans", "resource_spans"):
        resource = _field(resource_spans, "resource", "resource", {})
        resource_attributes = _attributes(_list(resource, "attributes", "attributes"))
        for scope_spans in _list(resource_spans, "scopeSpans", "scope_spans"):
            scope = _field(scope_spans, "scope", "scope", {})
            scope_name = str(_field(scope, "name", "name", ""))
            scope_version = str(_field(scope, "version", "version", ""))
            for span in _list(scope_spans, "spans", "spans"):
                try:
                    result.records.append(
                        _span_record(span, resource_attributes, scope_name, scope_version)
                    )
                except InvalidSpanError as exc:
                    result.reject(str(exc))
                except (TypeError, ValueError, AttributeError, KeyError, RecursionError) as exc:
                    result.reject(f"malformed span: {exc}")
    return result


def _span_record(
    span: Mapping[str, Any],
    resource_attributes: dict[str, AttributeValue],
    scope_name: str,
    scope_version: str,
) -> SpanRecord:
    trace_id = _hex_id(_field(span, "traceId", "trace_id", ""), "trace_id")
    span_id = _hex_id(_field(span, "spanId", "span_id", ""), "span_id")
    parent_hex = _hex_id(_field(span, "parentSpanId", "parent_span_id", ""), "parent_span_id")
    start_ns = _int64(_field(span, "startTimeUnixNano", "start_time_unix_nano", 0))
    end_ns = _int64(_field(span, "endTimeUnixNano", "end_time_unix_nano", 0))
    check_span_fields(trace_id, span_id, parent_hex or None, start_ns, end_ns)
    attributes = _list(span, "attributes", "attributes")
    events = _list(span, "events", "events")
    links = _list(span, "links", "links")
    check_item_count(span_id, "attributes", len(attributes))
    check_item_count(span_id, "events", len(events))
    check_item_count(span_id, "links", len(links))
    status = _field(span, "status", "status", {})
    return SpanRecord(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent_hex or None,
        name=_string(_field(span, "name", "name", "")),
        kind=_enum(_field(span, "kind", "kind", 0), _SPAN_KINDS),
        start_time_unix_nano=start_ns,
        end_time_unix_nano=end_ns,
        attributes=_attributes(attributes),
        events=tuple(
            EventRecord(
                name=_string(_field(event, "name", "name", "")),
                time_unix_nano=_int64(_field(event, "timeUnixNano", "time_unix_nano", 0)),
                attributes=_attributes(_list(event, "attributes", "attributes")),
            )
            for event in events
        ),
        links=tuple(_link_record(link, span_id) for link in links),
        status_code=_enum(_field(status, "code", "code", 0), _STATUS_CODES),
        status_message=_string(_field(status, "message", "message", "")),
        resource_attributes=resource_attributes,
        scope_name=scope_name,
        scope_version=scope_version,
    )


def _link_record(link: Mapping[str, Any], span_id: str) -> LinkRecord:
    linked_trace_id = _hex_id(_field(link, "traceId", "trace_id", ""), "link trace_id")
    linked_span_id = _hex_id(_field(link, "spanId", "span_id", ""), "link span_id")
    if len(linked_trace_id) != 32 or len(linked_span_id) != 16:
        raise InvalidSpanError(f"span {span_id}: a link has a malformed trace_id or span_id")
    return LinkRecord(
        trace_id=linked_trace_id,
        span_id=linked_span_id,
        attributes=_attributes(_list(link, "attributes", "attributes")),
    )


def _hex_id(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidSpanError(f"{what} must be a hex string, got {type(value).__name__}")
    lowered = value.lower()
    if not _HEX_DIGITS.issuperset(lowered):
        raise InvalidSpanError(f"{what} is not hex: {value[:40]!r}")
    return lowered


def _int64(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str | float):
        raise InvalidSpanError(f"expected an integer, got {type(value).__name__}")
    try:
        return int(value)
    except (ValueError, OverflowError) as exc:
        raise InvalidSpanError(f"expected an integer, got {value!r}") from exc


def _string(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidSpanError(f"expected a string, got {type(value).__name__}")
    return value


def _enum(value: object, names: Mapping[str, int]) -> int:
    if isinstance(value, str) and value in names:
        return names[value]
    return _int64(value)


def _attributes(key_values: list[Any]) -> dict[str, AttributeValue]:
    out: dict[str, AttributeValue] = {}
    for key_value in key_values:
        value = _attribute_value(key_value.get("value"))
        if value is not None:
            out[_string(key_value["key"])] = value
    return out


def _attribute_value(any_value: object) -> AttributeValue | None:
    if not isinstance(any_value, dict) or not any_value:
        return None
    plain = _plain_value(any_value)
    if plain is None or isinstance(plain, str | bool | int | float):
        return plain
    if isinstance(plain, list):
        kinds = {type(item) for item in plain}
        if not kinds:
            return ()
        if len(kinds) == 1 and kinds <= {str, bool, int, float}:
            return tuple(plain)
    return json.dumps(plain, ensure_ascii=False)


def _plain_value(any_value: Mapping[str, Any]) -> object:
    for camel, snake in _SCALAR_KEYS:
        value = _field(any_value, camel, snake)
        if value is not None:
            if camel == "intValue":
                return _int64(value)
            if camel == "doubleValue":
                return float(value)  # proto3 JSON allows "NaN", "Infinity" and numeric strings
            if camel == "boolValue" and not isinstance(value, bool):
                raise InvalidSpanError(f"boolValue must be true or false, got {value!r}")
            if camel == "stringValue" and not isinstance(value, str):
                raise InvalidSpanError(f"stringValue must be a string, got {value!r}")
            return value
    array = _field(any_value, "arrayValue", "array_value")
    if array is not None:
        return [_plain_value(item) for item in _list(array, "values", "values")]
    kvlist = _field(any_value, "kvlistValue", "kvlist_value")
    if kvlist is not None:
        return {
            _string(kv["key"]): _plain_value(kv.get("value") or {})
            for kv in _list(kvlist, "values", "values")
        }
    raw = _field(any_value, "bytesValue", "bytes_value")
    if raw is not None:
        try:
            return base64.b64decode(_string(raw), validate=True).hex()
        except binascii.Error as exc:
            raise InvalidSpanError(f"bytesValue is not base64: {exc}") from exc
    return None
