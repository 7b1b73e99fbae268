"""OTLP/HTTP receiver status codes, encodings and bodies, against a collector on loopback."""

from __future__ import annotations

import gzip
import json
import logging
import threading
import zlib

import pytest
import requests
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from spanflow_collector.server import Collector
from tests.collector.conftest import MemoryStore
from tests.collector.payloads import export_request, make_span, otlp_json_bytes, span_id

PROTOBUF = {"Content-Type": "application/x-protobuf"}
JSON = {"Content-Type": "application/json"}
TIMEOUT_S = 30


def _post(collector: Collector, body: bytes, headers: dict[str, str]) -> requests.Response:
    return requests.post(
        f"{collector.http_url}/v1/traces", data=body, headers=headers, timeout=TIMEOUT_S
    )


def _good_request(first: int = 1, count: int = 3) -> bytes:
    spans = [make_span(n) for n in range(first, first + count)]
    return export_request(spans).SerializeToString()


def _assert_still_serving(collector: Collector, store: MemoryStore) -> None:
    before = set(store.span_ids())
    response = _post(collector, _good_request(900, 2), PROTOBUF)
    assert response.status_code == 200
    assert store.span_ids() >= before | {span_id(900).hex(), span_id(901).hex()}


def test_protobuf_export_is_stored_before_200(
    collector: Collector, memory_store: MemoryStore
) -> None:
    """A 200 to a protobuf export means every span is already in the store."""
    response = _post(collector, _good_request(1, 3), PROTOBUF)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-protobuf"
    parsed = ExportTraceServiceResponse.FromString(response.content)
    assert parsed.partial_success.rejected_spans == 0
    assert memory_store.span_ids() == {span_id(n).hex() for n in (1, 2, 3)}


def test_json_export_is_answered_in_json(collector: Collector, memory_store: MemoryStore) -> None:
    """An OTLP/JSON export gets a JSON ExportTraceServiceResponse and its spans stored."""
    body = otlp_json_bytes(export_request([make_span(5)]))
    response = _post(collector, body, {"Content-Type": "application/json; charset=utf-8"})
    assert response.status_code == 200
    assert response.json() == {}
    assert memory_store.span_ids() == {span_id(5).hex()}


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate"])
def test_compressed_bodies_are_inflated(
    collector: Collector, memory_store: MemoryStore, encoding: str
) -> None:
    """gzip and deflate (zlib-framed or raw) request bodies are accepted."""
    body = _good_request(1, 4)
    if encoding == "gzip":
        compressed = gzip.compress(body)
    elif encoding == "deflate":
        compressed = zlib.compress(body)
    else:
        deflater = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        compressed = deflater.compress(body) + deflater.flush()
    header = "gzip" if encoding == "gzip" else "deflate"
    response = _post(collector, compressed, {**PROTOBUF, "Content-Encoding": header})
    assert response.status_code == 200
    assert len(memory_store.spans) == 4


def test_invalid_spans_get_partial_success_and_the_rest_is_stored(
    collector: Collector, memory_store: MemoryStore
) -> None:
    """Spans with bad ids or timestamps are reported in partial_success; valid ones land."""
    no_start = make_span(2, start_ns=0, end_ns=5)
    bad_id = make_span(3)
    bad_id.span_id = b"\x01"
    body = export_request([make_span(1), no_start, bad_id]).SerializeToString()
    response = _post(collector, body, PROTOBUF)
    assert response.status_code == 200
    partial = ExportTraceServiceResponse.FromString(response.content).partial_success
    assert partial.rejected_spans == 2
    assert "missing start_time_unix_nano" in partial.error_message
    assert "span_id must be 8 non-zero bytes" in partial.error_message
    assert memory_store.span_ids() == {span_id(1).hex()}

    json_response = _post(collector, otlp_json_bytes(export_request([no_start])), JSON)
    assert json_response.json()["partialSuccess"]["rejectedSpans"] == "1"


@pytest.mark.parametrize(
    ("body", "headers", "reason"),
    [
        (_good_request()[:-9], PROTOBUF, "invalid OTLP protobuf"),
        (b'{"resourceSpans": [}', JSON, "not valid JSON"),
        (b'{"resourceSpans": []}\xc3\x28', JSON, "UTF-8"),
        (
            _good_request().replace(b"span-1", b"span\xff1"),
            PROTOBUF,
            "invalid OTLP protobuf",
        ),
        (b"this is not gzip", {**PROTOBUF, "Content-Encoding": "gzip"}, "invalid gzip"),
        (gzip.compress(_good_request())[:-12], {**PROTOBUF, "Content-Encoding": "gzip"}, "gzip"),
    ],
    ids=[
        "truncated-protobuf",
        "invalid-json",
        "invalid-utf8-json",
        "invalid-utf8-protobuf",
        "garbage-gzip",
        "truncated-gzip",
    ],
)
def test_undecodable_bodies_get_400_with_the_reason(
    collector: Collector,
    memory_store: MemoryStore,
    body: bytes,
    headers: dict[str, str],
    reason: str,
) -> None:
    """A body that cannot be decoded is refused with 400 saying why, and nothing is lost."""
    assert _post(collector, _good_request(1, 2), PROTOBUF).status_code == 200
    response = _post(collector, body, headers)
    assert response.status_code == 400
    if headers["Content-Type"] == "application/json":
        message = response.json()["message"]
    else:
        message = status_pb2.Status.FromString(response.content).message
    assert reason in message
    _assert_still_serving(collector, memory_store)
    assert {span_id(1).hex(), span_id(2).hex()} <= memory_store.span_ids()


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "text/plain"},
        {},
        {**PROTOBUF, "Content-Encoding": "br"},
    ],
)
def test_unknown_content_types_and_encodings_get_415(
    collector: Collector, memory_store: MemoryStore, headers: dict[str, str]
) -> None:
    """Only protobuf and JSON bodies, plain, gzip or deflate, are accepted."""
    response = _post(collector, _good_request(), headers)
    assert response.status_code == 415
    assert "unsupported content" in response.text
    _assert_still_serving(collector, memory_store)


