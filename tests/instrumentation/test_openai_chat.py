"""OpenAI chat completions traced as GenAI CLIENT spans: sync, async, streamed, failing."""

from __future__ import annotations

import asyncio
import json

import openai
from opentelemetry import trace

import spanflow
from spanflow import attributes as attr
from spanflow.testing import FakeLLMServer, SpanCapture
from spanflow.testing.fake_llm import Reply, ToolCall, Usage
from tests.instrumentation.helpers import (
    async_openai_client,
    llm_spans,
    only_llm_span,
    openai_client,
)

MESSAGES = [
    {"role": "system", "content": "Answer briefly."},
    {"role": "user", "content": "Capital of France?"},
]
EXPECTED_INPUT = (
    '[{"role":"system","parts":[{"type":"text","content":"Answer briefly."}]},'
    '{"role":"user","parts":[{"type":"text","content":"Capital of France?"}]}]'
)


def _expected_common(llm: FakeLLMServer, *, stream: bool) -> dict[str, object]:
    expected: dict[str, object] = {
        attr.SPAN_KIND: "llm",
        attr.GEN_AI_OPERATION_NAME: "chat",
        attr.GEN_AI_PROVIDER_NAME: "openai",
        attr.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
        attr.GEN_AI_REQUEST_TEMPERATURE: 0.5,
        attr.GEN_AI_REQUEST_MAX_TOKENS: 64,
        attr.GEN_AI_INPUT_MESSAGES: EXPECTED_INPUT,
        attr.SERVER_ADDRESS: "127.0.0.1",
        attr.SERVER_PORT: llm.port,
        attr.GEN_AI_RESPONSE_MODEL: "gpt-4o-mini",
        attr.GEN_AI_RESPONSE_FINISH_REASONS: ("stop",),
        attr.GEN_AI_OUTPUT_MESSAGES: (
            '[{"role":"assistant","parts":[{"type":"text","content":"Paris."}],'
            '"finish_reason":"stop"}]'
        ),
    }
    if stream:
        expected[attr.STREAM] = True
    return expected


def _check_span(capture: SpanCapture, llm: FakeLLMServer, *, stream: bool) -> None:
    span = only_llm_span(capture)
    assert span.name == "chat gpt-4o-mini"
    assert span.status == "UNSET"
    expected = _expected_common(llm, stream=stream)
    for key, value in expected.items():
        assert span.attributes[key] == value, key
    assert span.attributes[attr.GEN_AI_RESPONSE_ID].startswith("chatcmpl-")
    assert span.attributes[attr.GEN_AI_USAGE_INPUT_TOKENS] == 11
    assert span.attributes[attr.GEN_AI_USAGE_OUTPUT_TOKENS] == 2
    if stream:
        assert span.attributes[attr.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] >= 0.0
    assert attr.INTERNAL_ERROR not in span.attributes
    raw = span_kind_of(capture)
    assert raw == trace.SpanKind.CLIENT


def span_kind_of(capture: SpanCapture) -> trace.SpanKind:
    (finished,) = [s for s in capture.exporter.get_finished_spans() if s.name.startswith("chat")]
    return finished.kind


PARIS = Reply(text="Paris.", usage=Usage(input_tokens=11, output_tokens=2))


def test_sync_create_gives_one_client_span_with_semconv_attributes(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """A plain create() yields one CLIENT span named after operation and model, exact values."""
    llm.add_replies(PARIS)
    result = openai_client(llm).chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, temperature=0.5, max_tokens=64
    )
    assert result.choices[0].message.content == "Paris."
    _check_span(traced, llm, stream=False)


def test_sync_stream_reassembles_output_and_usage(traced: SpanCapture, llm: FakeLLMServer) -> None:
    """A stream read to the end ends its span with the reassembled text and the usage chunk."""
    llm.add_replies(PARIS)
    stream = openai_client(llm).chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        temperature=0.5,
        max_tokens=64,
        stream=True,
        stream_options={"include_usage": True},
    )
    assert isinstance(stream, openai.Stream)
    assert llm_spans(traced) == []  # still open while the user reads
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "Paris."
    _check_span(traced, llm, stream=True)


