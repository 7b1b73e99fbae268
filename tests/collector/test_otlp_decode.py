"""Decoding OTLP protobuf and OTLP/JSON export requests into span records."""

from __future__ import annotations

import json

import pytest

from spanflow_collector.otlp import (
    MAX_ITEMS_PER_SPAN,
    OtlpDecodeError,
    parse_json_request,
    parse_protobuf_request,
)
from tests.collector.payloads import (
    export_request,
    make_span,
    otlp_json_bytes,
    span_id,
    to_otlp_json,
    trace_id,
)

ATTRIBUTES = {
    "s": "text ü",
    "b": True,
    "i": 2**62,
    "f": 0.5,
    "strings": ["a", "b"],
    "ints": [1, 2],
    "mixed": ["a", 1],
    "map": {"k": "v", "n": 1},
    "raw": b"\x01\xff",
    "empty": [],
}
EXPECTED_ATTRIBUTES = {
    "s": "text ü",
    "b": True,
    "i": 2**62,
    "f": 0.5,
    "strings": ("a", "b"),
    "ints": (1, 2),
    "mixed": '["a", 1]',
    "map": '{"k": "v", "n": 1}',
    "raw": "01ff",
    "empty": (),
}


def _both_encodings(request: object) -> list[bytes]:
    return [request.SerializeToString(), otlp_json_bytes(request)]  # type: ignore[attr-defined]


@pytest.mark.parametrize("encoding", ["protobuf", "json"])
def test_span_fields_ids_and_attribute_types_survive_decoding(encoding: str) -> None:
    """Ids become lowercase hex, and every attribute type keeps its value in both encodings."""
    request = export_request([make_span(1, parent=7, attributes=ATTRIBUTES)])
    body = request.SerializeToString() if encoding == "protobuf" else otlp_json_bytes(request)
    parse = parse_protobuf_request if encoding == "protobuf" else parse_json_request
    decoded = parse(body)
    assert decoded.rejected_spans == 0
    (record,) = decoded.records
    assert record.trace_id == trace_id(1).hex()
    assert record.span_id == span_id(1).hex()
    assert record.parent_span_id == span_id(7).hex()
    assert record.kind == 3
    assert record.name == "span-1"
    assert record.end_time_unix_nano - record.start_time_unix_nano == 1_000_000
    assert dict(record.attributes) == EXPECTED_ATTRIBUTES
    assert record.resource_attributes == {"service.name": "test-service"}
    assert (record.scope_name, record.scope_version) == ("tests", "1.0")


def test_protobuf_and_json_decode_to_identical_records() -> None:
    """The same request decodes to equal records whichever encoding it came in."""
    span = make_span(3, attributes=ATTRIBUTES)
    event = span.events.add(name="spanflow.metric", time_unix_nano=span.start_time_unix_nano + 5)
    event.attributes.add(key="spanflow.metric.value").value.double_value = 0.9
    link = span.links.add(trace_id=trace_id(2), span_id=span_id(9))
    link.attributes.add(key="spanflow.link.type").value.string_value = "dataflow"
    span.status.code = 2
    span.status.message = "boom"
    request = export_request([span])
    from_protobuf, from_json = (
        parse_protobuf_request(request.SerializeToString()).records,
        parse_json_request(otlp_json_bytes(request)).records,
    )
    assert from_protobuf == from_json
    (record,) = from_json
    assert record.events[0].attributes == {"spanflow.metric.value": 0.9}
    assert record.links[0].span_id == span_id(9).hex()
    assert (record.status_code, record.status_message) == (2, "boom")


