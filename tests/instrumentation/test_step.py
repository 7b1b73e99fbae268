"""``@spanflow.step`` traces functions as child spans and feeds the dataflow seam."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

import spanflow
from spanflow import attributes, dataflow
from spanflow._internal import config
from spanflow.dataflow import CallInputs, CallOutputs
from spanflow.instrumentation import content
from spanflow.instrumentation import step as step_module


@pytest.fixture
def exporter(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    """A fresh SDK provider installed as the global one for this test only.

    spanflow is configured first (exporting nothing), as the first ``@step`` call would.
    """
    monkeypatch.setenv("SPANFLOW_EXPORTERS", "none")
    config.ensure_configured()
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", provider)
    yield memory
    provider.shutdown()


class SeamRecorder:
    """Stands in for the dataflow detector and remembers what the step told it."""

    def __init__(self) -> None:
        self.inputs: list[CallInputs] = []
        self.outputs: list[CallOutputs | None] = []

    def on_call_start(self, span: Any, inputs: CallInputs) -> object:
        self.inputs.append(inputs)
        return ("pending", len(self.inputs))

    def on_call_end(self, pending: object | None, outputs: CallOutputs | None) -> None:
        assert pending == ("pending", len(self.inputs))
        self.outputs.append(outputs)


@pytest.fixture
def seam(monkeypatch: pytest.MonkeyPatch) -> SeamRecorder:
    recorder = SeamRecorder()
    monkeypatch.setattr(dataflow, "on_call_start", recorder.on_call_start)
    monkeypatch.setattr(dataflow, "on_call_end", recorder.on_call_end)
    return recorder


@pytest.fixture(autouse=True)
def default_capture() -> Iterator[None]:
    content.set_content_capture()
    yield
    content.set_content_capture()


def only_span(exporter: InMemorySpanExporter, name: str) -> ReadableSpan:
    (span,) = [s for s in exporter.get_finished_spans() if s.name == name]
    return span


def test_step_is_a_child_span_with_input_and_output(exporter: InMemorySpanExporter) -> None:
    """A decorated call becomes a child of the current span with its arguments and result."""

    @spanflow.step
    def lookup(city: str, *, units: str = "metric") -> dict[str, Any]:
        return {"city": city, "temp": 21}

    with trace.get_tracer("test").start_as_current_span("parent") as parent:
        assert lookup("Oslo") == {"city": "Oslo", "temp": 21}
    span = only_span(exporter, "test_step_is_a_child_span_with_input_and_output.<locals>.lookup")
    assert span.parent is not None and span.parent.span_id == parent.get_span_context().span_id
    assert span.attributes is not None
    assert span.attributes[attributes.SPAN_KIND] == "step"
    assert json.loads(str(span.attributes[attributes.STEP_INPUT])) == {
        "city": "Oslo",
        "units": "metric",
    }
    assert json.loads(str(span.attributes[attributes.STEP_OUTPUT])) == {"city": "Oslo", "temp": 21}
    assert span.status.status_code is StatusCode.UNSET


def test_named_async_step_and_nesting(exporter: InMemorySpanExporter) -> None:
    """@step(name=...) names the span; steps called inside steps nest; async works."""

    @spanflow.step(name="fetch")
    async def fetch(url: str) -> str:
        return f"page {url}"

    @spanflow.step(name="search")
    async def search(query: str) -> list[str]:
        return [await fetch(f"https://example.com/?q={query}")]

    assert asyncio.run(search("otters")) == ["page https://example.com/?q=otters"]
    outer, inner = only_span(exporter, "search"), only_span(exporter, "fetch")
    assert inner.parent is not None and inner.parent.span_id == outer.context.span_id
    assert outer.attributes is not None and outer.attributes[attributes.STEP_NAME] == "search"


def test_exception_is_recorded_and_reraised_unchanged(exporter: InMemorySpanExporter) -> None:
    """The user's exception object propagates as is and the span ends with status ERROR."""
    boom = KeyError("missing")

    @spanflow.step
    def fails() -> None:
        raise boom

    with pytest.raises(KeyError) as caught:
        fails()
    assert caught.value is boom
    span = exporter.get_finished_spans()[0]
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None and span.attributes[attributes.ERROR_TYPE] == "KeyError"
    assert [e.name for e in span.events] == ["exception"]


def test_async_exception_and_current_span_restored(exporter: InMemorySpanExporter) -> None:
    """After a failing async step the caller's current span is the same as before."""

    @spanflow.step
    async def fails() -> None:
        raise ValueError("bad")

    async def caller() -> bool:
        before = trace.get_current_span()
        with pytest.raises(ValueError):
            await fails()
        return trace.get_current_span() is before

    assert asyncio.run(caller())
    assert exporter.get_finished_spans()[0].status.status_code is StatusCode.ERROR


