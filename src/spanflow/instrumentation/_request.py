"""The request wrappers: one choke point per client class, sync and async twins.

Both ``openai`` and ``anthropic`` send every API call through ``request(cast_to, options, *,
stream, stream_cls)`` on their base client, including ``.parse()``, ``.stream()`` helpers, raw
responses and retries. A router picks the API adapter from the request options; calls it does
not know go through untouched.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry import trace

from spanflow._internal.guard import report_internal_error
from spanflow.instrumentation._call import LLMCall, inside_llm_call
from spanflow.instrumentation._facts import ApiAdapter
from spanflow.instrumentation._instrumentor import Wrapper
from spanflow.instrumentation._raw import RawResponseProxy, body_already_read
from spanflow.instrumentation._stream import AsyncStreamProxy, SyncStreamProxy

Router = Callable[[Any], "ApiAdapter | None"]
"""Picks the adapter for a request's ``FinalRequestOptions``; None for calls not traced."""
ProviderOf = Callable[[Any], "str | None"]
"""The ``gen_ai.provider.name`` of a client instance; None keeps the adapter's."""
ContextFactory = Callable[[], contextlib.AbstractContextManager[Any]]


def sync_request_wrapper(
    tracer: trace.Tracer,
    route: Router,
    around: ContextFactory = contextlib.nullcontext,
    provider_of: ProviderOf | None = None,
) -> Wrapper:
    """A ``wrapt`` wrapper for a sync ``request``; ``around`` wraps the original call."""

    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        call = begin_call(tracer, route, instance, args, kwargs, provider_of)
        if call is None:
            return wrapped(*args, **kwargs)
        try:
            with call.current(), around():
                result = wrapped(*args, **kwargs)
        except BaseException as error:
            call.fail(error)
            raise
        return complete_call(call, result, wrap_sync_stream)

    return wrapper


def async_request_wrapper(
    tracer: trace.Tracer,
    route: Router,
    around: ContextFactory = contextlib.nullcontext,
    provider_of: ProviderOf | None = None,
) -> Wrapper:
    """A ``wrapt`` wrapper for an async ``request``; ``around`` wraps the original call."""

    async def wrapper(
        wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        call = begin_call(tracer, route, instance, args, kwargs, provider_of)
        if call is None:
            return await wrapped(*args, **kwargs)
        try:
            with call.current(), around():
                result = await wrapped(*args, **kwargs)
        except BaseException as error:
            call.fail(error)
            raise
        return complete_call(call, result, wrap_async_stream)

    return wrapper


def wrap_sync_stream(stream: Any, call: LLMCall) -> Any:
    """The stream proxy for a sync stream."""
    return SyncStreamProxy(stream, call, call.adapter.new_accumulator())


def wrap_async_stream(stream: Any, call: LLMCall) -> Any:
    """The stream proxy for an async stream (a sync-looking stream gets the sync proxy)."""
    if hasattr(type(stream), "__anext__"):
        return AsyncStreamProxy(stream, call, call.adapter.new_accumulator())
    return wrap_sync_stream(stream, call)


def _request_arguments(
    cast_to: Any, options: Any, *, stream: bool = False, **_: Any
) -> tuple[Any, bool]:
    return options, bool(stream)


def begin_call(
    tracer: trace.Tracer,
    route: Router,
    instance: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    provider_of: ProviderOf | None = None,
) -> LLMCall | None:
    """Start the span of a traced request, or None (not traced, or spanflow failed)."""
    try:
        if inside_llm_call():
            return None  # a traced layer above (LiteLLM) already has this call's span
        options, stream = _request_arguments(*args, **kwargs)
        adapter = route(options)
        if adapter is None:
            return None
        body = getattr(options, "json_data", None)
        if not isinstance(body, Mapping):
            return None
        address, port = base_url_server(instance)
        return LLMCall(
            tracer,
            adapter,
            body,
            stream=stream,
            server_address=address,
            server_port=port,
            provider=provider_of(instance) if provider_of is not None else None,
        )
    except Exception:
        report_internal_error("starting an LLM span")
        return None


def complete_call(call: LLMCall, result: Any, wrap_stream: Callable[[Any, LLMCall], Any]) -> Any:
    """What the wrapper returns: ``result``, or its proxy when the span must outlive the call."""
    try:
        raw = getattr(result, "http_response", None)
        if raw is not None and callable(getattr(result, "parse", None)):
            if not call.streamed and body_already_read(raw):
                call.succeed(raw.json())
                return result
            return RawResponseProxy(result, call, wrap_stream)
        kind = type(result)
        if call.streamed and (hasattr(kind, "__next__") or hasattr(kind, "__anext__")):
            return wrap_stream(result, call)
        call.succeed(result)
        return result
    except Exception:
        report_internal_error("finishing an LLM span", call.span)
        call.end_quietly()
        return result


def base_url_server(instance: Any) -> tuple[str | None, int | None]:
    """Host and port of a client's ``base_url`` (an ``httpx.URL``)."""
    url = getattr(instance, "base_url", None)
    host = getattr(url, "host", None)
    if not isinstance(host, str) or not host:
        return None, None
    port = getattr(url, "port", None)
    if not isinstance(port, int):
        port = 80 if getattr(url, "scheme", "") == "http" else 443
    return host, port
