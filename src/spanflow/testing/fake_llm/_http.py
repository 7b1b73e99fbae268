"""HTTP/1.1 plumbing of the fake server: keep-alive, JSON bodies, chunked SSE, injected faults."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from spanflow.testing.fake_llm._replies import Disconnect, Fault, MalformedStream, RateLimited
from spanflow.testing.fake_llm._wire import SseEvent

logger = logging.getLogger("spanflow.testing.fake_llm")

IDLE_CONNECTION_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class JsonAnswer:
    """A complete JSON response."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class StreamEvent(Protocol):
    """One unit of a streamed body (an SSE event, an NDJSON line, an AWS event-stream frame)."""

    def encode(self) -> bytes:
        """The bytes on the wire."""


SSE_CONTENT_TYPE = "text/event-stream; charset=utf-8"


@dataclass(frozen=True)
class StreamAnswer:
    """A streamed response, optionally broken by a fault partway through.

    ``broken`` is what a ``MalformedStream`` fault writes instead of the next event; by default
    a truncated SSE event named like the one it replaces (Anthropic's client ignores unnamed
    events).
    """

    events: Sequence[StreamEvent]
    fault: MalformedStream | Disconnect | None = None
    content_type: str = SSE_CONTENT_TYPE
    broken: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DropConnection:
    """Close the connection without answering."""


Answer = JsonAnswer | StreamAnswer | DropConnection
Dispatch = Callable[[str, str, dict[str, str], bytes, str], Answer]


class FakeHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that can close its idle keep-alive connections on shutdown."""

    daemon_threads = True
    allow_reuse_address = False

    def __init__(
        self, address: tuple[str, int], dispatch: Dispatch, *, stream_delay_s: float
    ) -> None:
        self.dispatch = dispatch
        self.stream_delay_s = stream_delay_s
        self._connections_lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._handler_threads: set[threading.Thread] = set()
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up mid-exchange are normal here; anything else is worth a log."""
        error = sys.exc_info()[1]
        if isinstance(error, OSError):
            logger.debug("client %s went away: %r", client_address, error)
        else:
            logger.exception("fake LLM server failed on a request from %s", client_address)

    def track(self, connection: socket.socket, *, open_: bool) -> None:
        """Register (or forget) a live client connection and the thread serving it."""
        with self._connections_lock:
            if open_:
                self._connections.add(connection)
                self._handler_threads.add(threading.current_thread())
            else:
                self._connections.discard(connection)
                self._handler_threads.discard(threading.current_thread())

    def close_connections(self, *, timeout_s: float) -> None:
        """Shut down every open connection and wait (bounded) for their threads to finish."""
        with self._connections_lock:
            connections = list(self._connections)
            threads = list(self._handler_threads)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the peer
                connection.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout_s
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the httpx2-based clients expect
    server_version = "spanflow-fake-llm"
    timeout = IDLE_CONNECTION_TIMEOUT_S
    # Headers and body leave in separate writes; with Nagle's algorithm on, the second waits
    # for the client's delayed ACK (~40 ms per response on Linux loopback).
    disable_nagle_algorithm = True
    server: FakeHTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, open_=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, open_=False)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        peer = f"{self.client_address[0]}:{self.client_address[1]}"
        answer = self.server.dispatch(self.command, self.path, headers, raw_body, peer)
        if isinstance(answer, JsonAnswer):
            self._send_json(answer)
        elif isinstance(answer, StreamAnswer):
            self._send_stream(answer)
        else:
            self._drop()

    def _send_json(self, answer: JsonAnswer) -> None:
        payload = (
            answer.body if isinstance(answer.body, bytes) else json.dumps(answer.body).encode()
        )
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _send_stream(self, answer: StreamAnswer) -> None:
        self.send_response(200)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        for header, value in answer.headers.items():
            self.send_header(header, value)
        self.end_headers()
        events = list(answer.events)
        cut = events[answer.fault.after_events :] if answer.fault is not None else []
        if answer.fault is not None:
            events = events[: answer.fault.after_events]
        for event in events:
            self._write_chunk(event.encode())
            if self.server.stream_delay_s:
                time.sleep(self.server.stream_delay_s)
        if isinstance(answer.fault, Disconnect):
            self._drop()
            return
        if isinstance(answer.fault, MalformedStream):
            if answer.broken is not None:
                self._write_chunk(answer.broken)
            else:
                name = getattr(cut[0], "event", None) if cut else None
                broken = SseEvent(data='{"type": "content_block_delta", "delta": {"te', event=name)
                self._write_chunk(broken.encode())
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _drop(self) -> None:
        """Cut the connection abruptly, leaving the client mid-response."""
        self.close_connection = True
        self.wfile.flush()
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


def error_headers(fault: Fault) -> dict[str, str]:
    """``Retry-After`` headers for a rate limit (both forms the clients read)."""
    if isinstance(fault, RateLimited):
        return {
            "Retry-After": f"{fault.retry_after_s:g}",
            "retry-after-ms": str(int(fault.retry_after_s * 1000)),
        }
    return {}
