"""Google Gen AI SDK (``google-genai``) instrumentation: Gemini calls as GenAI spans.

Hooks the SDK's HTTP choke point, ``BaseApiClient.request`` / ``request_streamed`` /
``async_request`` / ``async_request_streamed`` in ``google.genai._api_client``: every
``models.generate_content``, ``generate_content_stream``, chat turn, ``client.aio`` call and
each round of automatic function calling is one HTTP call there, hence one span. The provider
is ``gcp.vertex_ai`` for Vertex AI clients and ``gcp.gemini`` for the Gemini Developer API.
The streams the user holds (``generate_content_stream``, chats' ``send_message_stream``) are
hooked too, only so that closing one closes the HTTP streams under it (``_closing``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry import trace

from spanflow.instrumentation._facts import ApiAdapter
from spanflow.instrumentation._instrumentor import Hook, LLMInstrumentor, Wrapper
from spanflow.instrumentation._method import (
    CallSite,
    argument,
    async_call_wrapper,
    sync_call_wrapper,
    url_server,
)
from spanflow.instrumentation.google_genai._adapters import (
    EmbedContentAdapter,
    GeminiRequest,
    GenerateContentAdapter,
)
from spanflow.instrumentation.google_genai._closing import noting_opened, user_stream_wrapper

__all__ = ["GoogleGenAIInstrumentor"]

_GENERATE = GenerateContentAdapter()
_EMBED = EmbedContentAdapter()
_METHODS: dict[str, tuple[ApiAdapter, bool]] = {
    "generateContent": (_GENERATE, False),
    "streamGenerateContent": (_GENERATE, True),
    "batchEmbedContents": (_EMBED, False),
    "embedContent": (_EMBED, False),
}


def locate(instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> CallSite | None:
    """The call of ``request(http_method, path, request_dict, http_options)``."""
    if str(argument(args, kwargs, 0, "http_method")).lower() != "post":
        return None
    path = str(argument(args, kwargs, 1, "path")).split("?", 1)[0]
    model, _, method = path.rpartition(":")
    found = _METHODS.get(method)
    body = argument(args, kwargs, 2, "request_dict")
    if found is None or not isinstance(body, Mapping):
        return None
    adapter, stream = found
    address, port = _server(instance)
    return CallSite(
        adapter,
        GeminiRequest(model.rpartition("/")[2], body),
        stream=stream,
        provider="gcp.vertex_ai" if getattr(instance, "vertexai", False) else "gcp.gemini",
        server_address=address,
        server_port=port,
    )


def _server(instance: Any) -> tuple[str | None, int | None]:
    return url_server(getattr(getattr(instance, "_http_options", None), "base_url", None))


def _sync(tracer: trace.Tracer, options: Mapping[str, Any]) -> Wrapper:
    return sync_call_wrapper(tracer, locate)


def _async(tracer: trace.Tracer, options: Mapping[str, Any]) -> Wrapper:
    return async_call_wrapper(tracer, locate)


def _sync_streamed(tracer: trace.Tracer, options: Mapping[str, Any]) -> Wrapper:
    return noting_opened(sync_call_wrapper(tracer, locate))


def _async_streamed(tracer: trace.Tracer, options: Mapping[str, Any]) -> Wrapper:
    return noting_opened(async_call_wrapper(tracer, locate))


class GoogleGenAIInstrumentor(LLMInstrumentor):
    """Traces ``google-genai`` calls (Gemini API and Vertex AI) as GenAI CLIENT spans."""

    dependencies = ("google-genai >= 1.0",)
    hooks = (
        Hook("google.genai._api_client", "BaseApiClient.request", _sync),
        Hook("google.genai._api_client", "BaseApiClient.request_streamed", _sync_streamed),
        Hook("google.genai._api_client", "BaseApiClient.async_request", _async),
        Hook("google.genai._api_client", "BaseApiClient.async_request_streamed", _async_streamed),
        # The streams users hold and close: closing one closes the HTTP streams under it.
        Hook("google.genai.models", "Models.generate_content_stream", user_stream_wrapper),
        Hook("google.genai.models", "AsyncModels.generate_content_stream", user_stream_wrapper),
        Hook("google.genai.chats", "Chat.send_message_stream", user_stream_wrapper),
        Hook("google.genai.chats", "AsyncChat.send_message_stream", user_stream_wrapper),
    )
