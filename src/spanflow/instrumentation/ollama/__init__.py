"""Ollama client instrumentation: ``chat``, ``generate`` and ``embed`` as GenAI spans.

Hooks ``Client._request`` / ``AsyncClient._request`` in ``ollama._client``, which every API
method (and the module-level ``ollama.chat``...) calls with the request's path and JSON body;
NDJSON streams come back as generators of response models.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry import trace

from spanflow.instrumentation._facts import ApiAdapter
from spanflow.instrumentation._instrumentor import Hook, LLMInstrumentor, Wrapper
from spanflow.instrumentation._method import CallSite, async_call_wrapper, sync_call_wrapper
from spanflow.instrumentation._request import base_url_server
from spanflow.instrumentation.ollama._adapters import ChatAdapter, EmbedAdapter, GenerateAdapter

__all__ = ["OllamaInstrumentor"]

_ADAPTERS: dict[str, ApiAdapter] = {
    "/api/chat": ChatAdapter(),
    "/api/generate": GenerateAdapter(),
    "/api/embed": EmbedAdapter(),
}


def locate(instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> CallSite | None:
    """The call of ``_request(cls, method, path, json=body, stream=...)``."""
    if len(args) < 3 or str(args[1]).upper() != "POST":
        return None
    adapter = _ADAPTERS.get(str(args[2]))
    body = kwargs.get("json")
    if adapter is None or not isinstance(body, Mapping):
        return None
    address, port = base_url_server(getattr(instance, "_client", None))
    return CallSite(
        adapter,
        body,
        stream=bool(kwargs.get("stream")),
        server_address=address,
        server_port=port,
    )


def _sync(tracer: trace.Tracer, options: Mapping[str, Any]) -> Wrapper:
    return sync_call_wrapper(tracer, locate)


def _async(tracer: trace.Tracer, options: Mapping[str, Any]) -> Wrapper:
    return async_call_wrapper(tracer, locate)


class OllamaInstrumentor(LLMInstrumentor):
    """Traces ``ollama`` client calls as OpenTelemetry GenAI CLIENT spans."""

    dependencies = ("ollama >= 0.4",)
    hooks = (
        Hook("ollama._client", "Client._request", _sync),
        Hook("ollama._client", "AsyncClient._request", _async),
    )
