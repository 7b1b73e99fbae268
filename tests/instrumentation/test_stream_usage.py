"""Streamed token usage: unknown (not zero) without it, and the opt-in that asks for it."""

from __future__ import annotations

import pytest

import spanflow
from spanflow import attributes as attr
from spanflow._internal import settings
from spanflow.testing import FakeLLMServer, SpanCapture
from tests.instrumentation.helpers import only_llm_span, openai_client

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}], "stream": True}


def test_a_stream_without_usage_says_tokens_are_unknown(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """An OpenAI stream sent without stream_options has no token counts, and says so."""
    chunks = list(openai_client(llm).chat.completions.create(**CHAT))
    assert all(chunk.choices for chunk in chunks)  # the user's stream is untouched
    span = only_llm_span(traced)
    assert span.attributes[attr.USAGE_UNKNOWN] is True
    assert attr.GEN_AI_USAGE_INPUT_TOKENS not in span.attributes
    assert "stream_options" not in llm.last_request.body


def test_the_stream_usage_opt_in_asks_for_usage(
    traced: SpanCapture, llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With SPANFLOW_STREAM_USAGE=true the request asks for usage and the span counts tokens."""
    spanflow.uninstrument("openai")
    monkeypatch.setenv("SPANFLOW_STREAM_USAGE", "true")
    monkeypatch.setattr(settings, "_current", settings.resolve())  # as configure() reads it
    spanflow.instrument("openai")
    chunks = list(openai_client(llm).chat.completions.create(**CHAT))
    assert llm.last_request.body["stream_options"] == {"include_usage": True}
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    span = only_llm_span(traced)
    assert span.attributes[attr.GEN_AI_USAGE_INPUT_TOKENS] > 0
    assert attr.USAGE_UNKNOWN not in span.attributes


def test_the_opt_in_leaves_explicit_stream_options_alone(
    traced: SpanCapture, llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request that sets stream_options itself is sent as the user wrote it."""
    spanflow.uninstrument("openai")
    monkeypatch.setenv("SPANFLOW_STREAM_USAGE", "true")
    monkeypatch.setattr(settings, "_current", settings.resolve())
    spanflow.instrument("openai")
    list(
        openai_client(llm).chat.completions.create(**CHAT, stream_options={"include_usage": False})
    )
    assert llm.last_request.body["stream_options"] == {"include_usage": False}
