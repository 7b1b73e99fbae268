"""Cohere client (``cohere`` v2: ``ClientV2``, ``AsyncClientV2``) instrumentation.

Hooks ``V2Client.chat`` / ``chat_stream`` / ``embed`` and their ``AsyncV2Client`` twins in
``cohere.v2.client``; their keyword arguments are the v2 request body. ``chat_stream`` is a
generator (an async generator on the async client): its span ends with the stream.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry import trace

from spanflow.instrumentation._facts import ApiAdapter
from spanflow.instrumentation._instrumentor import Hook, LLMInstrumentor, Wrapper
from spanflow.instrumentation._method import (
    CallSite,
    Locate,
    async_call_wrapper,
    sync_call_wrapper,
    url_server,
)
from spanflow.instrumentation.cohere._adapters import ChatAdapter, EmbedAdapter

__all__ = ["CohereInstrumentor"]

_CHAT = ChatAdapter()
_EMBED = EmbedAdapter()


def _server(instance: Any) -> tuple[str | None, int | None]:
    wrapper = getattr(getattr(instance, "_raw_client", None), "_client_wrapper", None)
    try:
        return url_server(wrapper.get_base_url())  # type: ignore[union-attr]
    except Exception:
        return None, None


def _locator(adapter: ApiAdapter, stream: bool) -> Locate:
    def locate(instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> CallSite | None:
        address, port = _server(instance)
        return CallSite(adapter, kwargs, stream, server_address=address, server_port=port)

    return locate


def _hook(attribute: str, adapter: ApiAdapter, *, stream: bool) -> Hook:
    locate = _locator(adapter, stream)
    is_async = attribute.startswith("Async")

    def make(tracer: trace.Tracer, options: Mapping[str, Any]) -> Wrapper:
        return (async_call_wrapper if is_async else sync_call_wrapper)(tracer, locate)

    return Hook("cohere.v2.client", attribute, make)


class CohereInstrumentor(LLMInstrumentor):
    """Traces ``cohere`` v2 chat and embed calls as GenAI CLIENT spans."""

    dependencies = ("cohere >= 5.0",)
    hooks = (
        _hook("V2Client.chat", _CHAT, stream=False),
        _hook("V2Client.chat_stream", _CHAT, stream=True),
        _hook("V2Client.embed", _EMBED, stream=False),
        _hook("AsyncV2Client.chat", _CHAT, stream=False),
        _hook("AsyncV2Client.chat_stream", _CHAT, stream=True),
        _hook("AsyncV2Client.embed", _EMBED, stream=False),
    )
