"""Injected faults reach the real clients as the errors users must handle."""

from __future__ import annotations

import asyncio
import json

import anthropic
import httpx2
import openai
import pytest

from spanflow.testing.fake_llm import (
    Disconnect,
    FakeLLMServer,
    MalformedStream,
    RateLimited,
    ServerError,
)

USER = [{"role": "user", "content": "hi"}]


def test_rate_limit_is_a_429_with_retry_after(
    llm: FakeLLMServer, openai_client: openai.OpenAI
) -> None:
    """RateLimited answers 429 with Retry-After, raised as openai.RateLimitError."""
    llm.add_replies(RateLimited(retry_after_s=2))
    with pytest.raises(openai.RateLimitError) as caught:
        openai_client.chat.completions.create(model="m", messages=USER)
    assert caught.value.status_code == 429
    assert caught.value.response.headers["retry-after"] == "2"


def test_client_retries_through_a_rate_limit(llm: FakeLLMServer) -> None:
    """With retries on, the client waits Retry-After and then gets the next turn."""
    llm.add_replies(RateLimited(retry_after_s=0.01), "after the wait")
    with openai.OpenAI(base_url=llm.openai_base_url, api_key="t", max_retries=1) as client:
        completion = client.chat.completions.create(model="m", messages=USER)
    assert completion.choices[0].message.content == "after the wait"
    assert len(llm.requests) == 2


def test_server_error_status_and_body(
    llm: FakeLLMServer, anthropic_client: anthropic.Anthropic
) -> None:
    """ServerError answers its status with an Anthropic-shaped error body."""
    llm.add_replies(ServerError(status=503, message="overloaded for the test"))
    with pytest.raises(anthropic.APIStatusError) as caught:
        anthropic_client.messages.create(model="c", max_tokens=5, messages=USER)
    assert caught.value.status_code == 503
    assert caught.value.body == {
        "type": "error",
        "error": {"type": "api_error", "message": "overloaded for the test"},
    }


def test_anthropic_rate_limit(llm: FakeLLMServer, anthropic_client: anthropic.Anthropic) -> None:
    """Anthropic clients see RateLimitError for the 429 fault."""
    llm.add_replies(RateLimited())
    with pytest.raises(anthropic.RateLimitError):
        anthropic_client.messages.create(model="c", max_tokens=5, messages=USER)


def test_malformed_stream_breaks_after_valid_chunks(
    llm: FakeLLMServer, openai_client: openai.OpenAI
) -> None:
    """A malformed stream yields its valid chunks first, then fails to decode."""
    llm.add_replies(MalformedStream(after_events=2))
    received = []
    stream = openai_client.chat.completions.create(model="m", messages=USER, stream=True)
    with pytest.raises(json.JSONDecodeError):
        for chunk in stream:
            received.append(chunk)
    assert len(received) == 2


def test_malformed_anthropic_stream(
    llm: FakeLLMServer, anthropic_client: anthropic.Anthropic
) -> None:
    """The Anthropic stream helper fails on the undecodable event."""
    llm.add_replies(MalformedStream(after_events=3))
    with (
        pytest.raises(ValueError),
        anthropic_client.messages.stream(model="c", max_tokens=5, messages=USER) as stream,
    ):
        stream.get_final_message()


def test_disconnect_mid_stream(llm: FakeLLMServer, openai_client: openai.OpenAI) -> None:
    """Dropping the connection mid-stream surfaces as a connection error after some chunks."""
    llm.add_replies(Disconnect(after_events=3))
    received = []
    stream = openai_client.chat.completions.create(model="m", messages=USER, stream=True)
    with pytest.raises((openai.APIConnectionError, httpx2.TransportError)):
        for chunk in stream:
            received.append(chunk)
    assert len(received) == 3


def test_disconnect_without_stream(llm: FakeLLMServer, openai_client: openai.OpenAI) -> None:
    """A non-streamed request whose connection drops raises APIConnectionError."""
    llm.add_replies(Disconnect())
    with pytest.raises(openai.APIConnectionError):
        openai_client.chat.completions.create(model="m", messages=USER)
    # The server keeps serving afterwards.
    after = openai_client.chat.completions.create(model="m", messages=USER)
    assert after.choices[0].message.content == "Echo: hi"


def test_async_disconnect_and_rate_limit(llm: FakeLLMServer) -> None:
    """Async clients see the same faults: a rate limit, then a dropped Responses stream."""
    llm.add_replies(RateLimited(), Disconnect(after_events=2))

    async def scenario() -> list[str]:
        seen: list[str] = []
        async with openai.AsyncOpenAI(
            base_url=llm.openai_base_url, api_key="t", max_retries=0
        ) as client:
            with pytest.raises(openai.RateLimitError):
                await client.responses.create(model="m", input="x")
            stream = await client.responses.create(model="m", input="x", stream=True)
            with pytest.raises((openai.APIConnectionError, httpx2.TransportError)):
                async for event in stream:
                    seen.append(event.type)
        return seen

    assert asyncio.run(scenario()) == ["response.created", "response.in_progress"]


def test_responder_exception_is_a_500_naming_it() -> None:
    """A responder that raises answers 500 with the exception in the message."""

    def broken(request: object) -> str:
        raise RuntimeError("bug in my responder")

    with (
        FakeLLMServer(broken) as llm,
        openai.OpenAI(base_url=llm.openai_base_url, api_key="t", max_retries=0) as client,
        pytest.raises(openai.InternalServerError, match="bug in my responder"),
    ):
        client.chat.completions.create(model="m", messages=USER)
