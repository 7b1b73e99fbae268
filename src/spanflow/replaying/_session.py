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
    from spanflow.replaying._transport import CallSite

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
    """The recorded call answering one live call (None: it went to the provider)."""

    __slots__ = ("exchanges", "recorded", "sent")

    def __init__(self, recorded: RecordedCall | None, exchanges: tuple[Exchange, ...]) -> None:
        self.recorded = recorded
        self.exchanges = exchanges
        self.sent = 0

    def next_exchange(self) -> Exchange | None:
        if self.recorded is None or not self.exchanges:
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
            if call.request_key is not None and call.recording is not None:
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

    def answer(self, call: CallSite, key: str) -> Exchange | None:
        """The exchange answering this request, or None to send it to the provider.

        Raises:
            ReplayMiss: no recorded call matches and the miss policy is ``error``.
        """
        with self._lock:
            answer = self._answers.get(call.span)
            if answer is None:
                answer = self._assign(call, key)
                self._answers[call.span] = answer
            exchange = answer.next_exchange()
        if answer.recorded is None and self.miss == "error":
            raise ReplayMiss(
                f"replay of {self.recorded.run_id}: this {call.provider} {call.operation} "
                "request was never recorded (its input differs from every recorded call); "
                "use miss='live' (spanflow replay --miss live) to send it to the provider"
            )
        return exchange

    def _assign(self, call: CallSite, key: str) -> _Answer:
        pool = self._pool.get(key)
        recorded = pool.popleft() if pool else None
        if recorded is None or recorded.recording is None:
            source = Source.LIVE
            answer = _Answer(None, ())
        else:
            edited = self._edited.get(recorded.span_id)
            source = Source.EDITED if edited is not None else Source.SERVED
            answer = _Answer(recorded, edited or recorded.recording.exchanges)
            self._saved[0] += recorded.input_tokens
            self._saved[1] += recorded.output_tokens
            call.span.set_attribute(attributes.REPLAY_ORIGINAL_SPAN, recorded.span_id)
        self._counts[source] += 1
        call.span.set_attribute(attributes.REPLAY_SOURCE, source)
        return answer

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
