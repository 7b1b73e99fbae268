"""Anthropic messages traced as GenAI CLIENT spans: sync, async, streamed, tools, failing."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from opentelemetry import trace

import spanflow
from spanflow import attributes as attr
from spanflow.testing import FakeLLMServer, SpanCapture
from spanflow.testing.fake_llm import Reply, ToolCall, Usage
from tests.instrumentation.helpers import (
    anthropic_client,
    async_anthropic_client,
    llm_spans,
    only_llm_span,
)

MODEL = "claude-3-5-haiku"
REQUEST: dict[str, Any] = {
    "model": MODEL,
    "max_tokens": 64,
    "system": "Answer briefly.",
    "messages": [{"role": "user", "content": "Capital of France?"}],
    "stop_sequences": ["END"],
}
PARIS = Reply(text="Paris.", usage=Usage(input_tokens=11, output_tokens=2))
EXPECTED = {
    attr.SPAN_KIND: "llm",
    attr.GEN_AI_OPERATION_NAME: "chat",
    attr.GEN_AI_PROVIDER_NAME: "anthropic",
    attr.GEN_AI_REQUEST_MODEL: MODEL,
    attr.GEN_AI_REQUEST_MAX_TOKENS: 64,
    attr.GEN_AI_REQUEST_STOP_SEQUENCES: ("END",),
    attr.GEN_AI_INPUT_MESSAGES: (
        '[{"role":"user","parts":[{"type":"text","content":"Capital of France?"}]}]'
    ),
    attr.GEN_AI_SYSTEM_INSTRUCTIONS: '[{"type":"text","content":"Answer briefly."}]',
    attr.SERVER_ADDRESS: "127.0.0.1",
    attr.GEN_AI_RESPONSE_MODEL: MODEL,
    attr.GEN_AI_RESPONSE_FINISH_REASONS: ("end_turn",),
    attr.GEN_AI_USAGE_INPUT_TOKENS: 11,
    attr.GEN_AI_USAGE_OUTPUT_TOKENS: 2,
    attr.GEN_AI_OUTPUT_MESSAGES: (
        '[{"role":"assistant","parts":[{"type":"text","content":"Paris."}],'
        '"finish_reason":"end_turn"}]'
    ),
}


def _check_span(capture: SpanCapture, llm: FakeLLMServer, *, stream: bool) -> None:
    span = only_llm_span(capture)
    assert span.name == f"chat {MODEL}"
    (exported,) = [s for s in capture.exporter.get_finished_spans() if s.name == span.name]
    assert exported.kind == trace.SpanKind.CLIENT
    assert span.status == "UNSET"
    for key, value in EXPECTED.items():
        assert span.attributes[key] == value, key
    assert span.attributes[attr.SERVER_PORT] == llm.port
    assert span.attributes[attr.GEN_AI_RESPONSE_ID].startswith("msg_")
    assert attr.INTERNAL_ERROR not in span.attributes
    if stream:
        assert span.attributes[attr.STREAM] is True
        assert span.attributes[attr.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] >= 0.0
    else:
        assert attr.STREAM not in span.attributes


def test_sync_create_gives_one_client_span_with_semconv_attributes(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """messages.create() yields one CLIENT span with request, response, usage and messages."""
    llm.add_replies(PARIS)
    message = anthropic_client(llm).messages.create(**REQUEST)
    assert message.content[0].text == "Paris."  # type: ignore[union-attr]
    _check_span(traced, llm, stream=False)


def test_sync_stream_true_reassembles_output_and_usage(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """create(stream=True) read to the end: one span with the reassembled text and usage."""
    llm.add_replies(PARIS)
    events = list(anthropic_client(llm).messages.create(**REQUEST, stream=True))
    text = "".join(
        event.delta.text  # type: ignore[union-attr]
        for event in events
        if event.type == "content_block_delta"
    )
    assert text == "Paris."
    _check_span(traced, llm, stream=True)


def test_stream_helper_text_stream_and_final_message(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """messages.stream(): text_stream and get_final_message() work; one span ends with them."""
    llm.add_replies(PARIS)
    with anthropic_client(llm).messages.stream(**REQUEST) as stream:
        assert "".join(stream.text_stream) == "Paris."
        final = stream.get_final_message()
    assert final.content[0].text == "Paris."  # type: ignore[union-attr]
    _check_span(traced, llm, stream=True)


def test_async_stream_helper_gives_the_same_span(traced: SpanCapture, llm: FakeLLMServer) -> None:
    """The async messages.stream() helper is traced like the sync one."""
    llm.add_replies(PARIS)

    async def call() -> str:
        async with (
            async_anthropic_client(llm) as client,
            client.messages.stream(**REQUEST) as stream,
        ):
            final = await stream.get_final_message()
        return str(final.content[0].text)  # type: ignore[union-attr]

    assert asyncio.run(call()) == "Paris."
    _check_span(traced, llm, stream=True)


def test_tool_use_and_tool_result_are_recorded_as_parts(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """A tool_use block becomes a tool_call part; the tool_result sent back a tool_call_response."""
    tools = [{"name": "lookup", "description": "Look up.", "input_schema": {"type": "object"}}]
    llm.add_replies(Reply(tool_calls=[ToolCall("lookup", {"topic": "France"}, id="toolu_1")]))
    client = anthropic_client(llm)
    first = client.messages.create(
        model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "Q"}], tools=tools
    )
    assert first.stop_reason == "tool_use"
    llm.add_replies("68 million.")
    client.messages.create(
        model=MODEL,
        max_tokens=64,
        tools=tools,
        messages=[
            {"role": "user", "content": "Q"},
            {"role": "assistant", "content": [block.model_dump() for block in first.content]},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "68"}],
            },
        ],
    )
    calling, answering = llm_spans(traced)
    assert json.loads(calling.attributes[attr.GEN_AI_OUTPUT_MESSAGES]) == [
        {
            "role": "assistant",
            "parts": [
                {
                    "type": "tool_call",
                    "id": "toolu_1",
                    "name": "lookup",
                    "arguments": {"topic": "France"},
                }
            ],
            "finish_reason": "tool_use",
        }
    ]
    assert calling.attributes[attr.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_use",)
    assert json.loads(calling.attributes[attr.GEN_AI_TOOL_DEFINITIONS]) == tools
    sent = json.loads(answering.attributes[attr.GEN_AI_INPUT_MESSAGES])
    assert sent[1]["parts"][0]["type"] == "tool_call"
    assert sent[2]["parts"][0] == {"type": "tool_call_response", "id": "toolu_1", "response": "68"}


def test_streamed_tool_use_is_reassembled(traced: SpanCapture, llm: FakeLLMServer) -> None:
    """Tool input streamed as partial JSON deltas is reassembled into the tool_call part."""
    llm.add_replies(Reply(tool_calls=[ToolCall("lookup", {"topic": "France"}, id="toolu_9")]))
    with anthropic_client(llm).messages.stream(
        model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "Q"}]
    ) as stream:
        stream.until_done()
    output = json.loads(only_llm_span(traced).attributes[attr.GEN_AI_OUTPUT_MESSAGES])
    assert output[0]["parts"] == [
        {"type": "tool_call", "id": "toolu_9", "name": "lookup", "arguments": {"topic": "France"}}
    ]


def test_stream_helper_left_early_ends_span(traced: SpanCapture, llm: FakeLLMServer) -> None:
    """Leaving a messages.stream() block before the end ends the span at once."""
    llm.add_replies("one two three four five six")
    with anthropic_client(llm).messages.stream(**REQUEST) as stream:
        next(iter(stream))
        assert llm_spans(traced) == []
    assert len(llm_spans(traced)) == 1


def test_calls_inside_a_run_are_children_of_the_run(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """A call in a run is a child of the run's root span and carries the run id."""
    with spanflow.run("anthropic-run") as handle:
        anthropic_client(llm).messages.create(**REQUEST)
    run = traced.run("anthropic-run")
    span = only_llm_span(traced)
    assert span.parent_span_id == run.root.span_id
    assert span.attributes[attr.RUN_ID] == handle.id


def test_the_sdk_own_span_is_turned_off_for_traced_calls(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """anthropic's self-tracing span is suppressed so each call has exactly one span."""
    anthropic_client(llm).messages.create(**REQUEST)
    names = [span.name for span in traced.spans()]
    assert names == [f"chat {MODEL}"]
