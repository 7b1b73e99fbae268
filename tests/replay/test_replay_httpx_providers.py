"""Providers on plain ``httpx`` (Ollama, Mistral) replay from the index too."""

from __future__ import annotations

from pathlib import Path

import spanflow
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
