"""The ``mistralai`` client against the fake server: chat, streams, tools, embeddings."""

from __future__ import annotations

import asyncio
import json

from spanflow import attributes as attr
from spanflow.testing import FakeLLMServer, SpanCapture
from spanflow.testing.fake_llm import Reply, ToolCall, Usage
from tests.instrumentation.helpers import llm_spans, mistral_client, only_llm_span

MODEL = "mistral-small-latest"
QUESTION = [{"role": "user", "content": "Capital of France?"}]


def test_complete_gives_one_span_with_semconv_attributes(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """chat.complete is one span with provider mistral_ai, parameters, usage and messages."""
    llm.add_replies(Reply("Paris.", usage=Usage(input_tokens=5, output_tokens=2)))
    reply = mistral_client(llm).chat.complete(
        model=MODEL, messages=QUESTION, temperature=0.1, max_tokens=16, random_seed=7
    )
    assert reply.choices[0].message.content == "Paris."
    span = only_llm_span(traced)
    assert span.name == f"chat {MODEL}"
    assert span.attributes[attr.GEN_AI_PROVIDER_NAME] == "mistral_ai"
    assert span.attributes[attr.GEN_AI_REQUEST_MAX_TOKENS] == 16
    assert span.attributes[attr.GEN_AI_REQUEST_SEED] == 7
    assert span.attributes[attr.GEN_AI_USAGE_INPUT_TOKENS] == 5
    assert span.attributes[attr.SERVER_ADDRESS] == "127.0.0.1"
    assert json.loads(span.attributes[attr.GEN_AI_OUTPUT_MESSAGES])[0]["parts"] == [
        {"type": "text", "content": "Paris."}
    ]


def test_streams_sync_and_async_keep_text_and_usage(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """chat.stream and stream_async each give one span with the whole text and the usage."""
    llm.add_replies(Reply("one two"), Reply("three four"))
    client = mistral_client(llm)
    with client.chat.stream(model=MODEL, messages=QUESTION) as stream:
        first = "".join(str(e.data.choices[0].delta.content or "") for e in stream)

    async def main() -> str:
        stream = await client.chat.stream_async(model=MODEL, messages=QUESTION)
        return "".join([str(e.data.choices[0].delta.content or "") async for e in stream])

    assert (first, asyncio.run(main())) == ("one two", "three four")
    spans = llm_spans(traced)
    texts = [json.loads(s.attributes[attr.GEN_AI_OUTPUT_MESSAGES])[0]["parts"] for s in spans]
    assert texts == [
        [{"type": "text", "content": "one two"}],
        [{"type": "text", "content": "three four"}],
    ]
    assert all(isinstance(s.attributes[attr.GEN_AI_USAGE_OUTPUT_TOKENS], int) for s in spans)


def test_tool_calls_and_results_are_parts(traced: SpanCapture, llm: FakeLLMServer) -> None:
    """A tool call reply and the tool message sent back are semconv parts with the call id."""
    llm.add_replies(
        Reply(tool_calls=[ToolCall("weather", {"city": "Paris"}, id="call_w1")]), "Sunny"
    )
    client = mistral_client(llm)
    tools = [{"type": "function", "function": {"name": "weather", "parameters": {}}}]
    client.chat.complete(model=MODEL, messages=QUESTION, tools=tools)
    history = [
        *QUESTION,
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"id": "call_w1", "function": {"name": "weather", "arguments": '{"city": "Paris"}'}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_w1", "name": "weather", "content": "22C"},
    ]
    client.chat.complete(model=MODEL, messages=history, tools=tools)
    first, second = llm_spans(traced)
    assert json.loads(first.attributes[attr.GEN_AI_OUTPUT_MESSAGES])[0]["parts"] == [
        {"type": "tool_call", "id": "call_w1", "name": "weather", "arguments": {"city": "Paris"}}
    ]
    assert json.loads(second.attributes[attr.GEN_AI_INPUT_MESSAGES])[2]["parts"] == [
        {"type": "tool_call_response", "id": "call_w1", "response": "22C"}
    ]


def test_embeddings_are_an_embeddings_span(traced: SpanCapture, llm: FakeLLMServer) -> None:
    """embeddings.create is an embeddings span, not a chat span."""
    client = mistral_client(llm)
    assert client.embeddings.create(model="mistral-embed", inputs=["a", "b"]).data
    embedded = only_llm_span(traced)
    assert embedded.attributes[attr.GEN_AI_OPERATION_NAME] == "embeddings"
