"""A collector process under hostile load: huge exports, idle and slow connections, big gRPC
messages with a wrong token. Each case ends with an ordinary exporter still being served."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

import grpc
import pytest
import requests
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.collector.payloads import BASE_TIME_NS
from tests.collector.processes import (
    REQUEST_TIMEOUT_S,
    CollectorProcess,
    collector_process,
    post_traces,
    run_spans,
)

EXPORT_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
DEFAULT_SPAN_CAP = 20_000
SMALL_LANES = 3


def _address(running: CollectorProcess) -> tuple[str, int]:
    parts = urlsplit(running.http_url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def _json_export(span_count: int, attributes_per_span: int) -> bytes:
    """An OTLP/JSON export of ``span_count`` valid spans, each with that many attributes."""
    spans = [
        {
            "traceId": f"{0xE0 << 120 | n:032x}",
            "spanId": f"{0xE0 << 56 | n + 1:016x}",
            "name": f"big-{n}",
            "kind": 3,
            "startTimeUnixNano": str(BASE_TIME_NS + n),
            "endTimeUnixNano": str(BASE_TIME_NS + n + 1000),
            "attributes": [
                {"key": f"attribute.{a}", "value": {"stringValue": f"value {n} {a}"}}
                for a in range(attributes_per_span)
            ],
        }
        for n in range(span_count)
    ]
    document = {"resourceSpans": [{"resource": {}, "scopeSpans": [{"scope": {}, "spans": spans}]}]}
    return json.dumps(document).encode()


def test_a_large_json_export_does_not_stall_small_ones(tmp_path: Path) -> None:
    """While a multi-megabyte OTLP/JSON export is decoded, small exports keep being answered."""
    big = _json_export(10_000, 20)
    assert 10 * 1024 * 1024 < len(big) < 20 * 1024 * 1024  # large, yet within the body limit
    with collector_process(str(tmp_path / "index.db")) as running:
        host, port = _address(running)
        body_sent = threading.Event()
        big_answer: list[tuple[int, float]] = []

        def send_big() -> None:
            connection = http.client.HTTPConnection(host, port, timeout=300)
            try:
                connection.request(
                    "POST", "/v1/traces", body=big, headers={"Content-Type": "application/json"}
                )
                body_sent.set()
                response = connection.getresponse()
                response.read()
                big_answer.append((response.status, time.monotonic()))
            finally:
                connection.close()

        sender = threading.Thread(target=send_big, daemon=True)
        sender.start()
        assert body_sent.wait(REQUEST_TIMEOUT_S)
        small_answered_at: list[float] = []

        def send_small(lane: int) -> None:
            with requests.Session() as session:
                for n in range(100):  # bounded: stops as soon as the big export is answered
                    if not sender.is_alive():
                        break
                    response = session.post(
                        f"{running.http_url}/v1/traces",
                        data=run_spans(f"run-small-{lane}", n, 1, trace=lane * 1000 + n),
                        headers={"Content-Type": "application/x-protobuf"},
                        timeout=REQUEST_TIMEOUT_S,
                    )
                    assert response.status_code == 200
                    small_answered_at.append(time.monotonic())

        # Several clients at once: while the decoder thread holds the GIL, each small request
        # waits for its turn, so one sequential client sees only a handful of answers.
        lanes = [threading.Thread(target=send_small, args=(lane,)) for lane in range(SMALL_LANES)]
        for lane in lanes:
            lane.start()
        for lane in lanes:
            lane.join(300)
        sender.join(300)
        assert big_answer and big_answer[0][0] == 200
        answered_meanwhile = [t for t in small_answered_at if t < big_answer[0][1]]
        # Decoding on the event loop answered none of them until the big one was done, save
        # perhaps one per client that slipped in while the big body was still being read.
        assert len(answered_meanwhile) > SMALL_LANES, (
            len(answered_meanwhile),
            len(small_answered_at),
        )


def test_exports_over_the_span_cap_get_413_naming_the_limit(tmp_path: Path) -> None:
    """Over HTTP and gRPC, an export of 20,001 spans is refused whole and the answer says why."""
    over = run_spans("run-over-cap", 1, DEFAULT_SPAN_CAP + 1, trace=1)
    with collector_process(str(tmp_path / "index.db")) as running:
        response = requests.post(
            f"{running.http_url}/v1/traces",
            data=over,
            headers={"Content-Type": "application/x-protobuf"},
            timeout=REQUEST_TIMEOUT_S,
        )
        assert response.status_code == 413
        message = status_pb2.Status.FromString(response.content).message
        assert "the limit is 20000 spans per request" in message
        with grpc.insecure_channel(running.grpc_address) as channel:
            stub = trace_service_pb2_grpc.TraceServiceStub(channel)  # type: ignore[no-untyped-call]
            with pytest.raises(grpc.RpcError) as refused:
                stub.Export(ExportTraceServiceRequest.FromString(over), timeout=REQUEST_TIMEOUT_S)
            assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "20000 spans per request" in str(refused.value.details())
        assert post_traces(running.http_url, run_spans("run-ok", 1, 5, trace=2)) == 200


def test_the_span_cap_is_configurable(tmp_path: Path) -> None:
    """``--max-spans-per-request 50`` stores 50-span exports and refuses 51-span ones."""
    with collector_process(str(tmp_path / "index.db"), "--max-spans-per-request", "50") as c:
        assert post_traces(c.http_url, run_spans("run-cap", 1, 50, trace=1)) == 200
        assert post_traces(c.http_url, run_spans("run-cap", 100, 51, trace=2)) == 413


def test_idle_half_open_connections_do_not_lock_out_exporters(tmp_path: Path) -> None:
    """300 connections that never finish their headers, under a 256-file limit, leave room for
    a real exporter: the longest-idle connection is closed to admit it."""
    with collector_process(str(tmp_path / "index.db"), open_files_limit=256) as running:
        address = _address(running)
        with ExitStack() as held:
            for _ in range(300):
                idle = held.enter_context(socket.create_connection(address, timeout=30))
                idle.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: localhost\r\n")
            assert post_traces(running.http_url, run_spans("run-x", 1, 3, trace=1)) == 200
        assert running.process.poll() is None
        assert "Traceback" not in running.stderr_text()


def test_a_connection_that_never_finishes_its_headers_is_closed(tmp_path: Path) -> None:
    """With ``--header-timeout-s 1`` a half-sent request head is dropped by the server."""
    with (
        collector_process(str(tmp_path / "index.db"), "--header-timeout-s", "1") as running,
        socket.create_connection(_address(running), timeout=REQUEST_TIMEOUT_S) as idle,
    ):
        idle.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: localhost\r\nContent-")
        assert idle.recv(1024) == b""  # closed by the collector, not by our timeout


def test_a_body_that_stops_arriving_gets_408(tmp_path: Path) -> None:
    """With ``--body-timeout-s 1`` a request whose body stalls is answered 408 and closed."""
    with collector_process(str(tmp_path / "index.db"), "--body-timeout-s", "1") as running:
        with socket.create_connection(_address(running), timeout=REQUEST_TIMEOUT_S) as slow:
            slow.sendall(
                b"POST /v1/traces HTTP/1.1\r\nHost: localhost\r\n"
                b"Content-Type: application/x-protobuf\r\nContent-Length: 1000\r\n\r\n0123456789"
            )
            answer = b""
            while chunk := slow.recv(4096):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 408")
        assert b"request body not received within 1.0 s" in answer
        assert post_traces(running.http_url, run_spans("run-y", 1, 2, trace=1)) == 200
        assert "Traceback" not in running.stderr_text()


def test_grpc_refuses_a_wrong_token_without_deserialising_the_message(tmp_path: Path) -> None:
    """A 17 MiB undecodable message with a wrong token is UNAUTHENTICATED, not a parse failure:
    the token is checked before the message is read."""
    garbage = b"\xff" * (17 * 1024 * 1024)
    (tmp_path / "token").write_text("grpc-secret")
    with (
        collector_process(
            str(tmp_path / "index.db"), "--token-file", str(tmp_path / "token")
        ) as running,
        grpc.insecure_channel(running.grpc_address) as channel,
    ):
        export = channel.unary_unary(EXPORT_METHOD)
        with pytest.raises(grpc.RpcError) as refused:
            export(garbage, metadata=[("authorization", "Bearer wrong")], timeout=60)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        # With the right token the same bytes are read and fail to parse: they really are
        # undecodable, so the first answer came before any deserialisation.
        with pytest.raises(grpc.RpcError) as unparsable:
            export(garbage, metadata=[("authorization", "Bearer grpc-secret")], timeout=60)
        assert unparsable.value.code() != grpc.StatusCode.UNAUTHENTICATED


def test_a_grpc_connection_that_never_handshakes_is_closed(tmp_path: Path) -> None:
    """With ``--header-timeout-s 1`` a silent TCP connection to the gRPC port is dropped too."""
    with collector_process(str(tmp_path / "index.db"), "--header-timeout-s", "1") as running:
        host, port = running.grpc_address.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=REQUEST_TIMEOUT_S) as silent:
            while silent.recv(4096):  # the server's SETTINGS frame, then the close
                pass


def test_at_the_connection_cap_with_none_idle_a_new_connection_gets_503(tmp_path: Path) -> None:
    """With ``--max-connections 2`` and two requests in flight, a third connection is told 503
    and closed; once those clients hang up, exporters are served again."""
    with collector_process(str(tmp_path / "index.db"), "--max-connections", "2") as running:
        address = _address(running)
        with ExitStack() as held:
            for _ in range(2):
                busy = held.enter_context(socket.create_connection(address, timeout=30))
                busy.sendall(
                    b"POST /v1/traces HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\n"
                    b"Content-Type: application/x-protobuf\r\nContent-Length: 100\r\n\r\n"
                )
                # The receiver asks for the body: the request is in flight, not idle.
                assert busy.recv(4096).startswith(b"HTTP/1.1 100 Continue")
            with socket.create_connection(address, timeout=REQUEST_TIMEOUT_S) as third:
                answer = b""
                while chunk := third.recv(4096):
                    answer += chunk
            assert answer.startswith(b"HTTP/1.1 503")
            assert b"too many open connections" in answer
        deadline = time.monotonic() + REQUEST_TIMEOUT_S
        while (status := post_traces(running.http_url, run_spans("r", 1, 1, trace=1))) != 200:
            assert time.monotonic() < deadline, status  # the two closes may still be in flight
            time.sleep(0.05)
        # The two clients hung up mid-body: forgotten, not logged as the collector's errors.
        assert "Traceback" not in running.stderr_text()


def test_oversized_request_headers_get_431(tmp_path: Path) -> None:
    """A 20 KiB header, sent in one piece, is refused with 431; normal requests still pass."""
    with collector_process(str(tmp_path / "index.db")) as running:
        response = requests.get(
            f"{running.http_url}/api/v1/runs",
            headers={"X-Padding": "a" * 20 * 1024},
            timeout=REQUEST_TIMEOUT_S,
        )
        assert response.status_code == 431
        assert "exceed 16384 bytes" in response.json()["message"]
        assert requests.get(f"{running.http_url}/api/v1/runs", timeout=30).status_code == 200
