"""Run ids holding "/" (another SDK's naming) are reachable through the query API."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from spanflow import attributes as attr
from spanflow_collector.index.sqlite import SqliteRunIndexStore
from spanflow_collector.server import Collector

TIMEOUT_S = 30
T0 = 1_800_000_000_000_000_000
RUN_ID = "team/run-1"


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[Collector]:
    """A collector over a real SQLite index, OTLP/HTTP and the query API on loopback."""
    running = Collector(SqliteRunIndexStore(tmp_path / "index.db"), http_port=0, grpc_port=None)
    running.start()
    try:
        yield running
    finally:
        running.stop()


def test_a_run_id_with_a_slash_is_served_by_every_run_endpoint(collector: Collector) -> None:
    """GET run, spans, tree, graph, metrics and children of "team/run-1" (sent as %2F) answer
    200 for that run; the id "team" alone is still unknown (404)."""
    span = {
        "traceId": "aa" * 16,
        "spanId": "01" * 8,
        "name": "root",
        "kind": 1,
        "startTimeUnixNano": str(T0),
        "endTimeUnixNano": str(T0 + 10),
        "attributes": [
            {"key": attr.RUN_ID, "value": {"stringValue": RUN_ID}},
            {"key": attr.SPAN_KIND, "value": {"stringValue": attr.SpanKindValue.RUN}},
        ],
    }
    document = {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
    stored = requests.post(
        f"{collector.http_url}/v1/traces",
        data=json.dumps(document),
        headers={"Content-Type": "application/json"},
        timeout=TIMEOUT_S,
    )
    assert stored.status_code == 200, stored.text
    base = f"{collector.http_url}/api/v1/runs/{urllib.parse.quote(RUN_ID, safe='')}"
    detail = requests.get(base, timeout=TIMEOUT_S)
    assert detail.status_code == 200, detail.text
    assert detail.json()["run"]["id"] == RUN_ID
    for suffix in ("spans", "tree", "graph", "metrics", "children"):
        answer = requests.get(f"{base}/{suffix}", timeout=TIMEOUT_S)
        assert answer.status_code == 200, (suffix, answer.text)
    unknown = requests.get(f"{collector.http_url}/api/v1/runs/team", timeout=TIMEOUT_S)
    assert unknown.status_code == 404
