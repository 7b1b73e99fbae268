"""Dataflow links from another SDK with odd attribute types still give a graph, never a 500."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from spanflow import attributes as attr
from spanflow_collector.index.sqlite import SqliteRunIndexStore
from spanflow_collector.server import Collector

TIMEOUT_S = 30
T0 = 1_800_000_000_000_000_000
ROOT, PRODUCER, CONSUMER = "01" * 8, "02" * 8, "03" * 8
ODD_SCORES: dict[str, dict[str, Any]] = {
    "text": {"stringValue": "high"},
    "array": {"arrayValue": {"values": [{"stringValue": "x"}]}},
    "nan": {"doubleValue": "NaN"},
    "infinity": {"doubleValue": "Infinity"},
}


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[Collector]:
    """A collector over a real SQLite index, OTLP/HTTP and the query API on loopback."""
    running = Collector(SqliteRunIndexStore(tmp_path / "index.db"), http_port=0, grpc_port=None)
    running.start()
    try:
        yield running
    finally:
        running.stop()


def _attributes(values: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"key": key, "value": value} for key, value in values.items()]


def _span(trace_id: str, span_id: str, run_id: str, kind: str, **extra: Any) -> dict[str, Any]:
    return {
        "traceId": trace_id,
        "spanId": span_id,
        "parentSpanId": "" if span_id == ROOT else ROOT,
        "name": kind,
        "kind": 1,
        "startTimeUnixNano": str(T0 + int(span_id, 16)),
        "endTimeUnixNano": str(T0 + 1000 + int(span_id, 16)),
        "attributes": _attributes(
            {attr.RUN_ID: {"stringValue": run_id}, attr.SPAN_KIND: {"stringValue": kind}}
        ),
        **extra,
    }


def _run_with_link(
    run_id: str, trace_id: str, score: dict[str, Any], fields: dict[str, Any]
) -> list[dict[str, Any]]:
    link = {
        "traceId": trace_id,
        "spanId": PRODUCER,
        "attributes": _attributes(
            {
                attr.LINK_TYPE: {"stringValue": attr.LinkTypeValue.DATAFLOW},
                attr.LINK_HOW: {"stringValue": "verbatim"},
                attr.LINK_SCORE: score,
                attr.LINK_INPUT_FIELDS: fields,
            }
        ),
    }
    return [
        _span(trace_id, ROOT, run_id, attr.SpanKindValue.RUN),
        _span(trace_id, PRODUCER, run_id, attr.SpanKindValue.LLM),
        _span(trace_id, CONSUMER, run_id, attr.SpanKindValue.LLM, links=[link]),
    ]


@pytest.mark.parametrize("label", list(ODD_SCORES))
def test_graph_of_a_link_with_an_odd_score_is_served(collector: Collector, label: str) -> None:
    """A dataflow link whose score is text, an array, NaN or infinite (and whose input fields
    are one string or a number) is shown with score 0 in JSON, Mermaid and DOT, never a 500."""
    run_id = f"01ODDSCORE{label.upper()}"
    fields = {"intValue": "7"} if label == "nan" else {"stringValue": "messages"}
    spans = _run_with_link(run_id, f"{len(label):032x}", ODD_SCORES[label], fields)
    document = {"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}
    stored = requests.post(
        f"{collector.http_url}/v1/traces",
        data=json.dumps(document),
        headers={"Content-Type": "application/json"},
        timeout=TIMEOUT_S,
    )
    assert stored.status_code == 200, stored.text
    graph_url = f"{collector.http_url}/api/v1/runs/{run_id}/graph"
    answer = requests.get(graph_url, timeout=TIMEOUT_S)
    assert answer.status_code == 200, answer.text
    edges = answer.json()["edges"]
    assert [(e["producer"], e["consumer"], e["score"]) for e in edges] == [
        (PRODUCER, CONSUMER, 0.0)
    ]
    assert edges[0]["input_fields"] == ["7" if label == "nan" else "messages"]
    for graph_format in ("mermaid", "dot"):
        rendered = requests.get(graph_url, params={"format": graph_format}, timeout=TIMEOUT_S)
        assert rendered.status_code == 200, rendered.text
        assert "verbatim 0.00" in rendered.text
