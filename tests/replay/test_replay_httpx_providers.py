"""Providers on plain ``httpx`` (Ollama, Mistral) replay from the index too."""

from __future__ import annotations

import asyncio
from pathlib import Path

import spanflow
from spanflow import attributes
from spanflow.testing.fake_llm import FakeLLMServer, Reply


def _run_id(index: Path, name: str) -> str:
    spanflow.force_flush()
    with spanflow.Client(index) as client:
        return next(run.id for run in client.list_runs().runs if run.name == name)


def test_ollama_and_mistral_chats_replay_offline(index: Path) -> None:
    """Ollama and Mistral chats replay identically with no server."""
    import ollama
    from mistralai.client import Mistral

    def calls(base: str) -> tuple[str, str]:
        with spanflow.run("httpx-providers"):
            client = ollama.Client(host=base)
            answer = client.chat(model="llama3", messages=[{"role": "user", "content": "hi"}])
            ollama_text = answer["message"]["content"]
            client._client.close()
            with Mistral(api_key="fake-mistral-key", server_url=base) as mistral:
                reply = mistral.chat.complete(
                    model="mistral-small", messages=[{"role": "user", "content": "hey"}]
                )
            return ollama_text, str(reply.choices[0].message.content)

    with FakeLLMServer([Reply(text="one two three"), Reply(text="bonjour")]) as llm:
        recorded = calls(llm.url)
    run_id = _run_id(index, "httpx-providers")

    with spanflow.replay(run_id, miss="error") as session:
        replayed = calls("http://127.0.0.1:9")

    assert recorded == ("one two three", "bonjour")
    assert replayed == recorded
    assert session.summary().served == 2


def test_streamed_ollama_chat_and_generate_are_recorded_and_served_offline(index: Path) -> None:
    """Ollama streams (chat and generate, sync and async) keep a recording and replay from it."""
    import ollama

    def streams(base: str, run: str) -> list[str]:
        async def async_streams(client: ollama.AsyncClient) -> list[str]:
            chat = await client.chat(
                model="llama3", messages=[{"role": "user", "content": "c"}], stream=True
            )
            generate = await client.generate(model="llama3", prompt="g", stream=True)
            texts = ["".join([part["message"]["content"] async for part in chat])]
            texts.append("".join([part["response"] async for part in generate]))
            await client._client.aclose()
            return texts

        with spanflow.run(run):
            client = ollama.Client(host=base)
            chat = client.chat(
                model="llama3", messages=[{"role": "user", "content": "a"}], stream=True
            )
            texts = ["".join(part["message"]["content"] for part in chat)]
            texts.append(
                "".join(
                    p["response"] for p in client.generate(model="llama3", prompt="b", stream=True)
                )
            )
            client._client.close()
            return texts + asyncio.run(async_streams(ollama.AsyncClient(host=base)))

    with FakeLLMServer(default=lambda request: Reply(text=f"to {request.last_user_text}")) as llm:
        recorded = streams(llm.url, "ollama-streams")
    run_id = _run_id(index, "ollama-streams")
    with spanflow.Client(index) as client:
        spans = [s for s in client.spans(run_id) if s.attributes.get(attributes.SPAN_KIND) == "llm"]

    with spanflow.replay(run_id, miss="error") as session:
        replayed = streams("http://127.0.0.1:9", "ollama-streams-again")

    assert recorded == ["to a", "to b", "to c", "to g"]
    assert len(spans) == 4
    assert all(attributes.REPLAY_EXCHANGE in span.attributes for span in spans)
    assert all(span.attributes[attributes.STREAM] is True for span in spans)
    assert replayed == recorded
    assert session.summary().served == 4
