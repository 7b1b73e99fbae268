"""Small exports' latency while a large OTLP/JSON export is being decoded by the collector.

Starts ``spanflow collector`` on a fresh SQLite index, measures one-span protobuf exports alone
(baseline), then one after another from the moment a ~15 MB OTLP/JSON export (10,000 spans of
20 attributes) has been sent until it is answered, and prints the median, p90 and worst
small-export latency of both phases and how many small exports completed. Decoding on the
event loop made every small export wait for the whole large decode; the large export's own
commit (one transaction) still delays the small exports queued behind it.

Each variant runs in its own collector: decoding in a thread of the collector's process (as
before worker processes) and in decode worker processes (the default).

    python bench/bench_fairness.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
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


VARIANTS = {
    "decode in a thread (--decode-processes 0)": ["--decode-processes", "0"],
    "decode in worker processes (default)": [],
}


def main() -> None:
    """Run a collector per variant, measure its rounds (variants interleaved), print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    big = large_json_export()
    results: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in VARIANTS}
    with tempfile.TemporaryDirectory() as workdir, contextlib.ExitStack() as stack:
        ports = {
            name: stack.enter_context(_collector(Path(workdir) / f"{index}.db", options))
            for index, (name, options) in enumerate(VARIANTS.items())
        }
        for port in ports.values():  # warm-up: starts decode workers, not measured
            measure(port, large_json_export(200), first=900_000)
        for round_ in range(args.rounds):
            for name, port in ports.items():
                alone, during = measure(port, big, first=round_ * 100_000)
                results[name][0].extend(alone)
                results[name][1].extend(during)
    print(f"large export: {len(big) / 2**20:.1f} MiB OTLP/JSON, {args.rounds} rounds")
    print()
    print(
        "| variant | small export alone: median / worst | during the large one: median / p90 "
        "/ worst | answered during |"
    )
    print("|---|---:|---:|---:|")
    for name, (alone, during) in results.items():
        deciles = statistics.quantiles(during, n=10, method="inclusive") if len(during) > 1 else []
        p90 = deciles[-1] if deciles else during[0]
        print(
            f"| {name} | {_ms(statistics.median(alone))} / {_ms(max(alone))} | "
            f"{_ms(statistics.median(during))} / {_ms(p90)} / {_ms(max(during))} | "
            f"{len(during)} |"
        )


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


@contextlib.contextmanager
def _collector(db: Path, options: list[str]) -> Iterator[int]:
    command = [sys.executable, "-m", "spanflow.cli", "collector", "--port", "0", "--no-grpc"]
    command += ["--db", str(db), *options]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        ready = process.stdout.readline()
        yield int(ready.split("http=", 1)[1].split()[0].rsplit(":", 1)[1])
    finally:
        process.terminate()
        process.wait(60)


if __name__ == "__main__":
    main()
