"""The fake server speaks the OpenAI Responses API, including chaining and streaming."""

from __future__ import annotations

import asyncio
import json

import openai
import pydantic
import pytest

from spanflow.testing.fake_llm import FakeLLMServer, Reply, ToolCall


def test_response_has_output_text_usage_and_a_stored_id(openai_client: openai.OpenAI) -> None:
    """responses.create returns a completed response whose output_text is the reply."""
    response = openai_client.responses.create(model="gpt-4.1", input="Hello there")
    assert response.status == "completed"
    assert response.output_text == "Echo: Hello there"
    assert response.usage is not None and response.usage.total_tokens > 0
    assert openai_client.responses.retrieve(response.id).output_text == "Echo: Hello there"


def test_function_call_items_carry_call_ids(
    llm: FakeLLMServer, openai_client: openai.OpenAI
) -> None:
    """A scripted tool call becomes a function_call output item with name, call_id, arguments."""
    llm.add_replies(Reply(tool_calls=[ToolCall("search", {"q": "otters"}, id="call_9")]))
    response = openai_client.responses.create(model="m", input="find otters")
    (item,) = response.output
    assert item.type == "function_call"
    assert (item.name, item.call_id) == ("search", "call_9")
    assert json.loads(item.arguments) == {"q": "otters"}


def test_previous_response_id_continues_the_conversation(
    llm: FakeLLMServer, openai_client: openai.OpenAI
) -> None:
    """A chained request sees the earlier turns, and the response records its predecessor."""
    first = openai_client.responses.create(
        model="m", input="My name is Ada.", instructions="Be kind"
    )
    second = openai_client.responses.create(
        model="m", input="What is my name?", previous_response_id=first.id
    )
    assert second.previous_response_id == first.id
    assert [(m.role, m.text) for m in llm.last_request.messages] == [
        ("system", "Be kind"),
        ("user", "My name is Ada."),
        ("assistant", "Echo: My name is Ada."),
        ("user", "What is my name?"),
    ]


def test_unknown_previous_response_id_is_a_400(openai_client: openai.OpenAI) -> None:
    """Chaining onto a response the server never produced fails like the real API."""
    with pytest.raises(openai.BadRequestError, match="not found"):
        openai_client.responses.create(model="m", input="x", previous_response_id="resp_nope")


def test_deleted_response_cannot_be_retrieved(openai_client: openai.OpenAI) -> None:
    """responses.delete forgets a stored response."""
    response = openai_client.responses.create(model="m", input="x")
    openai_client.responses.delete(response.id)
    with pytest.raises(openai.NotFoundError):
        openai_client.responses.retrieve(response.id)


def test_stream_events_run_from_created_to_completed(
    llm: FakeLLMServer, openai_client: openai.OpenAI
) -> None:
    """A streamed response emits created, text deltas and completed with the full response."""
    llm.add_replies(Reply(text="Two words", tool_calls=[ToolCall("f", {"x": 1})]))
    events = list(openai_client.responses.create(model="m", input="hi", stream=True))
    kinds = [e.type for e in events]
    assert kinds[0] == "response.created"
    assert kinds[-1] == "response.completed"
    assert "response.function_call_arguments.delta" in kinds
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == "Two words"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    final = events[-1].response
    assert [o.type for o in final.output] == ["message", "function_call"]


def test_stream_helper_and_parse(llm: FakeLLMServer, openai_client: openai.OpenAI) -> None:
    """responses.stream gives a final response; responses.parse fills the user's model."""

    class Answer(pydantic.BaseModel):
        city: str
        confidence: float

    with openai_client.responses.stream(model="m", input="streamed") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == final.output_text == "Echo: streamed"
    llm.add_replies('{"city": "Paris", "confidence": 0.9}')
    parsed = openai_client.responses.parse(model="m", input="where?", text_format=Answer)
    assert parsed.output_parsed == Answer(city="Paris", confidence=0.9)


def test_async_responses_stream(llm: FakeLLMServer) -> None:
    """The async client streams Responses API events too."""

    async def scenario() -> str:
        async with openai.AsyncOpenAI(base_url=llm.openai_base_url, api_key="t") as client:
            stream = await client.responses.create(model="m", input="async", stream=True)
            return "".join(
                [e.delta async for e in stream if e.type == "response.output_text.delta"]
            )

    assert asyncio.run(scenario()) == "Echo: async"
