"""The ``ollama`` client against the fake server's native API: chat, generate, embed spans."""

from __future__ import annotations

import asyncio
import gc
import json
from typing import Any

import spanflow
from spanflow import attributes as attr
from spanflow.dataflow import set_dataflow
from spanflow.testing import FakeLLMServer, SpanCapture
from spanflow.testing.fake_llm import Reply, ToolCall, Usage
from tests.instrumentation.helpers import dataflow_links, llm_spans, ollama_client, only_llm_span

MODEL = "llama3.2"
QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


def test_chat_gives_one_span_with_semconv_attributes(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """A chat call is one CLIENT span named `chat llama3.2` with provider, usage and messages."""
    llm.add_replies(Reply("Paris.", usage=Usage(input_tokens=9, output_tokens=2)))
    reply = ollama_client(llm).chat(
        model=MODEL, messages=QUESTION, options={"temperature": 0.2, "num_predict": 30}
    )
    assert reply.message.content == "Paris."
    span = only_llm_span(traced)
    assert span.name == f"chat {MODEL}"
    assert span.attributes[attr.GEN_AI_PROVIDER_NAME] == "ollama"
    assert span.attributes[attr.GEN_AI_OPERATION_NAME] == "chat"
    assert span.attributes[attr.GEN_AI_REQUEST_TEMPERATURE] == 0.2
    assert span.attributes[attr.GEN_AI_REQUEST_MAX_TOKENS] == 30
    assert span.attributes[attr.GEN_AI_USAGE_INPUT_TOKENS] == 9
    assert span.attributes[attr.GEN_AI_USAGE_OUTPUT_TOKENS] == 2
    assert span.attributes[attr.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert span.attributes[attr.SERVER_ADDRESS] == "127.0.0.1"
    assert json.loads(span.attributes[attr.GEN_AI_INPUT_MESSAGES]) == [
        {"role": "user", "parts": [{"type": "text", "content": QUESTION[0]["content"]}]}
    ]
    assert json.loads(span.attributes[attr.GEN_AI_OUTPUT_MESSAGES]) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "Paris."}],
            "finish_reason": "stop",
        }
    ]


def test_async_streamed_chat_reassembles_text_and_usage(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """An async NDJSON stream gives one span whose output and token counts are the whole reply."""
    llm.add_replies(Reply("The capital is Paris.", usage=Usage(input_tokens=7, output_tokens=5)))

    async def main() -> str:
        async with ollama_client(llm, use_async=True) as client:
            stream = await client.chat(model=MODEL, messages=QUESTION, stream=True)
            return "".join([part.message.content async for part in stream])

    assert asyncio.run(main()) == "The capital is Paris."
    span = only_llm_span(traced)
    assert span.attributes[attr.STREAM] is True
    assert span.attributes[attr.GEN_AI_USAGE_OUTPUT_TOKENS] == 5
    assert attr.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK in span.attributes
    output = json.loads(span.attributes[attr.GEN_AI_OUTPUT_MESSAGES])
    assert output[0]["parts"] == [{"type": "text", "content": "The capital is Paris."}]


def test_tool_calls_and_tool_results_are_parts(traced: SpanCapture, llm: FakeLLMServer) -> None:
    """A tool call in a reply and the tool result sent back are recorded as semconv parts."""
    llm.add_replies(Reply(tool_calls=[ToolCall("weather", {"city": "Paris"})]), "Sunny.")
    client = ollama_client(llm)
    first = client.chat(model=MODEL, messages=QUESTION, stream=True)
    calls = [call for part in first for call in (part.message.tool_calls or ())]
    assert calls[0].function.name == "weather"
    history: list[Any] = [
        *QUESTION,
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"function": {"name": "weather", "arguments": {"city": "Paris"}}}],
        },
        {"role": "tool", "content": "22C and sunny", "tool_name": "weather"},
    ]
    client.chat(model=MODEL, messages=history)
    streamed, second = llm_spans(traced)
    output = json.loads(streamed.attributes[attr.GEN_AI_OUTPUT_MESSAGES])
    assert output[0]["parts"] == [
        {"type": "tool_call", "id": None, "name": "weather", "arguments": {"city": "Paris"}}
    ]
    inputs = json.loads(second.attributes[attr.GEN_AI_INPUT_MESSAGES])
    assert inputs[2] == {
        "role": "tool",
        "parts": [{"type": "tool_call_response", "id": None, "response": "22C and sunny"}],
    }


def test_generate_and_embed_are_traced(traced: SpanCapture, llm: FakeLLMServer) -> None:
    """generate() is a text_completion span with its prompt; embed() an embeddings span."""
    llm.add_replies("Bonjour.")
    client = ollama_client(llm)
    assert client.generate(model=MODEL, prompt="Say hello in French", system="Be brief").response
    vectors = client.embed(model="nomic-embed-text", input=["a", "b"]).embeddings
    assert len(vectors) == 2
    generated, embedded = llm_spans(traced)
    assert generated.name == f"text_completion {MODEL}"
    assert json.loads(generated.attributes[attr.GEN_AI_SYSTEM_INSTRUCTIONS]) == [
        {"type": "text", "content": "Be brief"}
    ]
    assert embedded.name == "embeddings nomic-embed-text"
    assert embedded.attributes[attr.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] == 8
    assert attr.GEN_AI_INPUT_MESSAGES not in embedded.attributes


def test_abandoned_stream_ends_its_span_once(traced: SpanCapture, llm: FakeLLMServer) -> None:
    """A stream read partly and dropped ends its span when collected, marked abandoned."""
    llm.add_replies(Reply("one two three four five"))
    stream = ollama_client(llm).chat(model=MODEL, messages=QUESTION, stream=True)
    next(iter(stream))
    del stream
    gc.collect()
    span = only_llm_span(traced)
    assert span.attributes[attr.STREAM_ABANDONED] is True
    assert attr.USAGE_UNKNOWN in span.attributes  # cut before the final line's counts


def test_an_output_quoted_by_a_later_call_links_the_two(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """A reply pasted into the next chat's prompt links that call to the one that produced it."""
    produced = "The launch window opens on the fourteenth of March at dawn."
    llm.add_replies(Reply(produced), "Noted.")
    set_dataflow(enabled=True, inline=True)
    try:
        with spanflow.run("ollama-dataflow"):
            client = ollama_client(llm)
            client.chat(model=MODEL, messages=QUESTION)
            client.chat(
                model=MODEL, messages=[{"role": "user", "content": f"Summarise: {produced}"}]
            )
    finally:
        set_dataflow()
    first, second = llm_spans(traced)
    assert dataflow_links(second) == [(first.span_id, ("messages[0].content",), "message.content")]
