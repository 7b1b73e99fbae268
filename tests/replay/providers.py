"""One small program per instrumented provider, run with its real client against the fake server.

Each provider answers ``ask``: one prompt, sync or async, plain or streamed, returning the
answer text. :func:`four_calls` chains four such calls the way an agent does, so that changing
the input of call 2 changes call 4's input too, but not call 3's.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import spanflow

# LiteLLM fetches its model price list from the internet unless told to use its bundled copy.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

SyncAsk = Callable[[str, str, bool], str]
AsyncAsk = Callable[[str, str, bool], Coroutine[Any, Any, str]]


@dataclass(frozen=True)
class Provider:
    """How to ask one provider's client a question (base URL of the fake server, prompt, stream)."""

    name: str
    ask: SyncAsk
    ask_async: AsyncAsk


def four_calls(provider: Provider, base: str, *, angle: str = "Answer", run: str) -> list[str]:
    """Plain, streamed, async plain and async streamed calls; 2 and 4 depend on ``angle``.

    Call 2 reads call 1's answer, call 3 reads call 1's answer, call 4 reads call 2's answer.
    """
    with spanflow.run(run):
        first = provider.ask(base, "Plan a trip to Oslo.", False)
        second = provider.ask(base, f"{angle}: {first}", True)

        async def later() -> tuple[str, str]:
            third = await provider.ask_async(base, f"Check: {first}", False)
            fourth = await provider.ask_async(base, f"Summarise: {second}", True)
            return third, fourth

        third, fourth = asyncio.run(later())
    return [first, second, third, fourth]