def test_json_accepts_numbers_for_int64_snake_case_keys_and_uppercase_hex() -> None:
    """OTLP/JSON from hand-written clients (numeric timestamps, snake_case, upper hex) is read."""
    body = json.dumps(
        {
            "resource_spans": [
                {
                    "scope_spans": [
                        {
                            "spans": [
                                {
                                    "trace_id": "ABCDEF0123456789ABCDEF0123456789",
                                    "span_id": "0123456789ABCDEF",
                                    "name": "hand",
                                    "kind": "SPAN_KIND_SERVER",
                                    "start_time_unix_nano": 1_700_000_000_000_000_000,
                                    "end_time_unix_nano": "1700000000000000500",
                                    "attributes": [{"key": "n", "value": {"int_value": 5}}],
                                }
                            ]
                        }
                    ]
                }
            ]
        }
    ).encode()
    (record,) = parse_json_request(body).records
    assert record.trace_id == "abcdef0123456789abcdef0123456789"
    assert record.kind == 2
    assert record.end_time_unix_nano == 1_700_000_000_000_000_500
    assert record.attributes == {"n": 5}


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda s: setattr(s, "trace_id", b"\x01\x02"), "trace_id"),
        (lambda s: setattr(s, "trace_id", bytes(16)), "trace_id"),
        (lambda s: setattr(s, "span_id", b""), "span_id"),
        (lambda s: setattr(s, "parent_span_id", b"\x01\x02\x03"), "parent_span_id"),
        (lambda s: setattr(s, "start_time_unix_nano", 0), "missing start_time"),
        (lambda s: setattr(s, "end_time_unix_nano", 0), "missing end_time"),
        (lambda s: setattr(s, "end_time_unix_nano", s.start_time_unix_nano - 1), "before"),
    ],
)
def test_invalid_spans_are_rejected_one_by_one(mutate: object, reason: str) -> None:
    """A span with bad ids or timestamps is rejected with a reason; its neighbours pass."""
    bad = make_span(2)
    mutate(bad)  # type: ignore[operator]
    request = export_request([make_span(1), bad, make_span(3)])
    for body, parse in zip(
        _both_encodings(request), (parse_protobuf_request, parse_json_request), strict=True
    ):
        decoded = parse(body)
        assert [r.span_id for r in decoded.records] == [span_id(1).hex(), span_id(3).hex()]
        assert decoded.rejected_spans == 1
        assert reason in decoded.error_message


def test_json_ids_that_are_not_hex_are_rejected() -> None:
    """Base64 ids (what proto3 JSON would send) are not mistaken for OTLP/JSON hex ids."""
    document = to_otlp_json(export_request([make_span(1), make_span(2)]))
    spans = document["resourceSpans"][0]["scopeSpans"][0]["spans"]
    spans[0]["traceId"] = "q8AAAAAAAAAAAAAAAAAAAQ=="
    decoded = parse_json_request(json.dumps(document).encode())
    assert decoded.rejected_spans == 1
    assert "not hex" in decoded.error_message
    assert len(decoded.records) == 1


def test_a_span_with_too_many_attributes_is_rejected_alone() -> None:
    """A span over the attribute limit is rejected; the request's other spans are kept."""
    huge = make_span(2, attributes={f"k{i}": i for i in range(MAX_ITEMS_PER_SPAN + 1)})
    decoded = parse_protobuf_request(export_request([make_span(1), huge]).SerializeToString())
    assert decoded.rejected_spans == 1
    assert "exceeds the limit" in decoded.error_message
    assert [r.span_id for r in decoded.records] == [span_id(1).hex()]


@pytest.mark.parametrize(
    "body",
    [
        b"\x0a\xff\xff\xff\x0f",  # a length prefix promising far more than follows
        export_request([make_span(1)]).SerializeToString()[:-7],
        b"\xff\xff\xff",
    ],
)
def test_truncated_or_garbage_protobuf_raises_decode_error(body: bytes) -> None:
    """A body that is not a whole protobuf message is refused as a whole."""
    with pytest.raises(OtlpDecodeError):
        parse_protobuf_request(body)


def test_invalid_utf8_in_a_protobuf_string_raises_decode_error() -> None:
    """A span name that is not UTF-8 makes the protobuf body undecodable."""
    body = export_request([make_span(1)]).SerializeToString().replace(b"span-1", b"span\xff1")
    with pytest.raises(OtlpDecodeError):
        parse_protobuf_request(body)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"resourceSpans": [', "not valid JSON"),
        (b'{"resourceSpans": "x"}', "malformed"),
        (b"[1, 2]", "must be an object"),
        (b'{"resourceSpans": []}\xff', "UTF-8"),
    ],
)
def test_undecodable_json_raises_decode_error(body: bytes, reason: str) -> None:
    """Invalid JSON, invalid UTF-8 and a wrong document shape are refused with the reason."""
    with pytest.raises(OtlpDecodeError, match=reason):
        parse_json_request(body)


def test_empty_requests_decode_to_nothing() -> None:
    """An export with no spans is valid and yields no records."""
    assert parse_json_request(b"{}").records == []
    assert parse_protobuf_request(b"").records == []
