"""A metric across runs: each run's value in time order, and mean/median/spread per group.

A run's value is its own last value of the metric; a run that never logged the metric itself
but whose subruns did (an evaluation whose samples carry the scores) counts with the mean over
those subruns.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from spanflow.query.store import RunSummary

VALUE_FROM_RUN = "run"
VALUE_FROM_SUBRUNS = "subruns_mean"


@dataclass(frozen=True)
class RunValue:
    """One run's value of the metric (``source``: the run's own, or its subruns' mean)."""

    run_id: str
    name: str
    start_time_unix_nano: int
    value: float
    group: str | None  # the ``by`` param's value as text, None without ``by`` or without it
    source: str


@dataclass(frozen=True)
class GroupStats:
    """Summary of the values in one group (all runs when not grouped)."""

    group: str | None
    count: int
    mean: float
    median: float
    stdev: float | None  # sample standard deviation, None for a single run
    minimum: float
    maximum: float
    first: float  # the oldest run's value
    last: float  # the newest run's value


@dataclass(frozen=True)
class MetricStats:
    """A metric across runs, oldest first, with a summary per group."""

    metric: str
    by: str | None
    values: tuple[RunValue, ...]
    groups: tuple[GroupStats, ...]


def run_value(
    run: RunSummary, metric: str, children: Sequence[RunSummary] | None
) -> tuple[float, str] | None:
    """The run's value of ``metric`` and where it came from, or None when it has none."""
    own = run.metrics.get(metric)
    if own is not None:
        return float(own), VALUE_FROM_RUN
    scores = [child.metrics[metric] for child in children or () if metric in child.metrics]
    if not scores:
        return None
    return math.fsum(scores) / len(scores), VALUE_FROM_SUBRUNS


def group_of(run: RunSummary, by: str | None) -> str | None:
    """The ``by`` param's value as text (None when not grouping or the run lacks it)."""
    if by is None:
        return None
    value = run.params.get(by)
    return None if value is None else str(value)


def collect(
    newest_first: Iterable[RunSummary],
    metric: str,
    *,
    by: str | None,
    last: int | None,
    children_of: Callable[[str], Sequence[RunSummary]],
) -> MetricStats:
    """The newest ``last`` runs holding ``metric`` (own or their subruns'), summarized.

    ``children_of`` is asked only for runs without the metric of their own.
    """
    found: list[RunValue] = []
    for run in newest_first:
        children = None if metric in run.metrics else children_of(run.id)
        value = run_value(run, metric, children)
        if value is None:
            continue
        found.append(
            RunValue(
                run.id, run.name, run.start_time_unix_nano, value[0], group_of(run, by), value[1]
            )
        )
        if last is not None and len(found) >= last:
            break
    return summarize(metric, by, found)


def summarize(metric: str, by: str | None, values: Sequence[RunValue]) -> MetricStats:
    """Order ``values`` oldest first and summarize them per group (groups sorted by name)."""
    ordered = tuple(sorted(values, key=lambda v: (v.start_time_unix_nano, v.run_id)))
    grouped: dict[str | None, list[float]] = {}
    for value in ordered:
        grouped.setdefault(value.group, []).append(value.value)
    groups = tuple(
        GroupStats(
            group=group,
            count=len(numbers),
            mean=math.fsum(numbers) / len(numbers),
            median=float(statistics.median(numbers)),
            stdev=statistics.stdev(numbers) if len(numbers) > 1 else None,
            minimum=min(numbers),
            maximum=max(numbers),
            first=numbers[0],
            last=numbers[-1],
        )
        for group, numbers in sorted(grouped.items(), key=_group_order)
    )
    return MetricStats(metric=metric, by=by, values=ordered, groups=groups)


def _group_order(item: tuple[str | None, list[float]]) -> tuple[bool, str]:
    """Groups by name, the runs without the ``by`` param last."""
    return item[0] is None, item[0] or ""
