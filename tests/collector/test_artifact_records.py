"""Artifact run records at the collector's edge: content must match the facts it comes with."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from spanflow import attributes as attr
from spanflow_collector.otlp.logs import parse_json_logs

CONTENT = b"\x00\x01 artifact bytes \xff"


def _request(content: bytes | None, **facts: Any) -> bytes:
    fields = {
        attr.RUN_ID: "run-1",
        attr.RECORD_KIND: attr.RecordKindValue.ARTIFACT,
        attr.RECORD_ID: "r1",
        attr.ARTIFACT_NAME: "a.bin",
        attr.ARTIFACT_SIZE: len(CONTENT),
        attr.ARTIFACT_SHA256: hashlib.sha256(CONTENT).hexdigest(),
        attr.ARTIFACT_STORED: content is not None,
        **facts,
    }
    values = {
        key: {"intValue": str(value)}
        if isinstance(value, int) and not isinstance(value, bool)
        else {"boolValue": value}
        if isinstance(value, bool)
        else {"stringValue": value}
        for key, value in fields.items()
    }
    log: dict[str, Any] = {
        "timeUnixNano": "1700000000000000000",
        "attributes": [{"key": key, "value": value} for key, value in values.items()],
    }
    if content is not None:
        log["body"] = {"bytesValue": base64.b64encode(content).decode()}
    document = {"resourceLogs": [{"scopeLogs": [{"logRecords": [log]}]}]}
    return json.dumps(document).encode()


def test_matching_content_is_decoded_as_bytes() -> None:
    """An artifact record whose bytes hash to its sha256 and match its size carries them."""
    decoded = parse_json_logs(_request(CONTENT))
    (record,) = decoded.records
    assert record.content == CONTENT and decoded.rejected_log_records == 0


def test_a_reference_carries_no_content() -> None:
    """Without a body (and not marked stored) the record is a reference: content None."""
    (record,) = parse_json_logs(_request(None)).records
    assert record.content is None


def test_content_that_does_not_match_its_facts_is_rejected_with_a_reason() -> None:
    """A wrong sha256, a wrong size or a stored record without content is rejected alone,
    with a partial-success reason naming what did not match."""
    wrong_hash = parse_json_logs(_request(CONTENT, **{attr.ARTIFACT_SHA256: "0" * 64}))
    wrong_size = parse_json_logs(_request(CONTENT, **{attr.ARTIFACT_SIZE: 3}))
    missing = parse_json_logs(_request(None, **{attr.ARTIFACT_STORED: True}))
    assert wrong_hash.records == [] and "sha256" in wrong_hash.error_message
    assert wrong_size.records == [] and "size" in wrong_size.error_message
    assert missing.records == [] and "carries no content" in missing.error_message