def test_async_stream_reassembles_output_and_usage(traced: SpanCapture, llm: FakeLLMServer) -> None:
    """An async stream read to the end ends its span once, with output and usage."""
    llm.add_replies(PARIS)

    async def call() -> str:
        async with async_openai_client(llm) as client:
            stream = await client.chat.completions.create(
                model="gpt-4o-mini",
                messages=MESSAGES,
                temperature=0.5,
                max_tokens=64,
                stream=True,
                stream_options={"include_usage": True},
            )
            pieces = [c.choices[0].delta.content or "" async for c in stream if c.choices]
        return "".join(pieces)

    assert asyncio.run(call()) == "Paris."
    _check_span(traced, llm, stream=True)


def test_stream_request_is_sent_unchanged(traced: SpanCapture, llm: FakeLLMServer) -> None:
    """spanflow never adds stream_options.include_usage behind the user's back."""
    stream = openai_client(llm).chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    )
    chunks = list(stream)
    assert all(chunk.choices for chunk in chunks)
    assert "stream_options" not in llm.last_request.body
    assert attr.GEN_AI_USAGE_INPUT_TOKENS not in only_llm_span(traced).attributes


def test_tool_calls_are_recorded_as_tool_call_parts(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """Tool calls in the answer and tool results sent back use the semconv part shapes."""
    llm.add_replies(Reply(tool_calls=[ToolCall("add", {"a": 1, "b": 2}, id="call_1")]))
    client = openai_client(llm)
    client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "1+2?"}],
        tools=[{"type": "function", "function": {"name": "add", "parameters": {"type": "object"}}}],
    )
    first = only_llm_span(traced)
    assert json.loads(first.attributes[attr.GEN_AI_OUTPUT_MESSAGES]) == [
        {
            "role": "assistant",
            "parts": [
                {"type": "tool_call", "id": "call_1", "name": "add", "arguments": {"a": 1, "b": 2}}
            ],
            "finish_reason": "tool_calls",
        }
    ]
    assert json.loads(first.attributes[attr.GEN_AI_TOOL_DEFINITIONS]) == [
        {"type": "function", "name": "add", "parameters": {"type": "object"}}
    ]
    traced.clear()
    client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[
            {"role": "user", "content": "1+2?"},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "add", "arguments": '{"a":1,"b":2}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "3"},
        ],
    )
    second = json.loads(only_llm_span(traced).attributes[attr.GEN_AI_INPUT_MESSAGES])
    assert second[1]["parts"] == [
        {"type": "tool_call", "id": "call_1", "name": "add", "arguments": {"a": 1, "b": 2}}
    ]
    assert second[2] == {
        "role": "tool",
        "parts": [{"type": "tool_call_response", "id": "call_1", "response": "3"}],
    }


def test_streamed_tool_call_is_reassembled(traced: SpanCapture, llm: FakeLLMServer) -> None:
    """Tool-call argument deltas of a stream are joined into one tool_call part."""
    llm.add_replies(Reply(tool_calls=[ToolCall("lookup", {"city": "Oslo"}, id="call_9")]))
    stream = openai_client(llm).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "weather"}], stream=True
    )
    for _ in stream:
        pass
    output = json.loads(only_llm_span(traced).attributes[attr.GEN_AI_OUTPUT_MESSAGES])
    assert output[0]["parts"] == [
        {"type": "tool_call", "id": "call_9", "name": "lookup", "arguments": {"city": "Oslo"}}
    ]
    assert output[0]["finish_reason"] == "tool_calls"


def test_leaving_with_block_ends_span(traced: SpanCapture, llm: FakeLLMServer) -> None:
    """A stream used as a context manager ends its span when the block is left."""
    with openai_client(llm).chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    ) as stream:
        next(stream)
        assert llm_spans(traced) == []
    assert len(llm_spans(traced)) == 1