def test_content_capture_off_records_no_arguments(exporter: InMemorySpanExporter) -> None:
    """With capture off the span has the step name but neither input nor output."""
    content.set_content_capture(enabled=False)

    @spanflow.step
    def private(secret_note: str) -> str:
        return secret_note

    assert private("diary") == "diary"
    span_attributes = exporter.get_finished_spans()[0].attributes or {}
    assert attributes.STEP_INPUT not in span_attributes
    assert attributes.STEP_OUTPUT not in span_attributes
    assert span_attributes[attributes.STEP_NAME].endswith("private")  # type: ignore[union-attr]


def test_secrets_are_redacted_and_long_values_bounded(exporter: InMemorySpanExporter) -> None:
    """API keys never reach the span, and oversized values are cut and flagged."""
    content.set_content_capture(max_chars=64)

    @spanflow.step
    def call_api(api_key: str, payload: str) -> int:
        return len(payload)

    call_api("sk-proj-abcdefghijklmnopqrstuvwxyz012345", "x" * 500)
    span_attributes = exporter.get_finished_spans()[0].attributes or {}
    recorded = str(span_attributes[attributes.STEP_INPUT])
    assert "abcdefghijklmnop" not in recorded and "[REDACTED:openai-key]" in recorded
    assert len(recorded) <= 64
    assert span_attributes[attributes.CONTENT_TRUNCATED] is True


def test_methods_leave_out_self(exporter: InMemorySpanExporter) -> None:
    """On a method the recorded input names the real arguments only."""

    class Tools:
        @spanflow.step(name="add")
        def add(self, a: int, b: int) -> int:
            return a + b

    assert Tools().add(2, b=3) == 5
    span_attributes = exporter.get_finished_spans()[0].attributes or {}
    assert json.loads(str(span_attributes[attributes.STEP_INPUT])) == {"a": 2, "b": 3}


def test_dataflow_seam_gets_argument_and_return_fields(
    exporter: InMemorySpanExporter, seam: SeamRecorder
) -> None:
    """The detector sees one field per argument and the return value, also per dict key."""

    @spanflow.step
    def answer(question: str, context: list[str], limit: int = 3) -> dict[str, Any]:
        return {"answer": "Paris", "sources": ["wiki"], "score": None}

    answer("Capital of France?", ["France is a country"])
    (inputs,) = seam.inputs
    assert {f.path: f.text for f in inputs.fields} == {
        "args.question": "Capital of France?",
        "args.context": '["France is a country"]',
        "args.limit": "3",
    }
    (outputs,) = seam.outputs
    assert outputs is not None
    assert {f.path: f.text for f in outputs.fields} == {
        "return": '{"answer":"Paris","sources":["wiki"],"score":null}',
        "return.answer": "Paris",
        "return.sources": '["wiki"]',
    }


def test_dataflow_seam_list_return_and_failure(
    exporter: InMemorySpanExporter, seam: SeamRecorder
) -> None:
    """List results give per-element fields; a failing step ends its dataflow call with None."""

    @spanflow.step
    def split(text: str) -> list[str]:
        if not text:
            raise ValueError("empty")
        return text.split()

    split("a b")
    with pytest.raises(ValueError):
        split("")
    first, failed = seam.outputs
    assert first is not None
    assert [f.path for f in first.fields] == ["return", "return[0]", "return[1]"]
    assert failed is None


def test_internal_failures_never_reach_the_user(
    exporter: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the dataflow seam or the tracer breaks, results and exceptions are unchanged."""

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("spanflow bug")

    @spanflow.step
    def double(x: int) -> int:
        return 2 * x

    @spanflow.step
    def fails() -> None:
        raise LookupError("user error")

    monkeypatch.setattr(dataflow, "on_call_start", broken)
    monkeypatch.setattr(dataflow, "on_call_end", broken)
    assert double(4) == 8
    with pytest.raises(LookupError, match="user error"):
        fails()
    span_attributes = exporter.get_finished_spans()[0].attributes or {}
    assert span_attributes[attributes.INTERNAL_ERROR] == "recording a step's outcome"  # the last

    monkeypatch.setattr(step_module, "_tracer", broken)
    assert double(5) == 10
    with pytest.raises(LookupError, match="user error"):
        fails()


def test_generator_functions_are_refused_at_decoration() -> None:
    """Decorating a generator raises TypeError at once instead of tracing nothing useful."""
    with pytest.raises(TypeError, match="generator"):

        @spanflow.step
        def numbers() -> Iterator[int]:
            yield 1


def test_a_step_name_given_positionally_is_refused_with_the_right_spelling() -> None:
    """`@spanflow.step("search")` raises a TypeError that shows `name="search"`, not an
    AttributeError from inside spanflow."""
    with pytest.raises(TypeError, match=r"@spanflow.step\(name='search'\)"):
        spanflow.step("search")  # type: ignore[call-overload]


def test_wrapped_function_keeps_its_metadata() -> None:
    """The decorated function keeps its name, docstring and signature."""

    @spanflow.step
    def documented(a: int) -> int:
        """Adds nothing."""
        return a

    assert documented.__name__ == "documented"
    assert documented.__doc__ == "Adds nothing."
    assert documented.__wrapped__(1) == 1  # type: ignore[attr-defined]
