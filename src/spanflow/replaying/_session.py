"""A replay in progress: which recorded call answers which request, edits, misses and the tally.

A request is answered by the first not-yet-used recorded call with the same canonical request
(provider, operation, method, path, canonical body): order breaks ties between identical
requests, so which thread asks first never changes what is served. A call's retries are answered
by the same recorded call's later exchanges.
"""

from __future__ import annotations

import threading
import weakref
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from spanflow import attributes
from spanflow.replaying._edit import EditNotSupported, edit_exchange
from spanflow.replaying._exchange import Exchange
from spanflow.replaying._index import RecordedCall, RecordedRun, ReplayError

if TYPE_CHECKING:
    from spanflow.replaying._call_site import CallSite

MissPolicy = Literal["live", "error"]
Source = attributes.ReplaySourceValue


class ReplayMiss(BaseException):
    """An LLM request the replayed run never made, under ``miss="error"``.

    A ``BaseException`` (like pytest's own failures) so that client retries and a broad
    ``except Exception`` in the program cannot swallow it.
    """


@dataclass(frozen=True)
class ReplaySummary:
    """What a replay served, edited and sent live, and the tokens it did not pay for."""

    original_run_id: str
    served: int
    edited: int
    live: int
    saved_input_tokens: int
    saved_output_tokens: int

    @property
    def saved_tokens(self) -> int:
        """Input plus output tokens of the calls answered from the recording."""
        return self.saved_input_tokens + self.saved_output_tokens

    def line(self) -> str:
        """One line for a terminal."""
        return (
            f"replay of {self.original_run_id}: {self.served} served, {self.edited} edited, "
            f"{self.live} live; saved {self.saved_tokens} tokens "
            f"({self.saved_input_tokens} in, {self.saved_output_tokens} out)"
        )


class _Answer:
    """The recorded exchanges answering one call, or why it goes to the provider."""

    __slots__ = ("exchanges", "miss_reason", "sent")

    def __init__(self, exchanges: tuple[Exchange, ...], miss_reason: str | None = None) -> None:
        self.exchanges = exchanges
        self.miss_reason = miss_reason
        self.sent = 0

    def next_exchange(self) -> Exchange | None:
        if self.miss_reason is not None or not self.exchanges:
            return None
        exchange = self.exchanges[min(self.sent, len(self.exchanges) - 1)]
        self.sent += 1
        return exchange


