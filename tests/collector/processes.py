"""Run ``spanflow collector`` as a real process on loopback and talk to it over OTLP/HTTP."""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

import requests
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tests.collector.payloads import BASE_TIME_NS, export_request
from tests.environments import child_environment

READY_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = 30.0
COLLECTOR_COMMAND = (sys.executable, "-m", "spanflow.cli", "collector")


# Runs the collector under a lower open-file limit, as a small server's default would be.
_LIMITED_LAUNCH = (
    "import resource, sys; from spanflow.cli import main; "
    "limit = int(sys.argv.pop(1)); resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit)); "
    "sys.exit(main(sys.argv[1:]))"
)


@dataclass
class CollectorProcess:
    """A running collector process, its OTLP/HTTP base URL and its ready line."""

    process: subprocess.Popen[str]
    http_url: str
    ready_line: str
    errors: IO[str]

    @property
    def grpc_address(self) -> str:
        """``host:port`` of the OTLP/gRPC receiver."""
        return self.ready_line.split("grpc=", 1)[1].split()[0]

    def stderr_text(self) -> str:
        """Everything the process wrote to stderr so far."""
        self.errors.flush()
        self.errors.seek(0)
        return self.errors.read()

    def kill_hard(self) -> None:
        """SIGKILL: no shutdown code runs, like a crash or an OOM kill."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(READY_TIMEOUT_S)


@contextmanager
def collector_process(
    db: str,
    *extra_args: str,
    open_files_limit: int | None = None,
    variables: dict[str, str] | None = None,
) -> Iterator[CollectorProcess]:
    """Start ``spanflow collector --db db`` on ephemeral ports; stop it (SIGTERM) afterwards.

    ``open_files_limit`` starts it with that ``RLIMIT_NOFILE`` (soft and hard); ``variables``
    are its only ``SPANFLOW_*`` environment variables.
    """
    command = [*COLLECTOR_COMMAND, "--port", "0", "--grpc-port", "0", "--db", db, *extra_args]
    if open_files_limit is not None:
        command[1:4] = ["-c", _LIMITED_LAUNCH, str(open_files_limit), "collector"]
    # A pipe for stderr could fill up and stall the collector; a file cannot.
    # Append mode: the collector shares this file offset, and reading it must not move where
    # the collector writes.
    errors = tempfile.TemporaryFile("a+")  # noqa: SIM115  (closed in the finally below)
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=errors,
        text=True,
        env=child_environment(PYTHONUNBUFFERED="1", **(variables or {})),
    )
    try:
        assert process.stdout is not None
        line = _readline_within(process, READY_TIMEOUT_S)
        if "ready" not in line:
            process.kill()
            process.wait(READY_TIMEOUT_S)
            errors.seek(0)
            raise RuntimeError(f"collector did not start: {line!r} {errors.read()}")
        http_url = line.split("http=", 1)[1].split()[0]
        yield CollectorProcess(process, http_url, line, errors)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(READY_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(READY_TIMEOUT_S)
        if process.stdout is not None:
            process.stdout.close()
        errors.close()


def _readline_within(process: subprocess.Popen[str], timeout_s: float) -> str:
    lines: list[str] = []
    assert process.stdout is not None
    reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()))  # type: ignore[union-attr]
    reader.daemon = True
    reader.start()
    reader.join(timeout_s)
    return lines[0] if lines else ""


def run_spans(run_id: str, first: int, count: int, *, trace: int) -> bytes:
    """An export request of ``count`` spans of run ``run_id``, span numbers from ``first``."""
    spans = []
    for n in range(first, first + count):
        span = Span(
            trace_id=(0xD0_0000_0000_0000_0000_0000_0000_0000 + trace).to_bytes(16, "big"),
            span_id=(0x7700_0000_0000_0000 + n).to_bytes(8, "big"),
            name=f"call-{n}",
            kind=Span.SPAN_KIND_CLIENT,
            start_time_unix_nano=BASE_TIME_NS + n,
            end_time_unix_nano=BASE_TIME_NS + n + 1000,
        )
        span.attributes.append(KeyValue(key="spanflow.run.id", value=AnyValue(string_value=run_id)))
        spans.append(span)
    return export_request(spans).SerializeToString()


def span_hex(n: int) -> str:
    """The span id ``run_spans`` gives span number ``n``."""
    return f"{0x7700_0000_0000_0000 + n:016x}"


def post_traces(http_url: str, body: bytes) -> int:
    """POST a protobuf export; the HTTP status (0 when the connection failed)."""
    try:
        response = requests.post(
            f"{http_url}/v1/traces",
            data=body,
            headers={"Content-Type": "application/x-protobuf"},
            timeout=REQUEST_TIMEOUT_S,
        )
    except requests.RequestException:
        return 0
    return response.status_code