def test_stream_helper_gives_one_span_and_final_completion(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """chat.completions.stream() yields one span and get_final_completion() still works."""
    llm.add_replies(PARIS)
    with openai_client(llm).chat.completions.stream(
        model="gpt-4o-mini", messages=MESSAGES
    ) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].message.content == "Paris."
    span = only_llm_span(traced)
    assert json.loads(span.attributes[attr.GEN_AI_OUTPUT_MESSAGES])[0]["parts"][0] == {
        "type": "text",
        "content": "Paris.",
    }


def test_stream_helper_left_early_ends_span(traced: SpanCapture, llm: FakeLLMServer) -> None:
    """Leaving a .stream() helper's block before the end ends the span at once."""
    llm.add_replies("one two three four five six")
    with openai_client(llm).chat.completions.stream(
        model="gpt-4o-mini", messages=MESSAGES
    ) as stream:
        next(iter(stream))
        assert llm_spans(traced) == []
    assert len(llm_spans(traced)) == 1


def test_parse_gives_one_span(traced: SpanCapture, llm: FakeLLMServer) -> None:
    """chat.completions.parse() goes through the same choke point: one span, output captured."""
    from pydantic import BaseModel

    class City(BaseModel):
        name: str

    parsed = openai_client(llm).chat.completions.parse(
        model="gpt-4o-mini", messages=MESSAGES, response_format=City
    )
    assert isinstance(parsed.choices[0].message.parsed, City)
    span = only_llm_span(traced)
    assert span.attributes[attr.GEN_AI_OUTPUT_TYPE] == "json"
    output = json.loads(span.attributes[attr.GEN_AI_OUTPUT_MESSAGES])
    assert (
        json.loads(output[0]["parts"][0]["content"])
        == parsed.choices[0].message.parsed.model_dump()
    )


def test_with_raw_response_gives_one_span(traced: SpanCapture, llm: FakeLLMServer) -> None:
    """with_raw_response returns the raw response as usual and the span has the response id."""
    llm.add_replies(PARIS)
    raw = openai_client(llm).chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=MESSAGES
    )
    assert raw.parse().choices[0].message.content == "Paris."
    span = only_llm_span(traced)
    assert span.attributes[attr.GEN_AI_RESPONSE_ID] == raw.parse().id
    assert span.attributes[attr.GEN_AI_USAGE_OUTPUT_TOKENS] == 2


def test_raw_stream_response_gives_one_span(traced: SpanCapture, llm: FakeLLMServer) -> None:
    """A raw streamed response parses to a stream whose span ends when it is read."""
    llm.add_replies(PARIS)
    raw = openai_client(llm).chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    )
    stream = raw.parse()
    assert stream.response.status_code == 200
    text = "".join(c.choices[0].delta.content or "" for c in stream)
    assert text == "Paris."
    assert "Paris." in only_llm_span(traced).attributes[attr.GEN_AI_OUTPUT_MESSAGES]


def test_span_is_not_current_after_the_call(traced: SpanCapture, llm: FakeLLMServer) -> None:
    """Neither a finished call nor an open stream leaves its span current in the caller."""
    before = trace.get_current_span()
    openai_client(llm).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert trace.get_current_span() is before
    stream = openai_client(llm).chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    )
    assert trace.get_current_span() is before
    stream.close()


def test_calls_inside_a_run_are_children_of_the_run(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """A call in a run is a child of the run's root span and carries the run id."""
    with spanflow.run("instrumented-run") as handle:
        openai_client(llm).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    run = traced.run("instrumented-run")
    span = only_llm_span(traced)
    assert span.parent_span_id == run.root.span_id
    assert span.trace_id == run.root.trace_id
    assert span.attributes[attr.RUN_ID] == handle.id


def test_calls_outside_runs_still_make_spans(traced: SpanCapture, llm: FakeLLMServer) -> None:
    """Outside any run, a call is a root span of its own."""
    openai_client(llm).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    span = only_llm_span(traced)
    assert span.parent_span_id is None
    assert attr.RUN_ID not in span.attributes