def _messages(prompt: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": prompt}]


# --- Ollama ----------------------------------------------------------------------------------


def _ollama(base: str, prompt: str, stream: bool) -> str:
    import ollama

    client = ollama.Client(host=base)
    try:
        if stream:
            parts = client.chat(model="llama3", messages=_messages(prompt), stream=True)
            return "".join(part["message"]["content"] for part in parts)
        return str(client.chat(model="llama3", messages=_messages(prompt))["message"]["content"])
    finally:
        client._client.close()


async def _ollama_async(base: str, prompt: str, stream: bool) -> str:
    import ollama

    client = ollama.AsyncClient(host=base)
    try:
        if stream:  # generate, so both Ollama APIs are covered
            parts = await client.generate(model="llama3", prompt=prompt, stream=True)
            return "".join([part["response"] async for part in parts])
        reply = await client.chat(model="llama3", messages=_messages(prompt))
        return str(reply["message"]["content"])
    finally:
        await client._client.aclose()


# --- Google Gen AI ---------------------------------------------------------------------------

GEMINI = "gemini-2.0-flash"


def _genai(base: str, prompt: str, stream: bool) -> str:
    from google import genai

    client = genai.Client(api_key="fake-gemini-key", http_options={"base_url": base})
    try:
        if stream:
            chunks = client.models.generate_content_stream(model=GEMINI, contents=prompt)
            return "".join(chunk.text or "" for chunk in chunks)
        return client.models.generate_content(model=GEMINI, contents=prompt).text or ""
    finally:
        client.close()


async def _genai_async(base: str, prompt: str, stream: bool) -> str:
    """Through ``client.aio`` with an httpx client (its default transport, aiohttp, is refused)."""
    import httpx
    from google import genai

    async with httpx.AsyncClient() as http:
        options = {"base_url": base, "httpx_async_client": http}
        client = genai.Client(api_key="fake-gemini-key", http_options=options)
        if stream:
            chunks = await client.aio.models.generate_content_stream(model=GEMINI, contents=prompt)
            return "".join([chunk.text or "" async for chunk in chunks])
        reply = await client.aio.models.generate_content(model=GEMINI, contents=prompt)
        return reply.text or ""


# --- Cohere ----------------------------------------------------------------------------------


def _cohere(base: str, prompt: str, stream: bool) -> str:
    import cohere

    client = cohere.ClientV2(api_key="fake-cohere-key", base_url=base)
    try:
        if stream:
            events = client.chat_stream(model="command-a", messages=_messages(prompt))
            return "".join(
                e.delta.message.content.text for e in events if e.type == "content-delta"
            )
        reply = client.chat(model="command-a", messages=_messages(prompt))
        return str(reply.message.content[0].text)
    finally:
        client._client_wrapper.httpx_client.httpx_client.close()


async def _cohere_async(base: str, prompt: str, stream: bool) -> str:
    import cohere

    async with cohere.AsyncClientV2(api_key="fake-cohere-key", base_url=base) as client:
        if stream:
            pieces = []
            async for e in client.chat_stream(model="command-a", messages=_messages(prompt)):
                if e.type == "content-delta":
                    pieces.append(e.delta.message.content.text)
            return "".join(pieces)
        reply = await client.chat(model="command-a", messages=_messages(prompt))
        return str(reply.message.content[0].text)


# --- Mistral ---------------------------------------------------------------------------------


def _mistral(base: str, prompt: str, stream: bool) -> str:
    from mistralai.client import Mistral

    with Mistral(api_key="fake-mistral-key", server_url=base) as client:
        if stream:
            with client.chat.stream(model="mistral-small", messages=_messages(prompt)) as events:
                return "".join(str(e.data.choices[0].delta.content or "") for e in events)
        reply = client.chat.complete(model="mistral-small", messages=_messages(prompt))
        return str(reply.choices[0].message.content)


async def _mistral_async(base: str, prompt: str, stream: bool) -> str:
    from mistralai.client import Mistral

    async with Mistral(api_key="fake-mistral-key", server_url=base) as client:
        if stream:
            events = await client.chat.stream_async(
                model="mistral-small", messages=_messages(prompt)
            )
            return "".join([str(e.data.choices[0].delta.content or "") async for e in events])
        reply = await client.chat.complete_async(model="mistral-small", messages=_messages(prompt))
        return str(reply.choices[0].message.content)


# --- Anthropic -------------------------------------------------------------------------------


def _anthropic(base: str, prompt: str, stream: bool) -> str:
    from anthropic import Anthropic

    with Anthropic(base_url=base, api_key="sk-ant-test-not-a-key", max_retries=0) as client:
        if stream:
            with client.messages.stream(
                model="claude-x", max_tokens=50, messages=_messages(prompt)
            ) as events:
                return "".join(events.text_stream)
        reply = client.messages.create(model="claude-x", max_tokens=50, messages=_messages(prompt))
        return "".join(block.text for block in reply.content if block.type == "text")


async def _anthropic_async(base: str, prompt: str, stream: bool) -> str:
    from anthropic import AsyncAnthropic

    async with AsyncAnthropic(base_url=base, api_key="sk-ant-test-x", max_retries=0) as client:
        if stream:
            events = await client.messages.create(
                model="claude-x", max_tokens=50, messages=_messages(prompt), stream=True
            )
            return "".join([e.delta.text async for e in events if e.type == "content_block_delta"])
        reply = await client.messages.create(
            model="claude-x", max_tokens=50, messages=_messages(prompt)
        )
        return "".join(block.text for block in reply.content if block.type == "text")


# --- LiteLLM: sync calls on an Anthropic model (LiteLLM's own HTTP code), async calls on an
# OpenAI model (through the openai client) ------------------------------------------------------


def _litellm(base: str, prompt: str, stream: bool) -> str:
    import litellm

    reply = litellm.completion(
        model="anthropic/claude-3-5-haiku-latest",
        messages=_messages(prompt),
        api_base=base,
        api_key="sk-ant-test-000000000000000",
        max_tokens=64,
        stream=stream,
    )
    if stream:
        return "".join(chunk.choices[0].delta.content or "" for chunk in reply)
    return str(reply.choices[0].message.content)


async def _litellm_async(base: str, prompt: str, stream: bool) -> str:
    import litellm

    reply = await litellm.acompletion(
        model="openai/gpt-4o-mini",
        messages=_messages(prompt),
        api_base=f"{base}/v1",
        api_key="sk-test-0000000000000000",
        stream=stream,
    )
    if stream:
        return "".join([chunk.choices[0].delta.content or "" async for chunk in reply])
    return str(reply.choices[0].message.content)


PROVIDERS = (
    Provider("ollama", _ollama, _ollama_async),
    Provider("google-genai", _genai, _genai_async),
    Provider("cohere", _cohere, _cohere_async),
    Provider("mistral", _mistral, _mistral_async),
    Provider("anthropic", _anthropic, _anthropic_async),
    Provider("litellm", _litellm, _litellm_async),
)
