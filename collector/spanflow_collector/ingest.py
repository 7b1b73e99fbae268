"""The ingest pipeline: a bounded queue and one writer thread that batches spans into commits.

Receivers call ``IngestPipeline.submit`` with a request's decoded spans and get a future that
resolves only after the store has committed them, so an acknowledgement (HTTP 200, gRPC OK)
always means "on disk". Many concurrent requests are folded into one ``write_spans`` call (one
transaction), which is where the throughput comes from. When the queue is full, ``submit``
raises ``IngestQueueFullError`` at once and the receiver answers 503 / UNAVAILABLE, which OTLP
clients retry with backoff. The SDK's embedded exporter writes through the same
``RunIndexStore.write_spans``.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from spanflow_collector.records import RunRecord, SpanRecord
from spanflow_collector.store import RunIndexStore

logger = logging.getLogger(__name__)

DEFAULT_MAX_QUEUED_SPANS = 100_000
DEFAULT_MAX_BATCH_SPANS = 10_000


class IngestUnavailableError(Exception):
    """The pipeline cannot take spans right now; the client should retry later."""


class IngestQueueFullError(IngestUnavailableError):
    """The queue holds ``max_queued_spans`` spans already (backpressure)."""


class IngestClosedError(IngestUnavailableError):
    """The pipeline is shutting down and takes no new spans."""


@dataclass
class _Submission:
    records: Sequence[SpanRecord | RunRecord]
    done: Future[None]


class IngestPipeline:
    """Queue spans from many receivers and commit them in batches from one writer thread.

    Args:
        store: The run index to write into; only the writer thread calls ``write_spans``.
        max_queued_spans: Spans accepted but not yet committed before ``submit`` refuses more.
        max_batch_spans: Upper bound of spans per ``write_spans`` call (one transaction).
    """

    def __init__(
        self,
        store: RunIndexStore,
        *,
        max_queued_spans: int = DEFAULT_MAX_QUEUED_SPANS,
        max_batch_spans: int = DEFAULT_MAX_BATCH_SPANS,
    ) -> None:
        self._store = store
        self._max_queued_spans = max_queued_spans
        self._max_batch_spans = max_batch_spans
        self._pending: deque[_Submission] = deque()
        self._queued_spans = 0  # pending plus being written
        self._closing = False
        self._condition = threading.Condition()
        self._writer = threading.Thread(
            target=self._write_forever, name="spanflow-ingest-writer", daemon=True
        )
        self._writer.start()

    @property
    def queued_spans(self) -> int:
        """Spans accepted and not yet committed."""
        return self._queued_spans

    def submit(self, records: Sequence[SpanRecord | RunRecord]) -> Future[None]:
        """Queue one request's spans (or run records); the future resolves once committed.

        The future carries the store's exception if the commit failed (nothing was stored).

        Raises:
            IngestQueueFullError: accepting them would exceed ``max_queued_spans``.
            IngestClosedError: the pipeline is shutting down.
        """
        done: Future[None] = Future()
        if not records:
            done.set_result(None)
            return done
        with self._condition:
            if self._closing:
                raise IngestClosedError("the collector is shutting down")
            # An oversized request is still taken into an empty queue, or it could never land.
            if self._queued_spans and self._queued_spans + len(records) > self._max_queued_spans:
                raise IngestQueueFullError(
                    f"ingest queue is full ({self._queued_spans} spans waiting to be written)"
                )
            self._pending.append(_Submission(records, done))
            self._queued_spans += len(records)
            self._condition.notify()
        return done

    def close(self, *, timeout_s: float | None = 30.0) -> None:
        """Stop taking spans, commit everything already queued, and stop the writer thread."""
        with self._condition:
            self._closing = True
            self._condition.notify()
        self._writer.join(timeout_s)
        if self._writer.is_alive():
            logger.error("ingest writer did not finish within %s s; queued spans remain", timeout_s)

    def _write_forever(self) -> None:
        while True:
            with self._condition:
                while not self._pending and not self._closing:
                    self._condition.wait()
                if not self._pending:
                    return
                batch = self._take_batch()
            self._commit(batch)
            with self._condition:
                self._queued_spans -= sum(len(item.records) for item in batch)

    def _take_batch(self) -> list[_Submission]:
        batch = [self._pending.popleft()]
        size = len(batch[0].records)
        while self._pending and size + len(self._pending[0].records) <= self._max_batch_spans:
            item = self._pending.popleft()
            batch.append(item)
            size += len(item.records)
        return batch

    def _commit(self, batch: list[_Submission]) -> None:
        records: list[SpanRecord] = []
        run_records: list[RunRecord] = []
        for item in batch:
            for record in item.records:
                if isinstance(record, RunRecord):
                    run_records.append(record)
                else:
                    records.append(record)
        try:
            if run_records:
                self._store.write_batch(records, run_records)
            else:
                self._store.write_spans(records)
        except Exception as exc:
            if len(batch) > 1:
                # One request's spans may be what the store refuses: retry each on its own so
                # the other clients' spans still land.
                for item in batch:
                    self._commit([item])
                return
            logger.warning(
                "could not store %d spans and %d run records: %s",
                len(records),
                len(run_records),
                exc,
            )
            batch[0].done.set_exception(exc)
            return
        for item in batch:
            item.done.set_result(None)
