"""The ``google-genai`` SDK against the fake server's Gemini API: one span per HTTP call."""

from __future__ import annotations

import asyncio
import gc
import json

import pytest

import spanflow
from spanflow import attributes as attr
from spanflow.dataflow import set_dataflow
from spanflow.testing import FakeLLMServer, SpanCapture
from spanflow.testing.fake_llm import Reply, ToolCall, Usage
from tests.instrumentation.helpers import dataflow_links, genai_client, llm_spans, only_llm_span

MODEL = "gemini-2.0-flash"
# google-genai's async client subclasses aiohttp's ClientSession, which aiohttp warns about.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Inheritance class AiohttpClientSession:DeprecationWarning"
)


def test_generate_content_gives_one_span_with_semconv_attributes(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """generate_content is one CLIENT span with provider gcp.gemini, parameters, usage, messages."""
    llm.add_replies(Reply("Paris.", usage=Usage(input_tokens=6, output_tokens=2)))
    reply = genai_client(llm).models.generate_content(
        model=MODEL,
        contents="Capital of France?",
        config={"system_instruction": "Be brief", "temperature": 0.3, "max_output_tokens": 20},
    )
    assert reply.text == "Paris."
    span = only_llm_span(traced)
    assert span.name == f"chat {MODEL}"
    assert span.attributes[attr.GEN_AI_PROVIDER_NAME] == "gcp.gemini"
    assert span.attributes[attr.GEN_AI_REQUEST_TEMPERATURE] == 0.3
    assert span.attributes[attr.GEN_AI_REQUEST_MAX_TOKENS] == 20
    assert span.attributes[attr.GEN_AI_USAGE_INPUT_TOKENS] == 6
    assert span.attributes[attr.GEN_AI_USAGE_OUTPUT_TOKENS] == 2
    assert span.attributes[attr.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert span.attributes[attr.SERVER_ADDRESS] == "127.0.0.1"
    assert json.loads(span.attributes[attr.GEN_AI_SYSTEM_INSTRUCTIONS]) == [
        {"type": "text", "content": "Be brief"}
    ]
    assert json.loads(span.attributes[attr.GEN_AI_INPUT_MESSAGES]) == [
        {"role": "user", "parts": [{"type": "text", "content": "Capital of France?"}]}
    ]
    assert json.loads(span.attributes[attr.GEN_AI_OUTPUT_MESSAGES]) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "Paris."}],
            "finish_reason": "stop",
        }
    ]


