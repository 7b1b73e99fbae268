"""Large OTLP/HTTP trace bodies decoded, redacted and turned into rows in worker processes.

Decoding, redaction and row building are pure Python work holding the GIL: in the collector's
process they compete with the event loop (a 15 MB OTLP/JSON body stalled every other request
for seconds: ``json.loads`` of the document, then the garbage collector walking its millions of
objects) and with the writer thread, so one process could not use a second core. Bodies of at
least ``ReceiverLimits.process_decode_min_bytes`` go to a small pool of worker processes
instead; what comes back is a ``PreparedRequest``: the span rows (tuples of strings and
numbers, cheap to unpickle) and the counts for the answer. Smaller bodies are decoded in a
thread, where a process round trip would cost more than it saves.

Workers are started with ``spawn`` (the collector has threads; ``fork`` could copy a held
lock) on first use, and get the collector's extra redaction patterns at start. A worker that
dies (killed, out of memory) fails only the requests it held, answered 503 (retried by OTLP
clients); the pool is started again for the next request.
"""

from __future__ import annotations

import logging
import multiprocessing
import re
import signal
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from spanflow_collector import redact
from spanflow_collector.bodies import decode_traces
from spanflow_collector.index.prepared import PreparedSpans, prepare_spans
from spanflow_collector.otlp import DecodedSpans

logger = logging.getLogger(__name__)


@dataclass
class PreparedRequest:
    """One trace export, decoded and prepared: its span rows and what to answer."""

    spans: PreparedSpans
    decoded: DecodedSpans  # rejections and their reasons; its records are left empty


def prepare_traces(body: bytes, encoding: str, media_type: str, max_bytes: int) -> PreparedRequest:
    """Decode a trace export body and build its rows (runs in a worker process)."""
    decoded = decode_traces(body, encoding, media_type, max_bytes)
    spans = prepare_spans(decoded.records)
    decoded.records = []  # not sent back: the rows carry everything the store needs
    return PreparedRequest(spans, decoded)


def _start_worker(patterns: tuple[re.Pattern[str], ...]) -> None:
    # Ctrl-C reaches the whole process group: the collector shuts its workers down in order
    # (after the bodies they hold); a worker dying on its own would fail those requests.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if patterns:
        redact.set_extra_patterns(patterns)


class PrepareWorkers:
    """A lazily started pool of ``processes`` worker processes running ``prepare_traces``."""

    def __init__(self, processes: int) -> None:
        self._processes = processes
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._closed = False

    def submit(
        self, body: bytes, encoding: str, media_type: str, max_bytes: int
    ) -> Future[PreparedRequest]:
        """Prepare one body in a worker.

        The future raises what ``decode_traces`` raises, or ``BrokenProcessPool`` when the
        worker died (the pool restarts for the next request).

        Raises:
            RuntimeError: the pool is shut down.
        """
        pool = self._running_pool()
        try:
            return pool.submit(prepare_traces, body, encoding, media_type, max_bytes)
        except BrokenProcessPool:
            self._forget(pool)
            raise

    def forget_broken(self, error: BaseException) -> None:
        """After a request failed with ``error``: drop the pool if a worker died."""
        if isinstance(error, BrokenProcessPool):
            with self._lock:
                pool = self._pool
            if pool is not None:
                self._forget(pool)

    def _running_pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise RuntimeError("the decode workers are shut down")
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    self._processes,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start_worker,
                    initargs=(redact.extra_patterns(),),
                )
            return self._pool

    def _forget(self, pool: ProcessPoolExecutor) -> None:
        logger.warning("a decode worker process died; starting the pool again")
        with self._lock:
            if self._pool is pool:
                self._pool = None
        pool.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        """Stop the workers (waiting for the bodies they hold)."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
