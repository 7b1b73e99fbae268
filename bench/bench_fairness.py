"""Small exports' latency while a large OTLP/JSON export is being decoded by the collector.

Starts ``spanflow collector`` on a fresh SQLite index, measures one-span protobuf exports alone
(baseline), then one after another from the moment a ~15 MB OTLP/JSON export (10,000 spans of
20 attributes) has been sent until it is answered, and prints the median, p90 and worst
small-export latency of both phases and how many small exports completed. Decoding on the
event loop made every small export wait for the whole large decode; the large export's own
commit (one transaction) still delays the small exports queued behind it.

    python bench/bench_fairness.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

BASE_TIME_NS = 1_700_000_000_000_000_000


def large_json_export(span_count: int = 10_000, attributes_per_span: int = 20) -> bytes:
    """An OTLP/JSON export of valid spans with many string attributes each."""
    spans = [
        {
            "traceId": f"{0xB0 << 120 | n:032x}",
            "spanId": f"{0xB0 << 56 | n + 1:016x}",
            "name": f"big-{n}",
            "startTimeUnixNano": str(BASE_TIME_NS + n),
            "endTimeUnixNano": str(BASE_TIME_NS + n + 1000),
            "attributes": [
                {"key": f"attribute.{a}", "value": {"stringValue": f"value {n} {a}"}}
                for a in range(attributes_per_span)
            ],
        }
        for n in range(span_count)
    ]
    document = {"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}
    return json.dumps(document).encode()


def small_export(n: int) -> bytes:
    """A one-span protobuf export."""
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.CopyFrom(
        Span(
            trace_id=(0xC0 << 120 | n).to_bytes(16, "big"),
            span_id=(0xC0 << 56 | n + 1).to_bytes(8, "big"),
            name="small",
            start_time_unix_nano=BASE_TIME_NS,
            end_time_unix_nano=BASE_TIME_NS + 1000,
        )
    )
    return request.SerializeToString()


def post(port: int, body: bytes, content_type: str) -> float:
    """Seconds one export takes on a fresh connection; raises unless answered 200."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        connection.request("POST", "/v1/traces", body=body, headers={"Content-Type": content_type})
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()
    if response.status != 200:
        raise RuntimeError(f"export answered {response.status}")
    return time.perf_counter() - started


def measure(port: int, big: bytes, first: int) -> tuple[list[float], list[float]]:
    """Small-export latencies alone, then while ``big`` is in flight."""
    alone = [post(port, small_export(first + n), "application/x-protobuf") for n in range(20)]
    sent = threading.Event()
    during: list[float] = []

    def send_big() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        try:
            connection.request(
                "POST", "/v1/traces", body=big, headers={"Content-Type": "application/json"}
            )
            sent.set()  # the whole body is on its way: from here on the server decodes it
            connection.getresponse().read()
        finally:
            sent.set()
            connection.close()

    sender = threading.Thread(target=send_big)
    sender.start()
    sent.wait()
    n = 100
    while sender.is_alive():
        during.append(post(port, small_export(first + n), "application/x-protobuf"))
        n += 1
    sender.join()
    return alone, during


def main() -> None:
    """Run the collector, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    big = large_json_export()
    with tempfile.TemporaryDirectory() as workdir:
        command = [sys.executable, "-m", "spanflow.cli", "collector", "--port", "0", "--no-grpc"]
        command += ["--db", str(Path(workdir) / "index.db")]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        try:
            assert process.stdout is not None
            ready = process.stdout.readline()
            port = int(ready.split("http=", 1)[1].split()[0].rsplit(":", 1)[1])
            alone: list[float] = []
            during: list[float] = []
            for round_ in range(args.rounds):
                a, d = measure(port, big, first=round_ * 100_000)
                alone += a
                during += d
        finally:
            process.terminate()
            process.wait(60)
    print(f"large export: {len(big) / 2**20:.1f} MiB OTLP/JSON, {args.rounds} rounds")
    for name, values in (("alone", alone), ("during", during)):
        deciles = statistics.quantiles(values, n=10, method="inclusive") if len(values) > 1 else []
        p90 = deciles[-1] if deciles else values[0]
        print(
            f"small export {name:>6}: median {statistics.median(values) * 1000:8.1f} ms   "
            f"p90 {p90 * 1000:8.1f} ms   worst {max(values) * 1000:8.1f} ms   "
            f"({len(values)} exports)"
        )
    ratio = statistics.median(during) / statistics.median(alone)
    print(f"median ratio during/alone: {ratio:.1f}x")


if __name__ == "__main__":
    main()
