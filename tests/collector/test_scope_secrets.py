"""A foreign SDK's instrumentation scope name and version are redacted at ingest like the rest
of its spans: no planted secret in the index file or in the query API's answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from spanflow import attributes as attr
from spanflow_collector.index.sqlite import SqliteRunIndexStore
from spanflow_collector.server import Collector
from tests.planted_secrets import PLANTED, index_bytes, leaked

TIMEOUT_S = 30
T0 = 1_800_000_000_000_000_000
NAME_SECRET, VERSION_SECRET = PLANTED[13], PLANTED[14]


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[Collector]:
    """A collector over a real SQLite index, OTLP/HTTP and the query API on loopback."""
    running = Collector(SqliteRunIndexStore(tmp_path / "index.db"), http_port=0, grpc_port=None)
    running.start()
    try:
        yield running
    finally:
        running.stop()


def test_scope_name_and_version_are_redacted_at_ingest(
    collector: Collector, tmp_path: Path
) -> None:
    """Secrets in `scope.name` and `scope.version` are stored and served as markers."""
    span = {
        "traceId": "cd" * 16,
        "spanId": "01" * 8,
        "name": "root",
        "kind": 1,
        "startTimeUnixNano": str(T0),
        "endTimeUnixNano": str(T0 + 10),
        "attributes": [
            {"key": attr.RUN_ID, "value": {"stringValue": "01SCOPE"}},
            {"key": attr.SPAN_KIND, "value": {"stringValue": attr.SpanKindValue.RUN}},
        ],
    }
    scope = {"name": f"lib {NAME_SECRET.text}", "version": VERSION_SECRET.text}
    document = {"resourceSpans": [{"scopeSpans": [{"scope": scope, "spans": [span]}]}]}
    stored = requests.post(
        f"{collector.http_url}/v1/traces",
        data=json.dumps(document),
        headers={"Content-Type": "application/json"},
        timeout=TIMEOUT_S,
    )
    assert stored.status_code == 200, stored.text
    served = requests.get(f"{collector.http_url}/api/v1/runs/01SCOPE/spans", timeout=TIMEOUT_S)
    assert served.status_code == 200, served.text
    needles = [NAME_SECRET.needle, VERSION_SECRET.needle]
    assert leaked(served.content, needles) == []
    assert f"[REDACTED:{NAME_SECRET.kind}]" in served.text
    assert leaked(index_bytes(tmp_path / "index.db"), needles) == []
