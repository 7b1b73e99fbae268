"""The fake server speaks the Anthropic Messages API to the real anthropic client."""

from __future__ import annotations

import asyncio

import anthropic
import pydantic

from spanflow.testing.fake_llm import FakeLLMServer, Reply, ToolCall, Usage

USER = [{"role": "user", "content": "Plan a trip"}]


def test_message_has_text_usage_and_stop_reason(anthropic_client: anthropic.Anthropic) -> None:
    """messages.create returns an assistant message with a text block and usage."""
    message = anthropic_client.messages.create(model="claude-x", max_tokens=64, messages=USER)
    assert message.content[0].type == "text"
    assert message.content[0].text == "Echo: Plan a trip"
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0


def test_tool_use_blocks_and_tool_results(
    llm: FakeLLMServer, anthropic_client: anthropic.Anthropic
) -> None:
    """A scripted tool call is a tool_use block; a tool_result sent back is seen as a tool turn."""
    llm.add_replies(
        Reply(text="Checking.", tool_calls=[ToolCall("weather", {"city": "Oslo"}, id="toolu_1")]),
        Reply(text="It is cold.", usage=Usage(input_tokens=40, output_tokens=4)),
    )
    first = anthropic_client.messages.create(model="c", max_tokens=64, messages=USER)
    assert first.stop_reason == "tool_use"
    text, tool_use = first.content
    assert text.type == "text" and tool_use.type == "tool_use"
    assert (tool_use.id, tool_use.name, tool_use.input) == ("toolu_1", "weather", {"city": "Oslo"})
    second = anthropic_client.messages.create(
        model="c",
        max_tokens=64,
        messages=[
            *USER,
            {"role": "assistant", "content": [b.model_dump() for b in first.content]},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "-3C"}],
            },
        ],
    )
    assert (second.usage.input_tokens, second.usage.output_tokens) == (40, 4)
    assert llm.last_request.messages[-1].role == "tool"
    assert llm.last_request.messages[-1].text == "-3C"


def test_stream_helper_text_stream_and_final_message(
    llm: FakeLLMServer, anthropic_client: anthropic.Anthropic
) -> None:
    """messages.stream yields text pieces and a final message including tool input."""
    llm.add_replies(Reply(text="Going now.", tool_calls=[ToolCall("book", {"seats": 2})]))
    with anthropic_client.messages.stream(model="c", max_tokens=64, messages=USER) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(pieces) == "Going now."
    assert final.stop_reason == "tool_use"
    assert final.content[1].type == "tool_use" and final.content[1].input == {"seats": 2}
    assert final.usage.output_tokens > 1


def test_raw_stream_event_order(anthropic_client: anthropic.Anthropic) -> None:
    """A raw stream runs message_start, block start/deltas/stop, message_delta, message_stop."""
    events = list(
        anthropic_client.messages.create(model="c", max_tokens=64, messages=USER, stream=True)
    )
    kinds = [e.type for e in events]
    assert kinds[:2] == ["message_start", "content_block_start"]
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert "content_block_delta" in kinds


def test_parse_with_output_format(anthropic_client: anthropic.Anthropic) -> None:
    """messages.parse gets JSON valid for the requested model by default."""

    class Itinerary(pydantic.BaseModel):
        destination: str
        days: int

    message = anthropic_client.messages.parse(
        model="c", max_tokens=64, messages=USER, output_format=Itinerary
    )
    assert isinstance(message.parsed_output, Itinerary)


def test_async_client_create_and_stream(llm: FakeLLMServer) -> None:
    """The async Anthropic client works for plain and streamed messages."""
    llm.add_replies("first", "second")

    async def scenario() -> tuple[str, str]:
        async with anthropic.AsyncAnthropic(base_url=llm.anthropic_base_url, api_key="t") as c:
            message = await c.messages.create(model="c", max_tokens=9, messages=USER)
            async with c.messages.stream(model="c", max_tokens=9, messages=USER) as stream:
                streamed = "".join([t async for t in stream.text_stream])
            block = message.content[0]
            return (block.text if block.type == "text" else ""), streamed

    assert asyncio.run(scenario()) == ("first", "second")
