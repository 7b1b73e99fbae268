"""``OtlpTransport``: one per endpoint; sends encoded OTLP requests, spools what cannot go yet.

Callers hand over encoded requests (``submit``) and never wait on the network: one worker thread
per transport sends them in order with a per-request timeout. While the endpoint answers
retryably (see :mod:`spanflow._internal.otlp_send`) it is *down*: new requests go straight to
the on-disk spool, and the worker probes the endpoint with the oldest spooled file after a
backoff (doubling from 0.5 s to 10 s, jittered). The first accepted probe drains the spool,
including files other processes left for the same endpoint. A refused request is dropped,
logged once per status, and counted in :func:`dropped_spans_total`.

``flush(timeout_s)`` waits at most ``timeout_s`` and is True only when everything handed over
was accepted (nothing of it spooled or refused). ``close()`` spools what is still queued.
The worker thread exits when it has nothing to do, and a forked child starts with an empty
transport (the parent keeps its queue).
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
import warnings
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from spanflow._internal.background_worker import STOP, BackgroundWorker, Stop, Wait
from spanflow._internal.fork_hooks import ForkStage
from spanflow._internal.otlp_send import (
    DEFAULT_REQUEST_TIMEOUT_S,
    LOGS,
    TRACES,
    Answer,
    OtlpEndpoint,
    Outcome,
    Sender,
    make_sender,
)
from spanflow._internal.spool import Spool, SpooledRequest
from spanflow._internal.warn import SpanflowWarning

logger = logging.getLogger("spanflow")

INITIAL_BACKOFF_S = 0.5
MAX_BACKOFF_S = 10.0
SPOOL_LOOK_INTERVAL_S = 5.0  # while up, how often to look for files other processes spooled
MAX_QUEUED_BYTES = 32 * 1024 * 1024  # past this, requests are spooled without waiting to send

_dropped_lock = threading.Lock()
_dropped_spans = 0
_exit_deadline: float | None = None  # monotonic; set once the process is exiting


def dropped_spans_total() -> int:
    """Spans this process dropped so far: refused by an endpoint or past the spool's bound."""
    with _dropped_lock:
        return _dropped_spans


def _count_dropped(signal: str, items: int) -> None:
    global _dropped_spans
    if signal == TRACES and items > 0:
        with _dropped_lock:
            _dropped_spans += items


def set_exit_deadline(deadline_monotonic: float) -> None:
    """From now on no flush or close waits past ``deadline_monotonic`` (process exit)."""
    global _exit_deadline
    _exit_deadline = deadline_monotonic


def _clamp(deadline: float) -> float:
    exit_deadline = _exit_deadline
    return deadline if exit_deadline is None else min(deadline, exit_deadline)


@dataclass
class _Request:
    seq: int
    signal: str
    body: bytes
    item_count: int
    abandoned: bool = False  # spooled by close() while still in flight


