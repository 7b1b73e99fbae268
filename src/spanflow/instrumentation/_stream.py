"""Stream proxies: the user's stream, unchanged, whose span ends exactly once.

A span ends when the stream is exhausted, fails, is closed (``close()``/``aclose()``, leaving
``with``, or closing its HTTP response as the clients' ``.stream()`` helpers do), or is
garbage-collected unfinished (then marked ``spanflow.stream.abandoned``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import wrapt

from spanflow._internal.guard import report_internal_error
from spanflow.instrumentation._call import LLMCall
from spanflow.instrumentation._facts import StreamAccumulator


class _StreamState:
    """What a proxy and its iterators share: the call, the accumulator, and how to end.

    ``take`` is what each event is handed to: first :meth:`_first` (the time to the first
    chunk), then the accumulator's own ``add``, and None once the span has ended or spanflow
    stopped following the stream, so that the per-event path is one call.
    """

    __slots__ = ("accumulator", "call", "next", "take")

    def __init__(
        self, call: LLMCall, accumulator: StreamAccumulator, next_event: Callable[[], Any]
    ) -> None:
        self.call = call
        self.next = next_event  # the wrapped stream's next event
        self.accumulator: StreamAccumulator | None = accumulator
        self.take: Callable[[Any], None] | None = self._first

    def _first(self, event: Any) -> None:
        call = self.call
        if call.ended:
            self.take = None
            return
        call.first_chunk()
        accumulator = self.accumulator
        self.take = None if accumulator is None else accumulator.add
        if accumulator is not None:
            accumulator.add(event)

    def hand(self, event: Any) -> None:
        """Hand ``event`` to whatever takes events now (nothing once the span has ended)."""
        take = self.take
        if take is not None:
            try:
                take(event)
            except Exception:
                self.unreadable()

    def unreadable(self) -> None:
        """The accumulator failed on an event: stop following this stream; the span still ends."""
        self.take = None
        self.accumulator = None
        report_internal_error("reading a stream event", self.call.span)

    def partial(self) -> Any:
        accumulator = self.accumulator
        if accumulator is None:
            return None
        try:
            return accumulator.response()
        except Exception:
            report_internal_error("reassembling a stream", self.call.span)
            return None

    def exhausted(self) -> None:
        self.take = None
        if self.call.ended:
            return
        response = self.partial()
        if response is None:
            self.call.end_quietly()
        else:
            self.call.succeed(response)

    def failed(self, error: BaseException) -> None:
        self.take = None
        if not self.call.ended:
            self.call.fail(error, partial=self.partial())

    def closed(self, *, abandoned: bool = False) -> None:
        self.take = None
        if not self.call.ended:
            self.call.end_unfinished(self.partial(), abandoned=abandoned)


class _ClosingResponse(wrapt.ObjectProxy[Any]):
    """The stream's HTTP response; closing it (as ``.stream()`` helpers do) ends the span."""

    def __init__(self, response: Any, state: _StreamState) -> None:
        super().__init__(response)
        self._self_state = state

    def close(self) -> Any:
        try:
            return self.__wrapped__.close()
        finally:
            self._self_state.closed()

    async def aclose(self) -> Any:
        try:
            return await self.__wrapped__.aclose()
        finally:
            self._self_state.closed()


class _StreamProxyBase(wrapt.ObjectProxy[Any]):
    def __init__(self, stream: Any, call: LLMCall, accumulator: StreamAccumulator) -> None:
        super().__init__(stream)
        self._self_state = _StreamState(call, accumulator, self._next_source(stream))
        self._self_response: Any = None

    @staticmethod
    def _next_source(stream: Any) -> Callable[[], Any]:
        """What returns (or, async, awaits) the wrapped stream's next event."""
        raise NotImplementedError

    @property
    def response(self) -> Any:
        if self._self_response is None:
            self._self_response = _ClosingResponse(self.__wrapped__.response, self._self_state)
        return self._self_response

    def __del__(self) -> None:
        try:
            self._self_state.closed(abandoned=True)
        except Exception:
            report_internal_error("ending an abandoned stream")


def _next_event(state: _StreamState) -> Any:
    """The stream's next event, handed to the accumulator; the span ends with the stream."""
    try:
        event = state.next()
    except StopIteration:
        state.exhausted()
        raise
    except BaseException as error:
        state.failed(error)
        raise
    state.hand(event)
    return event


class _Events:
    """What iterating a sync proxy gives: its events, stepped without the proxy in between.

    Every attribute read on a ``wrapt`` proxy goes through its ``__getattr__`` hook, several
    times slower than on a plain object; a ``for`` loop over the stream steps this instead.
    It holds the proxy, so a stream iterated and then dropped is not abandoned while its loop
    runs.
    """

    __slots__ = ("_proxy", "_state")

    def __init__(self, proxy: SyncStreamProxy, state: _StreamState) -> None:
        self._proxy = proxy
        self._state = state

    def __iter__(self) -> _Events:
        return self

    def __next__(self) -> Any:
        return _next_event(self._state)


class SyncStreamProxy(_StreamProxyBase):
    """A sync ``Stream`` whose span ends exactly once."""

    @staticmethod
    def _next_source(stream: Any) -> Callable[[], Any]:
        """What returns the wrapped stream's next event (a subclass may read it another way)."""
        return stream.__next__  # type: ignore[no-any-return]

    def __iter__(self) -> _Events:
        return _Events(self, self._self_state)

    def __next__(self) -> Any:
        return _next_event(self._self_state)

    def __enter__(self) -> SyncStreamProxy:
        self.__wrapped__.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(*exc_info)
        finally:
            self._self_state.closed()

    def close(self) -> Any:
        try:
            return self.__wrapped__.close()
        finally:
            self._self_state.closed()


class AsyncStreamProxy(_StreamProxyBase):
    """An async ``AsyncStream`` whose span ends exactly once."""

    @staticmethod
    def _next_source(stream: Any) -> Callable[[], Any]:
        return stream.__anext__  # type: ignore[no-any-return]

    def __aiter__(self) -> AsyncStreamProxy:
        return self

    async def __anext__(self) -> Any:
        state = self._self_state
        try:
            event = await state.next()
        except StopAsyncIteration:
            state.exhausted()
            raise
        except BaseException as error:
            state.failed(error)
            raise
        state.hand(event)
        return event

    async def __aenter__(self) -> AsyncStreamProxy:
        await self.__wrapped__.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(*exc_info)
        finally:
            self._self_state.closed()

    async def close(self) -> Any:
        try:
            return await self.__wrapped__.close()
        finally:
            self._self_state.closed()

    async def aclose(self) -> Any:
        try:
            return await self.__wrapped__.aclose()
        finally:
            self._self_state.closed()
