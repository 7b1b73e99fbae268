"""OTLP trace decoding: protobuf and OTLP/JSON export requests into ``SpanRecord``s."""

from __future__ import annotations

from spanflow_collector.otlp.from_json import parse_json_request
from spanflow_collector.otlp.from_protobuf import decode_request, parse_protobuf_request
from spanflow_collector.otlp.limits import (
    MAX_ITEMS_PER_SPAN,
    DecodedSpans,
    InvalidSpanError,
    OtlpDecodeError,
)

__all__ = [
    "MAX_ITEMS_PER_SPAN",
    "DecodedSpans",
    "InvalidSpanError",
    "OtlpDecodeError",
    "decode_request",
    "parse_json_request",
    "parse_protobuf_request",
]
