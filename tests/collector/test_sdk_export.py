"""The OpenTelemetry SDK's own OTLP exporters (HTTP protobuf, JSON, gRPC) into the collector."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
import requests
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpSpanExporter,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from spanflow_collector.server import Collector
from tests.collector.conftest import MemoryStore
from tests.collector.payloads import to_otlp_json

TIMEOUT_S = 30


@pytest.fixture
def sdk_spans() -> Iterator[list[ReadableSpan]]:
    """Spans from a plain OpenTelemetry SDK (no spanflow attributes): a root, a child, a link."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "plain-otel-app"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("plain.app", "2.0")
    with tracer.start_as_current_span("handle-request", kind=SpanKind.SERVER) as root:
        root.set_attribute("http.route", "/ask")
        with tracer.start_as_current_span("chat gpt-4o", kind=SpanKind.CLIENT) as call:
            call.set_attribute("gen_ai.usage.input_tokens", 12)
            call.set_attribute("gen_ai.response.finish_reasons", ["stop"])
            call.add_event("gen_ai.choice", {"index": 0})
        linked = tracer.start_span("follow-up", links=[Link(call.get_span_context(), {"w": 1})])
        linked.set_status(Status(StatusCode.ERROR, "bad answer"))
        linked.end()
    yield list(memory.get_finished_spans())
    provider.shutdown()


def _assert_stored(store: MemoryStore, spans: list[ReadableSpan]) -> None:
    assert len(store.spans) == len(spans)
    for span in spans:
        context = span.get_span_context()
        record = store.spans[(f"{context.trace_id:032x}", f"{context.span_id:016x}")]
        assert record.name == span.name
        assert record.start_time_unix_nano == span.start_time
        assert record.end_time_unix_nano == span.end_time
        assert record.parent_span_id == (f"{span.parent.span_id:016x}" if span.parent else None)
        assert dict(record.attributes) == {
            k: tuple(v) if isinstance(v, tuple | list) else v
            for k, v in (span.attributes or {}).items()
        }
        assert record.resource_attributes["service.name"] == "plain-otel-app"
        assert (record.scope_name, record.scope_version) == ("plain.app", "2.0")
        assert record.kind == span.kind.value + 1  # the SDK's enum is OTLP's minus one
    by_name = {record.name: record for record in store.spans.values()}
    assert by_name["chat gpt-4o"].events[0].attributes == {"index": 0}
    (link,) = by_name["follow-up"].links
    assert link.span_id == by_name["chat gpt-4o"].span_id
    assert link.attributes == {"w": 1}
    assert (by_name["follow-up"].status_code, by_name["follow-up"].status_message) == (
        2,
        "bad answer",
    )


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip])
def test_the_otlp_http_exporter_delivers_plain_sdk_spans(
    collector: Collector,
    memory_store: MemoryStore,
    sdk_spans: list[ReadableSpan],
    compression: Compression,
) -> None:
    """The official OTLP/HTTP protobuf exporter gets SUCCESS only with every span stored."""
    exporter = HttpSpanExporter(
        endpoint=f"{collector.http_url}/v1/traces", compression=compression, timeout=TIMEOUT_S
    )
    assert exporter.export(sdk_spans) == SpanExportResult.SUCCESS
    exporter.shutdown()
    _assert_stored(memory_store, sdk_spans)


def test_otlp_json_of_sdk_spans_is_stored_the_same(
    collector: Collector, memory_store: MemoryStore, sdk_spans: list[ReadableSpan]
) -> None:
    """The OTLP/JSON encoding of the SDK's spans lands exactly like the protobuf one."""
    response = requests.post(
        f"{collector.http_url}/v1/traces",
        json=to_otlp_json(encode_spans(sdk_spans)),
        timeout=TIMEOUT_S,
    )
    assert response.status_code == 200
    _assert_stored(memory_store, sdk_spans)


@pytest.mark.parametrize("gzip", [False, True])
def test_the_otlp_grpc_exporter_delivers_plain_sdk_spans(
    collector: Collector, memory_store: MemoryStore, sdk_spans: list[ReadableSpan], gzip: bool
) -> None:
    """The official OTLP/gRPC exporter gets SUCCESS only with every span stored."""
    exporter = GrpcSpanExporter(
        endpoint=f"127.0.0.1:{collector.grpc_port}",
        insecure=True,
        compression=grpc.Compression.Gzip if gzip else grpc.Compression.NoCompression,
        timeout=TIMEOUT_S,
    )
    assert exporter.export(sdk_spans) == SpanExportResult.SUCCESS
    exporter.shutdown()
    _assert_stored(memory_store, sdk_spans)
