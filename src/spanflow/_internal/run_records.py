"""Run records: what a run logs (params, metric points, outputs, tags, ...) and its liveness.

A run's data does not ride on its root span, whose attribute and event limits would silently
drop it; each ``log_*`` call becomes a ``spanflow.query.records.RunRecord`` (the one run record
model, which the index stores and the collector decodes), sent to spanflow destinations as an
OTLP log record correlated to the run's root span (see docs/attributes.md, "Run records").
Before sending, :func:`coalesce` folds records of one kind and run into one, so 100,000 metric
points travel as a few records rather than 100,000.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from spanflow import attributes
from spanflow._internal import fork_hooks
from spanflow._internal.fork_hooks import ForkStage
from spanflow.query.records import AttributeValue, MetricPointValue, RunRecord

AttributeScalar = bool | int | float | str
FieldValue = AttributeScalar | tuple[str, ...]

RecordKind = attributes.RecordKindValue
MAX_POINTS_PER_RECORD = 10_000
MAX_VALUES_PER_RECORD = 10_000
CONTENT_BYTES_PER_ITEM = 256
_MERGEABLE = frozenset(
    {
        RecordKind.PARAMS,
        RecordKind.METRICS,
        RecordKind.OUTPUTS,
        RecordKind.INPUTS,
        RecordKind.ATTRIBUTES,
        RecordKind.TAGS,
    }
)


class _RecordIds:
    """Record ids: a random prefix per process and a counter (randomness per id is slow)."""

    def __init__(self) -> None:
        self.reset()
        fork_hooks.register(ForkStage.RECORD_IDS, self, after_in_child=_RecordIds.reset)

    def reset(self) -> None:
        self.prefix = secrets.token_hex(8)
        self.counter = itertools.count()

    def new(self) -> str:
        return f"{self.prefix}{next(self.counter):x}"


_record_ids = _RecordIds()


def new_record_id() -> str:
    """An id no other run record of this run will have (``spanflow.record.id``)."""
    return _record_ids.new()


def record_weight(record: RunRecord) -> int:
    """How many items ``record`` carries (queue accounting and request size).

    Artifact content counts one item per ``CONTENT_BYTES_PER_ITEM``, so the queue bounds the
    bytes it holds and one export request carries a few MiB of content at most.
    """
    carried = len(record.values) + len(record.points) + len(record.tags)
    if record.content:
        carried += len(record.content) // CONTENT_BYTES_PER_ITEM
    return max(1, carried)


@dataclass
class _Fold:
    """A merged record being built: parts are appended, the record is made once at the end."""

    first: RunRecord
    time_ns: int
    values: dict[str, AttributeValue]
    tags: list[str]
    points: list[MetricPointValue]

    @property
    def size(self) -> int:
        return len(self.values) + len(self.tags) + len(self.points)

    def add(self, record: RunRecord) -> None:
        self.time_ns = max(self.time_ns, record.time_unix_nano)
        self.values.update(record.values)
        self.tags.extend(record.tags)
        self.points.extend(record.points)

    def record(self) -> RunRecord:
        return replace(
            self.first,
            time_unix_nano=self.time_ns,
            values=self.values,
            tags=tuple(self.tags),
            points=tuple(self.points),
        )


def coalesce(records: Iterable[RunRecord]) -> list[RunRecord]:
    """Fold records of one mergeable kind and run segment into as few records as possible.

    Order is kept where it matters: a key logged twice keeps its later value, points and tags
    keep their order, and each merged record takes the time of its last part (the index keeps
    the newest value per key by record time). A merged record keeps its first part's id, which
    stays unique because every part belongs to exactly one merged record.
    """
    merged: list[RunRecord | _Fold] = []
    open_folds: dict[tuple[str, str, int, str, str], _Fold] = {}
    for record in records:
        if record.kind not in _MERGEABLE:
            merged.append(record)
            continue
        key = (record.kind, record.run_id, record.segment, record.trace_id, record.span_id)
        fold = open_folds.get(key)
        limit = (
            MAX_POINTS_PER_RECORD if record.kind == RecordKind.METRICS else MAX_VALUES_PER_RECORD
        )
        if fold is not None and fold.size + record_weight(record) <= limit:
            fold.add(record)
            continue
        fold = _Fold(record, record.time_unix_nano, dict(record.values), list(record.tags), [])
        fold.points.extend(record.points)
        open_folds[key] = fold
        merged.append(fold)
    return [item.record() if isinstance(item, _Fold) else item for item in merged]


def split_by_size(records: Sequence[RunRecord], max_items: int) -> list[list[RunRecord]]:
    """``records`` in consecutive groups of at most ``max_items`` items (one request each)."""
    groups: list[list[RunRecord]] = []
    current: list[RunRecord] = []
    size = 0
    for record in records:
        if current and size + record_weight(record) > max_items:
            groups.append(current)
            current, size = [], 0
        current.append(record)
        size += record_weight(record)
    if current:
        groups.append(current)
    return groups
