"""The ingest pipeline: a bounded queue and one writer thread that batches spans into commits.

Receivers call ``IngestPipeline.submit`` with a request's decoded spans and get a future that
resolves only after the store has committed them, so an acknowledgement (HTTP 200, gRPC OK)
always means "on disk". Many concurrent requests are folded into one ``write_spans`` call (one
transaction), which is where the throughput comes from; a request larger than a batch is
committed in parts that take turns with the requests behind it, and acknowledged after its last.
When the queue is full, ``submit`` raises ``IngestQueueFullError`` at once and the receiver
answers 503 / UNAVAILABLE, which OTLP clients retry with backoff. The SDK's embedded exporter
writes through the same ``RunIndexStore.write_spans``.

When the store refuses a batch, each request is retried on its own; a request the store still
refuses for a reason in its data (``store_errors.is_data_error``) is split in halves until the
spans at fault are found: the rest is committed, and those spans come back as rejections that the
receiver reports in ``partial_success``. Only transient failures reach the receiver as errors.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from spanflow.query.records import RunRecord, SpanRecord
from spanflow.query.store import RunIndexStore
from spanflow_collector.index.prepared import PreparedSpans
from spanflow_collector.index.run_claims import ForeignRunRecordError
from spanflow_collector.store_errors import is_data_error

logger = logging.getLogger(__name__)

DEFAULT_MAX_QUEUED_SPANS = 100_000
DEFAULT_MAX_BATCH_SPANS = 1_024

Rejections = tuple[str, ...]
"""One reason per span the store refused for its data (empty when everything was stored)."""
_NONE_REJECTED: Rejections = ()


class IngestUnavailableError(Exception):
    """The pipeline cannot take spans right now; the client should retry later."""


class IngestQueueFullError(IngestUnavailableError):
    """The queue holds ``max_queued_spans`` spans already (backpressure)."""


class IngestClosedError(IngestUnavailableError):
    """The pipeline is shutting down and takes no new spans."""


Record = SpanRecord | RunRecord
Payload = Sequence[Record] | PreparedSpans
"""One request's content: decoded records, or span rows a decode worker built already."""


@dataclass
class _Submission:
    records: Payload
    done: Future[Rejections]


