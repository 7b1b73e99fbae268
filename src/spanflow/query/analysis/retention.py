"""Retention: which top-level runs a policy deletes, and the collector's scheduled pruning.

One rule for ``spanflow runs prune``, ``Client.prune`` and the collector's
``--retention-*`` options: the ``keep_last`` newest matching runs stay whatever their age; of
the others, those started more than ``older_than_s`` ago go (all of them without an age).
Runs still ``running`` are never chosen.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from spanflow import attributes as attr
from spanflow.query.store import RunIndexStore, RunQuery, RunSummary

logger = logging.getLogger("spanflow_collector.retention")
_PAGE_SIZE = 500


def choose_prunable(
    newest_first: Iterable[RunSummary],
    *,
    older_than_s: float | None,
    keep_last: int | None,
    now_s: float,
) -> list[RunSummary]:
    """The runs the policy deletes, from matching top-level runs listed newest first."""
    candidates = [run for run in newest_first if run.status != attr.RunStatus.RUNNING]
    candidates = candidates[keep_last or 0 :]
    if older_than_s is not None:
        cutoff_ns = int((now_s - older_than_s) * 1e9)
        candidates = [run for run in candidates if run.start_time_unix_nano < cutoff_ns]
    return candidates


@dataclass(frozen=True)
class RetentionPolicy:
    """The collector's scheduled pruning: what to delete, for which projects, how often."""

    older_than_s: float | None = None
    keep_last: int | None = None
    statuses: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()  # empty: every project, counted together
    interval_s: float = 3600.0

    def apply(self, store: RunIndexStore, *, now_s: float | None = None) -> int:
        """Delete what the policy chooses now; returns how many runs went (subruns included)."""
        now = time.time() if now_s is None else now_s
        deleted = 0
        for project in self.projects or (None,):
            chosen = choose_prunable(
                _top_level(store, project, self.statuses),
                older_than_s=self.older_than_s,
                keep_last=self.keep_last,
                now_s=now,
            )
            if chosen:
                deleted += store.delete_runs([run.id for run in chosen])
        return deleted


def _top_level(
    store: RunIndexStore, project: str | None, statuses: Sequence[str]
) -> list[RunSummary]:
    runs: list[RunSummary] = []
    cursor: str | None = None
    while True:
        query = RunQuery(
            project=project,
            statuses=tuple(statuses),
            top_level_only=True,
            limit=_PAGE_SIZE,
            cursor=cursor,
        )
        page = store.list_runs(query)
        runs.extend(page.runs)
        cursor = page.next_cursor
        if cursor is None:
            return runs


class RetentionWorker:
    """Applies a policy at start and then every ``interval_s`` in a daemon thread."""

    def __init__(self, store: RunIndexStore, policy: RetentionPolicy) -> None:
        self._store = store
        self._policy = policy
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="spanflow-retention", daemon=True)

    def start(self) -> None:
        """Begin applying the policy."""
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop after the pass in progress, if any."""
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _loop(self) -> None:
        while not self._stopped.is_set():
            try:
                deleted = self._policy.apply(self._store)
                if deleted:
                    logger.info("retention: deleted %d runs (subruns included)", deleted)
            except Exception:
                # A failed pass (index busy, connection lost) is retried at the next interval.
                logger.exception("retention pass failed")
            self._stopped.wait(self._policy.interval_s)
