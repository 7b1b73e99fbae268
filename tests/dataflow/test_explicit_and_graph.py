"""link_dataflow (and its old name link), register_output, and the graph built from spans."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from opentelemetry.trace import INVALID_SPAN

import spanflow
from spanflow import attributes as attr
from spanflow._internal import guard, warn
from spanflow.dataflow import DataflowGraph, get_detector, register_output
from tests.dataflow.conftest import Harness
from tests.dataflow.prose import prose


def test_link_records_an_explicit_edge(harness: Harness) -> None:
    """spanflow.link_dataflow(consumer=, producer=) adds a dataflow link with how=explicit."""
    producer = harness.tracer.start_span("translate")
    producer.end()
    consumer = harness.tracer.start_span("review")
    assert spanflow.link_dataflow(
        consumer=consumer, producer=producer, input_field="text", score=0.7
    )
    consumer.end()
    (link,) = harness.finished()["review"].links
    assert link.context.span_id == producer.get_span_context().span_id
    assert dict(link.attributes or {}) == {
        attr.LINK_TYPE: attr.LinkTypeValue.DATAFLOW,
        attr.LINK_HOW: attr.LinkHowValue.EXPLICIT,
        attr.LINK_SCORE: 0.7,
        attr.LINK_INPUT_FIELDS: ("text",),
    }


def test_link_defaults_to_the_current_span_and_accepts_span_contexts(harness: Harness) -> None:
    """Without consumer= the current span is the consumer; producer may be a SpanContext."""
    producer = harness.tracer.start_span("remote")
    producer.end()
    with harness.tracer.start_as_current_span("local"):
        assert spanflow.link_dataflow(producer=producer.get_span_context())
    assert len(harness.finished()["local"].links) == 1


def test_link_refuses_unusable_spans_without_raising(harness: Harness) -> None:
    """An ended consumer or a non-span producer is refused with False and a SpanflowWarning,
    never an exception of spanflow's own."""
    warn.reset_once_registry()  # as in a fresh process
    producer = harness.tracer.start_span("p")
    producer.end()
    ended = harness.tracer.start_span("ended")
    ended.end()
    with pytest.warns(spanflow.SpanflowWarning, match="consumer span is not recording"):
        assert spanflow.link_dataflow(consumer=ended, producer=producer) is False
    with pytest.warns(spanflow.SpanflowWarning, match="is not a span or span context"):
        assert (
            spanflow.link_dataflow(consumer=harness.tracer.start_span("c"), producer="nope")
            is False
        )
    # Warned once per kind: the second refusal of a kind is silent.
    assert (
        spanflow.link_dataflow(consumer=harness.tracer.start_span("d"), producer=INVALID_SPAN)
        is False
    )


def test_link_misuse_warning_is_raised_when_warnings_are_errors(harness: Harness) -> None:
    """A program running with warnings as errors gets the SpanflowWarning raised from its
    link_dataflow call, not swallowed as an internal error of spanflow's."""
    warn.reset_once_registry()
    guard.reset_reported()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(spanflow.SpanflowWarning, match="is not a span"):
            spanflow.link_dataflow(consumer=harness.tracer.start_span("c"), producer=42)
    assert guard.internal_error_counts() == {}


def test_the_old_name_link_still_links_and_warns_once_per_process(harness: Harness) -> None:
    """spanflow.link, the former name, adds the same edge as link_dataflow; its first call in a
    process warns with a SpanflowDeprecationWarning pointing at the caller, later calls do not."""
    warn.reset_once_registry()  # as in a fresh process
    producer = harness.tracer.start_span("translate")
    producer.end()
    consumer = harness.tracer.start_span("review")
    with pytest.warns(
        spanflow.SpanflowDeprecationWarning, match="call spanflow.link_dataflow"
    ) as caught:
        assert spanflow.link(consumer=consumer, producer=producer, input_field="text")
    (warned,) = caught.list
    assert issubclass(warned.category, spanflow.SpanflowWarning)
    assert issubclass(warned.category, DeprecationWarning)
    assert warned.filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert spanflow.link(consumer=consumer, producer=producer, output_field="out")
    consumer.end()
    links = harness.finished()["review"].links
    assert [(link.attributes or {})[attr.LINK_HOW] for link in links] == ["explicit", "explicit"]
    assert {link.context.span_id for link in links} == {producer.get_span_context().span_id}


def test_a_misuse_warning_points_at_the_call_of_link_dataflow(harness: Harness) -> None:
    """Linking from a producer that is not a span warns once, at the user's line."""
    warn.reset_once_registry()
    with pytest.warns(spanflow.SpanflowWarning, match="is not a span") as caught:
        linked = spanflow.link_dataflow(producer="nope")
    (warned,) = caught.list
    assert linked is False and (warned.filename, warned.lineno) == (__file__, _line_of("nope"))


def _line_of(marker: str) -> int:
    """The line of this file's first call of link_dataflow with ``marker`` as producer."""
    source = Path(__file__).read_text(encoding="utf-8").splitlines()
    call = f'spanflow.link_dataflow(producer="{marker}")'
    return next(number for number, line in enumerate(source, 1) if call in line)


