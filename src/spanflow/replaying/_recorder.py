"""Recording one LLM call's responses onto its span, redacted, behind the on/off switch.

The recording is written to the span each time an exchange completes (after the body was read,
for streams when the client finishes or closes it), so what the span carries when it ends is
every exchange of the call so far. Nothing is recorded once the span has ended, as for a stream
the program dropped without closing it.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

from opentelemetry import trace

from spanflow import attributes
from spanflow._internal import redact as redaction
from spanflow._internal import settings
from spanflow._internal.guard import report_internal_error
from spanflow.redaction import Redactor
from spanflow.replaying._exchange import Exchange, Recording, kept_raw_headers, pack
from spanflow.replaying._streams import recording_classes


def set_recording(enabled: bool | None) -> None:
    """Turn response recording on or off for this process; ``None`` reads the environment."""
    settings.update("record_responses", enabled)


def recording_enabled() -> bool:
    """Whether LLM calls starting now record their responses (default on)."""
    return settings.current().record_responses


_recorders: weakref.WeakKeyDictionary[trace.Span, CallRecorder] = weakref.WeakKeyDictionary()
_recorders_lock = threading.Lock()


def recorder_for(span: trace.Span, key: str) -> CallRecorder | None:
    """The recorder of ``span``'s call (one per call, shared by its retries); None when off."""
    if not recording_enabled():
        return None
    with _recorders_lock:
        recorder = _recorders.get(span)
        if recorder is None:
            recorder = _recorders[span] = CallRecorder(span, key)
        return recorder


class CallRecorder:
    """Collects a call's exchanges and keeps the span's recording attribute up to date."""

    def __init__(self, span: trace.Span, key: str) -> None:
        # Held weakly: ``_recorders`` is keyed weakly by the span, and a value holding its key
        # would keep every call's span, with its messages and recording, alive for good.
        self._span = weakref.ref(span)
        self._lock = threading.Lock()
        self._exchanges: list[Exchange] = []
        self._redactors: set[Redactor | None] = set()  # what redacted the exchanges so far
        span.set_attribute(attributes.REPLAY_REQUEST, key)

    @property
    def span(self) -> trace.Span:
        """The call's span; a non-recording one once nothing else holds it."""
        span = self._span()
        return trace.INVALID_SPAN if span is None else span

    def add(self, exchange: Exchange) -> None:
        """Record one finished exchange (a served one too: a replay can be replayed)."""
        span = self._span()
        if span is None or not span.is_recording():
            # The call's span has ended: a stream dropped unclosed ends its span, abandoned,
            # from its finalizer, before the client's own finalizer closes the HTTP response.
            # Closing the response first is no option there (an async body cannot be awaited
            # in a finalizer), and an ended span takes no attribute: record nothing.
            return
        redactor = redaction.active_redactor()
        with self._lock:
            exchanges = self._exchanges
            exchanges.append(_redacted(exchange, redactor))
            redactors = self._redactors
            redactors.add(redactor)
            packed = pack(Recording(tuple(exchanges)))
            redacted_by = redactor if len(redactors) == 1 else None
        if redacted_by is not None:
            # Its bodies were redacted above, and compressed into base64 they are no text a
            # secret scan can read: the embedded index need not scan the recording again.
            redacted_by.vouch(packed)
        span.set_attribute(attributes.REPLAY_EXCHANGE, packed)

    def add_error(self, error: Exception) -> None:
        """Record a request that failed without a response (connection refused, timeout)."""
        try:
            message = redaction.error_text(error)
            self.add(Exchange(error_type=type(error).__name__, error_message=message))
        except Exception:
            report_internal_error("recording a failed request", self.span)

    def observe(self, module: Any, response: Any, *, streamed: bool, is_async: bool) -> None:
        """Record ``response``: now when its body was read, else as the client reads it."""
        status = int(response.status_code)
        # Only the few kept headers decoded, not every one as ``multi_items()`` would.
        response_headers = response.headers
        headers = kept_raw_headers(response_headers.raw, response_headers.encoding)
        if not streamed:
            self.add(Exchange(status=status, headers=headers, chunks=(response.content,)))
            return
        encoding = response_headers.get("content-encoding", "identity").lower()

        def finish(chunks: list[bytes], complete: bool) -> None:
            try:
                if encoding not in ("", "identity"):
                    chunks = [_decoded(module, encoding, b"".join(chunks))]
                self.add(
                    Exchange(
                        status=status, headers=headers, chunks=tuple(chunks), complete=complete
                    )
                )
            except Exception:
                report_internal_error("recording a streamed response", self.span)

        sync_class, async_class = recording_classes(module)
        response.stream = (async_class if is_async else sync_class)(response.stream, finish)


def _decoded(module: Any, encoding: str, body: bytes) -> bytes:
    """``body`` without its content encoding (gzip, deflate, br), as httpx would decode it."""
    decoded: bytes = module.Response(
        200, headers={"content-encoding": encoding}, content=body
    ).read()
    return decoded


def _redacted(exchange: Exchange, redactor: Redactor | None) -> Exchange:
    """``exchange`` with secrets in its body replaced; chunks kept when nothing changed."""
    if redactor is None or exchange.error_type is not None or not exchange.chunks:
        return exchange
    body = exchange.body
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return exchange
    clean = redactor.text(text)
    if clean == text:
        return exchange
    # A secret can straddle chunk boundaries: the redacted body replays as a single chunk.
    return Exchange(
        status=exchange.status,
        headers=exchange.headers,
        chunks=(clean.encode("utf-8"),),
        complete=exchange.complete,
        redacted=True,
    )
