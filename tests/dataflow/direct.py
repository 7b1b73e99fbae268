"""Replays scenario data through the dataflow seam with real OpenTelemetry SDK spans.

Each call becomes ``CallInputs``/``CallOutputs`` the way instrumentation describes a request and
its response (field paths as in the providers' own request/response bodies), with a real span
started and ended around ``on_call_start``/``on_call_end``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from spanflow import attributes as attr
from spanflow.dataflow import (
    CallInputs,
    CallOutputs,
    DataflowGraph,
    TextField,
    on_call_end,
    on_call_start,
)
from spanflow.dataflow import (
    graph as dataflow_graph,
)
from spanflow.dataflow.scope import declare_run


def replay(
    scenario: dict[str, Any], *, run_prefix: str
) -> tuple[set[tuple[str, str]], DataflowGraph]:
    """Run every call of ``scenario``; return the found ``(producer, consumer)`` id pairs."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("spanflow.tests.dataflow")
    for key, parent in scenario["runs"].items():
        declare_run(f"{run_prefix}:{key}", f"{run_prefix}:{parent}" if parent else None)
    span_ids: dict[str, str] = {}
    for call in scenario["calls"]:
        run_id = f"{run_prefix}:{call['run']}"
        kind = attr.SpanKindValue.LLM if call["kind"] == "llm" else attr.SpanKindValue.STEP
        span = tracer.start_span(call["id"], attributes={attr.SPAN_KIND: kind, attr.RUN_ID: run_id})
        inputs, outputs = describe(call)
        pending = on_call_start(span, inputs)
        on_call_end(pending, outputs)
        span.end()
        span_ids[f"{span.get_span_context().span_id:016x}"] = call["id"]
    spans: tuple[ReadableSpan, ...] = exporter.get_finished_spans()
    graph = dataflow_graph(spans)
    found = {(span_ids[e.producer], span_ids[e.consumer]) for e in graph.edges}
    provider.shutdown()
    return found, graph


def describe(call: dict[str, Any]) -> tuple[CallInputs, CallOutputs]:
    """The seam records instrumentation would build for ``call``."""
    if call["kind"] == "step":
        return _step(call)
    return _llm_inputs(call), _llm_outputs(call)


def _step(call: dict[str, Any]) -> tuple[CallInputs, CallOutputs]:
    fields = tuple(TextField(f"args.{k}", _text(v)) for k, v in call["args"].items())
    returns = TextField("return", _text(call["returns"]))
    return CallInputs(fields=fields), CallOutputs(fields=(returns,))


def _llm_inputs(call: dict[str, Any]) -> CallInputs:
    api = call["api"]
    fields: list[TextField] = []
    tool_ids: list[str] = []
    item_ids: list[str] = []
    root = "input" if api == "responses" else "messages"
    for i, message in enumerate(call["messages"]):
        if message.get("type") == "item_ref":
            item_ids.append(message["id"])
            continue
        role = message.get("role")
        if api == "anthropic" and role == "system":
            fields.append(TextField("system", message["content"], role))
            continue
        if role == "tool":
            tool_ids.append(message["tool_call_id"])
            path = {"chat": f"{root}[{i}].content", "responses": f"{root}[{i}].output"}.get(
                api, f"{root}[{i}].content[0].content"
            )
            fields.append(TextField(path, message["content"], role))
            continue
        if message.get("content"):
            fields.append(TextField(f"{root}[{i}].content", message["content"], role))
        for j, tc in enumerate(message.get("tool_calls") or ()):
            path = {
                "chat": f"{root}[{i}].tool_calls[{j}].function.arguments",
                "anthropic": f"{root}[{i}].content[{j + 1}].input",
            }.get(api, f"{root}[{i}].arguments")
            fields.append(TextField(path, tc["arguments"], role))
    previous = f"resp_{call['previous']}" if call.get("previous") else None
    return CallInputs(
        fields=tuple(fields),
        previous_response_id=previous,
        tool_call_ids=tuple(tool_ids),
        response_item_ids=tuple(item_ids),
    )


def _llm_outputs(call: dict[str, Any]) -> CallOutputs:
    api = call["api"]
    reply = call["reply"]
    fields: list[TextField] = []
    if reply.get("text"):
        path = {"chat": "choices[0].message.content", "responses": "output[0].content[0].text"}
        fields.append(TextField(path.get(api, "content[0].text"), reply["text"], "assistant"))
    for j, tc in enumerate(reply.get("tool_calls") or ()):
        path = {
            "chat": f"choices[0].message.tool_calls[{j}].function.arguments",
            "responses": f"output[{j + 1}].arguments",
        }.get(api, f"content[{j + 1}].input")
        fields.append(TextField(path, tc["arguments"], "assistant"))
    item_ids: list[str] = []
    if api == "responses":
        if reply.get("text"):
            item_ids.append(f"msg_{call['id']}")
        item_ids.extend(f"fc_{tc['id']}" for tc in reply.get("tool_calls") or ())
    return CallOutputs(
        fields=tuple(fields),
        response_id=f"resp_{call['id']}",
        tool_call_ids=tuple(tc["id"] for tc in reply.get("tool_calls") or ()),
        item_ids=tuple(item_ids),
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def iter_pairs(edges: Any) -> Iterator[tuple[str, str]]:
    """``(producer, consumer)`` pairs from JSON edge lists."""
    for producer, consumer in edges:
        yield str(producer), str(consumer)