def test_detected_edge_is_not_duplicated_by_an_explicit_one(harness: Harness) -> None:
    """When the user already linked a producer, detection does not add a second link to it."""
    from spanflow.dataflow import CallInputs, CallOutputs, TextField, on_call_end, on_call_start

    text = prose("dup", 4)
    producer = harness.call("producer", ["Write."], [text])
    consumer = harness.tracer.start_span("consumer")
    pending = on_call_start(consumer, CallInputs(fields=(TextField("prompt", text),)))
    spanflow.link_dataflow(consumer=consumer, producer=producer)
    on_call_end(pending, CallOutputs(fields=()))
    consumer.end()
    links = harness.finished()["consumer"].links
    assert [(link.attributes or {})[attr.LINK_HOW] for link in links] == ["explicit"]


def test_register_output_marks_a_value_origin(harness: Harness) -> None:
    """A value registered as a span's output links later calls that read it to that span."""
    documents = {"title": "Reservoir schedule", "body": prose("doc", 5)}
    with harness.tracer.start_as_current_span(
        "retrieve", attributes={attr.RUN_ID: harness.run_id}
    ) as retrieve:
        assert register_output(documents, field="documents[0]")
    detector = get_detector()
    assert detector is not None and detector.flush()
    harness.call("answer", [f"Context: {documents['body']}\nQuestion: when?"], ["Monday"])
    assert harness.producers_of("answer") == ["retrieve"]
    (link,) = harness.finished()["answer"].links
    assert (link.attributes or {})[attr.LINK_OUTPUT_FIELD] == "documents[0].body"
    assert retrieve.get_span_context().is_valid


def _three_call_graph(harness: Harness) -> DataflowGraph:
    plan = prose("graph-plan", 3)
    harness.call("plan", ["Plan it."], [plan])
    harness.call("work", [f'Do "{plan}"'], [prose("graph-work", 3)])
    harness.call("tool", ["x"], ["y"], kind=attr.SpanKindValue.STEP)
    return spanflow.graph(harness.exporter.get_finished_spans())


def test_graph_from_readable_spans_has_nodes_and_edges(harness: Harness) -> None:
    """The graph lists LLM and step spans as nodes and each dataflow link as an edge."""
    graph = _three_call_graph(harness)
    assert [(node.name, node.kind) for node in graph.nodes] == [
        ("plan", "llm"),
        ("work", "llm"),
        ("tool", "step"),
    ]
    (edge,) = graph.edges
    spans = harness.finished()
    assert edge.producer == f"{spans['plan'].context.span_id:016x}"
    assert edge.consumer == f"{spans['work'].context.span_id:016x}"
    assert edge.how == attr.LinkHowValue.VERBATIM and edge.score == 1.0


def test_graph_from_plain_records_matches_the_span_graph(harness: Harness) -> None:
    """Dict records (as the run index returns them) give the same graph as the spans."""
    from_spans = _three_call_graph(harness)
    records = [
        {
            "span_id": f"{span.context.span_id:016x}",
            "name": span.name,
            "start_time_unix_nano": span.start_time,
            "attributes": dict(span.attributes or {}),
            "links": [
                {"span_id": f"{link.context.span_id:016x}", "attributes": dict(link.attributes)}
                for link in span.links
            ],
        }
        for span in harness.exporter.get_finished_spans()
    ]
    assert spanflow.graph(records) == from_spans


def test_graph_exports_mermaid_and_dot(harness: Harness) -> None:
    """Mermaid and DOT renderings name every node and label every edge with how and score."""
    graph = _three_call_graph(harness)
    mermaid = graph.to_mermaid()
    assert mermaid.startswith("flowchart LR\n")
    assert '  n0 -->|"content.verbatim 1.00"| n1' in mermaid
    dot = graph.to_dot()
    assert dot.startswith("digraph dataflow {")
    edge = graph.edges[0]
    assert f'"{edge.producer}" -> "{edge.consumer}" [label="content.verbatim 1.00"];' in dot
    assert graph.to_dict()["edges"][0]["how"] == "content.verbatim"


@pytest.mark.parametrize("text", ['say "hi" <b>', "back\\slash"])
def test_graph_exports_escape_labels(text: str) -> None:
    """Quotes, angle brackets and backslashes in names never break the rendered graph."""
    graph = spanflow.graph(
        [{"span_id": "01", "name": text, "attributes": {attr.SPAN_KIND: "llm"}, "links": []}]
    )
    assert '"' not in graph.to_mermaid().split('["', 1)[1].rsplit('"]', 1)[0]
    assert graph.to_dot().count('\\"') == text.count('"')


def test_graph_reads_span_records_as_it_reads_sdk_spans(harness: Harness) -> None:
    """Span records, as the index, the client and spanflow.testing give them, make the same
    graph as the SDK spans they were converted from."""
    from spanflow._internal.span_records import span_record_from_readable

    from_spans = _three_call_graph(harness)
    records = [span_record_from_readable(s) for s in harness.exporter.get_finished_spans()]
    assert DataflowGraph.from_spans(records) == from_spans
    assert spanflow.graph(records) == from_spans


def test_graph_of_objects_that_are_no_spans_says_what_it_got() -> None:
    """spanflow.graph refuses what is neither a span, a span record nor a mapping, naming it."""
    with pytest.raises(TypeError, match="got int"):
        spanflow.graph([3])