class OtlpTransport(BackgroundWorker[_Request | None]):
    """Sends one endpoint's OTLP requests over its protocol; spools on retryable failure."""

    def __init__(
        self,
        endpoint: OtlpEndpoint,
        spool: Spool | None,
        *,
        request_timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S,
    ) -> None:
        self.endpoint = endpoint
        self._spool = spool
        self._request_timeout_s = request_timeout_s
        # _send_lock is held while a request is on the wire, so fork() waits for it.
        super().__init__(
            thread_name=f"spanflow-otlp {endpoint.url}",
            failure_context="sending OTLP requests",
            fork_stage=ForkStage.TRANSPORT,
            hold_send_lock_across_fork=True,
        )

    def _reset(self) -> None:
        self._queue: deque[_Request] = deque()
        self._queued_bytes = 0
        self._in_flight: _Request | None = None
        self._sender: Sender | None = None
        self._down = False
        self._retry_at: float | None = None
        self._backoff_s = INITIAL_BACKOFF_S
        self._submitted_seq = 0
        self._resolved_seq = 0
        self._refused_seq = 0
        self._flushed_seq = 0
        self._outcomes: dict[int, Outcome | None] = {}
        self._own_spooled: set[Path] = set()
        self._claimed: Path | None = None
        self._probes_requested = 0
        self._probes_done = 0
        self._flush_deadline: float | None = None
        self._reported: str | None = None
        self._reported_refusal: str | None = None
        self._last_spool_look = 0.0
        self._accepts_logs = True

    # --- callers --------------------------------------------------------------------------------

    @property
    def accepts_logs(self) -> bool:
        """False once the endpoint showed it has no logs service (its spans still go there)."""
        return self._accepts_logs

    def submit(self, signal: str, body: bytes, item_count: int) -> int:
        """Queue an encoded request for sending; returns its sequence number. Never blocks."""
        with self._cond:
            self._submitted_seq += 1
            request = _Request(self._submitted_seq, signal, body, item_count)
            if self._closed or self._queued_bytes > MAX_QUEUED_BYTES:
                # Closed, or the endpoint is far behind: keep it on disk, not in memory.
                self._spool_request(request)
                self._resolved_seq = max(self._resolved_seq, request.seq)
                return request.seq
            self._queue.append(request)
            self._queued_bytes += len(body)
            self._ensure_worker()
            self._cond.notify_all()
            return request.seq

    def send(self, signal: str, body: bytes, *, timeout_s: float, item_count: int = 0) -> bool:
        """Send ``body`` and wait up to ``timeout_s``: True once accepted, False when it was
        spooled (endpoint down), refused, or not answered in time (it stays queued)."""
        deadline = _clamp(time.monotonic() + timeout_s)
        with self._cond:
            seq = self.submit(signal, body, item_count)
            if self._resolved_seq >= seq:
                return False  # closed or far behind: it went straight to the spool
            self._outcomes[seq] = None
            self._cond.wait_for(
                lambda: self._outcomes.get(seq) is not None, max(deadline - time.monotonic(), 0)
            )
            return self._outcomes.pop(seq, None) is Outcome.ACCEPTED

    def check_spool(self) -> bool:
        """Start delivering files spooled for this endpoint (by any process); True if any."""
        spool = self._spool
        self._last_spool_look = time.monotonic()
        if spool is None or not spool.pending(self.endpoint.protocol, self.endpoint.url):
            return False
        with self._cond:
            if self._retry_at is None:
                self._retry_at = time.monotonic()
            self._ensure_worker()
            self._cond.notify_all()
        return True

    def flush(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for everything submitted; True only if all was accepted.

        Once everything is resolved, what this process spooled (even during this flush) gets
        one delivery attempt within the same time; other processes' spooled files are started
        on in the background.
        """
        deadline = _clamp(time.monotonic() + timeout_s)

        def remaining_s() -> float:
            return max(deadline - time.monotonic(), 0)

        if not self._closed:
            # Files other processes left are delivered in the background, not waited for: a
            # flush must not take longer because of someone else's backlog.
            self.check_spool()
        with self._cond:
            target = self._submitted_seq
            self._flush_deadline = deadline
            self._cond.wait_for(lambda: self._resolved_seq >= target, remaining_s())
            if not self._closed and self._own_spooled_remaining():
                self._probes_requested += 1
                probe = self._probes_requested
                self._retry_at = time.monotonic()  # try the endpoint now, not after the backoff
                self._ensure_worker()
                self._cond.notify_all()
                self._cond.wait_for(lambda: self._probes_done >= probe, remaining_s())
            self._flush_deadline = None
            accepted = (
                self._resolved_seq >= target
                and self._refused_seq <= self._flushed_seq
                and not self._own_spooled_remaining()
            )
            self._flushed_seq = max(self._flushed_seq, target)
            return accepted

    def close(self, timeout_s: float = 0.5) -> None:
        """Stop: what is queued goes to the spool; waits up to ``timeout_s`` for a request in
        flight, then spools that too (the endpoint may then receive it twice; the run index
        stores a span once)."""
        deadline = _clamp(time.monotonic() + timeout_s)
        with self._cond:
            if self._closed:
                return
            self._closed = True
            queued = list(self._queue)
            self._queue.clear()
            self._queued_bytes = 0
            thread = self._thread
            self._cond.notify_all()
        for request in queued:
            self._spool_request(request)
        if thread is not None and thread is not threading.current_thread():
            # At least a moment, so a spool write under way can finish.
            thread.join(max(deadline - time.monotonic(), 0.1))
        with self._cond:
            in_flight = self._in_flight
            if in_flight is not None:
                in_flight.abandoned = True
            if queued:
                self._resolved_seq = max(self._resolved_seq, queued[-1].seq)
            self._cond.notify_all()
        if in_flight is not None:
            self._spool_request(in_flight)
        elif self._sender is not None and (thread is None or not thread.is_alive()):
            self._sender.close()  # (a worker still sending keeps it; it dies with the process)

    # --- the worker -----------------------------------------------------------------------------

    def _next_job(self) -> _Request | Wait | Literal[Stop.STOP] | None:
        """The next request, None to work on the spool, a wait, or STOP (the thread exits)."""
        if self._closed:
            return STOP
        if self._queue:
            request = self._queue.popleft()
            self._queued_bytes -= len(request.body)
            self._in_flight = request
            return request
        if self._retry_at is None:
            return STOP  # idle: a later submit starts a new thread
        wait_s = self._retry_at - time.monotonic()
        if wait_s <= 0:
            return None
        return Wait(wait_s)

    def _run_job(self, job: _Request | None) -> None:
        if job is None:
            self._deliver_one_spooled()
        else:
            self._send_request(job)

    def _job_failed(self, request: _Request | None) -> None:
        """After an unexpected error: resolve the request (dropped, counted), back off."""
        if request is not None:
            _count_dropped(request.signal, request.item_count)
        with self._cond:
            self._claimed = None
            self._in_flight = None
            self._retry_at = time.monotonic() + MAX_BACKOFF_S  # no tight loop on a bad state
            self._probes_done = self._probes_requested
            if request is not None:
                self._refused_seq = max(self._refused_seq, request.seq)
                self._resolved_seq = max(self._resolved_seq, request.seq)
                if request.seq in self._outcomes:
                    self._outcomes[request.seq] = Outcome.REFUSED
            self._cond.notify_all()

    def _timeout_s(self, signal: str) -> float:
        request_timeout_s = self._request_timeout_s
        if signal == LOGS and self.endpoint.logs.timeout_s is not None:
            request_timeout_s = self.endpoint.logs.timeout_s  # OTEL_EXPORTER_OTLP_LOGS_TIMEOUT
        deadline = self._flush_deadline
        if deadline is None:
            deadline = _exit_deadline
        if deadline is None:
            return request_timeout_s
        return max(min(request_timeout_s, deadline - time.monotonic()), 0.05)

    def _send(self, signal: str, body: bytes) -> Answer:
        with self._send_lock:
            if self._sender is None:
                self._sender = make_sender(self.endpoint)
            return self._sender.send(signal, body, self._timeout_s(signal))

    def _send_request(self, request: _Request) -> None:
        # While down, requests go straight to the spool until a probe is accepted.
        answer = None if self._down else self._send(request.signal, request.body)
        with self._cond:
            if request.abandoned:
                return  # close() spooled it already
        if answer is None or answer.outcome is Outcome.RETRYABLE:
            if answer is not None:
                self._went_down(answer)
            self._spool_request(request)
            outcome = Outcome.RETRYABLE
        elif answer.outcome is Outcome.ACCEPTED:
            self._came_up()
            outcome = Outcome.ACCEPTED
        elif self._refused(answer, request.signal, request.item_count):
            outcome = Outcome.REFUSED
        else:
            outcome = Outcome.ACCEPTED  # no loss: the endpoint has no use for it
        with self._cond:
            # Cleared only now: close() spools a request still in flight or being spooled.
            self._in_flight = None
            if outcome is Outcome.REFUSED:
                self._refused_seq = request.seq
            self._resolved_seq = max(self._resolved_seq, request.seq)
            if request.seq in self._outcomes:
                self._outcomes[request.seq] = outcome
            self._cond.notify_all()

    def _deliver_one_spooled(self) -> None:
        files = (
            self._spool.pending(self.endpoint.protocol, self.endpoint.url) if self._spool else []
        )
        claim = self._spool.claim(files[0]) if self._spool is not None and files else None
        if claim is None:
            with self._cond:
                if not files:
                    self._retry_at = None
                    self._probes_done = self._probes_requested
                    self._cond.notify_all()
            return
        with self._cond:
            self._claimed = claim.original
        spooled = claim.read()
        if spooled is None:
            self._settle_spooled(claim.original)
            return
        answer = self._send(spooled.signal, spooled.body)
        if answer.outcome is Outcome.RETRYABLE:
            claim.release()
            self._went_down(answer)
            with self._cond:
                self._claimed = None
                self._probes_done = self._probes_requested
                self._cond.notify_all()
            return
        claim.done()
        if answer.outcome is Outcome.ACCEPTED:
            self._came_up()
        else:
            self._refused(answer, spooled.signal, spooled.item_count)
        self._settle_spooled(claim.original)

    def _settle_spooled(self, path: Path) -> None:
        with self._cond:
            self._claimed = None
            self._own_spooled.discard(path)
            self._retry_at = time.monotonic()  # keep draining while it answers
            self._cond.notify_all()

    # --- outcomes -------------------------------------------------------------------------------

    def _went_down(self, answer: Answer) -> None:
        with self._cond:
            self._down = True
            delay_s = random.uniform(self._backoff_s / 2, self._backoff_s)
            self._backoff_s = min(self._backoff_s * 2, MAX_BACKOFF_S)
            if not self._closed:
                self._retry_at = time.monotonic() + delay_s
        if self._reported != answer.detail:
            self._reported = answer.detail
            where = self._spool.root if self._spool is not None else "nowhere (spool disabled)"
            if answer.auth:
                logger.error(
                    "spanflow: %s answered %s; check the token. Data is kept in the spool at "
                    "%s and delivered once the endpoint accepts it (or `spanflow spool flush`)",
                    self.endpoint.identity,
                    answer.detail,
                    where,
                )
            else:
                logger.warning(
                    "spanflow: %s unreachable (%s); spooling to %s and retrying in the background",
                    self.endpoint.identity,
                    answer.detail,
                    where,
                )

    def _came_up(self) -> None:
        with self._cond:
            was_down = self._down
            self._down = False
            self._backoff_s = INITIAL_BACKOFF_S
        self._reported_refusal = None
        if was_down:
            logger.info("spanflow: %s is accepting again", self.endpoint.identity)
            self._reported = None
            self.check_spool()
        elif time.monotonic() - self._last_spool_look > SPOOL_LOOK_INTERVAL_S:
            self.check_spool()  # files other processes left for this endpoint while it was up

    def _refused(self, answer: Answer, signal: str, item_count: int) -> bool:
        """Drop a refused request, logged once per status. False when it was no loss but an
        endpoint without a logs service (said once; no more logs are sent there)."""
        if signal == LOGS and answer.unsupported:
            if self._accepts_logs:
                self._accepts_logs = False
                logger.info(
                    "spanflow: %s takes no OTLP logs (%s), so it receives spans only; run data "
                    "(params, metrics, liveness) goes to spanflow collectors",
                    self.endpoint.identity,
                    answer.detail,
                )
            return False
        _count_dropped(signal, item_count)
        if self._reported_refusal == answer.detail:
            return True  # said once until the endpoint accepts something again
        self._reported_refusal = answer.detail
        logger.error(
            "spanflow: %s %s refused %d %s (%s); they are dropped, sending them again cannot work",
            self.endpoint.protocol,
            self.endpoint.signal_url(signal),
            item_count,
            "spans" if signal == TRACES else f"{signal} records",
            answer.detail,
        )
        return True

    def _spool_request(self, request: _Request) -> None:
        if self._spool is None or self._spool.max_bytes <= 0:
            self._drop(request, "the spool is disabled")
            return
        spooled = SpooledRequest(
            endpoint=self.endpoint.url,
            protocol=self.endpoint.protocol,
            signal=request.signal,
            item_count=request.item_count,
            body=request.body,
        )
        try:
            path, dropped_items = self._spool.put(spooled)
        except OSError as exc:
            self._drop(request, f"the spool at {self._spool.root} is not writable ({exc})")
            return
        if path is None:
            bound = self._spool.max_bytes
            self._drop(request, f"it alone is larger than the spool bound ({bound} bytes)")
            return
        with self._cond:
            self._own_spooled.add(path)
        if dropped_items:
            _count_dropped(TRACES, dropped_items)
            _warn(
                f"spanflow: spool {self._spool.root} is past its bound of "
                f"{self._spool.max_bytes} bytes; dropped the {dropped_items} oldest spooled spans"
            )

    def _drop(self, request: _Request, why: str) -> None:
        _count_dropped(request.signal, request.item_count)
        with self._cond:
            self._refused_seq = max(self._refused_seq, request.seq)
        _warn(
            f"spanflow: dropped {request.item_count} {request.signal} items for "
            f"{self.endpoint.identity}: {why}"
        )

    def _own_spooled_remaining(self) -> bool:
        # A file gone from the spool was delivered (by this process or another one).
        self._own_spooled = {
            path for path in self._own_spooled if path == self._claimed or path.exists()
        }
        return bool(self._own_spooled)


def _warn(message: str) -> None:
    """A log line and a SpanflowWarning; from a background thread, so never raises."""
    logger.warning(message)
    # Warnings turned into errors (e.g. pytest -W error) must not stop delivery.
    with contextlib.suppress(Exception):
        warnings.warn(message, SpanflowWarning, stacklevel=2)
