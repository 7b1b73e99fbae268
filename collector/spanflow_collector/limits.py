"""The figures that bound what one client can cost the collector, with their defaults.

Every limit a receiver enforces is here (the ingest queue's own size lives with the queue, in
``ingest.DEFAULT_MAX_QUEUED_SPANS``), so ``docs/collector.md`` ("Security and robustness") has
one place to mirror.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

DEFAULT_MAX_BODY_BYTES: Final = 20 * 1024 * 1024
"""Largest request body, compressed or not (the OpenTelemetry Collector's default, 20 MiB)."""

MAX_HEADER_BYTES: Final = 16 * 1024
"""Largest request target plus headers: 431 when a larger head arrives at once, 400 from h11
(``h11_max_incomplete_event_size``) when it trickles in past this size."""

DECODE_THREADS: Final = 8
"""Requests decoded at once, each in a worker thread so the event loop keeps answering.

More than one, so a small request never waits behind a single huge one; bounded, so a flood
of large bodies cannot start unbounded threads.
"""


@dataclass(frozen=True)
class ReceiverLimits:
    """Per-request and per-connection limits of the OTLP receivers and the query API.

    Args:
        max_spans_per_request: An export carrying more spans is refused whole (HTTP 413, gRPC
            RESOURCE_EXHAUSTED) naming the limit. 20,000 leaves room for an OpenTelemetry
            Collector's batches (its default ``send_batch_size`` is 8,192) while keeping one
            request to one bounded transaction.
        client_queue_share: Fraction of the ingest queue one client may hold at a time; past it
            that client gets 503 / UNAVAILABLE (retryable) while others are still admitted.
        max_connections: Open HTTP connections. At the limit, a new connection closes the one
            that has been idle longest (no request in flight); when none is idle it is answered
            503 and closed. Lowered at start to fit the process's open-file limit.
        header_timeout_s: Time for a client to send a complete request line and headers, from
            connecting or from the previous response; then the connection is closed.
        body_timeout_s: Time for a whole request body to arrive once its headers did; then the
            request is answered 408 and the connection closed.
        keep_alive_timeout_s: An idle keep-alive connection is closed after this long.
        decode_processes: Worker processes that decode, redact and encode large OTLP/HTTP
            trace bodies (``prepare.py``), off the process that serves requests and writes
            the index; 0 decodes every body in a thread of the collector's own process.
        process_decode_min_bytes: Smallest trace body (as received) given to those workers;
            smaller ones cost less to decode in a thread than to send to another process.
    """

    max_spans_per_request: int = 20_000
    client_queue_share: float = 0.25
    max_connections: int = 1000
    header_timeout_s: float = 10.0
    body_timeout_s: float = 60.0
    keep_alive_timeout_s: int = 5
    decode_processes: int = 2
    process_decode_min_bytes: int = 128 * 1024

    def __post_init__(self) -> None:
        if self.max_spans_per_request < 1:
            raise ValueError("max_spans_per_request must be at least 1")
        if not 0.0 < self.client_queue_share <= 1.0:
            raise ValueError("client_queue_share must be in (0, 1]")
        if self.max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        if self.decode_processes < 0 or self.process_decode_min_bytes < 0:
            raise ValueError("decode_processes and process_decode_min_bytes must be 0 or more")
        if min(self.header_timeout_s, self.body_timeout_s, self.keep_alive_timeout_s) <= 0:
            raise ValueError("timeouts must be positive")
