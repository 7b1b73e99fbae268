"""The embedded exporter: a real TracerProvider exporting straight into a SQLite index."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from spanflow import attributes as attr
from spanflow._internal.embedded_export import EmbeddedSpanExporter
from spanflow._internal.span_records import span_record_from_readable
from spanflow.query.store import RunQuery
from spanflow_collector.index import open_store


def _provider(exporter: EmbeddedSpanExporter, *, batch: bool = False) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": "agent"}))
    processor = BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter)
    provider.add_span_processor(processor)
    return provider


def test_exported_run_is_listed_with_its_spans(tmp_path: Path) -> None:
    """Spans from a real TracerProvider land in the index as a run with its LLM call and link."""
    path = tmp_path / "nested" / "dir" / "index.db"
    provider = _provider(EmbeddedSpanExporter(path), batch=True)
    tracer = provider.get_tracer("spanflow", "0.1.0")
    run_attributes = {
        attr.SPAN_KIND: attr.SpanKindValue.RUN,
        attr.RUN_ID: "01EMBED",
        attr.RUN_NAME: "eval-7",
        attr.RUN_TAGS: ("a", "b"),
        attr.RUN_STATUS: "completed",
        attr.PARAM_PREFIX + "lr": 0.1,
    }
    with tracer.start_as_current_span("eval-7", attributes=run_attributes):
        with tracer.start_as_current_span(
            "chat gpt-4o",
            kind=SpanKind.CLIENT,
            attributes={attr.RUN_ID: "01EMBED", attr.GEN_AI_USAGE_INPUT_TOKENS: 12},
        ) as producer:
            producer_context = producer.get_span_context()
        with tracer.start_as_current_span(
            "chat gpt-4o",
            kind=SpanKind.CLIENT,
            attributes={attr.RUN_ID: "01EMBED", attr.GEN_AI_OPERATION_NAME: "chat"},
            links=[Link(producer_context, {attr.LINK_TYPE: attr.LinkTypeValue.DATAFLOW})],
        ) as consumer:
            consumer.set_status(Status(StatusCode.ERROR, "rate limited"))
    provider.shutdown()

    store = open_store(path)
    try:
        run = store.get_run("01EMBED")
        assert run is not None
        assert (run.name, run.status, run.tags, run.params) == (
            "eval-7",
            "completed",
            ("a", "b"),
            {"lr": 0.1},
        )
        assert (run.span_count, run.input_tokens, run.error_count) == (3, 12, 1)
        spans = store.get_spans("01EMBED")
        assert [span.kind for span in spans] == [1, 3, 3]  # OTLP numbering: INTERNAL, CLIENT
        assert spans[0].resource_attributes["service.name"] == "agent"
        assert spans[1].scope_name == "spanflow" and spans[1].scope_version == "0.1.0"
        assert spans[2].status_message == "rate limited"
        (edge,) = store.get_links("01EMBED")
        assert (edge.span_id, edge.linked_span_id, edge.link_type) == (
            spans[2].span_id,
            spans[1].span_id,
            "dataflow",
        )
    finally:
        store.close()


def test_conversion_keeps_ids_times_and_attributes(tmp_path: Path) -> None:
    """A converted span keeps hex ids, parent, times, events and tuple attributes."""
    exported = []

    class Capture(EmbeddedSpanExporter):
        def export(self, spans):  # type: ignore[no-untyped-def]
            exported.extend(span_record_from_readable(span) for span in spans)
            return super().export(spans)

    provider = _provider(Capture(tmp_path / "index.db"))
    tracer = provider.get_tracer("t")
    with (
        tracer.start_as_current_span("parent") as parent,
        tracer.start_as_current_span("child", attributes={"list": ["x", "y"]}) as child,
    ):
        child.add_event("note", {"n": 1})
    provider.shutdown()
    child_record, parent_record = exported
    assert child_record.trace_id == format(parent.get_span_context().trace_id, "032x")
    assert child_record.span_id == format(child.get_span_context().span_id, "016x")
    assert child_record.parent_span_id == parent_record.span_id
    assert parent_record.parent_span_id is None
    assert child_record.attributes["list"] == ("x", "y")
    assert child_record.events[0].name == "note"
    assert child_record.events[0].attributes == {"n": 1}
    assert child_record.start_time_unix_nano <= child_record.end_time_unix_nano


def test_default_path_and_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a path the exporter uses $SPANFLOW_DB, else ./.spanflow/index.db."""
    monkeypatch.chdir(tmp_path)
    exporter = EmbeddedSpanExporter()
    exporter.shutdown()
    assert (tmp_path / ".spanflow" / "index.db").exists()
    monkeypatch.setenv("SPANFLOW_DB", str(tmp_path / "custom.db"))
    exporter = EmbeddedSpanExporter()
    exporter.shutdown()
    assert (tmp_path / "custom.db").exists()


