"""Byte streams for httpx responses: one that plays recorded chunks, one that records a live body.

httpx checks a response's stream against its own ``SyncByteStream``/``AsyncByteStream`` base
classes, so each httpx flavour (``httpx``, ``httpx2``) gets its own subclasses, made once.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

Finish = Callable[[list[bytes], bool], None]
"""Called once with the chunks read and whether the body was read to its end."""


@functools.cache
def stream_classes(module: Any) -> tuple[type[Any], type[Any]]:
    """(sync, async) stream classes over recorded chunks, for ``module`` (httpx or httpx2)."""

    def cut_off() -> Exception:
        # The recorded program stopped reading here: what came next was never seen, so a
        # replay that reads further fails like a dropped connection rather than see an end.
        error: Exception = module.RemoteProtocolError(
            "spanflow replay: the recording of this stream ends here, where the recorded "
            "program stopped reading it"
        )
        return error

    class ReplayedSyncStream(module.SyncByteStream):  # type: ignore[misc]
        def __init__(self, chunks: Sequence[bytes], *, complete: bool = True) -> None:
            self._chunks = tuple(chunks)
            self._complete = complete

        def __iter__(self) -> Iterator[bytes]:
            yield from self._chunks
            if not self._complete:
                raise cut_off()

    class ReplayedAsyncStream(module.AsyncByteStream):  # type: ignore[misc]
        def __init__(self, chunks: Sequence[bytes], *, complete: bool = True) -> None:
            self._chunks = tuple(chunks)
            self._complete = complete

        async def __aiter__(self) -> AsyncIterator[bytes]:
            for chunk in self._chunks:
                yield chunk
            if not self._complete:
                raise cut_off()

    return ReplayedSyncStream, ReplayedAsyncStream


@functools.cache
def recording_classes(module: Any) -> tuple[type[Any], type[Any]]:
    """(sync, async) streams that pass a live body through and report what passed."""

    class RecordingSyncStream(module.SyncByteStream):  # type: ignore[misc]
        def __init__(self, inner: Any, finish: Finish) -> None:
            self._inner = inner
            self._finish: Finish | None = finish
            self._chunks: list[bytes] = []

        def __iter__(self) -> Iterator[bytes]:
            for chunk in self._inner:
                self._chunks.append(chunk)
                yield chunk
            self._done(complete=True)

        def close(self) -> None:
            try:
                self._inner.close()
            finally:
                self._done(complete=False)

        def _done(self, *, complete: bool) -> None:
            finish, self._finish = self._finish, None
            if finish is not None:
                finish(self._chunks, complete)

        # httpx reads ``elapsed`` from its own stream class; keep it reachable.
        @property
        def elapsed(self) -> Any:
            return getattr(self._inner, "elapsed", None)

    class RecordingAsyncStream(module.AsyncByteStream):  # type: ignore[misc]
        def __init__(self, inner: Any, finish: Finish) -> None:
            self._inner = inner
            self._finish: Finish | None = finish
            self._chunks: list[bytes] = []

        async def __aiter__(self) -> AsyncIterator[bytes]:
            async for chunk in self._inner:
                self._chunks.append(chunk)
                yield chunk
            self._done(complete=True)

        async def aclose(self) -> None:
            try:
                await self._inner.aclose()
            finally:
                self._done(complete=False)

        def _done(self, *, complete: bool) -> None:
            finish, self._finish = self._finish, None
            if finish is not None:
                finish(self._chunks, complete)

        @property
        def elapsed(self) -> Any:
            return getattr(self._inner, "elapsed", None)

    return RecordingSyncStream, RecordingAsyncStream
