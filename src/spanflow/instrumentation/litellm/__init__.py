"""LiteLLM instrumentation: ``completion`` / ``acompletion`` / ``embedding`` / ``aembedding``.

One span per LiteLLM call, whichever route LiteLLM takes to the provider: its own HTTP
handlers (``anthropic/...``, ``hosted_vllm/...``, ...) or a provider SDK that spanflow also
instruments (``openai``), whose span is then left out because the call already has one.
LiteLLM answers in OpenAI's chat completion and embeddings shapes, so those adapters read
it; the provider name comes from LiteLLM's own routing of the model name.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from opentelemetry import trace

from spanflow.instrumentation._facts import ApiAdapter
from spanflow.instrumentation._instrumentor import Hook, LLMInstrumentor, Wrapper
from spanflow.instrumentation._method import CallSite, Locate, async_call_wrapper, sync_call_wrapper
from spanflow.instrumentation.openai._chat import ChatCompletionsAdapter
from spanflow.instrumentation.openai._embeddings import EmbeddingsAdapter

__all__ = ["LiteLLMInstrumentor"]

# LiteLLM's provider names that differ from the GenAI conventions' well-known values.
_PROVIDERS = {
    "azure": "azure.ai.openai",
    "azure_ai": "azure.ai.inference",
    "vertex_ai": "gcp.vertex_ai",
    "vertex_ai_beta": "gcp.vertex_ai",
    "gemini": "gcp.gemini",
    "bedrock": "aws.bedrock",
    "bedrock_converse": "aws.bedrock",
    "mistral": "mistral_ai",
    "cohere_chat": "cohere",
    "xai": "x_ai",
    "watsonx": "ibm.watsonx.ai",
    "ollama_chat": "ollama",
    "hosted_vllm": "vllm",
}
_CHAT = ChatCompletionsAdapter()
_EMBEDDINGS = EmbeddingsAdapter()


def _route(model: Any, kwargs: Mapping[str, Any]) -> tuple[Any, str | None]:
    """(model name without the provider prefix, gen_ai.provider.name) as LiteLLM routes it."""
    if not isinstance(model, str):
        return model, None
    litellm = sys.modules.get("litellm")
    try:
        name, provider, _, _ = litellm.get_llm_provider(  # type: ignore[union-attr]
            model=model, custom_llm_provider=kwargs.get("custom_llm_provider")
        )
    except Exception:  # LiteLLM cannot route it either: the call itself will say why
        prefix, _, rest = model.partition("/")
        return (rest, prefix) if rest else (model, None)
    if not isinstance(provider, str):
        return name, None
    return name, _PROVIDERS.get(provider, provider)


def _locator(adapter: ApiAdapter, names: tuple[str, str]) -> Locate:
    def locate(instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> CallSite | None:
        body = dict(kwargs)
        for position, name in enumerate(names):
            if len(args) > position:
                body[name] = args[position]
        body["model"], provider = _route(body.get("model"), kwargs)
        return CallSite(adapter, body, bool(body.get("stream")), provider=provider)

    return locate


def _hook(function: str, adapter: ApiAdapter, names: tuple[str, str], is_async: bool) -> Hook:
    locate = _locator(adapter, names)

    def make(tracer: trace.Tracer, options: Mapping[str, Any]) -> Wrapper:
        return (async_call_wrapper if is_async else sync_call_wrapper)(tracer, locate)

    return Hook("litellm", function, make)


class LiteLLMInstrumentor(LLMInstrumentor):
    """Traces LiteLLM completions and embeddings as GenAI CLIENT spans, one per call."""

    dependencies = ("litellm >= 1.40",)
    hooks = (
        _hook("completion", _CHAT, ("model", "messages"), is_async=False),
        _hook("acompletion", _CHAT, ("model", "messages"), is_async=True),
        _hook("embedding", _EMBEDDINGS, ("model", "input"), is_async=False),
        _hook("aembedding", _EMBEDDINGS, ("model", "input"), is_async=True),
    )
