"""Recorded runs as test cassettes: serve a run's LLM responses to an offline test."""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import TracebackType

from spanflow.replaying import ReplaySession, replay
from spanflow.replaying._session import MissPolicy


class Cassettes:
    """Opens at most one replay per test and closes it when the test ends.

    Call it as ``spanflow_cassette(run_id, source="tests/cassettes/index.db")``: every LLM
    request of the test is then answered from that run; a request it never made fails the test
    with :class:`~spanflow.replaying.ReplayMiss` (``miss="live"`` sends it instead).
    """

    def __init__(self) -> None:
        self._open: replay | None = None

    def __call__(
        self,
        run_id: str,
        *,
        source: str | os.PathLike[str] | None = None,
        edits: Mapping[str | int, str] | None = None,
        miss: MissPolicy = "error",
    ) -> ReplaySession:
        if self._open is not None:
            raise RuntimeError("spanflow_cassette serves one recorded run per test")
        self._open = replay(run_id, source=source, edits=edits, miss=miss)
        return self._open.__enter__()

    def __enter__(self) -> Cassettes:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._open is not None:
            self._open.__exit__(exc_type, exc, traceback)
            self._open = None
