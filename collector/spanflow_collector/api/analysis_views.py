"""``GET /api/v1/runs/compare/paired`` and ``GET /api/v1/runs/stats``: statistics over runs.

The same computations ``spanflow.Client.compare_paired`` and ``metric_stats`` run (see
``spanflow.query.analysis``), over the store, for API users such as the web UI.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from spanflow.query.analysis.encode import encode_paired, encode_stats
from spanflow.query.analysis.history import collect
from spanflow.query.analysis.paired import check_pair_by, compare_paired
from spanflow.query.params import QueryParameterError, parse_statuses
from spanflow.query.store import RunIndexStore, RunQuery, RunSummary

PAIRED_PARAMETERS = ("a", "b", "pair_by", "confidence")
STATS_PARAMETERS = ("metric", "project", "by", "last", "status", "tag", "q")
_PAGE_SIZE = 500
MAX_STATS_RUNS = 10_000


def children(store: RunIndexStore, run_id: str) -> list[RunSummary]:
    """Every direct subrun of ``run_id``."""
    found: list[RunSummary] = []
    cursor: str | None = None
    while True:
        page = store.list_runs(RunQuery(parent_id=run_id, limit=_PAGE_SIZE, cursor=cursor))
        found.extend(page.runs)
        cursor = page.next_cursor
        if cursor is None:
            return found


def _top_level(store: RunIndexStore, query: RunQuery) -> Iterator[RunSummary]:
    cursor: str | None = None
    while True:
        page = store.list_runs(
            RunQuery(
                project=query.project,
                statuses=query.statuses,
                tags=query.tags,
                name_contains=query.name_contains,
                top_level_only=True,
                limit=_PAGE_SIZE,
                cursor=cursor,
            )
        )
        yield from page.runs
        cursor = page.next_cursor
        if cursor is None:
            return


def _one(values: Mapping[str, Sequence[str]], name: str) -> str | None:
    given = values.get(name, ())
    if len(given) > 1:
        raise QueryParameterError(name, "give it once")
    return given[0] if given else None


def _positive(name: str, text: str, maximum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= maximum:
        raise QueryParameterError(name, f"a whole number from 1 to {maximum}, got {text!r}")
    return value


def paired(
    store: RunIndexStore,
    values: Mapping[str, Sequence[str]],
    run_of: Callable[[str], RunSummary],
) -> dict[str, Any]:
    """The paired comparison of runs ``a`` and ``b`` as JSON."""
    first, second = _one(values, "a"), _one(values, "b")
    if not first or not second:
        raise QueryParameterError("a" if not first else "b", "give both runs: ?a=ID&b=ID")
    pair_by = _one(values, "pair_by") or "name"
    try:
        check_pair_by(pair_by)
    except ValueError as exc:
        raise QueryParameterError("pair_by", str(exc)) from None
    confidence_text = _one(values, "confidence")
    try:
        confidence = float(confidence_text) if confidence_text else 0.95
    except ValueError:
        confidence = math.nan
    if not 0.0 < confidence < 1.0:
        raise QueryParameterError("confidence", "a number strictly between 0 and 1")
    run_a, run_b = run_of(first), run_of(second)
    comparison = compare_paired(
        run_a,
        children(store, run_a.id),
        run_b,
        children(store, run_b.id),
        pair_by=pair_by,
        confidence=confidence,
    )
    return encode_paired(comparison)


def stats(store: RunIndexStore, values: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """A metric across runs as JSON."""
    metric = _one(values, "metric")
    if not metric:
        raise QueryParameterError("metric", "name the metric: ?metric=accuracy")
    last_text = _one(values, "last")
    last = _positive("last", last_text, MAX_STATS_RUNS) if last_text else None
    query = RunQuery(
        project=_one(values, "project"),
        statuses=parse_statuses(values.get("status", ())),
        tags=tuple(tag for tag in values.get("tag", ()) if tag),
        name_contains=_one(values, "q"),
    )
    result = collect(
        _top_level(store, query),
        metric,
        by=_one(values, "by"),
        last=last,
        children_of=lambda run_id: children(store, run_id),
    )
    return encode_stats(result)
