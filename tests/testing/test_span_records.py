"""spanflow.testing hands tests the one span record model: the records the index stores."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace.export import SpanExportResult

import spanflow
from spanflow import attributes as attr
from spanflow._internal.embedded_export import EmbeddedSpanExporter
from spanflow.query.records import SpanRecord, StatusCode
from spanflow.testing import SpanCapture
from spanflow.testing.otlp_receiver import decode_request


@spanflow.step(name="refuse")
def refuse(reason: str) -> None:
    raise ValueError(reason)


@spanflow.step(name="answer")
def answer(question: str) -> str:
    return f"answer to {question}"


def _by_span_id(spans: list[SpanRecord]) -> list[SpanRecord]:
    return sorted(spans, key=lambda span: span.span_id)


def test_captured_spans_carry_the_convenience_properties(spanflow_capture: SpanCapture) -> None:
    """A captured span says its spanflow kind, run id, status name, times and duration, and
    keeps the OTLP fields beside them."""
    with pytest.raises(ValueError), spanflow.run("conveniences", tags=["a", "b"]):
        refuse("not today")
    run = spanflow_capture.run("conveniences")
    (step,) = spanflow_capture.spans_named("refuse")
    assert (run.root.spanflow_kind, step.spanflow_kind) == ("run", "step")
    assert step.kind == 1  # the OTLP SpanKind number of INTERNAL
    assert step.run_id == run.root.run_id == run.id
    assert (step.status, step.status_code) == ("ERROR", StatusCode.ERROR)
    assert step.status_message == "ValueError: not today"
    assert step.start_time_ns == step.start_time_unix_nano
    assert step.end_time_ns == step.end_time_unix_nano
    assert step.duration_ns == step.end_time_unix_nano - step.start_time_unix_nano > 0
    assert run.root.attributes[attr.RUN_TAGS] == ("a", "b")
    (event,) = step.events
    assert event.name == "exception" and event.time_ns == event.time_unix_nano


def test_spans_without_spanflow_attributes_have_no_spanflow_kind_or_run(
    spanflow_capture: SpanCapture,
) -> None:
    """A span another library made outside any run has no spanflow kind and no run id."""
    from opentelemetry import trace

    with trace.get_tracer("elsewhere").start_as_current_span("plain"):
        pass
    (plain,) = spanflow_capture.spans_named("plain")
    assert (plain.spanflow_kind, plain.run_id, plain.status) == (None, None, "UNSET")
    assert plain.scope_name == "elsewhere"


def test_captured_records_equal_what_the_embedded_index_returns(
    spanflow_capture: SpanCapture, tmp_path: Path
) -> None:
    """The records a test captures are the ones spanflow.Client reads back from an index the
    same spans were exported into."""
    with spanflow.run("stored"):
        answer("why")
    index = tmp_path / "index.db"
    exporter = EmbeddedSpanExporter(index)
    try:
        assert exporter.export(spanflow_capture.exporter.get_finished_spans()) == (
            SpanExportResult.SUCCESS
        )
    finally:
        exporter.shutdown()
    run = spanflow_capture.run("stored")
    with spanflow.Client(index) as client:
        stored = client.spans(run.id)
    assert _by_span_id(stored) == _by_span_id(list(run.spans))
    assert len(stored) == 2  # the run and its step


def test_the_otlp_receiver_decodes_the_records_the_capture_makes(
    spanflow_capture: SpanCapture,
) -> None:
    """Spans sent as OTLP protobuf and decoded by OTLPReceiver equal the captured records."""
    with spanflow.run("wire", tags=["x"]):
        answer("how")
    body = encode_spans(spanflow_capture.exporter.get_finished_spans()).SerializeToString()
    captured = spanflow_capture.spans()
    assert len(captured) == 2  # the run and its step
    assert _by_span_id(decode_request(body)) == _by_span_id(captured)


def test_a_span_record_holds_the_attributes_of_the_span_as_its_public_view_shows_them() -> None:
    """Whatever the attribute values (sequences, a string enum the SDK kept as it was), the
    record's attributes equal the converted public view and are a mapping of its own."""
    import enum

    from opentelemetry.sdk.trace import TracerProvider

    from spanflow._internal.span_records import plain_attributes, span_record_from_readable

    class Colour(str, enum.Enum):
        RED = "red"

    for values in (
        {"text": "x", "numbers": [1, 2], "ratio": 0.5, "flag": True, "count": 3},
        {"text": "x", "colour": Colour.RED},
    ):
        span = TracerProvider().get_tracer("records").start_span("one", attributes=values)
        span.end()
        record = span_record_from_readable(span)
        assert record.attributes == plain_attributes(span.attributes)
        assert record.attributes["text"] == "x"
        record.attributes.clear()
        assert span.attributes is not None and span.attributes["text"] == "x"