def test_streams_sync_and_async_reassemble_the_reply(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """generate_content_stream, sync and through client.aio, each give one span with the text."""
    llm.add_replies(Reply("one two three"), Reply("four five six"))
    client = genai_client(llm)
    texts = [
        chunk.text for chunk in client.models.generate_content_stream(model=MODEL, contents="Go")
    ]

    async def main() -> list[str | None]:
        try:
            stream = await client.aio.models.generate_content_stream(model=MODEL, contents="Go on")
            return [chunk.text async for chunk in stream]
        finally:
            await client.aio.aclose()

    assert "".join(texts) == "one two three"
    assert "".join(t or "" for t in asyncio.run(main())) == "four five six"
    spans = llm_spans(traced)
    assert [s.attributes[attr.STREAM] for s in spans] == [True, True]
    outputs = [json.loads(s.attributes[attr.GEN_AI_OUTPUT_MESSAGES])[0]["parts"] for s in spans]
    assert outputs == [
        [{"type": "text", "content": "one two three"}],
        [{"type": "text", "content": "four five six"}],
    ]
    assert all(attr.GEN_AI_USAGE_OUTPUT_TOKENS in s.attributes for s in spans)


def test_automatic_function_calling_gives_one_span_per_model_call(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """A Python tool the SDK calls itself makes two HTTP calls, hence two spans with the parts."""

    def weather(city: str) -> str:
        """Current weather of a city."""
        return f"22C and sunny in {city}"

    llm.add_replies(Reply(tool_calls=[ToolCall("weather", {"city": "Paris"})]), "It is sunny.")
    reply = genai_client(llm).models.generate_content(
        model=MODEL, contents="Weather in Paris?", config={"tools": [weather]}
    )
    assert reply.text == "It is sunny."
    assert len(llm.requests) == 2
    first, second = llm_spans(traced)
    call = json.loads(first.attributes[attr.GEN_AI_OUTPUT_MESSAGES])[0]["parts"][0]
    assert call == {
        "type": "tool_call",
        "id": None,
        "name": "weather",
        "arguments": {"city": "Paris"},
    }
    definitions = json.loads(first.attributes[attr.GEN_AI_TOOL_DEFINITIONS])
    assert definitions[0]["name"] == "weather"
    history = json.loads(second.attributes[attr.GEN_AI_INPUT_MESSAGES])
    assert history[-1]["role"] == "tool"
    assert history[-1]["parts"][0]["response"] == {"result": "22C and sunny in Paris"}


def test_embed_content_is_an_embeddings_span(traced: SpanCapture, llm: FakeLLMServer) -> None:
    """embed_content gives an embeddings span with the vector size."""
    result = genai_client(llm).models.embed_content(model="text-embedding-004", contents=["a", "b"])
    assert result.embeddings is not None and len(result.embeddings) == 2
    span = only_llm_span(traced)
    assert span.name == "embeddings text-embedding-004"
    assert span.attributes[attr.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] == 8


def test_a_chat_reply_quoted_later_links_the_calls(traced: SpanCapture, llm: FakeLLMServer) -> None:
    """Chat turns are spans; a reply quoted in a later prompt links to the call that made it."""
    produced = "The observatory dome opens at nine fifteen every clear evening."
    llm.add_replies(Reply(produced), "Noted.")
    set_dataflow(enabled=True, inline=True)
    try:
        with spanflow.run("gemini-dataflow"):
            client = genai_client(llm)
            client.chats.create(model=MODEL).send_message("When does it open?")
            client.models.generate_content(model=MODEL, contents=f"Rephrase: {produced}")
    finally:
        set_dataflow()
    first, second = llm_spans(traced)
    assert dataflow_links(second) == [
        (first.span_id, ("contents[0].parts[0].text",), "candidates[0].content.parts[0].text")
    ]


def _without_ended_span_noise(caplog: pytest.LogCaptureFixture) -> bool:
    return not [r for r in caplog.records if "ended span" in r.getMessage()]


def test_closing_an_aio_stream_ends_its_span_once_with_what_arrived(
    traced: SpanCapture, llm: FakeLLMServer, caplog: pytest.LogCaptureFixture
) -> None:
    """aclose() on a client.aio stream ends its span then, not abandoned, with the chunk read."""
    llm.add_replies(Reply("one two three four five six seven eight"))
    client = genai_client(llm)

    async def read_one_then_close() -> tuple[str | None, int]:
        try:
            stream = await client.aio.models.generate_content_stream(model=MODEL, contents="Go")
            first = await stream.__anext__()
            await stream.aclose()
            await stream.aclose()
            return first.text, len(llm_spans(traced))
        finally:
            await client.aio.aclose()

    first_text, spans_when_closed = asyncio.run(read_one_then_close())
    gc.collect()
    assert spans_when_closed == 1
    span = only_llm_span(traced)
    assert attr.STREAM_ABANDONED not in span.attributes
    assert span.status == "UNSET"
    assert json.loads(span.attributes[attr.GEN_AI_OUTPUT_MESSAGES])[0]["parts"] == [
        {"type": "text", "content": first_text}
    ]
    assert _without_ended_span_noise(caplog)


def test_closing_a_chat_stream_ends_its_span_once_with_what_arrived(
    traced: SpanCapture, llm: FakeLLMServer, caplog: pytest.LogCaptureFixture
) -> None:
    """close() on a chat turn's stream ends its span then, not abandoned, with the chunk read."""
    llm.add_replies(Reply("one two three four five six seven eight"))
    stream = genai_client(llm).chats.create(model=MODEL).send_message_stream("Go")
    first = next(stream)
    stream.close()
    span = only_llm_span(traced)
    del stream
    gc.collect()
    assert only_llm_span(traced) == span
    assert attr.STREAM_ABANDONED not in span.attributes
    assert json.loads(span.attributes[attr.GEN_AI_OUTPUT_MESSAGES])[0]["parts"] == [
        {"type": "text", "content": first.text}
    ]
    assert _without_ended_span_noise(caplog)
