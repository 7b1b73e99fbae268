"""Admission to the ingest queue: a cap on spans per request and a fair share per client.

Without them one sender of a 200,000-span request held the whole queue for tens of seconds and
every small exporter got 503 past its retry deadline. Both receivers (HTTP and gRPC, traces and
any later signal) go through ``IngestGate.submit`` after decoding.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

from spanflow_collector.ingest import IngestUnavailableError

T = TypeVar("T")  # what the commit future carries (the pipeline's rejections)


class RequestTooLargeError(Exception):
    """A request carries more items than one request may (answered 413 / RESOURCE_EXHAUSTED)."""

    def __init__(self, count: int, limit: int) -> None:
        super().__init__(
            f"request carries {count} spans; the limit is {limit} spans per request, "
            "send smaller batches"
        )
        self.count = count
        self.limit = limit


class ClientShareExceededError(IngestUnavailableError):
    """This client already holds its share of the ingest queue (retryable, 503 / UNAVAILABLE)."""


def client_key(host: str | None, port: int | None) -> str:
    """Who a request comes from, for fair sharing: its peer address.

    Every local process connects from 127.0.0.1 or ::1, so on loopback the address tells
    nothing about the sender; there each connection counts as a client.
    """
    if host is None:
        return "unknown"
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    return f"{host}:{port}" if loopback else host


class IngestGate:
    """Admit decoded requests into the ingest queue, each client up to its share.

    Args:
        max_queued_spans: The ingest queue's capacity (``IngestPipeline.max_queued_spans``).
        max_spans_per_request: Largest request admitted at all.
        client_queue_share: Fraction of ``max_queued_spans`` one client may hold at once.
    """

    def __init__(
        self, *, max_queued_spans: int, max_spans_per_request: int, client_queue_share: float
    ) -> None:
        # A request larger than the whole queue could never be admitted; cap it there.
        self.max_spans_per_request = min(max_spans_per_request, max_queued_spans)
        self._client_limit = max(1, int(max_queued_spans * client_queue_share))
        self._held: dict[str, int] = {}
        self._lock = threading.Lock()

    def check_size(self, count: int) -> None:
        """Raise ``RequestTooLargeError`` when ``count`` items exceed the per-request cap."""
        if count > self.max_spans_per_request:
            raise RequestTooLargeError(count, self.max_spans_per_request)

    def submit(self, client: str, count: int, enqueue: Callable[[], Future[T]]) -> Future[T]:
        """Reserve ``count`` items of ``client``'s share, then call ``enqueue``.

        The reservation is released when the returned future (the commit) completes. A client
        holding nothing is always admitted, so any request within the cap can land.

        Raises:
            ClientShareExceededError: the client already holds its share.
            IngestUnavailableError: from ``enqueue`` (queue full, shutting down).
        """
        if count == 0:
            return enqueue()
        with self._lock:
            held = self._held.get(client, 0)
            if held and held + count > self._client_limit:
                raise self._share_exceeded(held)
            self._held[client] = held + count
        try:
            committed = enqueue()
        except BaseException:
            self._release(client, count)
            raise
        committed.add_done_callback(lambda _: self._release(client, count))
        return committed

    def check_share(self, client: str) -> None:
        """Raise ``ClientShareExceededError`` if ``client`` holds its whole share already.

        Receivers call it before reading a body, so a client over its share costs no decoding.
        """
        with self._lock:
            held = self._held.get(client, 0)
        if held >= self._client_limit:
            raise self._share_exceeded(held)

    def _share_exceeded(self, held: int) -> ClientShareExceededError:
        return ClientShareExceededError(
            f"this client already has {held} spans waiting to be written "
            f"(its share of the ingest queue is {self._client_limit})"
        )

    def _release(self, client: str, count: int) -> None:
        with self._lock:
            remaining = self._held.get(client, 0) - count
            if remaining > 0:
                self._held[client] = remaining
            else:
                self._held.pop(client, None)
