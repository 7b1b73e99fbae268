"""The ``opentelemetry-instrument`` recipes of docs/instrumentation.md, run as written."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from tests.environments import child_environment

from spanflow.query.records import SpanRecord
from spanflow.testing import FakeLLMServer, OTLPReceiver
from spanflow.testing.otlp_receiver import decode_request

REPO_ROOT = Path(__file__).resolve().parents[2]
DOC = REPO_ROOT / "docs" / "instrumentation.md"
AGENT = """
import os

import openai
import spanflow
from opentelemetry import trace

with spanflow.run("instrumented") as run:
    print(run.id, flush=True)
    with trace.get_tracer("agent").start_as_current_span("plain-otel-step"):
        client = openai.OpenAI(base_url=os.environ["FAKE_LLM_URL"], api_key="t", max_retries=0)
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
        client.close()
"""


def recipes() -> list[list[str]]:
    """The ``opentelemetry-instrument`` commands of the doc's section, as argument lists."""
    section = DOC.read_text().split("## With `opentelemetry-instrument`", 1)[1].split("\n## ")[0]
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", section, flags=re.S):
        for command in block.replace("\\\n", " ").splitlines():
            if "opentelemetry-instrument" in command:
                commands.append(shlex.split(command))
    return commands


class GrpcTraceReceiver:
    """An OTLP/gRPC TraceService on loopback that keeps every span it is sent (duplicates too)."""

    def __init__(self) -> None:
        self.spans: list[SpanRecord] = []
        self._lock = threading.Lock()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        handler = grpc.unary_unary_rpc_method_handler(
            self._export,
            request_deserializer=lambda body: body,
            response_serializer=ExportTraceServiceResponse.SerializeToString,
        )
        self._server.add_generic_rpc_handlers(
            (
                grpc.method_handlers_generic_handler(
                    "opentelemetry.proto.collector.trace.v1.TraceService", {"Export": handler}
                ),
            )
        )
        self.port = self._server.add_insecure_port("127.0.0.1:0")

    def _export(self, body: bytes, context: object) -> ExportTraceServiceResponse:
        ExportTraceServiceRequest.FromString(body)  # must be a valid request
        with self._lock:
            self.spans.extend(decode_request(body))
        return ExportTraceServiceResponse()

    @contextmanager
    def running(self) -> Iterator[GrpcTraceReceiver]:
        self._server.start()
        try:
            yield self
        finally:
            self._server.stop(grace=None)


def run_recipe(command: list[str], port: int, tmp_path: Path, llm_url: str) -> str:
    """Run one recipe command with ``agent.py`` and the receiver's port; the run id it printed."""
    variables = {}
    while "=" in command[0]:
        key, value = command.pop(0).split("=", 1)
        variables[key] = re.sub(r":431[78]\b", f":{port}", value)
    assert command == ["opentelemetry-instrument", "python", "agent.py"]
    (tmp_path / "agent.py").write_text(AGENT)
    instrument = Path(sys.executable).with_name("opentelemetry-instrument")
    done = subprocess.run(
        [str(instrument), sys.executable, "agent.py"],
        cwd=tmp_path,
        env=child_environment(FAKE_LLM_URL=llm_url, **variables),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()[0]


def assert_each_span_once(spans: list[SpanRecord], run_id: str) -> None:
    counts = Counter((span.trace_id, span.span_id) for span in spans)
    assert max(counts.values()) == 1, "a span arrived twice"
    names = {span.name for span in spans if span.run_id == run_id}
    assert {"instrumented", "plain-otel-step", "chat gpt-4o-mini"} <= names


@pytest.mark.slow
def test_the_grpc_recipe_delivers_every_span_exactly_once(tmp_path: Path) -> None:
    """The doc's default (gRPC) recipe: spanflow joins the distro's exporter, no duplicates."""
    grpc_recipe = next(command for command in recipes() if "PROTOCOL" not in " ".join(command))
    with FakeLLMServer() as llm, GrpcTraceReceiver().running() as receiver:
        run_id = run_recipe(grpc_recipe, receiver.port, tmp_path, llm.openai_base_url)
    assert_each_span_once(receiver.spans, run_id)


@pytest.mark.slow
def test_the_http_recipe_delivers_every_span_exactly_once(tmp_path: Path) -> None:
    """The doc's OTLP/HTTP recipe: every span once, spanflow's and the distro's alike."""
    http_recipe = next(command for command in recipes() if "http/protobuf" in " ".join(command))
    with FakeLLMServer() as llm, OTLPReceiver() as receiver:
        port = int(receiver.endpoint.rsplit(":", 1)[1])
        run_id = run_recipe(http_recipe, port, tmp_path, llm.openai_base_url)
        spans = receiver.spans()
    assert_each_span_once(spans, run_id)
