"""Mistral client (``mistralai``) instrumentation: chat and embeddings as GenAI spans.

Hooks ``Chat.complete`` / ``stream`` / ``complete_async`` / ``stream_async`` and
``Embeddings.create`` / ``create_async`` in ``mistralai.client``. Their keyword arguments are
the request body in Python names, and Mistral's messages and responses have the shape of
OpenAI's chat completions, so the chat completions adapter reads them; streamed events wrap
each chunk in ``data``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry import trace

from spanflow.instrumentation._description import CallRequest
from spanflow.instrumentation._facts import field_of
from spanflow.instrumentation._instrumentor import Hook, LLMInstrumentor, Wrapper
from spanflow.instrumentation._method import (
    CallSite,
    async_call_wrapper,
    sync_call_wrapper,
    url_server,
)
from spanflow.instrumentation.openai._chat import ChatChunkAccumulator, ChatCompletionsAdapter
from spanflow.instrumentation.openai._embeddings import EmbeddingsAdapter

__all__ = ["MistralInstrumentor"]

PROVIDER = "mistral_ai"


class MistralChatAdapter(ChatCompletionsAdapter):
    """``chat.complete`` / ``chat.stream``: OpenAI's chat shape; stream events wrap chunks."""

    provider = PROVIDER

    def new_accumulator(self) -> ChatChunkAccumulator:
        return _EventDataAccumulator()


class _EventDataAccumulator(ChatChunkAccumulator):
    def add(self, event: Any) -> None:
        super().add(field_of(event, "data"))


class MistralEmbeddingsAdapter(EmbeddingsAdapter):
    """``embeddings.create(model=..., inputs=...)``."""

    provider = PROVIDER

    def read_request(self, body: Mapping[str, Any], with_messages: bool) -> CallRequest:
        renamed = {"input": body.get("inputs"), "model": body.get("model")}
        if isinstance(body.get("output_dimension"), int):
            renamed["dimensions"] = body["output_dimension"]
        return super().read_request(renamed, with_messages)


_CHAT = MistralChatAdapter()
_EMBEDDINGS = MistralEmbeddingsAdapter()


def _locator(adapter: Any, stream: bool) -> Any:
    def locate(instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> CallSite | None:
        address, port = _server(instance)
        return CallSite(adapter, kwargs, stream, server_address=address, server_port=port)

    return locate


def _server(instance: Any) -> tuple[str | None, int | None]:
    configuration = getattr(instance, "sdk_configuration", None)
    try:
        url, _ = configuration.get_server_details()  # type: ignore[union-attr]
    except Exception:
        return None, None
    return url_server(url)


def _hook(attribute: str, adapter: Any, *, stream: bool, is_async: bool) -> Hook:
    locate = _locator(adapter, stream)

    def make(tracer: trace.Tracer, options: Mapping[str, Any]) -> Wrapper:
        return (async_call_wrapper if is_async else sync_call_wrapper)(tracer, locate)

    module = (
        "mistralai.client.chat" if attribute.startswith("Chat.") else "mistralai.client.embeddings"
    )
    return Hook(module, attribute, make)


class MistralInstrumentor(LLMInstrumentor):
    """Traces ``mistralai`` chat and embeddings calls as GenAI CLIENT spans."""

    dependencies = ("mistralai >= 1.0",)
    hooks = (
        _hook("Chat.complete", _CHAT, stream=False, is_async=False),
        _hook("Chat.stream", _CHAT, stream=True, is_async=False),
        _hook("Chat.complete_async", _CHAT, stream=False, is_async=True),
        _hook("Chat.stream_async", _CHAT, stream=True, is_async=True),
        _hook("Embeddings.create", _EMBEDDINGS, stream=False, is_async=False),
        _hook("Embeddings.create_async", _EMBEDDINGS, stream=False, is_async=True),
    )
