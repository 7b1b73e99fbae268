"""The ``cohere`` v2 client against the fake server: chat, typed streams, tools, embed."""

from __future__ import annotations

import asyncio
import json

import spanflow
from spanflow import attributes as attr
from spanflow.dataflow import set_dataflow
from spanflow.testing import FakeLLMServer, SpanCapture
from spanflow.testing.fake_llm import Reply, ToolCall, Usage
from tests.instrumentation.helpers import cohere_client, dataflow_links, llm_spans, only_llm_span

MODEL = "command-a-03-2025"
QUESTION = [{"role": "user", "content": "Capital of France?"}]


def test_chat_gives_one_span_with_semconv_attributes(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """chat is one span with provider cohere, parameters, usage and the messages."""
    llm.add_replies(Reply("Paris.", usage=Usage(input_tokens=5, output_tokens=2)))
    reply = cohere_client(llm).chat(model=MODEL, messages=QUESTION, temperature=0.2, p=0.9)
    assert reply.message.content[0].text == "Paris."
    span = only_llm_span(traced)
    assert span.name == f"chat {MODEL}"
    assert span.attributes[attr.GEN_AI_PROVIDER_NAME] == "cohere"
    assert span.attributes[attr.GEN_AI_REQUEST_TOP_P] == 0.9
    assert span.attributes[attr.GEN_AI_USAGE_INPUT_TOKENS] == 5
    assert span.attributes[attr.GEN_AI_USAGE_OUTPUT_TOKENS] == 2
    assert span.attributes[attr.GEN_AI_RESPONSE_FINISH_REASONS] == ("complete",)
    assert json.loads(span.attributes[attr.GEN_AI_OUTPUT_MESSAGES]) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "Paris."}],
            "finish_reason": "complete",
        }
    ]


def test_streamed_tool_call_is_reassembled_sync_and_async(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """chat_stream (a generator, sync or async) gives one span with the reassembled tool call."""
    call = ToolCall("weather", {"city": "Paris"}, id="call_c1")
    llm.add_replies(Reply(tool_calls=[call]), Reply("It is sunny today."))
    kinds = [event.type for event in cohere_client(llm).chat_stream(model=MODEL, messages=QUESTION)]
    assert "tool-call-start" in kinds

    async def main() -> str:
        async with cohere_client(llm, use_async=True) as client:
            pieces = []
            async for event in client.chat_stream(model=MODEL, messages=QUESTION):
                if event.type == "content-delta":
                    pieces.append(event.delta.message.content.text)
            return "".join(pieces)

    assert asyncio.run(main()) == "It is sunny today."
    tools, text = llm_spans(traced)
    assert json.loads(tools.attributes[attr.GEN_AI_OUTPUT_MESSAGES])[0]["parts"] == [
        {"type": "tool_call", "id": "call_c1", "name": "weather", "arguments": {"city": "Paris"}}
    ]
    assert tools.attributes[attr.GEN_AI_USAGE_OUTPUT_TOKENS] > 0
    assert json.loads(text.attributes[attr.GEN_AI_OUTPUT_MESSAGES])[0]["parts"] == [
        {"type": "text", "content": "It is sunny today."}
    ]


def test_tool_results_and_embeddings(traced: SpanCapture, llm: FakeLLMServer) -> None:
    """A tool message is a tool_call_response part; embed is an embeddings span."""
    client = cohere_client(llm)
    history = [
        *QUESTION,
        {
            "role": "assistant",
            "tool_plan": "Look it up.",
            "tool_calls": [
                {
                    "id": "call_c1",
                    "type": "function",
                    "function": {"name": "weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_c1", "content": "22C"},
    ]
    client.chat(model=MODEL, messages=history)
    client.embed(
        model="embed-v4.0", texts=["a"], input_type="search_document", embedding_types=["float"]
    )
    chat, embed = llm_spans(traced)
    inputs = json.loads(chat.attributes[attr.GEN_AI_INPUT_MESSAGES])
    assert inputs[2] == {
        "role": "tool",
        "parts": [{"type": "tool_call_response", "id": "call_c1", "response": "22C"}],
    }
    assert embed.attributes[attr.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] == 8


def test_a_reply_quoted_later_links_the_calls(traced: SpanCapture, llm: FakeLLMServer) -> None:
    """A reply pasted into a later prompt links that call to the call that produced it."""
    produced = "The ferry to the island leaves from pier seven at half past six."
    llm.add_replies(Reply(produced), "Noted.")
    set_dataflow(enabled=True, inline=True)
    try:
        with spanflow.run("cohere-dataflow"):
            client = cohere_client(llm)
            client.chat(model=MODEL, messages=QUESTION)
            client.chat(model=MODEL, messages=[{"role": "user", "content": f"Check: {produced}"}])
    finally:
        set_dataflow()
    first, second = llm_spans(traced)
    assert dataflow_links(second) == [
        (first.span_id, ("messages[0].content",), "message.content[0].text")
    ]
