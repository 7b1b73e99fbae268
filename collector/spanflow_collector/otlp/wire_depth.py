"""Cut over-deep attribute values out of a serialized ``ExportTraceServiceRequest``.

protobuf's parser (upb) refuses a whole message nested more than 100 levels deep, so one
attribute nested ~48 arrays deep would cost every span of the request. When parsing fails for
that reason, ``cut_deep_values`` rewrites the wire bytes, emptying every ``AnyValue`` nested
deeper than ``MAX_VALUE_DEPTH``; the decoder then stores the value cut at that depth with a
marker, like any other over-deep value. Only messages on the path to attributes are walked;
everything else is copied byte for byte.
"""

from __future__ import annotations

from typing import Final

from spanflow_collector.otlp.limits import OtlpDecodeError
from spanflow_collector.otlp.normalize import MAX_VALUE_DEPTH

# message -> {field number: child message} for every field that leads to an AnyValue.
_CHILDREN: Final[dict[str, dict[int, str]]] = {
    "ExportTraceServiceRequest": {1: "ResourceSpans"},
    "ResourceSpans": {1: "Resource", 2: "ScopeSpans"},
    "Resource": {1: "KeyValue"},
    "ScopeSpans": {1: "InstrumentationScope", 2: "Span"},
    "InstrumentationScope": {3: "KeyValue"},
    "Span": {9: "KeyValue", 11: "Event", 13: "Link"},
    "Event": {3: "KeyValue"},
    "Link": {5: "KeyValue"},
    "KeyValue": {2: "AnyValue"},
    "AnyValue": {5: "ArrayValue", 6: "KeyValueList"},
    "ArrayValue": {1: "AnyValue"},
    "KeyValueList": {1: "KeyValue"},
}
_LENGTH_DELIMITED: Final = 2


def cut_deep_values(body: bytes) -> bytes:
    """``body`` with every AnyValue deeper than ``MAX_VALUE_DEPTH`` emptied.

    Raises:
        OtlpDecodeError: the bytes are not well-formed protobuf wire format.
    """
    try:
        return _rewrite(memoryview(body), "ExportTraceServiceRequest", -1)
    except IndexError as exc:
        raise OtlpDecodeError("invalid OTLP protobuf body: truncated field") from exc


def _rewrite(data: memoryview, message: str, value_depth: int) -> bytes:
    """``value_depth``: nesting level of the innermost AnyValue around ``data`` (-1 outside)."""
    if message == "AnyValue":
        value_depth += 1
        if value_depth > MAX_VALUE_DEPTH:
            return b""
    children = _CHILDREN[message]
    out = bytearray()
    position = 0
    end = len(data)
    while position < end:
        field_start = position
        key, position = _varint(data, position)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            _, position = _varint(data, position)
        elif wire_type == 1:
            position += 8
        elif wire_type == 5:
            position += 4
        elif wire_type == _LENGTH_DELIMITED:
            length_start = position
            length, payload_start = _varint(data, position)
            position = payload_start + length
            child = children.get(number)
            if child is not None and position <= end:
                payload = _rewrite(data[payload_start:position], child, value_depth)
                out += data[field_start:length_start]
                out += _encode_varint(len(payload))
                out += payload
                continue
        else:
            raise OtlpDecodeError(f"invalid OTLP protobuf body: wire type {wire_type}")
        if position > end:
            raise OtlpDecodeError("invalid OTLP protobuf body: truncated field")
        out += data[field_start:position]
    return bytes(out)


def _varint(data: memoryview, position: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, position
        shift += 7
        if shift > 63:
            raise OtlpDecodeError("invalid OTLP protobuf body: varint too long")


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)
