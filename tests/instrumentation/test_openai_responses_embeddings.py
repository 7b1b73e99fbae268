"""OpenAI responses and embeddings traced as GenAI CLIENT spans: sync, async, streamed, failing."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import openai
import pytest

from spanflow import attributes as attr
from spanflow.testing import FakeLLMServer, SpanCapture
from spanflow.testing.fake_llm import Reply, ToolCall, Usage
from tests.instrumentation.helpers import (
    async_openai_client,
    llm_spans,
    only_llm_span,
    openai_client,
)

REQUEST: dict[str, Any] = {
    "model": "gpt-4o-mini",
    "input": [{"role": "user", "content": "Capital of France?"}],
    "instructions": "Be brief.",
    "temperature": 0.5,
    "max_output_tokens": 64,
}
PARIS = Reply(text="Paris.", usage=Usage(input_tokens=11, output_tokens=2))
EXPECTED = {
    attr.SPAN_KIND: "llm",
    attr.GEN_AI_OPERATION_NAME: "chat",
    attr.GEN_AI_PROVIDER_NAME: "openai",
    attr.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
    attr.GEN_AI_REQUEST_TEMPERATURE: 0.5,
    attr.GEN_AI_REQUEST_MAX_TOKENS: 64,
    attr.GEN_AI_INPUT_MESSAGES: (
        '[{"role":"user","parts":[{"type":"text","content":"Capital of France?"}]}]'
    ),
    attr.GEN_AI_SYSTEM_INSTRUCTIONS: '[{"type":"text","content":"Be brief."}]',
    attr.SERVER_ADDRESS: "127.0.0.1",
    attr.GEN_AI_RESPONSE_MODEL: "gpt-4o-mini",
    attr.GEN_AI_RESPONSE_FINISH_REASONS: ("stop",),
    attr.GEN_AI_USAGE_INPUT_TOKENS: 11,
    attr.GEN_AI_USAGE_OUTPUT_TOKENS: 2,
    attr.GEN_AI_OUTPUT_MESSAGES: (
        '[{"role":"assistant","parts":[{"type":"text","content":"Paris."}],"finish_reason":"stop"}]'
    ),
}


def _check_response_span(capture: SpanCapture, llm: FakeLLMServer, *, stream: bool) -> None:
    span = only_llm_span(capture)
    assert span.name == "chat gpt-4o-mini"
    assert span.status == "UNSET"
    for key, value in EXPECTED.items():
        assert span.attributes[key] == value, key
    assert span.attributes[attr.SERVER_PORT] == llm.port
    assert span.attributes[attr.GEN_AI_RESPONSE_ID].startswith("resp_")
    assert attr.INTERNAL_ERROR not in span.attributes
    assert (attr.STREAM in span.attributes) is stream
    assert (attr.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK in span.attributes) is stream


def test_responses_create_gives_one_span_with_semconv_attributes(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """responses.create() yields one span with parameters, instructions, usage and output."""
    llm.add_replies(PARIS)
    response = openai_client(llm).responses.create(**REQUEST)
    assert response.output_text == "Paris."
    _check_response_span(traced, llm, stream=False)


@pytest.mark.parametrize("use_async", [False, True])
def test_responses_stream_true_reassembles_the_output(
    traced: SpanCapture, llm: FakeLLMServer, use_async: bool
) -> None:
    """responses.create(stream=True) read to the end: the span has the text and the usage."""
    llm.add_replies(PARIS)

    def text_of(events: list[Any]) -> str:
        return "".join(e.delta for e in events if e.type == "response.output_text.delta")

    if use_async:

        async def call() -> str:
            async with async_openai_client(llm) as client:
                stream = await client.responses.create(**REQUEST, stream=True)
                return text_of([event async for event in stream])

        text = asyncio.run(call())
    else:
        text = text_of(list(openai_client(llm).responses.create(**REQUEST, stream=True)))
    assert text == "Paris."
    _check_response_span(traced, llm, stream=True)


def test_responses_stream_helper_gives_one_span_and_the_final_response(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """responses.stream(): events, get_final_response() and exactly one span."""
    llm.add_replies(PARIS)
    with openai_client(llm).responses.stream(**REQUEST) as stream:
        for _ in stream:
            pass
        final = stream.get_final_response()
    assert final.output_text == "Paris."
    _check_response_span(traced, llm, stream=True)


def test_function_calls_and_their_outputs_are_recorded(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """A function_call item is a tool_call part; function_call_output sent back is its response."""
    tools: list[Any] = [{"type": "function", "name": "lookup", "parameters": {"type": "object"}}]
    llm.add_replies(Reply(tool_calls=[ToolCall("lookup", {"topic": "France"}, id="call_1")]))
    client = openai_client(llm)
    first = client.responses.create(model="gpt-4o-mini", input="Q", tools=tools)
    llm.add_replies("68 million.")
    client.responses.create(
        model="gpt-4o-mini",
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": "call_1", "output": "68"}],
        tools=tools,
    )
    calling, answering = llm_spans(traced)
    assert json.loads(calling.attributes[attr.GEN_AI_OUTPUT_MESSAGES]) == [
        {
            "role": "assistant",
            "parts": [
                {
                    "type": "tool_call",
                    "id": "call_1",
                    "name": "lookup",
                    "arguments": {"topic": "France"},
                }
            ],
            "finish_reason": "tool_calls",
        }
    ]
    assert json.loads(calling.attributes[attr.GEN_AI_TOOL_DEFINITIONS]) == tools
    sent = json.loads(answering.attributes[attr.GEN_AI_INPUT_MESSAGES])
    response_part = {"type": "tool_call_response", "id": "call_1", "response": "68"}
    assert sent == [{"role": "tool", "parts": [response_part]}]


@pytest.mark.parametrize("use_async", [False, True])
def test_embeddings_create_gives_an_embeddings_span(
    traced: SpanCapture, llm: FakeLLMServer, use_async: bool
) -> None:
    """embeddings.create(): operation embeddings, model, encoding format, usage, dimensions."""
    request: dict[str, Any] = {
        "model": "text-embedding-3-small",
        "input": ["a b", "c"],
        "encoding_format": "float",
    }
    if use_async:

        async def call() -> int:
            async with async_openai_client(llm) as client:
                return len((await client.embeddings.create(**request)).data)

        count = asyncio.run(call())
    else:
        count = len(openai_client(llm).embeddings.create(**request).data)
    assert count == 2
    span = only_llm_span(traced)
    assert span.name == "embeddings text-embedding-3-small"
    # The response kept for replay (docs/replay.md) is checked in tests/replay.
    recorded = {k: v for k, v in span.attributes.items() if not k.startswith("spanflow.replay.")}
    assert recorded == {
        attr.SPAN_KIND: "llm",
        attr.GEN_AI_OPERATION_NAME: "embeddings",
        attr.GEN_AI_PROVIDER_NAME: "openai",
        attr.GEN_AI_REQUEST_MODEL: "text-embedding-3-small",
        attr.GEN_AI_REQUEST_ENCODING_FORMATS: ("float",),
        attr.SERVER_ADDRESS: "127.0.0.1",
        attr.SERVER_PORT: llm.port,
        attr.GEN_AI_RESPONSE_MODEL: "text-embedding-3-small",
        attr.GEN_AI_USAGE_INPUT_TOKENS: 3,
        attr.GEN_AI_EMBEDDINGS_DIMENSION_COUNT: 8,
    }


def test_embeddings_connection_error_is_reraised_identically(traced: SpanCapture) -> None:
    """An embeddings call to a server that is gone re-raises the client's error, span marked."""
    with FakeLLMServer() as gone:
        base_url = gone.openai_base_url
    client = openai.OpenAI(base_url=base_url, api_key="sk-test", max_retries=0)
    with client, pytest.raises(openai.APIConnectionError):
        client.embeddings.create(model="text-embedding-3-small", input="x")
    span = only_llm_span(traced)
    assert span.status == "ERROR"
    assert span.attributes[attr.ERROR_TYPE] == "APIConnectionError"


