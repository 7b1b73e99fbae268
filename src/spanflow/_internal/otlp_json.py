"""Protobuf-encoded OTLP export requests re-encoded as OTLP/JSON (``http/json``).

OTLP/JSON is the proto3 JSON mapping with two differences that matter here
(https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding): trace and span ids are hex
strings, not base64, and enums are integers. ``json_format`` alone gets the ids wrong, so they
are rewritten after it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

_ID_KEYS = ("traceId", "spanId", "parentSpanId")


def _hex_ids(item: dict[str, Any]) -> None:
    for key in _ID_KEYS:
        value = item.get(key)
        if isinstance(value, str):
            item[key] = base64.b64decode(value).hex()


def _each(document: dict[str, Any], outer: str, middle: str, inner: str) -> Iterable[Any]:
    for resource_level in document.get(outer, ()):
        for scope_level in resource_level.get(middle, ()):
            yield from scope_level.get(inner, ())


def to_otlp_json(signal: str, body: bytes) -> bytes:
    """``body`` (an ``Export{Trace,Logs}ServiceRequest`` in protobuf) as OTLP/JSON bytes."""
    if signal == "traces":
        traces = ExportTraceServiceRequest()
        traces.ParseFromString(body)
        document = json_format.MessageToDict(traces, use_integers_for_enums=True)
        for span in _each(document, "resourceSpans", "scopeSpans", "spans"):
            _hex_ids(span)
            for link in span.get("links", ()):
                _hex_ids(link)
    elif signal == "logs":
        logs = ExportLogsServiceRequest()
        logs.ParseFromString(body)
        document = json_format.MessageToDict(logs, use_integers_for_enums=True)
        for record in _each(document, "resourceLogs", "scopeLogs", "logRecords"):
            _hex_ids(record)
    else:
        raise ValueError(f"unknown OTLP signal {signal!r}")
    return json.dumps(document, separators=(",", ":")).encode()
