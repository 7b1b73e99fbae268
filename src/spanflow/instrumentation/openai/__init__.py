"""OpenAI client instrumentation: chat completions, responses and embeddings as GenAI spans.

Hooks the one choke point every API call of the ``openai`` client goes through,
``SyncAPIClient.request`` / ``AsyncAPIClient.request`` in ``openai._base_client``: so
``create``, ``parse``, the ``.stream()`` helpers, ``with_raw_response`` and retries all give
exactly one span, and clients created before ``instrument()`` are covered too. Clients of
Azure OpenAI and of OpenAI-compatible servers get their provider's name (``_compatible.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry import trace

from spanflow._internal import settings
from spanflow.instrumentation._facts import ApiAdapter
from spanflow.instrumentation._instrumentor import Hook, LLMInstrumentor, Wrapper
from spanflow.instrumentation._request import (
    Router,
    async_request_wrapper,
    sync_request_wrapper,
)
from spanflow.instrumentation.openai._chat import ChatCompletionsAdapter
from spanflow.instrumentation.openai._compatible import provider_of
from spanflow.instrumentation.openai._embeddings import EmbeddingsAdapter
from spanflow.instrumentation.openai._responses import ResponsesAdapter

__all__ = ["OpenAIInstrumentor"]

_ADAPTERS: dict[str, ApiAdapter] = {
    "chat/completions": ChatCompletionsAdapter(),
    "responses": ResponsesAdapter(),
    "embeddings": EmbeddingsAdapter(),
}


def route(options: Any) -> ApiAdapter | None:
    """The adapter for a request's options; None for endpoints spanflow does not trace."""
    if str(getattr(options, "method", "")).lower() != "post":
        return None
    path = str(getattr(options, "url", "")).split("?", 1)[0].strip("/")
    if path.startswith("deployments/"):  # Azure OpenAI: /deployments/{name}/chat/completions
        path = path.split("/", 2)[-1]
    return _ADAPTERS.get(path)


def route_asking_usage(options: Any) -> ApiAdapter | None:
    """``route``, and a streamed chat request without ``stream_options`` is asked for usage."""
    adapter = route(options)
    if adapter is _ADAPTERS["chat/completions"]:
        body = getattr(options, "json_data", None)
        if isinstance(body, Mapping) and body.get("stream") and "stream_options" not in body:
            options.json_data = {**body, "stream_options": {"include_usage": True}}
    return adapter


def _router(options: Mapping[str, Any]) -> Router:
    stream_usage = options.get("stream_usage")
    if stream_usage is None:
        stream_usage = settings.current().stream_usage
    return route_asking_usage if stream_usage else route


def _sync(tracer: trace.Tracer, options: Mapping[str, Any]) -> Wrapper:
    return sync_request_wrapper(tracer, _router(options), provider_of=provider_of)


def _async(tracer: trace.Tracer, options: Mapping[str, Any]) -> Wrapper:
    return async_request_wrapper(tracer, _router(options), provider_of=provider_of)


class OpenAIInstrumentor(LLMInstrumentor):
    """Traces ``openai`` client calls as OpenTelemetry GenAI CLIENT spans.

    ``OpenAIInstrumentor().instrument(tracer_provider=..., stream_usage=False)`` patches the
    client classes (when ``openai`` is imported); ``uninstrument()`` restores them.
    Instrumenting twice is a no-op. ``stream_usage=True`` (or ``SPANFLOW_STREAM_USAGE=true``)
    asks streamed chat completions without ``stream_options`` for their token usage.
    """

    dependencies = ("openai >= 1.0",)
    hooks = (
        Hook("openai._base_client", "SyncAPIClient.request", _sync),
        Hook("openai._base_client", "AsyncAPIClient.request", _async),
    )
