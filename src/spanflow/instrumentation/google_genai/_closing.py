"""Closing the stream the user holds closes the traced HTTP streams under it.

``Models.generate_content_stream`` and ``Chat.send_message_stream`` (and their async twins) are
generators that loop over the traced ``request_streamed`` stream without ever closing it: when
the user closes theirs, the HTTP stream is left to the garbage collector, and its span would
end as abandoned, before the HTTP response it records is closed. So the user's stream is
proxied here: while it runs, each stream opened under it (an HTTP stream, or the
``generate_content_stream`` a chat turn makes) is noted, weakly, and closing it closes those
first, so each span ends once, as closed, with what arrived. A stream dropped unclosed is left
alone and still ends as abandoned.
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Coroutine
from contextvars import ContextVar
from typing import Any

import wrapt
from opentelemetry import trace

from spanflow._internal.guard import report_internal_error
from spanflow.instrumentation._instrumentor import Wrapper

_Opened = list["weakref.ref[Any]"]

_OPENED_UNDER: ContextVar[_Opened | None] = ContextVar("spanflow_genai_opened", default=None)
"""The streams opened while the user's stream is being read, as weak references."""


def note_opened(stream: Any) -> Any:
    """``stream``, noted as opened under the user's stream being read now, if any."""
    opened = _OPENED_UNDER.get()
    if opened is not None:
        try:
            opened[:] = [reference for reference in opened if reference() is not None]
            opened.append(weakref.ref(stream))
        except Exception:
            report_internal_error("noting a google-genai stream")
    return stream


async def _noted_when_awaited(coroutine: Coroutine[Any, Any, Any]) -> Any:
    return note_opened(await coroutine)


def noting_opened(traced: Wrapper) -> Wrapper:
    """``traced``, a wrapper for a method opening an HTTP stream, with the stream noted."""

    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        result = traced(wrapped, instance, args, kwargs)
        if inspect.iscoroutine(result):
            return _noted_when_awaited(result)
        return note_opened(result)

    return wrapper


def _still_open(opened: _Opened) -> list[Any]:
    streams = [reference() for reference in opened]
    opened.clear()
    return [stream for stream in streams if stream is not None]


class _SyncUserStream(wrapt.ObjectProxy[Any]):
    """The generator ``generate_content_stream`` returned, whose ``close()`` reaches down."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._self_opened: _Opened = []

    def __iter__(self) -> _SyncUserStream:
        return self

    def __next__(self) -> Any:
        token = _OPENED_UNDER.set(self._self_opened)
        try:
            return next(self.__wrapped__)
        finally:
            _OPENED_UNDER.reset(token)

    def close(self) -> Any:
        for stream in _still_open(self._self_opened):
            try:
                stream.close()
            except Exception:
                report_internal_error("closing a stream under a closed google-genai stream")
        return self.__wrapped__.close()


class _AsyncUserStream(wrapt.ObjectProxy[Any]):
    """The async generator of ``client.aio`` streams, whose ``aclose()`` reaches down."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._self_opened: _Opened = []

    def __aiter__(self) -> _AsyncUserStream:
        return self

    async def __anext__(self) -> Any:
        token = _OPENED_UNDER.set(self._self_opened)
        try:
            return await self.__wrapped__.__anext__()
        finally:
            _OPENED_UNDER.reset(token)

    async def aclose(self) -> Any:
        for stream in _still_open(self._self_opened):
            try:
                await stream.aclose()
            except Exception:
                report_internal_error("closing a stream under a closed google-genai stream")
        return await self.__wrapped__.aclose()


def _proxied(stream: Any) -> Any:
    try:
        if inspect.isgenerator(stream):
            return note_opened(_SyncUserStream(stream))
        if inspect.isasyncgen(stream):
            return note_opened(_AsyncUserStream(stream))
    except Exception:
        report_internal_error("proxying a google-genai stream")
    return stream


async def _proxied_when_awaited(coroutine: Coroutine[Any, Any, Any]) -> Any:
    return _proxied(await coroutine)


def user_stream_wrapper(tracer: trace.Tracer, options: Any) -> Wrapper:
    """A ``wrapt`` wrapper for a method returning the user's stream (or a coroutine of it)."""

    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        result = wrapped(*args, **kwargs)
        if inspect.iscoroutine(result):
            return _proxied_when_awaited(result)
        return _proxied(result)

    return wrapper