class ReplaySession:
    """Answers LLM requests from a recorded run, with edits and a miss policy."""

    def __init__(
        self,
        recorded: RecordedRun,
        *,
        edits: Mapping[str | int, str] | None = None,
        params: Mapping[str, Any] | None = None,
        miss: MissPolicy = "live",
    ) -> None:
        """Prepare the replay.

        Raises:
            ReplayError: an edit names no call of the run, or cannot be applied to it.
        """
        if miss not in ("live", "error"):
            raise ReplayError(f"miss must be 'live' or 'error', not {miss!r}")
        self.recorded = recorded
        self.params = dict(params or {})
        self.miss: MissPolicy = miss
        self._edited = self._resolve_edits(edits or {})
        self._pool: dict[str, deque[RecordedCall]] = {}
        for call in recorded.calls:
            # Calls whose recording cannot be served stay in the pool: matching them keeps the
            # order of identical requests, and the miss can say why it was not answered.
            if call.request_key is not None:
                self._pool.setdefault(call.request_key, deque()).append(call)
        self._answers: weakref.WeakKeyDictionary[Any, _Answer] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self._counts = {Source.SERVED: 0, Source.EDITED: 0, Source.LIVE: 0}
        self._saved = [0, 0]

    def _resolve_edits(self, edits: Mapping[str | int, str]) -> dict[str, tuple[Exchange, ...]]:
        by_span = {call.span_id: call for call in self.recorded.calls}
        resolved: dict[str, tuple[Exchange, ...]] = {}
        for target, text in edits.items():
            call = _find_call(self.recorded, target, by_span)
            if call.recording is None or not call.recording.exchanges:
                raise ReplayError(f"call {target}: no recorded response to edit")
            try:
                edited = edit_exchange(
                    call.recording.exchanges[-1], call.provider, call.operation, text
                )
            except (EditNotSupported, ValueError, KeyError, IndexError, TypeError) as exc:
                raise ReplayError(f"cannot edit call {target}: {exc}") from exc
            resolved[call.span_id] = (edited,)
        return resolved

    def answer(
        self, call: CallSite, key: str, *, unanswerable: str | None = None
    ) -> Exchange | None:
        """The exchange answering this request, or None to send it to the provider.

        Args:
            call: The LLM call sending the request.
            key: Its canonical request hash.
            unanswerable: Why this request cannot be given a recorded response at all (its
                transport is not one replay answers); it then goes to the provider.

        Raises:
            ReplayMiss: the request cannot be answered and the miss policy is ``error``.
        """
        with self._lock:
            answer = self._answers.get(call.span)
            if answer is None:
                answer = self._assign(call, key, unanswerable)
                self._answers[call.span] = answer
            exchange = answer.next_exchange()
        if answer.miss_reason is not None and self.miss == "error":
            raise ReplayMiss(
                f"replay of {self.recorded.run_id}: this {call.provider} {call.operation} "
                f"request {answer.miss_reason}; use miss='live' (spanflow replay --miss live) "
                "to send it to the provider"
            )
        return exchange

    def _assign(self, call: CallSite, key: str, unanswerable: str | None) -> _Answer:
        pool = self._pool.get(key)
        recorded = pool.popleft() if pool else None
        edited = self._edited.get(recorded.span_id) if recorded is not None else None
        if recorded is not None:
            call.span.set_attribute(attributes.REPLAY_ORIGINAL_SPAN, recorded.span_id)
        miss_reason: str | None = None
        if unanswerable is not None:
            miss_reason = f"cannot be answered from a recording: {unanswerable}"
        elif recorded is None:
            miss_reason = "was never recorded (its input differs from every recorded call)"
        elif edited is None and (recorded.unservable or recorded.recording is None):
            miss_reason = (
                f"matches call {recorded.position} of the recorded run, but "
                f"{recorded.unservable or 'no response was recorded for it'}"
            )
        if miss_reason is not None:
            source = Source.LIVE
            answer = _Answer((), miss_reason)
            call.span.set_attribute(attributes.REPLAY_MISS_REASON, miss_reason)
        else:
            assert recorded is not None and recorded.recording is not None  # no miss reason
            source = Source.EDITED if edited is not None else Source.SERVED
            answer = _Answer(edited or recorded.recording.exchanges)
            self._saved[0] += recorded.input_tokens
            self._saved[1] += recorded.output_tokens
        self._counts[source] += 1
        call.span.set_attribute(attributes.REPLAY_SOURCE, source)
        return answer

    def restart_tally(self) -> None:
        """Count from zero (a forked child counts only its own calls)."""
        with self._lock:
            self._counts = dict.fromkeys(self._counts, 0)
            self._saved = [0, 0]

    def summary(self) -> ReplaySummary:
        """The tally so far."""
        with self._lock:
            return ReplaySummary(
                original_run_id=self.recorded.run_id,
                served=self._counts[Source.SERVED],
                edited=self._counts[Source.EDITED],
                live=self._counts[Source.LIVE],
                saved_input_tokens=self._saved[0],
                saved_output_tokens=self._saved[1],
            )


def _find_call(
    recorded: RecordedRun, target: str | int, by_span: Mapping[str, RecordedCall]
) -> RecordedCall:
    text = str(target).strip()
    if text.isdigit():
        position = int(text)
        if 1 <= position <= len(recorded.calls):
            return recorded.calls[position - 1]
        raise ReplayError(
            f"call {position}: run {recorded.run_id} has {len(recorded.calls)} LLM call(s), "
            "numbered from 1"
        )
    call = by_span.get(text.lower())
    if call is None:
        raise ReplayError(
            f"call {text!r} is neither a position (1..{len(recorded.calls)}) nor the span id of "
            f"an LLM call of run {recorded.run_id}"
        )
    return call
