"""OTLP/JSON to ``SpanRecord``s, decoded by hand over the parsed dict.

OTLP/JSON is not proto3 JSON (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding):
trace and span ids are hex strings, not base64; enums are integers; keys are lowerCamelCase
(the original snake_case names are accepted too, as proto3 JSON parsers do); 64-bit integers
may come as strings or numbers. ``json_format.Parse`` would read the ids as base64, so it is
not used. Values the index cannot hold are normalised (``normalize.py``): JSON can say things
protobuf cannot (``1e30`` as a timestamp, ``2**70`` as a kind, ``"\\ud800"`` in a string).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any

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
    ValueOutOfRangeError,
    add_notes,
    check_int64,
    clamp_time_ns,
    clean_text,
    enum_value,
    normalize_metric_event,
    normalize_span_attributes,
)

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
# Only a \\u escape can put NUL or a lone surrogate into a string decoded from UTF-8 JSON.
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


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
        # One fast scan for any escape; most exporters write UTF-8 and have none.
        if b"\\u" in body and _SUSPECT_ESCAPE.search(body):
            document = _clean_strings(document)
        return _decode_document(document)
    except (TypeError, AttributeError, ValueError, KeyError, RecursionError) as exc:
        raise OtlpDecodeError(f"malformed OTLP/JSON export request: {exc}") from exc


def _clean_strings(value: Any) -> Any:
    """``value`` with every string (keys too) passed through ``clean_text``."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [_clean_strings(item) for item in value]
    if isinstance(value, dict):
        return {clean_text(key): _clean_strings(item) for key, item in value.items()}
    return value


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
        resource_attributes = _attributes(_list(resource, "attributes", "attributes"), [])
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
    notes: list[str] = []
    start_ns = _time_ns(
        _field(span, "startTimeUnixNano", "start_time_unix_nano", 0), "start", notes
    )
    end_ns = _time_ns(_field(span, "endTimeUnixNano", "end_time_unix_nano", 0), "end", notes)
    check_span_fields(trace_id, span_id, parent_hex or None, start_ns, end_ns)
    attribute_list = _list(span, "attributes", "attributes")
    event_list = _list(span, "events", "events")
    links = _list(span, "links", "links")
    check_item_count(span_id, "attributes", len(attribute_list))
    check_item_count(span_id, "events", len(event_list))
    check_item_count(span_id, "links", len(links))
    status = _field(span, "status", "status", {})
    attributes = _attributes(attribute_list, notes)
    normalize_span_attributes(attributes, notes)
    events = tuple(_event_record(event, notes) for event in event_list)
    link_records = tuple(_link_record(link, span_id, notes) for link in links)
    kind = _enum(_field(span, "kind", "kind", 0), _SPAN_KINDS)
    if kind not in SPAN_KINDS:
        kind = enum_value(kind, SPAN_KINDS, "kind", notes)
    status_code = _enum(_field(status, "code", "code", 0), _STATUS_CODES)
    if status_code not in STATUS_CODES:
        status_code = enum_value(status_code, STATUS_CODES, "status.code", notes)
    if notes:
        add_notes(attributes, notes)
    return SpanRecord(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent_hex or None,
        name=_string(_field(span, "name", "name", "")),
        kind=kind,
        start_time_unix_nano=start_ns,
        end_time_unix_nano=end_ns,
        attributes=attributes,
        events=events,
        links=link_records,
        status_code=status_code,
        status_message=_string(_field(status, "message", "message", "")),
        resource_attributes=resource_attributes,
        scope_name=scope_name,
        scope_version=scope_version,
    )


def _event_record(event: Mapping[str, Any], notes: list[str]) -> EventRecord:
    name = _string(_field(event, "name", "name", ""))
    attributes = _attributes(_list(event, "attributes", "attributes"), notes)
    if name == attr.EVENT_METRIC:
        normalize_metric_event(attributes, notes)
    time_ns = _time_ns(_field(event, "timeUnixNano", "time_unix_nano", 0), "event", notes)
    return EventRecord(name=name, time_unix_nano=time_ns, attributes=attributes)


def _time_ns(value: object, what: str, notes: list[str]) -> int:
    time_ns = _int64(value)
    if time_ns > MAX_TIME_NS:  # the label is only built for the rare clamped value
        return clamp_time_ns(time_ns, f"{what} time_unix_nano", notes)
    return time_ns