def test_responses_parse_gives_one_json_span(traced: SpanCapture, llm: FakeLLMServer) -> None:
    """responses.parse() with a pydantic format: one span, output type json, the parsed text."""
    from pydantic import BaseModel

    class City(BaseModel):
        name: str

    parsed = openai_client(llm).responses.parse(
        model="gpt-4o-mini", input="City?", text_format=City
    )
    assert isinstance(parsed.output_parsed, City)
    span = only_llm_span(traced)
    assert span.attributes[attr.GEN_AI_OUTPUT_TYPE] == "json"
    output = json.loads(span.attributes[attr.GEN_AI_OUTPUT_MESSAGES])
    assert json.loads(output[0]["parts"][0]["content"]) == parsed.output_parsed.model_dump()


@pytest.mark.parametrize("stream", [False, True])
def test_with_streaming_response_gives_one_span(
    traced: SpanCapture, llm: FakeLLMServer, stream: bool
) -> None:
    """with_streaming_response works as usual, streamed or not, and records the output."""
    llm.add_replies(PARIS)
    with openai_client(llm).chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=stream
    ) as response:
        parsed = response.parse()
        if stream:
            text = "".join(c.choices[0].delta.content or "" for c in parsed if c.choices)
        else:
            text = str(parsed.choices[0].message.content)
    assert text == "Paris."
    assert "Paris." in only_llm_span(traced).attributes[attr.GEN_AI_OUTPUT_MESSAGES]
