"""``spanflow.replay(...)``: re-run code in process, its LLM calls answered from a recorded run."""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from spanflow.instrumentation._api import instrument
from spanflow.replaying import _state, _transport
from spanflow.replaying._index import load_run
from spanflow.replaying._session import MissPolicy, ReplaySession, ReplaySummary


class replay:
    """Answer LLM calls from run ``run_id`` while the block runs (``with`` or ``async with``).

    Every instrumented LLM call whose request matches a recorded call (same provider,
    operation and canonical request; recorded order breaks ties) gets the recorded response
    without a network request, streamed calls as streams. Runs opened inside are linked to the
    original (run attribute ``replay_of``) and see ``params`` merged into ``r.params``.

    Args:
        run_id: The recorded run (its subruns' calls are included).
        edits: Replace a call's output: ``{position or span id: text}``; positions count the
            run's LLM calls from 1 in start order.
        params: Override the params of runs opened inside.
        miss: ``"live"`` sends an unrecorded request to the provider; ``"error"`` raises
            :class:`~spanflow.replaying.ReplayMiss`.
        source: The run index or collector to read from (default: where the SDK writes).

    Raises:
        ReplayError: the run is unknown or has no recorded responses, or an edit is invalid.

    Example::

        with spanflow.replay(run_id, edits={2: "Paris"}) as session:
            agent("What is the capital of France?")
        print(session.summary().line())
    """

    def __init__(
        self,
        run_id: str,
        *,
        edits: Mapping[str | int, str] | None = None,
        params: Mapping[str, Any] | None = None,
        miss: MissPolicy = "live",
        source: str | os.PathLike[str] | None = None,
    ) -> None:
        self._run_id = run_id
        self._edits = dict(edits or {})
        self._params = dict(params or {})
        self._miss: MissPolicy = miss
        self._source = source
        self.session: ReplaySession | None = None

    def __enter__(self) -> ReplaySession:
        session = ReplaySession(
            load_run(self._run_id, self._source),
            edits=self._edits,
            params=self._params,
            miss=self._miss,
        )
        instrument()
        _transport.install()
        _state.activate(session)
        self.session = session
        return session

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.session is not None:
            _state.deactivate(self.session)

    async def __aenter__(self) -> ReplaySession:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, traceback)

    def summary(self) -> ReplaySummary | None:
        """The tally of the replay (None before it started)."""
        return self.session.summary() if self.session is not None else None