def _link_record(link: Mapping[str, Any], span_id: str, notes: list[str]) -> LinkRecord:
    linked_trace_id = _hex_id(_field(link, "traceId", "trace_id", ""), "link trace_id")
    linked_span_id = _hex_id(_field(link, "spanId", "span_id", ""), "link span_id")
    if len(linked_trace_id) != 32 or len(linked_span_id) != 16:
        raise InvalidSpanError(f"span {span_id}: a link has a malformed trace_id or span_id")
    return LinkRecord(
        trace_id=linked_trace_id,
        span_id=linked_span_id,
        attributes=_attributes(_list(link, "attributes", "attributes"), notes),
    )


def _hex_id(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidSpanError(f"{what} must be a hex string, got {type(value).__name__}")
    lowered = value.lower()
    if not _HEX_DIGITS.issuperset(lowered):
        raise InvalidSpanError(f"{what} is not hex: {value[:40]!r}")
    return lowered


def _int64(value: object) -> int:
    """An integer field, as a JSON number or string (unbounded here; callers clamp or check)."""
    if isinstance(value, bool) or not isinstance(value, int | str | float):
        raise InvalidSpanError(f"expected an integer, got {type(value).__name__}")
    try:
        return int(value)
    except (ValueError, OverflowError) as exc:
        if isinstance(value, str):  # "1e30" is a number, even as a string
            try:
                return int(float(value))
            except (ValueError, OverflowError):
                pass
        raise InvalidSpanError(f"expected an integer, got {str(value)[:40]!r}") from exc


def _string(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidSpanError(f"expected a string, got {type(value).__name__}")
    return value


def _enum(value: object, names: Mapping[str, int]) -> int:
    if isinstance(value, str) and value in names:
        return names[value]
    return _int64(value)


def _attributes(key_values: list[Any], notes: list[str]) -> dict[str, AttributeValue]:
    out: dict[str, AttributeValue] = {}
    truncated: list[bool] = []  # one for all attributes: cleared after each cut value
    for key_value in key_values:
        key = _string(key_value["key"])
        try:
            value = _attribute_value(key_value.get("value"), truncated)
        except ValueOutOfRangeError as exc:
            notes.append(f"{key}: dropped, {exc}")
            continue
        if truncated:
            truncated.clear()
            notes.append(f"{key}: nested deeper than {MAX_VALUE_DEPTH} levels, cut there")
        if value is not None:
            out[key] = value
    return out


def _attribute_value(any_value: object, truncated: list[bool]) -> AttributeValue | None:
    if not isinstance(any_value, dict) or not any_value:
        return None
    plain = _plain_value(any_value, 0, truncated)
    if plain is None or isinstance(plain, str | bool | int | float):
        return plain
    if isinstance(plain, list):
        kinds = {type(item) for item in plain}
        if not kinds:
            return ()
        if len(kinds) == 1 and kinds <= {str, bool, int, float}:
            return tuple(plain)
    return json.dumps(plain, ensure_ascii=False)


def _plain_value(any_value: Mapping[str, Any], depth: int, truncated: list[bool]) -> object:
    if depth > MAX_VALUE_DEPTH:
        truncated.append(True)
        return TRUNCATED_VALUE
    if not isinstance(any_value, dict):
        raise InvalidSpanError(f"an AnyValue must be an object, got {type(any_value).__name__}")
    for camel, snake in _SCALAR_KEYS:
        value = _field(any_value, camel, snake)
        if value is not None:
            if camel == "intValue":
                return check_int64(_int64(value))
            if camel == "doubleValue":
                return float(value)  # proto3 JSON allows "NaN", "Infinity" and numeric strings
            if camel == "boolValue" and not isinstance(value, bool):
                raise InvalidSpanError(f"boolValue must be true or false, got {value!r}")
            if camel == "stringValue" and not isinstance(value, str):
                raise InvalidSpanError(f"stringValue must be a string, got {value!r}")
            return value
    array = _field(any_value, "arrayValue", "array_value")
    if array is not None:
        return [
            _plain_value(item, depth + 1, truncated) for item in _list(array, "values", "values")
        ]
    kvlist = _field(any_value, "kvlistValue", "kvlist_value")
    if kvlist is not None:
        return {
            _string(kv["key"]): _plain_value(kv.get("value") or {}, depth + 1, truncated)
            for kv in _list(kvlist, "values", "values")
        }
    raw = _field(any_value, "bytesValue", "bytes_value")
    if raw is not None:
        try:
            return base64.b64decode(_string(raw), validate=True).hex()
        except binascii.Error as exc:
            raise InvalidSpanError(f"bytesValue is not base64: {exc}") from exc
    return None
