"""Client-side list filters turned into the query parameters the API (and the index) understand."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone

from spanflow.query.params import format_filter_value

FilterValue = str | bool | int | float
Comparison = FilterValue | tuple[str, FilterValue]
ValueFilters = Mapping[str, Comparison] | Iterable[str] | str | None
"""``{"lr": (">", 0.01), "model": "gpt-4o"}`` (a bare value means ``=``) or ``["lr>0.01"]``."""

TimeBound = datetime | int | float | str | None
"""A ``datetime`` (naive means UTC), unix seconds, or an ISO 8601 string."""


def run_list_pairs(
    *,
    project: str | None = None,
    status: str | Sequence[str] | None = None,
    tags: str | Sequence[str] | None = None,
    name: str | None = None,
    started_after: TimeBound = None,
    started_before: TimeBound = None,
    parent: str | None = None,
    top_level: bool = False,
    params: ValueFilters = None,
    metrics: ValueFilters = None,
    attributes: ValueFilters = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> list[tuple[str, str]]:
    """The ``GET /api/v1/runs`` query parameters for these filters, in a stable order."""
    pairs: list[tuple[str, str]] = []
    if project is not None:
        pairs.append(("project", project))
    pairs.extend(("status", value) for value in _strings(status))
    pairs.extend(("tag", value) for value in _strings(tags))
    if name is not None:
        pairs.append(("q", name))
    if started_after is not None:
        pairs.append(("started_after", _time_text(started_after)))
    if started_before is not None:
        pairs.append(("started_before", _time_text(started_before)))
    if parent is not None:
        pairs.append(("parent", parent))
    if top_level:
        pairs.append(("top_level", "true"))
    pairs.extend(("param", text) for text in _comparisons(params))
    pairs.extend(("metric", text) for text in _comparisons(metrics))
    pairs.extend(("attr", text) for text in _comparisons(attributes))
    if limit is not None:
        pairs.append(("limit", str(limit)))
    if cursor is not None:
        pairs.append(("cursor", cursor))
    return pairs


def _strings(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def _comparisons(filters: ValueFilters) -> list[str]:
    if filters is None:
        return []
    if isinstance(filters, str):
        return [filters]
    if not isinstance(filters, Mapping):
        return list(filters)
    texts = []
    for key, comparison in filters.items():
        if isinstance(comparison, tuple):
            op, value = comparison
        else:
            op, value = "=", comparison
        texts.append(f"{key}{op}{format_filter_value(value)}")
    return texts


def _time_text(bound: datetime | int | float | str) -> str:
    if isinstance(bound, datetime):
        moment = bound if bound.tzinfo else bound.replace(tzinfo=timezone.utc)
        return moment.isoformat()
    if isinstance(bound, bool):
        raise TypeError("a time bound is a datetime, unix seconds or an ISO 8601 string")
    if isinstance(bound, int | float):
        if not math.isfinite(bound):
            raise ValueError(f"not a time: {bound!r}")
        return repr(bound)
    return bound
