"""The fake server speaks OpenAI Chat Completions to the real openai client."""

from __future__ import annotations

import asyncio
import json

import openai
import pydantic

from spanflow.testing.fake_llm import FakeLLMServer, Reply, ToolCall, Usage

USER = [{"role": "user", "content": "What is the capital of France?"}]


def test_default_reply_echoes_the_last_user_message(openai_client: openai.OpenAI) -> None:
    """Without a script the reply is a deterministic echo of the user's message."""
    completion = openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert completion.choices[0].message.content == "Echo: What is the capital of France?"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "gpt-4o-mini"
    assert completion.usage is not None and completion.usage.completion_tokens > 0


def test_scripted_turns_are_answered_in_order(
    llm: FakeLLMServer, openai_client: openai.OpenAI
) -> None:
    """Canned turns come back one per request, then the default takes over."""
    llm.add_replies("Paris.", Reply(text="Lyon.", usage=Usage(input_tokens=11, output_tokens=3)))
    answers = [openai_client.chat.completions.create(model="m", messages=USER) for _ in range(3)]
    assert [a.choices[0].message.content for a in answers] == [
        "Paris.",
        "Lyon.",
        "Echo: What is the capital of France?",
    ]
    assert answers[1].usage is not None
    assert (answers[1].usage.prompt_tokens, answers[1].usage.completion_tokens) == (11, 3)


def test_tool_calls_are_returned_with_ids_and_json_arguments(
    llm: FakeLLMServer, openai_client: openai.OpenAI
) -> None:
    """A scripted tool call arrives as a function tool call with finish_reason tool_calls."""
    llm.add_replies(Reply(tool_calls=[ToolCall("lookup", {"city": "Paris"}, id="call_1")]))
    completion = openai_client.chat.completions.create(model="m", messages=USER)
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    (call,) = choice.message.tool_calls or []
    assert call.id == "call_1"
    assert call.function.name == "lookup"
    assert json.loads(call.function.arguments) == {"city": "Paris"}


def test_streamed_text_and_tool_call_deltas_reassemble(
    llm: FakeLLMServer, openai_client: openai.OpenAI
) -> None:
    """Streamed chunks join to the scripted text and tool call arguments, ending at [DONE]."""
    llm.add_replies(
        Reply(text="Let me check that.", tool_calls=[ToolCall("add", {"a": 2, "b": 40})])
    )
    stream = openai_client.chat.completions.create(model="m", messages=USER, stream=True)
    text, arguments, names, finish = "", "", [], None
    chunks = list(stream)
    for chunk in chunks:
        delta = chunk.choices[0].delta
        text += delta.content or ""
        for call in delta.tool_calls or []:
            names += [call.function.name] if call.function and call.function.name else []
            arguments += (call.function.arguments or "") if call.function else ""
        finish = chunk.choices[0].finish_reason or finish
    assert len(chunks) > 4
    assert text == "Let me check that."
    assert names == ["add"]
    assert json.loads(arguments) == {"a": 2, "b": 40}
    assert finish == "tool_calls"


def test_include_usage_adds_a_final_chunk_with_empty_choices(
    openai_client: openai.OpenAI,
) -> None:
    """stream_options.include_usage ends the stream with a usage-only chunk, as OpenAI does."""
    stream = openai_client.chat.completions.create(
        model="m", messages=USER, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0
    assert all(c.usage is None for c in chunks[:-1])


def test_stream_without_include_usage_has_no_usage_chunk(openai_client: openai.OpenAI) -> None:
    """Without include_usage every chunk has a choice and none carries usage."""
    chunks = list(openai_client.chat.completions.create(model="m", messages=USER, stream=True))
    assert all(len(c.choices) == 1 and c.usage is None for c in chunks)


class City(pydantic.BaseModel):
    name: str
    population: int
    tags: list[str]


def test_parse_returns_a_schema_valid_object_by_default(openai_client: openai.OpenAI) -> None:
    """chat.completions.parse with a pydantic model gets JSON that validates against it."""
    completion = openai_client.chat.completions.parse(
        model="m", messages=USER, response_format=City
    )
    parsed = completion.choices[0].message.parsed
    assert isinstance(parsed, City)


def test_parse_returns_scripted_json(llm: FakeLLMServer, openai_client: openai.OpenAI) -> None:
    """A scripted JSON reply is parsed into the user's model."""
    llm.add_replies(json.dumps({"name": "Paris", "population": 2100000, "tags": ["capital"]}))
    completion = openai_client.chat.completions.parse(
        model="m", messages=USER, response_format=City
    )
    assert completion.choices[0].message.parsed == City(
        name="Paris", population=2100000, tags=["capital"]
    )


def test_stream_helper_gives_the_final_completion_and_tool_calls(
    llm: FakeLLMServer, openai_client: openai.OpenAI
) -> None:
    """client.chat.completions.stream yields content deltas and a complete final message."""
    llm.add_replies(Reply(text="Sure.", tool_calls=[ToolCall("add", {"a": 1})]))
    tools = [
        {
            "type": "function",
            "function": {"name": "add", "parameters": {"type": "object", "properties": {}}},
        }
    ]
    with openai_client.chat.completions.stream(model="m", messages=USER, tools=tools) as stream:
        deltas = [e.delta for e in stream if e.type == "content.delta"]
        final = stream.get_final_completion()
    assert "".join(deltas) == "Sure."
    message = final.choices[0].message
    assert message.content == "Sure."
    assert message.tool_calls and message.tool_calls[0].function.name == "add"


def test_async_client_create_and_stream(llm: FakeLLMServer) -> None:
    """The async client gets the same replies, streamed and not."""
    llm.add_replies("one", "two")

    async def scenario() -> tuple[str | None, str]:
        async with openai.AsyncOpenAI(base_url=llm.openai_base_url, api_key="t") as client:
            first = await client.chat.completions.create(model="m", messages=USER)
            stream = await client.chat.completions.create(model="m", messages=USER, stream=True)
            text = "".join([c.choices[0].delta.content or "" async for c in stream])
            return first.choices[0].message.content, text

    assert asyncio.run(scenario()) == ("one", "two")


def test_embeddings_are_deterministic_per_text(openai_client: openai.OpenAI) -> None:
    """The same input text always gets the same vector; different texts differ."""
    first = openai_client.embeddings.create(model="e", input=["apple", "pear"])
    again = openai_client.embeddings.create(model="e", input="apple", encoding_format="float")
    assert [d.index for d in first.data] == [0, 1]
    assert first.data[0].embedding == again.data[0].embedding
    assert first.data[0].embedding != first.data[1].embedding
    dims = openai_client.embeddings.create(model="e", input="apple", dimensions=32)
    assert len(dims.data[0].embedding) == 32