def test_oversize_and_gzip_bomb_bodies_get_413(memory_store: MemoryStore) -> None:
    """Bodies over the limit, on the wire or once inflated, are refused with 413."""
    collector = Collector(memory_store, http_port=0, grpc_port=None, max_body_bytes=1 << 20)  # type: ignore[arg-type]
    collector.start()
    try:
        oversize = _post(collector, b"\x00" * (2 << 20), PROTOBUF)
        assert oversize.status_code == 413
        bomb = gzip.compress(b"\x00" * (64 << 20), compresslevel=9)
        assert len(bomb) < (1 << 20)
        response = _post(collector, bomb, {**PROTOBUF, "Content-Encoding": "gzip"})
        assert response.status_code == 413
        assert "exceeds 1048576 bytes" in status_pb2.Status.FromString(response.content).message
        _assert_still_serving(collector, memory_store)
    finally:
        collector.stop()


def test_a_million_attribute_span_is_rejected_and_its_neighbours_stored(
    collector: Collector, memory_store: MemoryStore
) -> None:
    """A span with a million attributes is rejected alone via partial_success."""
    huge = make_span(2)
    for i in range(1_000_000):
        attribute = huge.attributes.add(key="k")
        attribute.value.int_value = i
    body = export_request([make_span(1), huge]).SerializeToString()
    response = _post(collector, body, PROTOBUF)
    assert response.status_code == 200
    partial = ExportTraceServiceResponse.FromString(response.content).partial_success
    assert partial.rejected_spans == 1
    assert "1000000 attributes exceeds the limit" in partial.error_message
    assert memory_store.span_ids() == {span_id(1).hex()}
    _assert_still_serving(collector, memory_store)


def test_a_full_queue_gets_503_with_retry_after(memory_store: MemoryStore) -> None:
    """When the ingest queue is full the collector answers 503 + Retry-After, never drops."""
    collector = Collector(memory_store, http_port=0, grpc_port=None, max_queued_spans=5)  # type: ignore[arg-type]
    collector.start()
    try:
        memory_store.hold_writes()
        first: list[requests.Response] = []
        sender = threading.Thread(
            target=lambda: first.append(_post(collector, _good_request(1, 5), PROTOBUF))
        )
        sender.start()
        assert memory_store.write_started.wait(TIMEOUT_S)
        response = _post(collector, _good_request(10, 1), PROTOBUF)
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "1"
        memory_store.release_writes()
        sender.join(TIMEOUT_S)
        assert first[0].status_code == 200
        assert _post(collector, _good_request(10, 1), PROTOBUF).status_code == 200
        assert len(memory_store.spans) == 6
    finally:
        memory_store.release_writes()
        collector.stop()


def test_a_failing_store_gets_503_so_clients_retry(
    collector: Collector, memory_store: MemoryStore, caplog: pytest.LogCaptureFixture
) -> None:
    """A store error is a retryable 503 whose body is generic; the error text stays in the log."""
    memory_store.fail_writes = RuntimeError("database is locked")
    with caplog.at_level(logging.WARNING):
        response = _post(collector, _good_request(1, 2), PROTOBUF)
    assert response.status_code == 503
    message = status_pb2.Status.FromString(response.content).message
    assert message == "store unavailable, retry later"
    assert "database is locked" in caplog.text
    memory_store.fail_writes = None
    assert _post(collector, _good_request(1, 2), PROTOBUF).status_code == 200


def test_retried_exports_are_stored_once(collector: Collector, memory_store: MemoryStore) -> None:
    """Sending the same spans twice (a client retry) leaves one copy of each."""
    for _ in range(3):
        assert _post(collector, _good_request(1, 3), PROTOBUF).status_code == 200
    assert len(memory_store.spans) == 3


def test_a_token_is_required_when_configured(memory_store: MemoryStore) -> None:
    """With a token set, requests without the matching bearer token get 401 and store nothing."""
    collector = Collector(memory_store, http_port=0, grpc_port=None, token="s3cret")  # type: ignore[arg-type]
    collector.start()
    try:
        assert _post(collector, _good_request(), PROTOBUF).status_code == 401
        wrong = _post(collector, _good_request(), {**PROTOBUF, "Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert wrong.headers["WWW-Authenticate"].startswith("Bearer")
        assert memory_store.spans == {}
        right = _post(collector, _good_request(), {**PROTOBUF, "Authorization": "Bearer s3cret"})
        assert right.status_code == 200
        assert len(memory_store.spans) == 3
    finally:
        collector.stop()


def test_get_on_the_traces_path_is_not_allowed(collector: Collector) -> None:
    """Only POST exports traces."""
    response = requests.get(f"{collector.http_url}/v1/traces", timeout=TIMEOUT_S)
    assert response.status_code == 405


def test_json_error_bodies_are_google_rpc_status(collector: Collector) -> None:
    """Error responses to JSON requests are a JSON google.rpc.Status with code and message."""
    response = _post(collector, b"nope", JSON)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 3
    assert json.dumps(body)
