"""Failures inside replay recording never change what the LLM client returns."""

from __future__ import annotations

from pathlib import Path

import pytest

import spanflow
from spanflow import attributes
from spanflow.replaying import _recorder
from spanflow.testing.fake_llm import FakeLLMServer, Reply
from tests.replay.agents import MODEL


def test_a_failing_recorder_leaves_the_call_and_its_span_intact(
    index: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """When packing a recording fails the call still answers and the span is marked."""
    from openai import OpenAI

    def broken_pack(recording: object) -> str:
        raise RuntimeError("packing failed")

    monkeypatch.setattr(_recorder, "pack", broken_pack)
    with (
        FakeLLMServer([Reply(text="still here")]) as llm,
        spanflow.run("faulty") as run,
        OpenAI(base_url=llm.openai_base_url, api_key="k", max_retries=0) as client,
    ):
        reply = client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "hi"}]
        )

    assert reply.choices[0].message.content == "still here"
    spanflow.force_flush()
    with spanflow.Client(index) as client_:
        (span,) = [
            s for s in client_.spans(run.id) if s.attributes.get(attributes.SPAN_KIND) == "llm"
        ]
    assert attributes.REPLAY_EXCHANGE not in span.attributes
    assert "recording a response" in str(span.attributes.get(attributes.INTERNAL_ERROR))
