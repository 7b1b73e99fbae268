"""Which provider an ``openai`` client talks to: OpenAI itself, Azure, or a compatible server.

The client class tells Azure OpenAI apart; otherwise the base URL's host (or Ollama's default
port) names the provider with the GenAI conventions' well-known values. Any other host is an
OpenAI-compatible server spanflow cannot name (vLLM, a proxy...): it stays ``openai``, the API
it speaks.
"""

from __future__ import annotations

from typing import Any

AZURE_OPENAI = "azure.ai.openai"
_HOST_SUFFIXES = (
    (".openai.azure.com", AZURE_OPENAI),
    (".services.ai.azure.com", "azure.ai.inference"),
    ("api.groq.com", "groq"),
    ("api.together.xyz", "together_ai"),
    ("api.together.ai", "together_ai"),
    ("api.deepseek.com", "deepseek"),
    ("api.x.ai", "x_ai"),
    ("api.perplexity.ai", "perplexity"),
    ("api.mistral.ai", "mistral_ai"),
    ("generativelanguage.googleapis.com", "gcp.gemini"),
    ("api.fireworks.ai", "fireworks_ai"),
    ("openrouter.ai", "openrouter"),
)
_OLLAMA_PORT = 11434
_cache: dict[tuple[str, str, int | None], str | None] = {}


def provider_of(client: Any) -> str | None:
    """``gen_ai.provider.name`` for an ``openai`` client; None means plain ``openai``."""
    class_name = type(client).__name__
    url = getattr(client, "base_url", None)
    host = getattr(url, "host", None)
    port = getattr(url, "port", None)
    key = (class_name, host if isinstance(host, str) else "", port)
    try:
        return _cache[key]
    except KeyError:
        pass
    found = _provider(class_name, key[1], port)
    if len(_cache) < 256:
        _cache[key] = found
    return found


def _provider(class_name: str, host: str, port: Any) -> str | None:
    if "Azure" in class_name:
        return AZURE_OPENAI
    host = host.lower()
    for suffix, provider in _HOST_SUFFIXES:
        if host == suffix.lstrip(".") or host.endswith(suffix):
            return provider
    if port == _OLLAMA_PORT:
        return "ollama"
    return None
