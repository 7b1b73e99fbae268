"""What one HTTP connection may cost: a connection cap, a header deadline, a body deadline.

uvicorn (0.54) offers ``timeout_keep_alive`` (idle time after a response, restarted by every
byte received), ``h11_max_incomplete_event_size`` (header size) and ``limit_concurrency``
(which answers 503 to *requests* once too many connections are open, but never closes one).
None of them closes a connection that connects and then sends nothing, or one byte every few
seconds: 300 such connections held their file descriptors for ever, and at the open-file limit
no exporter could connect. ``guarded_h11_protocol`` adds what is missing; the header size and
body deadline checks are an ASGI middleware, so every route inherits them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import resource
import time
from typing import Any, ClassVar, Final, cast

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

logger = logging.getLogger(__name__)

_RESERVED_FILES: Final = 128  # the index, its WAL, gRPC, PostgreSQL connections, logs
_MIN_CONNECTIONS: Final = 16
_BUSY_BODY: Final = json.dumps(
    {"code": 14, "message": "too many open connections, retry later"}
).encode()
_BUSY_RESPONSE: Final = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
    b"retry-after: 1\r\nconnection: close\r\ncontent-length: "
    + str(len(_BUSY_BODY)).encode()
    + b"\r\n\r\n"
    + _BUSY_BODY
)


def connection_cap(requested: int) -> int:
    """``requested`` lowered to fit the process's open-file limit, which it first raises.

    The soft limit is raised to the hard one (systemd's ``LimitNOFILE`` sets both), then enough
    descriptors are kept back for the index and the gRPC server.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        return requested
    fitting = max(_MIN_CONNECTIONS, soft - _RESERVED_FILES)
    if fitting < requested:
        logger.warning(
            "open-file limit is %d: serving at most %d HTTP connections instead of %d "
            "(raise LimitNOFILE / ulimit -n)",
            soft,
            fitting,
            requested,
        )
    return min(requested, fitting)


class _GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a connection cap and a deadline for request heads."""

    max_connections: ClassVar[int]
    header_timeout_s: ClassVar[float]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None
        self._idle_since = time.monotonic()
        self._refused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Register the connection, making room by closing the longest-idle one if at the cap."""
        if len(self.connections) >= self.max_connections and not self._evict_longest_idle():
            self._refused = True
            # uvloop's transports are not asyncio.Transport subclasses, but write the same way.
            writable = cast(asyncio.WriteTransport, transport)
            writable.write(_BUSY_RESPONSE)
            writable.close()
            return
        super().connection_made(transport)  # type: ignore[arg-type]
        self._expect_head()

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the connection and its deadline."""
        if self._refused:
            return
        self._cancel_head_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Feed h11; once a complete request head has arrived, its deadline is met."""
        if self._refused:
            return
        cycle_before = self.cycle
        super().data_received(data)
        if self.cycle is not cycle_before:
            self._cancel_head_deadline()

    def on_response_complete(self) -> None:
        """After a response the connection is idle again: the next head has a deadline."""
        cycle_before = self.cycle
        super().on_response_complete()
        self._idle_since = time.monotonic()
        if self.cycle is cycle_before and not self.transport.is_closing():
            self._expect_head()

    def _idle(self) -> bool:
        return not self._refused and (self.cycle is None or self.cycle.response_complete)

    def _evict_longest_idle(self) -> bool:
        idle = [
            connection
            for connection in self.connections
            if isinstance(connection, _GuardedH11Protocol) and connection._idle()
        ]
        if not idle:
            return False
        oldest = min(idle, key=lambda connection: connection._idle_since)
        oldest._close()
        return True

    def _expect_head(self) -> None:
        # Unlike uvicorn's keep-alive timer, received bytes do not restart this one, so a
        # client trickling a header byte at a time is closed too.
        self._cancel_head_deadline()
        self._head_deadline = self.loop.call_later(self.header_timeout_s, self._close)

    def _cancel_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _close(self) -> None:
        self._cancel_head_deadline()
        # Counted out now, not when the loop reports the close, so the cap frees at once.
        self.connections.discard(self)
        if not self.transport.is_closing():
            self.transport.close()


def guarded_h11_protocol(*, max_connections: int, header_timeout_s: float) -> type[H11Protocol]:
    """An h11 protocol class for ``uvicorn.Config(http=...)`` with these limits."""
    return type(
        "GuardedH11Protocol",
        (_GuardedH11Protocol,),
        {"max_connections": max_connections, "header_timeout_s": header_timeout_s},
    )


class BodyTimeoutError(Exception):
    """The request body did not arrive in time."""


class RequestLimitsMiddleware:
    """Per-request limits every route inherits: header size and body deadline.

    A request line plus headers over ``max_header_bytes`` is answered 431 (h11 refuses only
    heads that arrive in several reads, so a large head sent at once would pass). A body that
    takes longer than ``body_timeout_s`` to arrive is answered 408 and the connection closed. A
    client that hangs up in the middle of its body is simply forgotten: nobody is left to
    answer, and it is not the collector's error to log with a traceback.

    Args:
        app: The wrapped ASGI app.
        body_timeout_s: Time for the whole body, counted from the request's first read of it.
        max_header_bytes: Largest request target plus headers.
    """

    def __init__(self, app: ASGIApp, *, body_timeout_s: float, max_header_bytes: int) -> None:
        self._app = app
        self._timeout_s = body_timeout_s
        self._max_header_bytes = max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app with a ``receive`` that gives up at the deadline."""
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        if _head_bytes(scope) > self._max_header_bytes:
            await _send_closing_error(
                send, 431, 8, f"request line and headers exceed {self._max_header_bytes} bytes"
            )
            return
        deadline: list[float] = []
        body_done = False
        response_started = False

        async def receive_in_time() -> Message:
            nonlocal body_done
            if body_done:  # e.g. waiting for a disconnect while streaming a response
                return await receive()
            loop = asyncio.get_running_loop()
            if not deadline:
                deadline.append(loop.time() + self._timeout_s)
            try:
                message = await asyncio.wait_for(receive(), max(deadline[0] - loop.time(), 0.0))
            except asyncio.TimeoutError as exc:  # not the builtin TimeoutError before 3.11
                raise BodyTimeoutError from exc
            body_done = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self._app(scope, receive_in_time, tracking_send)
        except ClientDisconnect:
            return
        except BodyTimeoutError:
            if response_started:
                raise
            message = f"request body not received within {self._timeout_s} s"
            await _send_closing_error(send, 408, 4, message)


def _head_bytes(scope: Scope) -> int:
    headers: list[tuple[bytes, bytes]] = scope["headers"]
    target = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
    return target + sum(len(name) + len(value) + 4 for name, value in headers)  # ": ", CRLF


async def _send_closing_error(send: Send, status: int, code: int, message: str) -> None:
    body = json.dumps({"code": code, "message": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
