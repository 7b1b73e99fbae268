"""Fixtures for collector tests: an in-memory run index, a running collector on loopback, and
a real run index location (SQLite file or PostgreSQL schema) for collector processes."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

import pytest

from spanflow.query.records import SpanRecord
from spanflow_collector.server import Collector
from tests.api.fixtures import index_location

__all__ = ["collector", "index_location", "memory_store"]


class MemoryStore:
    """A dict-backed run index that keeps spans by (trace_id, span_id), like the real stores.

    ``hold_writes()`` makes the next ``write_spans`` wait until ``release_writes()``, so tests
    can fill the ingest queue; ``fail_writes`` makes writes raise.
    """

    def __init__(self) -> None:
        self.spans: dict[tuple[str, str], SpanRecord] = {}
        self.write_calls: list[int] = []
        self.fail_writes: Exception | None = None
        self.closed = False
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._released.set()
        self.write_started = threading.Event()

    def hold_writes(self) -> None:
        """Block writers from now on until ``release_writes``."""
        self._released.clear()
        self.write_started.clear()

    def release_writes(self) -> None:
        """Let blocked and future writes proceed."""
        self._released.set()

    def write_spans(self, spans: Sequence[SpanRecord]) -> None:
        """Store a batch all at once, or raise ``fail_writes`` and store nothing."""
        self.write_started.set()
        if not self._released.wait(30):
            raise TimeoutError("test store held for too long")
        if self.fail_writes is not None:
            raise self.fail_writes
        with self._lock:
            self.write_calls.append(len(spans))
            for span in spans:
                self.spans.setdefault((span.trace_id, span.span_id), span)

    def span_ids(self) -> set[str]:
        """Span ids stored so far."""
        with self._lock:
            return {span_id for _, span_id in self.spans}

    def close(self) -> None:
        """Mark closed."""
        self.closed = True


@pytest.fixture
def memory_store() -> MemoryStore:
    """An empty in-memory run index."""
    return MemoryStore()


@pytest.fixture
def collector(memory_store: MemoryStore) -> Iterator[Collector]:
    """A collector over ``memory_store`` on loopback, HTTP and gRPC on ephemeral ports."""
    running = Collector(memory_store, http_port=0, grpc_port=0)  # type: ignore[arg-type]
    running.start()
    try:
        yield running
    finally:
        running.stop()
