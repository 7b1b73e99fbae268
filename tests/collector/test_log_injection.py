"""What a sender controls and the collector logs is printed with control characters escaped."""

from __future__ import annotations

import json
import secrets

import pytest
import requests

from spanflow import attributes as attr
from tests.collector.processes import REQUEST_TIMEOUT_S, collector_process

# PostgreSQL cannot index a run id this long (random, so compression cannot shrink it), so the
# record is refused and its id logged.
LONG_RUN_ID = secrets.token_hex(10_000)
RECORD_ID = "rec\x1b]0;pwned\x07\nspanflow collector: forged line"


@pytest.mark.postgres
def test_a_refused_record_id_is_logged_escaped(postgres_url: str) -> None:
    """A run record the index refuses is logged with its id's ESC, BEL and newline escaped,
    so a sender cannot drive the operator's terminal or forge a log line."""
    record = {
        "timeUnixNano": "1800000000000000000",
        "eventName": attr.RecordKindValue.START,
        "attributes": [
            {"key": attr.RUN_ID, "value": {"stringValue": LONG_RUN_ID}},
            {"key": attr.RECORD_ID, "value": {"stringValue": RECORD_ID}},
        ],
    }
    document = {"resourceLogs": [{"scopeLogs": [{"logRecords": [record]}]}]}
    with collector_process(postgres_url, "--no-grpc") as collector:
        answer = requests.post(
            f"{collector.http_url}/v1/logs",
            data=json.dumps(document),
            headers={"Content-Type": "application/json"},
            timeout=REQUEST_TIMEOUT_S,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["partialSuccess"]["rejectedLogRecords"] == "1"
        logged = collector.stderr_text()
    assert "rec\\x1b]0;pwned\\x07\\nspanflow collector: forged line" in logged
    assert "\x1b" not in logged and "\x07" not in logged
    assert "\nspanflow collector: forged line" not in logged