def test_export_after_shutdown_fails_quietly(tmp_path: Path) -> None:
    """Exports after shutdown report failure instead of raising into the processor."""
    exporter = EmbeddedSpanExporter(tmp_path / "index.db")
    provider = _provider(exporter)
    exporter.shutdown()
    with provider.get_tracer("t").start_as_current_span("late"):
        pass
    provider.shutdown()
    store = open_store(tmp_path / "index.db")
    try:
        assert store.list_runs(RunQuery()).runs == ()
    finally:
        store.close()


def test_sdk_message_json_is_stored_as_any_other_copy_of_it(tmp_path: Path) -> None:
    """Message JSON the SDK built is stored exactly as the same text from elsewhere would be."""
    import sqlite3

    from spanflow.instrumentation._messages import set_json_array
    from spanflow.redaction import VOUCHED

    path = tmp_path / "index.db"
    exporter = EmbeddedSpanExporter(path)  # starts keeping what the SDK vouches for
    assert VOUCHED.pieces_of("not vouched") is None
    tracer = _provider(exporter).get_tracer("spanflow")
    messages = [
        {"role": "system", "parts": [{"type": "text", "content": "Be brief. " * 40}]},
        {"role": "user", "parts": [{"type": "text", "content": "Hi"}]},
        {"role": "assistant", "parts": [{"type": "text", "content": "Ünïcode réponse " * 30}]},
    ]
    built: dict[str, object] = {}
    set_json_array(built, attr.GEN_AI_INPUT_MESSAGES, messages)
    sdk_text = built[attr.GEN_AI_INPUT_MESSAGES]
    assert isinstance(sdk_text, str)
    copied = sdk_text.encode("utf-8").decode("utf-8")  # equal characters, another object
    for name, text in (("sdk", sdk_text), ("copy", copied)):
        with tracer.start_as_current_span(
            name, attributes={attr.RUN_ID: "01PIECES", attr.GEN_AI_INPUT_MESSAGES: text}
        ):
            pass

    with sqlite3.connect(path) as db:
        stored = dict(db.execute("SELECT name, attributes FROM spans").fetchall())
        blobs = db.execute("SELECT count(*) FROM blobs").fetchone()[0]
    assert stored["sdk"] == stored["copy"]
    assert blobs == 2  # the two long messages, each once; the short one stays inline
    store = open_store(path)
    spans = store.get_spans("01PIECES")
    store.close()
    assert len(spans) == 2
    assert all(s.attributes[attr.GEN_AI_INPUT_MESSAGES] == sdk_text for s in spans)


def test_sdk_message_json_too_short_to_split_leaves_nothing_behind(tmp_path: Path) -> None:
    """The pieces of a vouched message JSON the index stores inline are not kept after export."""
    from spanflow.instrumentation._messages import set_json_array
    from spanflow.redaction import VOUCHED
    from spanflow_collector.index.content import BLOB_MIN_CHARS

    exporter = EmbeddedSpanExporter(tmp_path / "index.db")
    tracer = _provider(exporter).get_tracer("spanflow")
    built: dict[str, object] = {}
    reply = [{"role": "assistant", "parts": [{"type": "text", "content": "A short answer. " * 20}]}]
    set_json_array(built, attr.GEN_AI_OUTPUT_MESSAGES, reply)
    sdk_text = built[attr.GEN_AI_OUTPUT_MESSAGES]
    assert isinstance(sdk_text, str)
    assert 64 < len(sdk_text) < BLOB_MIN_CHARS  # vouched for, but stored inline
    with tracer.start_as_current_span(
        "chat", attributes={attr.RUN_ID: "01SHORT", attr.GEN_AI_OUTPUT_MESSAGES: sdk_text}
    ):
        pass
    assert VOUCHED.pieces_of(sdk_text) is None
    exporter.shutdown()
