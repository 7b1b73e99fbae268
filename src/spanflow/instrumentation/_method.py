"""Wrappers for client methods that carry one LLM call each (Ollama, Google Gen AI, Cohere...).

The provider module supplies a ``Locate`` function: from the patched method's instance and
arguments it finds the call (adapter, request body, streamed or not, provider, server), or
None for calls spanflow does not trace. The request → call → stream core is shared with the
OpenAI/Anthropic request wrappers.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncGenerator, Callable, Generator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import context as otel_context
from opentelemetry import trace

from spanflow._internal.guard import report_internal_error
from spanflow.instrumentation._call import LLMCall, inside_llm_call
from spanflow.instrumentation._facts import ApiAdapter
from spanflow.instrumentation._instrumentor import Wrapper
from spanflow.instrumentation._request import complete_call, wrap_async_stream, wrap_sync_stream


@dataclass(frozen=True)
class CallSite:
    """What a patched method call is, as far as its span goes."""

    adapter: ApiAdapter
    body: Any
    stream: bool
    provider: str | None = None
    server_address: str | None = None
    server_port: int | None = None


Locate = Callable[[Any, tuple[Any, ...], dict[str, Any]], "CallSite | None"]


def _begin(
    tracer: trace.Tracer, locate: Locate, instance: Any, args: Any, kwargs: Any
) -> LLMCall | None:
    try:
        if inside_llm_call():
            return None  # a traced layer above already has this call's span
        site = locate(instance, args, kwargs)
        if site is None:
            return None
        return LLMCall(
            tracer,
            site.adapter,
            site.body,
            stream=site.stream,
            server_address=site.server_address,
            server_port=site.server_port,
            provider=site.provider,
        )
    except Exception:
        report_internal_error("starting an LLM span")
        return None


Complete = Callable[[LLMCall, Any], Any]


def _complete_sync(call: LLMCall, result: Any) -> Any:
    return complete_call(call, _sent_inside_span(call, result), wrap_sync_stream)


def sync_call_wrapper(
    tracer: trace.Tracer, locate: Locate, complete: Complete = _complete_sync
) -> Wrapper:
    """A ``wrapt`` wrapper for a sync method that makes one LLM call (streamed or not).

    ``complete`` ends the span of a returned result or hands it to a stream proxy; the default
    suits clients that return a response object or a chunk iterator (Bedrock passes its own,
    for boto3's response dicts).
    """

    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        call = _begin(tracer, locate, instance, args, kwargs)
        if call is None:
            return wrapped(*args, **kwargs)
        try:
            with call.current():
                result = wrapped(*args, **kwargs)
        except BaseException as error:
            call.fail(error)
            raise
        return complete(call, result)

    return wrapper


def async_call_wrapper(tracer: trace.Tracer, locate: Locate) -> Wrapper:
    """A ``wrapt`` wrapper for an async method: a coroutine, or an async generator function.

    A coroutine is awaited inside the span; an async generator (Cohere's ``chat_stream``) is
    returned as a stream proxy at once, as the unwrapped method returns it.
    """

    async def in_coroutine(
        wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        # The span starts when the coroutine runs, so one never awaited leaves no open span.
        call = _begin(tracer, locate, instance, args, kwargs)
        if call is None:
            return await wrapped(*args, **kwargs)
        try:
            with call.current():
                result = await wrapped(*args, **kwargs)
        except BaseException as error:
            call.fail(error)
            raise
        return complete_call(call, _sent_inside_span(call, result), wrap_async_stream)

    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if inspect.iscoroutinefunction(wrapped):
            return in_coroutine(wrapped, instance, args, kwargs)
        call = _begin(tracer, locate, instance, args, kwargs)
        if call is None:
            return wrapped(*args, **kwargs)
        try:
            with call.current():
                result = wrapped(*args, **kwargs)
        except BaseException as error:
            call.fail(error)
            raise
        return complete_call(call, _sent_inside_span(call, result), wrap_async_stream)

    return wrapper


def _sent_inside_span(call: LLMCall, result: Any) -> Any:
    """``result``, or when it is a generator that has not started, one run inside the span.

    A generator (Ollama's and Cohere's streams, Google Gen AI's ``request_streamed``; Ollama's
    async client returns one from a coroutine) sends its HTTP request on the first ``next()``,
    after the method returned: the span must be current then too, so the request nests under it
    and replay can record and answer it.
    """
    if not call.streamed:
        return result
    if inspect.isgenerator(result) and inspect.getgeneratorstate(result) == "GEN_CREATED":
        return _sync_inside(call, result)
    if inspect.isasyncgen(result) and result.ag_frame is not None:
        return _async_inside(call, result)
    return result


def _sync_inside(call: LLMCall, generator: Generator[Any, Any, Any]) -> Generator[Any, Any, Any]:
    sending = call.sending_context()
    try:
        while True:
            token = otel_context.attach(sending)
            try:
                item = next(generator)
            except StopIteration:
                return
            finally:
                otel_context.detach(token)
            yield item
    finally:
        generator.close()


async def _async_inside(
    call: LLMCall, generator: AsyncGenerator[Any, Any]
) -> AsyncGenerator[Any, Any]:
    sending = call.sending_context()
    try:
        while True:
            token = otel_context.attach(sending)
            try:
                item = await generator.__anext__()
            except StopAsyncIteration:
                return
            finally:
                otel_context.detach(token)
            yield item
    finally:
        await generator.aclose()


def url_server(url: Any) -> tuple[str | None, int | None]:
    """Host and port of a base URL string (the scheme's default port when it names none)."""
    if not isinstance(url, str) or not url:
        return None, None
    parts = urlsplit(url)
    try:
        port = parts.port or (80 if parts.scheme == "http" else 443)
    except ValueError:
        return parts.hostname, None
    return parts.hostname, port


def argument(args: tuple[Any, ...], kwargs: dict[str, Any], position: int, name: str) -> Any:
    """The argument passed at ``position`` (counting after ``self``) or as ``name``."""
    if len(args) > position:
        return args[position]
    return kwargs.get(name)
