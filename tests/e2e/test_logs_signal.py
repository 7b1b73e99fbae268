"""The transport carries OTLP logs too: posted to ``/v1/logs``, spooled, flushed, OTLP/JSON ids."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from tests.collector.processes import run_spans
from tests.environments import child_environment

from spanflow._internal.otlp_json import to_otlp_json
from spanflow._internal.otlp_shared import post_logs
from spanflow._internal.spool import Spool

TRACE_ID = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")
SPAN_ID = bytes.fromhex("b7ad6b7169203331")


def logs_request(body_text: str) -> bytes:
    request = ExportLogsServiceRequest()
    record = LogRecord(trace_id=TRACE_ID, span_id=SPAN_ID, time_unix_nano=1, severity_number=9)
    record.body.string_value = body_text
    request.resource_logs.add().scope_logs.add().log_records.append(record)
    return request.SerializeToString()


@contextmanager
def raw_receiver(port: int = 0) -> Iterator[tuple[int, list[tuple[str, bytes]]]]:
    """An HTTP server on loopback that answers 200 and keeps each ``(path, body)``."""
    received: list[tuple[str, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append((self.path, body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1], received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_post_logs_sends_a_logs_request_to_v1_logs() -> None:
    """``post_logs`` delivers the encoded request, unchanged, to the logs URL."""
    body = logs_request("run record")
    with raw_receiver() as (port, received):
        accepted = post_logs(f"http://127.0.0.1:{port}/v1/logs", {}, body, timeout_s=10)
    assert accepted
    assert received == [("/v1/logs", body)]


def test_logs_for_a_down_endpoint_are_spooled_and_delivered_by_spool_flush(
    tmp_path: Path,
) -> None:
    """A logs request the endpoint could not take waits in the spool and goes out later."""
    port = free_port()
    spool = Spool(tmp_path / "spool", 10**9)
    body = logs_request("kept for later")
    url = f"http://127.0.0.1:{port}/v1/logs"
    assert not post_logs(url, {}, body, timeout_s=5, spool=spool)
    with raw_receiver(port) as (_, received):
        flushed = subprocess.run(
            [sys.executable, "-m", "spanflow.cli", "spool", "flush"],
            env=child_environment(SPANFLOW_SPOOL_DIR=str(spool.root)),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert flushed.returncode == 0, flushed.stderr
    assert received == [("/v1/logs", body)]


def test_otlp_json_writes_trace_and_span_ids_as_hex() -> None:
    """OTLP/JSON ids are hex strings (not proto3 JSON's base64), for spans, links and logs."""
    logs = json.loads(to_otlp_json("logs", logs_request("x")))
    record = logs["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]
    assert (record["traceId"], record["spanId"]) == (TRACE_ID.hex(), SPAN_ID.hex())
    assert record["severityNumber"] == 9  # enums are integers
    traces = json.loads(to_otlp_json("traces", run_spans("r", 5, 1, trace=3)))
    span = traces["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert span["spanId"] == f"{0x7700_0000_0000_0000 + 5:016x}"
    assert span["traceId"] == f"{0xD0_0000_0000_0000_0000_0000_0000_0000 + 3:032x}"
