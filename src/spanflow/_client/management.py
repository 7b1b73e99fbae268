"""What ``Client`` computes from the runs it reads: paired comparison, metric history, pruning.

Each works the same against a collector and a local index, because it only uses the reads
(and deletes) every backend offers.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from spanflow import attributes as attr
from spanflow._client.errors import InvalidQueryError, RunNotFoundError
from spanflow.query.analysis.history import MetricStats, collect
from spanflow.query.analysis.paired import PairedComparison, check_pair_by, compare_paired
from spanflow.query.analysis.retention import choose_prunable
from spanflow.query.store import RunSummary

if TYPE_CHECKING:
    from spanflow._client.client import Client

PRUNABLE_STATUSES = (
    attr.RunStatus.COMPLETED,
    attr.RunStatus.FAILED,
    attr.RunStatus.CANCELLED,
    attr.RunStatus.INTERRUPTED,
)
"""Statuses a prune may select; running runs are never pruned."""

Progress = Callable[[int, int], None]
"""Called with (done, total) as a long operation advances."""


def paired(
    client: Client, run_a: str, run_b: str, *, pair_by: str, confidence: float
) -> PairedComparison:
    """Pair the subruns of ``run_a`` and ``run_b`` and compare their metrics."""
    try:
        check_pair_by(pair_by)
    except ValueError as exc:
        raise InvalidQueryError("pair_by", str(exc)) from exc
    if not 0.0 < confidence < 1.0:
        raise InvalidQueryError("confidence", "give a confidence strictly between 0 and 1")
    first, second = client.get_run(run_a), client.get_run(run_b)
    return compare_paired(
        first,
        client.children(first.id),
        second,
        client.children(second.id),
        pair_by=pair_by,
        confidence=confidence,
    )


def metric_stats(
    client: Client,
    metric: str,
    *,
    project: str | None,
    by: str | None,
    last: int | None,
    status: str | Sequence[str] | None,
    tags: str | Sequence[str] | None,
    name: str | None,
) -> MetricStats:
    """The newest ``last`` top-level runs holding ``metric`` (own or subruns'), summarized."""
    if not metric:
        raise InvalidQueryError("metric", "name the metric")
    if last is not None and last < 1:
        raise InvalidQueryError("last", "give a positive number of runs")
    return collect(
        client.iter_runs(project=project, status=status, tags=tags, name=name, top_level=True),
        metric,
        by=by,
        last=last,
        children_of=client.children,
    )


@dataclass(frozen=True)
class PruneResult:
    """The top-level runs a prune chose (deleted unless ``dry_run``) and how many runs went."""

    runs: tuple[RunSummary, ...]
    deleted: int  # runs deleted, subruns included; 0 on a dry run
    dry_run: bool


def prune(
    client: Client,
    *,
    older_than_s: float | None,
    keep_last: int | None,
    statuses: Sequence[str],
    project: str | None,
    dry_run: bool,
    now_s: float | None = None,
    progress: Progress | None = None,
) -> PruneResult:
    """Delete top-level runs (with subruns) past the policy; running runs are always kept.

    The ``keep_last`` newest matching runs stay whatever their age; of the others, those
    started more than ``older_than_s`` ago go (all of them without ``older_than_s``).
    """
    if older_than_s is None and keep_last is None:
        raise InvalidQueryError("older_than", "say what to prune: --older-than and/or --keep-last")
    if older_than_s is not None and older_than_s < 0:
        raise InvalidQueryError("older_than", "an age cannot be negative")
    if keep_last is not None and keep_last < 0:
        raise InvalidQueryError("keep_last", "keep zero or more runs")
    for status in statuses:
        if status not in PRUNABLE_STATUSES:
            raise InvalidQueryError(
                "status", f"{status!r} is not one of {', '.join(PRUNABLE_STATUSES)}"
            )
    candidates = choose_prunable(
        client.iter_runs(project=project, status=list(statuses) or None, top_level=True),
        older_than_s=older_than_s,
        keep_last=keep_last,
        now_s=time.time() if now_s is None else now_s,
    )
    if dry_run:
        return PruneResult(tuple(candidates), 0, True)
    deleted = 0
    for done, run in enumerate(candidates, start=1):
        with contextlib.suppress(RunNotFoundError):  # deleted meanwhile: the goal is reached
            deleted += client.delete(run.id)
        if progress is not None:
            progress(done, len(candidates))
    return PruneResult(tuple(candidates), deleted, False)
