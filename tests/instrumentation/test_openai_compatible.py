"""OpenAI clients of Azure and of OpenAI-compatible servers name their provider on the span."""

from __future__ import annotations

import pytest

from spanflow import attributes as attr
from spanflow.instrumentation.openai._compatible import provider_of
from spanflow.testing import FakeLLMServer, SpanCapture
from tests.instrumentation.helpers import close_clients, only_llm_span

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}


def test_an_azure_client_is_azure_ai_openai(traced: SpanCapture, llm: FakeLLMServer) -> None:
    """AzureOpenAI's deployment calls are traced as azure.ai.openai chat spans."""
    import openai

    client = openai.AzureOpenAI(
        azure_endpoint=llm.url, api_version="2024-10-21", api_key="fake-azure-key"
    )
    try:
        reply = client.chat.completions.create(**CHAT)
    finally:
        client.close()
    assert reply.choices[0].message.content
    assert llm.last_request.path.startswith("/openai/deployments/gpt-4o-mini/chat/completions")
    span = only_llm_span(traced)
    assert span.attributes[attr.GEN_AI_PROVIDER_NAME] == "azure.ai.openai"
    assert span.name == "chat gpt-4o-mini"


@pytest.mark.parametrize(
    ("base_url", "provider"),
    [
        ("https://api.openai.com/v1", None),
        ("https://api.groq.com/openai/v1", "groq"),
        ("https://api.together.xyz/v1", "together_ai"),
        ("https://api.deepseek.com", "deepseek"),
        ("https://api.mistral.ai/v1", "mistral_ai"),
        ("https://generativelanguage.googleapis.com/v1beta/openai/", "gcp.gemini"),
        ("https://myres.openai.azure.com/openai/v1", "azure.ai.openai"),
        ("http://localhost:11434/v1", "ollama"),
        ("http://gpu-box:8000/v1", None),  # a vLLM server cannot be told from its URL
    ],
)
def test_the_base_url_names_the_provider(base_url: str, provider: str | None) -> None:
    """A client's base URL host names a well-known provider; unknown hosts stay openai."""
    import openai

    client = openai.OpenAI(base_url=base_url, api_key="sk-test-0000000000000000")
    try:
        assert provider_of(client) == provider
    finally:
        client.close()
    close_clients()


def test_a_compatible_server_span_names_its_provider(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """A call through the openai client to an Ollama /v1 endpoint is an ollama span."""
    import openai

    client = openai.OpenAI(base_url=llm.openai_base_url, api_key="sk-test-0000000000000000")
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("spanflow.instrumentation.openai._compatible._OLLAMA_PORT", llm.port)
            patch.setattr("spanflow.instrumentation.openai._compatible._cache", {})
            client.chat.completions.create(**CHAT)
    finally:
        client.close()
    assert only_llm_span(traced).attributes[attr.GEN_AI_PROVIDER_NAME] == "ollama"
