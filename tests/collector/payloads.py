"""Builders for OTLP export requests (protobuf and OTLP/JSON) with deterministic ids."""

from __future__ import annotations

import base64
import json
from typing import Any

from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

BASE_TIME_NS = 1_700_000_000_000_000_000


def trace_id(n: int) -> bytes:
    """The n-th deterministic trace id (16 bytes, never zero)."""
    return (0xABC0_0000_0000_0000_0000_0000_0000_0000 + n).to_bytes(16, "big")


def span_id(n: int) -> bytes:
    """The n-th deterministic span id (8 bytes, never zero)."""
    return (0x5100_0000_0000_0000 + n).to_bytes(8, "big")


def any_value(value: Any) -> AnyValue:
    """An OTLP AnyValue for a Python value (str, bool, int, float, bytes, list, dict)."""
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, str):
        return AnyValue(string_value=value)
    if isinstance(value, bytes):
        return AnyValue(bytes_value=value)
    if isinstance(value, list):
        result = AnyValue()
        result.array_value.values.extend(any_value(item) for item in value)
        return result
    result = AnyValue()
    result.kvlist_value.values.extend(KeyValue(key=k, value=any_value(v)) for k, v in value.items())
    return result


def make_span(
    n: int,
    *,
    trace: int = 1,
    parent: int | None = None,
    attributes: dict[str, Any] | None = None,
    start_ns: int | None = None,
    end_ns: int | None = None,
) -> Span:
    """A finished span number ``n`` in trace ``trace``, 1 ms long unless told otherwise."""
    start = BASE_TIME_NS + n * 1_000_000 if start_ns is None else start_ns
    span = Span(
        trace_id=trace_id(trace),
        span_id=span_id(n),
        name=f"span-{n}",
        kind=Span.SPAN_KIND_CLIENT,
        start_time_unix_nano=start,
        end_time_unix_nano=start + 1_000_000 if end_ns is None else end_ns,
    )
    if parent is not None:
        span.parent_span_id = span_id(parent)
    for key, value in (attributes or {}).items():
        span.attributes.append(KeyValue(key=key, value=any_value(value)))
    return span


def export_request(
    spans: list[Span], *, service: str = "test-service", scope: str = "tests"
) -> ExportTraceServiceRequest:
    """One resource, one scope, holding ``spans``."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.append(
        KeyValue(key="service.name", value=AnyValue(string_value=service))
    )
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = scope
    scope_spans.scope.version = "1.0"
    scope_spans.spans.extend(spans)
    return request


def to_otlp_json(request: ExportTraceServiceRequest) -> dict[str, Any]:
    """The OTLP/JSON form of a request: proto3 JSON with hex ids and integer enums."""
    document = MessageToDict(request, use_integers_for_enums=True)
    for resource_spans in document.get("resourceSpans", []):
        for scope_spans in resource_spans.get("scopeSpans", []):
            for span in scope_spans.get("spans", []):
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = _base64_to_hex(span[key])
                for link in span.get("links", []):
                    for key in ("traceId", "spanId"):
                        link[key] = _base64_to_hex(link[key])
    return document


def otlp_json_bytes(request: ExportTraceServiceRequest) -> bytes:
    """``to_otlp_json`` serialized."""
    return json.dumps(to_otlp_json(request)).encode()


def _base64_to_hex(value: str) -> str:

    return base64.b64decode(value).hex()
