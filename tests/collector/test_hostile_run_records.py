"""Hostile run records on /v1/logs: values no store can hold cost only themselves, never a 5xx."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from spanflow import attributes as attr
from spanflow.query.store import RunIndexStore
from spanflow_collector.index import open_store
from spanflow_collector.server import Collector

TIMEOUT_S = 30
T0 = 1_800_000_000_000_000_000
KIND = attr.RecordKindValue
JSON_HEADERS = {"Content-Type": "application/json"}


@pytest.fixture
def collector(index_location: str) -> Iterator[tuple[Collector, RunIndexStore]]:
    """A collector over a real SQLite index or PostgreSQL schema, OTLP/HTTP on loopback."""
    store = open_store(index_location)
    running = Collector(store, http_port=0, grpc_port=None)
    running.start()
    try:
        yield running, store
    finally:
        running.stop()


def _text(value: str) -> dict[str, Any]:
    return {"stringValue": value}


def _array(*values: dict[str, Any]) -> dict[str, Any]:
    return {"arrayValue": {"values": list(values)}}


def _record(run_id: str, kind: str, record_id: str, body: dict[str, Any] | None = None) -> Any:
    record: dict[str, Any] = {
        "timeUnixNano": str(T0),
        "eventName": kind,
        "attributes": [
            {"key": attr.RUN_ID, "value": _text(run_id)},
            {"key": attr.RECORD_ID, "value": _text(record_id)},
        ],
    }
    if body is not None:
        record["body"] = body
    return record


def _points(*points: tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]) -> Any:
    names, values, steps, times = zip(*points, strict=True)
    columns = {
        attr.METRICS_BODY_NAME: _array(*(_text(name) for name in names)),
        attr.METRICS_BODY_VALUE: _array(*values),
        attr.METRICS_BODY_STEP: _array(*steps),
        attr.METRICS_BODY_TIME: _array(*times),
    }
    return {"kvlistValue": {"values": [{"key": k, "value": v} for k, v in columns.items()]}}


def test_unstorable_metric_points_are_dropped_alone(
    collector: tuple[Collector, RunIndexStore],
) -> None:
    """Points with a NaN or infinite time, a 400-digit value or a step beyond int64 are
    dropped one by one; the request is acknowledged and its other points and runs are stored."""
    running, store = collector
    good_time = {"intValue": str(T0)}
    one = {"intValue": "1"}
    metrics = _points(
        ("loss", {"doubleValue": 0.5}, one, good_time),
        ("nan-time", {"doubleValue": 1.0}, one, {"doubleValue": "NaN"}),
        ("inf-time", {"doubleValue": 1.0}, one, {"doubleValue": "Infinity"}),
        ("huge-time", {"doubleValue": 1.0}, one, {"intValue": str(2**70)}),
        ("huge-value", {"intValue": "9" * 400}, one, good_time),
        ("huge-step", {"doubleValue": 1.0}, {"intValue": str(2**63)}, good_time),
    )
    records = [
        _record("01VICTIM", KIND.START, "s1"),
        _record("01VICTIM", KIND.METRICS, "m1", metrics),
        _record("01NEIGHBOUR", KIND.START, "s2"),
    ]
    document = {"resourceLogs": [{"scopeLogs": [{"logRecords": records}]}]}
    response = requests.post(
        f"{running.http_url}/v1/logs",
        data=json.dumps(document),
        headers=JSON_HEADERS,
        timeout=TIMEOUT_S,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {}
    history = store.get_metric_history("01VICTIM")
    assert [(point.name, point.value, point.step) for point in history] == [("loss", 0.5, 1)]
    assert store.get_run("01NEIGHBOUR") is not None


def test_run_records_with_unstorable_text_time_and_segment_are_normalised_like_spans(
    collector: tuple[Collector, RunIndexStore],
) -> None:
    """A start record with lone surrogates and NUL in its run id and name, a time past int64
    and a segment of 2**40 is stored (text with U+FFFD), not refused by the index."""
    running, store = collector
    start = _record("01ODD\ud800", KIND.START, "s1")
    start["timeUnixNano"] = str(2**64 - 1)
    start["attributes"] += [
        {"key": attr.RUN_NAME, "value": _text("bad\udfffname\x00")},
        {"key": attr.RUN_SEGMENT, "value": {"intValue": str(2**40)}},
    ]
    tags = _record("01ODD\ud800", KIND.TAGS, "t1", _array(_text("tag\ud801")))
    document = {"resourceLogs": [{"scopeLogs": [{"logRecords": [start, tags]}]}]}
    response = requests.post(
        f"{running.http_url}/v1/logs",
        data=json.dumps(document),
        headers=JSON_HEADERS,
        timeout=TIMEOUT_S,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {}
    run = store.get_run("01ODD\ufffd")
    assert run is not None
    assert run.name == "bad\ufffdname\ufffd"
    assert tuple(run.tags) == ("tag\ufffd",)
