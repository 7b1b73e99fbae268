"""Run records: what a run logs (params, metric points, outputs, tags, ...) and its liveness.

A run's data does not ride on its root span, whose attribute and event limits would silently
drop it; each ``log_*`` call becomes a :class:`RunRecord`, sent to spanflow destinations as an
OTLP log record correlated to the run's root span (see docs/attributes.md, "Run records").
Before sending, :func:`coalesce` folds records of one kind and run into one, so 100,000 metric
points travel as a few records rather than 100,000.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from spanflow import attributes
from spanflow._internal import fork_hooks
from spanflow._internal.fork_hooks import ForkStage

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


@dataclass(frozen=True)
class MetricPointData:
    """One ``log_metric`` point."""

    name: str
    value: float
    step: int | None
    time_ns: int


@dataclass(frozen=True)
class RunRecord:
    """One run record: a kind, the run (and root span) it belongs to, and its payload.

    ``fields`` are record attributes (a start's name/project/tags, an artifact's facts);
    ``values`` the keyed payload of params/outputs/inputs/attributes records; ``tags`` and
    ``points`` the payload of tags and metrics records; ``content`` an artifact's bytes when
    they travel with it. Ids are lowercase hex, "" without a valid root span.
    """

    kind: str
    run_id: str
    segment: int
    trace_id: str
    span_id: str
    time_ns: int
    record_id: str = field(default_factory=lambda: new_record_id())
    fields: Mapping[str, FieldValue] = field(default_factory=dict)
    values: Mapping[str, AttributeScalar] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    points: tuple[MetricPointData, ...] = ()
    content: bytes | None = None

    @property
    def weight(self) -> int:
        """How many items this record carries (queue accounting and request size).

        Artifact content counts one item per ``CONTENT_BYTES_PER_ITEM``, so the queue bounds
        the bytes it holds and one export request carries a few MiB of content at most.
        """
        carried = len(self.values) + len(self.points) + len(self.tags)
        if self.content:
            carried += len(self.content) // CONTENT_BYTES_PER_ITEM
        return max(1, carried)


@dataclass
class _Fold:
    """A merged record being built: parts are appended, the record is made once at the end."""

    first: RunRecord
    time_ns: int
    values: dict[str, AttributeScalar]
    tags: list[str]
    points: list[MetricPointData]

    @property
    def size(self) -> int:
        return len(self.values) + len(self.tags) + len(self.points)

    def add(self, record: RunRecord) -> None:
        self.time_ns = max(self.time_ns, record.time_ns)
        self.values.update(record.values)
        self.tags.extend(record.tags)
        self.points.extend(record.points)

    def record(self) -> RunRecord:
        return replace(
            self.first,
            time_ns=self.time_ns,
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
        if fold is not None and fold.size + record.weight <= limit:
            fold.add(record)
            continue
        fold = _Fold(record, record.time_ns, dict(record.values), list(record.tags), [])
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
        if current and size + record.weight > max_items:
            groups.append(current)
            current, size = [], 0
        current.append(record)
        size += record.weight
    if current:
        groups.append(current)
    return groups
