"""Span lookups shared by the framework tests."""

from __future__ import annotations

from spanflow import attributes
from spanflow.testing import SpanCapture, SpanRecord


def spans_of_kind(capture: SpanCapture, kind: str) -> list[SpanRecord]:
    """The ended spans whose ``spanflow.span.kind`` is ``kind``, in start order."""
    found = [span for span in capture.spans() if span.spanflow_kind == kind]
    return sorted(found, key=lambda span: span.start_time_ns)


def dataflow_producers(consumer: SpanRecord) -> list[str]:
    """Span ids of the producers ``consumer`` has dataflow links to."""
    return [
        link.span_id
        for link in consumer.links
        if link.attributes.get(attributes.LINK_TYPE) == attributes.LinkTypeValue.DATAFLOW
    ]


def llm_tool_llm(capture: SpanCapture) -> tuple[SpanRecord, SpanRecord, SpanRecord]:
    """The first LLM span, the tool span and the second LLM span of a one-tool agent turn.

    Raises:
        AssertionError: The capture is not two LLM calls around one tool call.
    """
    llms = spans_of_kind(capture, attributes.SpanKindValue.LLM)
    (tool,) = spans_of_kind(capture, attributes.SpanKindValue.TOOL)
    assert len(llms) == 2, [span.name for span in llms]
    return llms[0], tool, llms[1]
