"""Fixtures for dataflow tests: an in-memory tracer and a fresh detector per test."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, Span, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from spanflow import attributes as attr
from spanflow.dataflow import (
    CallInputs,
    CallOutputs,
    TextField,
    on_call_end,
    on_call_start,
    set_dataflow,
)

_run_numbers = itertools.count()


@dataclass
class Harness:
    """Starts spans the way instrumentation does and runs them through the dataflow seam."""

    tracer: Any
    exporter: InMemorySpanExporter
    run_id: str

    def call(
        self,
        name: str,
        inputs: list[str] | CallInputs,
        outputs: list[str] | CallOutputs | None,
        *,
        run_id: str | None = None,
        kind: str = attr.SpanKindValue.LLM,
    ) -> Span:
        """One traced call: inputs as message texts (or records), outputs likewise."""
        if not isinstance(inputs, CallInputs):
            inputs = CallInputs(
                fields=tuple(TextField(f"messages[{i}].content", t) for i, t in enumerate(inputs))
            )
        if isinstance(outputs, list):
            outputs = CallOutputs(
                fields=tuple(TextField("choices[0].message.content", t) for t in outputs)
            )
        span: Span = self.tracer.start_span(
            name, attributes={attr.SPAN_KIND: kind, attr.RUN_ID: run_id or self.run_id}
        )
        pending = on_call_start(span, inputs)
        on_call_end(pending, outputs)
        span.end()
        return span

    def finished(self) -> dict[str, ReadableSpan]:
        """Finished spans by name."""
        return {span.name: span for span in self.exporter.get_finished_spans()}

    def producers_of(self, name: str) -> list[str]:
        """Names of the spans ``name`` links to as dataflow producers."""
        spans = self.finished()
        by_id = {span.context.span_id: span.name for span in spans.values()}
        return [
            by_id.get(link.context.span_id, "?")
            for link in spans[name].links
            if (link.attributes or {}).get(attr.LINK_TYPE) == attr.LinkTypeValue.DATAFLOW
        ]


@pytest.fixture
def harness() -> Iterator[Harness]:
    """A tracer exporting to memory, detection on (background worker), a fresh run id."""
    set_dataflow(enabled=True)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield Harness(provider.get_tracer("tests"), exporter, f"run-{next(_run_numbers)}")
    provider.shutdown()
    set_dataflow(enabled=None)
