"""Helpers for hostile-input tests: raw OTLP/JSON spans, posting, and reading spans back."""

from __future__ import annotations

import gzip
import itertools
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests

from spanflow import attributes as attr
from tests.collector.payloads import BASE_TIME_NS
from tests.collector.processes import REQUEST_TIMEOUT_S, CollectorProcess, collector_process

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
_numbers = itertools.count(1)


def fresh_ids() -> tuple[str, str]:
    """A new (trace id, span id) in hex, unique within the test session."""
    n = next(_numbers)
    return f"{0xE0 << 120 | uuid.uuid4().int >> 8:032x}", f"{0x6600_0000_0000_0000 + n:016x}"


def json_value(value: Any) -> dict[str, Any]:
    """An OTLP/JSON AnyValue for a plain Python value (ints as JSON strings, like proto3 JSON)."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, list):
        return {"arrayValue": {"values": [json_value(item) for item in value]}}
    return {
        "kvlistValue": {
            "values": [{"key": key, "value": json_value(item)} for key, item in value.items()]
        }
    }


def json_span(
    *,
    run_id: str | None = None,
    attributes: dict[str, Any] | None = None,
    raw_attributes: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """An OTLP/JSON span with fresh ids; ``fields`` override or add span fields verbatim."""
    trace_id, span_id = fresh_ids()
    all_attributes = dict(attributes or {})
    if run_id is not None:
        all_attributes.setdefault(attr.RUN_ID, run_id)
    span: dict[str, Any] = {
        "traceId": trace_id,
        "spanId": span_id,
        "name": "hostile",
        "kind": 3,
        "startTimeUnixNano": str(BASE_TIME_NS),
        "endTimeUnixNano": str(BASE_TIME_NS + 1_000_000),
        "attributes": [
            {"key": key, "value": json_value(value)} for key, value in all_attributes.items()
        ]
        + (raw_attributes or []),
    }
    span.update(fields)
    return span


def json_body(*spans: dict[str, Any]) -> bytes:
    """An OTLP/JSON export request holding ``spans`` (one resource, one scope)."""
    document = {
        "resourceSpans": [
            {
                "resource": {"attributes": []},
                "scopeSpans": [{"scope": {"name": "hostile"}, "spans": list(spans)}],
            }
        ]
    }
    return json.dumps(document).encode()


def post(
    collector: CollectorProcess,
    body: bytes,
    content_type: str = JSON,
    *,
    encoding: str | None = None,
) -> requests.Response:
    """POST ``body`` to ``/v1/traces`` (gzip it first when ``encoding == "gzip"`` is given and
    the body is not compressed yet)."""
    headers = {"Content-Type": content_type}
    if encoding is not None:
        headers["Content-Encoding"] = encoding
    return requests.post(
        f"{collector.http_url}/v1/traces", data=body, headers=headers, timeout=REQUEST_TIMEOUT_S
    )


def rejected_spans(response: requests.Response) -> int:
    """``partial_success.rejected_spans`` of a JSON export response (0 when absent)."""
    assert response.status_code == 200, (response.status_code, response.text)
    partial = response.json().get("partialSuccess") or {}
    return int(partial.get("rejectedSpans", 0))


def api(collector: CollectorProcess, path: str, **params: Any) -> requests.Response:
    """GET ``/api/v1{path}``."""
    return requests.get(
        f"{collector.http_url}/api/v1{path}", params=params, timeout=REQUEST_TIMEOUT_S
    )


def run_spans_by_id(collector: CollectorProcess, run_id: str) -> dict[str, dict[str, Any]]:
    """Every span of a run, read back through the query API, by span id."""
    spans: dict[str, dict[str, Any]] = {}
    cursor: str | None = None
    while True:
        params = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
        response = requests.get(
            f"{collector.http_url}/api/v1/runs/{requests.utils.quote(run_id, safe='')}/spans",
            params=params,
            timeout=REQUEST_TIMEOUT_S,
        )
        assert response.status_code == 200, (response.status_code, response.text)
        body = response.json()
        spans.update((span["span_id"], span) for span in body["spans"])
        cursor = body["next_cursor"]
        if cursor is None:
            return spans


def gzip_members(body: bytes, parts: int) -> bytes:
    """``body`` cut into ``parts`` pieces, each compressed as its own gzip member."""
    size = -(-len(body) // parts)
    return b"".join(gzip.compress(body[i : i + size]) for i in range(0, len(body), size))


@contextmanager
def running_collector(location: str) -> Iterator[CollectorProcess]:
    """A collector process over ``location`` (an index path or a PostgreSQL URL)."""
    with collector_process(location) as collector:
        yield collector
