"""Fixtures: real clients pointed at the fake LLM server (``llm``, tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import openai
import pytest

from spanflow.testing.fake_llm import FakeLLMServer


@pytest.fixture
def openai_client(llm: FakeLLMServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=llm.openai_base_url, api_key="test", max_retries=0) as client:
        yield client


@pytest.fixture
def anthropic_client(llm: FakeLLMServer) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(
        base_url=llm.anthropic_base_url, api_key="test", max_retries=0
    ) as client:
        yield client