class IngestPipeline:
    """Queue spans from many receivers and commit them in batches from one writer thread.

    Args:
        store: The run index to write into; only the writer thread calls ``write_spans``.
        max_queued_spans: Spans accepted but not yet committed before ``submit`` refuses more.
        max_batch_spans: Upper bound of spans per ``write_spans`` call (one transaction). A
            larger request is committed in parts of this size, taking turns with the requests
            queued behind it, so a 10,000-span export does not hold up small ones for its
            whole write; it is acknowledged when its last part is committed.
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
    def accepts_prepared(self) -> bool:
        """Whether the store takes ``PreparedSpans`` (rows built outside the writer)."""
        return callable(getattr(self._store, "write_prepared", None))

    @property
    def queued_spans(self) -> int:
        """Spans accepted and not yet committed."""
        return self._queued_spans

    def submit(self, records: Payload) -> Future[Rejections]:
        """Queue one request's spans (or run records); the future resolves once committed.

        ``PreparedSpans`` are accepted only when ``accepts_prepared``.

        Its result lists the spans the store refused for their data (the others are committed);
        it carries the store's exception instead if the commit failed for a transient reason
        (then some or none of the spans may be stored; a retry stores each once).

        Raises:
            IngestQueueFullError: accepting them would exceed ``max_queued_spans``.
            IngestClosedError: the pipeline is shutting down.
        """
        done: Future[Rejections] = Future()
        if not records:
            done.set_result(_NONE_REJECTED)
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
        head = self._pending.popleft()
        if len(head.records) > self._max_batch_spans:
            part = _Submission(head.records[: self._max_batch_spans], Future())
            rest = _Submission(head.records[self._max_batch_spans :], Future())
            _settle_together(head.done, (part.done, rest.done))
            self._pending.append(rest)  # behind the requests that arrived meanwhile
            return [part]
        batch = [head]
        size = len(batch[0].records)
        while self._pending and size + len(self._pending[0].records) <= self._max_batch_spans:
            item = self._pending.popleft()
            batch.append(item)
            size += len(item.records)
        return batch

    def _write(self, payloads: Sequence[Payload]) -> None:
        """One transaction: spans through ``write_spans``, with run records ``write_batch``,
        with prepared rows ``write_prepared``."""
        prepared = [payload for payload in payloads if isinstance(payload, PreparedSpans)]
        records = [
            record
            for payload in payloads
            if not isinstance(payload, PreparedSpans)
            for record in payload
        ]
        spans = [record for record in records if isinstance(record, SpanRecord)]
        run_records = [record for record in records if isinstance(record, RunRecord)]
        if prepared:
            self._store.write_prepared(prepared, spans, run_records)
        elif run_records:
            self._store.write_batch(spans, run_records)
        else:
            self._store.write_spans(spans)

    def _commit(self, batch: list[_Submission]) -> None:
        try:
            self._write([item.records for item in batch])
        except Exception as exc:
            if len(batch) > 1:
                # One request's spans may be what the store refuses: retry each on its own so
                # the other clients' spans still land.
                for item in batch:
                    self._commit([item])
                return
            self._commit_alone(batch[0], exc)
            return
        for item in batch:
            item.done.set_result(_NONE_REJECTED)

    def _commit_alone(self, item: _Submission, error: Exception) -> None:
        """Settle a request the store refused on its own: isolate poison, or fail transiently."""
        try:
            if not is_data_error(error):
                raise error
            rejections = self._isolate(item.records, error)
        except Exception as exc:
            logger.warning("could not store %d spans: %s", len(item.records), exc)
            item.done.set_exception(exc)
            return
        logger.warning(
            "the run index refused %d of %d %s for their data: %s",
            len(rejections),
            len(item.records),
            "spans" if _holds_spans(item.records) else "run records",
            rejections[0] if rejections else "",
        )
        item.done.set_result(rejections)

    def _isolate(self, records: Payload, error: Exception) -> Rejections:
        """Commit what the store takes of ``records`` (which failed with ``error``) by bisection.

        Raises:
            Exception: a transient store error on the way (the request is then retried whole).
        """
        if isinstance(error, ForeignRunRecordError) and not isinstance(records, PreparedSpans):
            # The index named every record at fault: store the rest in one go, not by halves.
            kept = [record for record in records if not _refused(error, record)]
            rejections: Rejections = error.reasons
            if kept:
                try:
                    self._write([kept])
                except Exception as exc:
                    if not is_data_error(exc):
                        raise
                    rejections += self._isolate(kept, exc)
            return rejections
        if len(records) == 1:
            if isinstance(records, PreparedSpans):
                what = f"span {records.first_span_id()}"
            elif isinstance(record := records[0], SpanRecord):
                what = f"span {record.span_id}"
            else:
                what = f"run record {record.record_id}"
            # The client learns which item and the kind of error; the store's own message
            # (which can name tables, hosts or users) goes to the log only.
            logger.warning("the run index refused %s: %s", what, error)
            return (f"{what}: the run index refused it ({type(error).__name__})",)
        middle = len(records) // 2
        rejections = ()
        for half in (records[:middle], records[middle:]):
            try:
                self._write([half])
            except Exception as exc:
                if not is_data_error(exc):
                    raise
                rejections += self._isolate(half, exc)
        return rejections


def _refused(error: ForeignRunRecordError, record: Record) -> bool:
    return isinstance(record, RunRecord) and error.refuses(record)


def _settle_together(whole: Future[Rejections], parts: Sequence[Future[Rejections]]) -> None:
    """Settle ``whole`` once every part is: their rejections together, or the first error."""
    remaining = [len(parts)]
    lock = threading.Lock()

    def part_done(_: Future[Rejections]) -> None:
        with lock:
            remaining[0] -= 1
            if remaining[0]:
                return
        errors = [error for part in parts if (error := part.exception()) is not None]
        if errors:
            whole.set_exception(errors[0])
        else:
            whole.set_result(tuple(reason for part in parts for reason in part.result()))

    for part in parts:
        part.add_done_callback(part_done)


def _holds_spans(records: Payload) -> bool:
    """Whether a submission carries spans (a request carries spans or run records, not both)."""
    return isinstance(records, PreparedSpans) or (
        bool(records) and isinstance(records[0], SpanRecord)
    )
