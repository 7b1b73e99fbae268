"""OpenAI client instrumentation: chat completions, responses and embeddings as GenAI spans.

Hooks the one choke point every API call of the ``openai`` client goes through,
``SyncAPIClient.request`` / ``AsyncAPIClient.request`` in ``openai._base_client``: so
``create``, ``parse``, the ``.stream()`` helpers, ``with_raw_response`` and retries all give
exactly one span, and clients created before ``instrument()`` are covered too.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)
from opentelemetry.instrumentation.utils import unwrap
from wrapt import wrap_function_wrapper

from spanflow.instrumentation._facts import ApiAdapter
from spanflow.instrumentation._request import async_request_wrapper, sync_request_wrapper
from spanflow.instrumentation._version import VERSION
from spanflow.instrumentation.openai._chat import ChatCompletionsAdapter
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
    return _ADAPTERS.get(path)


class OpenAIInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Traces ``openai`` client calls as OpenTelemetry GenAI CLIENT spans.

    ``OpenAIInstrumentor().instrument(tracer_provider=...)`` patches the client classes;
    ``uninstrument()`` restores them. Instrumenting twice is a no-op.
    """

    def instrumentation_dependencies(self) -> Collection[str]:
        return ("openai >= 1.0",)

    def _instrument(self, **kwargs: Any) -> None:
        from openai import _base_client

        tracer = trace.get_tracer(__name__, VERSION, kwargs.get("tracer_provider"))
        wrap_function_wrapper(
            _base_client, "SyncAPIClient.request", sync_request_wrapper(tracer, route)
        )
        wrap_function_wrapper(
            _base_client, "AsyncAPIClient.request", async_request_wrapper(tracer, route)
        )

    def _uninstrument(self, **kwargs: Any) -> None:
        from openai import _base_client

        unwrap(_base_client.SyncAPIClient, "request")
        unwrap(_base_client.AsyncAPIClient, "request")
