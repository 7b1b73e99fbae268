"""Raw responses (``with_raw_response``, ``with_streaming_response``): spans follow ``parse()``.

A raw response whose body was already read ends its span at once from the decoded body; one
whose body is still unread ends it when parsed (a parsed stream hands the span to the stream
proxy), closed, or garbage-collected.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import wrapt

from spanflow._internal.guard import report_internal_error
from spanflow.instrumentation._call import LLMCall

StreamWrapper = Callable[[Any, LLMCall], Any]


def body_already_read(raw: Any) -> bool:
    """Whether the HTTP body of a raw response was read, so decoding it consumes nothing."""
    try:
        raw.content  # noqa: B018 - raises ResponseNotRead for a body still unread
    except Exception:
        return False
    return True


class RawResponseProxy(wrapt.ObjectProxy[Any]):
    """A raw API response whose span ends when it is parsed, closed or dropped."""

    def __init__(self, response: Any, call: LLMCall, wrap_stream: StreamWrapper) -> None:
        super().__init__(response)
        self._self_call = call
        self._self_wrap_stream = wrap_stream
        self._self_parsed: dict[int, Any] = {}

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        try:
            parsed = self.__wrapped__.parse(*args, **kwargs)
        except Exception as error:
            self._self_call.fail(error)
            raise
        if inspect.isawaitable(parsed):
            return self._self_take_later(parsed)
        return self._self_take(parsed)

    async def _self_take_later(self, awaitable: Any) -> Any:
        try:
            parsed = await awaitable
        except Exception as error:
            self._self_call.fail(error)
            raise
        return self._self_take(parsed)

    def _self_take(self, parsed: Any) -> Any:
        known = self._self_parsed.get(id(parsed))
        if known is not None:
            return known
        call = self._self_call
        result = parsed
        try:
            if call.streamed and _is_stream(parsed):
                result = self._self_wrap_stream(parsed, call)
            elif not call.ended:
                call.succeed(parsed)
        except Exception:
            report_internal_error("reading a parsed raw response", call.span)
            call.end_quietly()
            result = parsed
        self._self_parsed[id(parsed)] = result
        return result

    def close(self) -> Any:
        try:
            return self.__wrapped__.close()
        finally:
            self._self_end_unread()

    def _self_end_unread(self, *, abandoned: bool = False) -> None:
        if not self._self_parsed and not self._self_call.ended:
            self._self_call.end_unfinished(None, abandoned=abandoned)

    def __del__(self) -> None:
        try:
            self._self_end_unread(abandoned=True)
        except Exception:
            report_internal_error("ending an unread raw response")


def _is_stream(value: Any) -> bool:
    kind = type(value)
    return hasattr(kind, "__next__") or hasattr(kind, "__anext__")
