"""``spanflow.instrument()`` / ``spanflow.uninstrument()``: switch LLM client tracing on and off."""

from __future__ import annotations

import importlib
import importlib.util
import logging
from typing import Any

from spanflow._internal.config import ensure_configured
from spanflow.replaying import _runs as replay_runs
from spanflow.replaying import _transport as replay_transport

logger = logging.getLogger("spanflow.instrumentation")

# name -> (instrumentor, the client library's import name). Instrumentors patch lazily, when
# the library is imported, so naming one here never imports the library itself.
_INSTRUMENTORS = {
    "openai": ("spanflow.instrumentation.openai:OpenAIInstrumentor", "openai"),
    "anthropic": ("spanflow.instrumentation.anthropic:AnthropicInstrumentor", "anthropic"),
    "ollama": ("spanflow.instrumentation.ollama:OllamaInstrumentor", "ollama"),
    "mistral": ("spanflow.instrumentation.mistral:MistralInstrumentor", "mistralai"),
    "cohere": ("spanflow.instrumentation.cohere:CohereInstrumentor", "cohere"),
    "litellm": ("spanflow.instrumentation.litellm:LiteLLMInstrumentor", "litellm"),
    "bedrock": ("spanflow.instrumentation.bedrock:BedrockInstrumentor", "botocore"),
    "google_genai": (
        "spanflow.instrumentation.google_genai:GoogleGenAIInstrumentor",
        "google.genai",
    ),
    # Frameworks (tool, agent and chain spans; docs/instrumentation.md):
    "langchain": ("spanflow.instrumentation.langchain:LangChainInstrumentor", "langchain_core"),
    "openai_agents": (
        "spanflow.instrumentation.openai_agents:OpenAIAgentsInstrumentor",
        "agents",
    ),
    "mcp": ("spanflow.instrumentation.mcp:MCPInstrumentor", "mcp"),
}
PROVIDERS = tuple(_INSTRUMENTORS)


def instrument(*providers: str, tracer_provider: Any = None) -> list[str]:
    """Trace calls of the named LLM clients (all installed ones when none are named).

    Configures spanflow from the environment first unless ``configure()`` already ran. Clients
    created before this call are covered too; calling it again is harmless.

    Args:
        *providers: ``"openai"``, ``"anthropic"``, ``"ollama"``, ...
            (``spanflow.instrumentation.PROVIDERS``); none means every installed one.
            Frameworks too: ``"langchain"``, ``"openai_agents"``, ``"mcp"``.
        tracer_provider: The provider for the LLM spans (default: the global one).

    Returns:
        The providers now instrumented.

    Raises:
        ValueError: An unknown provider name.
        ModuleNotFoundError: A named provider's client library is not installed.
    """
    names = _resolve(providers, strict=bool(providers))
    ensure_configured()
    replay_transport.install()  # records responses for replay (docs/replay.md)
    replay_runs.activate_from_environment()
    done: list[str] = []
    for name in names:
        instrumentor = _instrumentor(name)
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument(tracer_provider=tracer_provider)
        done.append(name)
    return done


def uninstrument(*providers: str) -> None:
    """Stop tracing the named LLM clients (all when none are named) and restore their code.

    Raises:
        ValueError: An unknown provider name.
    """
    for name in _resolve(providers, strict=False):
        instrumentor = _instrumentor(name)
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()


def _resolve(providers: tuple[str, ...], *, strict: bool) -> list[str]:
    unknown = [name for name in providers if name not in _INSTRUMENTORS]
    if unknown:
        raise ValueError(
            f"unknown LLM provider(s) {', '.join(map(repr, unknown))}; "
            f"spanflow instruments {', '.join(PROVIDERS)}"
        )
    names = list(dict.fromkeys(providers)) or list(PROVIDERS)
    installed = [name for name in names if _installed(_INSTRUMENTORS[name][1])]
    if strict and len(installed) != len(names):
        missing = sorted(set(names) - set(installed))
        listed = " ".join(missing)
        raise ModuleNotFoundError(
            f"cannot instrument {listed}: not installed (pip install {listed})"
        )
    return installed


def _installed(import_name: str) -> bool:
    # find_spec of "google.genai" imports the "google" namespace package only, never the SDK.
    try:
        return importlib.util.find_spec(import_name) is not None
    except (ImportError, ValueError):
        return False


def _instrumentor(name: str) -> Any:
    module_name, class_name = _INSTRUMENTORS[name][0].split(":")
    return getattr(importlib.import_module(module_name), class_name)()
