"""The run index seam: what every store (SQLite, PostgreSQL) offers to ingest and to queries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from spanflow.query.records import AttributeValue, RunRecord, SpanRecord

if TYPE_CHECKING:  # the store seam names the prepared rows only in a signature
    from spanflow_collector.index.prepared import PreparedSpans

ComparisonOp = Literal["=", "!=", "<", "<=", ">", ">="]


@dataclass(frozen=True)
class ValueFilter:
    """``params.lr > 0.01`` or ``metrics.accuracy >= 0.9``: one comparison on a run value."""

    key: str
    op: ComparisonOp
    value: AttributeValue


@dataclass(frozen=True)
class RunQuery:
    """Filters and keyset pagination for listing runs (newest first)."""

    project: str | None = None
    statuses: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()  # a run must carry all of them
    name_contains: str | None = None
    started_after_ns: int | None = None
    started_before_ns: int | None = None
    parent_id: str | None = None  # children of this run
    top_level_only: bool = False  # exclude subruns
    params: tuple[ValueFilter, ...] = ()
    metrics: tuple[ValueFilter, ...] = ()
    attributes: tuple[ValueFilter, ...] = ()  # free run attributes (``run(..., **attrs)``)
    limit: int = 50
    cursor: str | None = None  # opaque, from RunPage.next_cursor


@dataclass(frozen=True)
class RunSummary:
    """A run as the index knows it, merged across its segments."""

    id: str
    project: str
    name: str
    status: str  # attributes.RunStatus values
    start_time_unix_nano: int
    end_time_unix_nano: int | None
    parent_id: str | None
    tags: tuple[str, ...] = ()
    params: Mapping[str, AttributeValue] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)
    outputs: Mapping[str, AttributeValue] = field(default_factory=dict)
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)
    error_type: str | None = None
    error_message: str | None = None
    span_count: int = 0
    llm_call_count: int = 0
    error_count: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    segment_count: int = 1
    trace_ids: tuple[str, ...] = ()
    last_heartbeat_unix_nano: int | None = None
    inputs: Mapping[str, AttributeValue] = field(default_factory=dict)
    artifacts: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Artifacts by name: ``path``, ``size`` (bytes), ``sha256``, ``media_type``, ``stored``
    (whether the index holds the content)."""
    truncated: tuple[str, ...] = ()
    """What the SDK had to cut from this run (``params``, ``metric_points``, ...); see runs.md."""

    @property
    def duration_s(self) -> float | None:
        """Wall time from first start to last end, or None while the run is open."""
        if self.end_time_unix_nano is None:
            return None
        return (self.end_time_unix_nano - self.start_time_unix_nano) / 1e9


@dataclass(frozen=True)
class RunPage:
    """One page of runs and the cursor for the next (None on the last page)."""

    runs: tuple[RunSummary, ...]
    next_cursor: str | None


@dataclass(frozen=True)
class SpanPage:
    """One page of a run's spans in start order and the cursor for the next (None at the end)."""

    spans: tuple[SpanRecord, ...]
    next_cursor: str | None


@dataclass(frozen=True)
class MetricPoint:
    """One logged metric value of a run."""

    name: str
    value: float
    step: int | None
    time_unix_nano: int


@dataclass(frozen=True)
class SpanLinkEdge:
    """A span link as an edge of a run's graph: from the span holding it to the linked span.

    For dataflow links (``link_type == "dataflow"``) the holder is the consumer call and the
    linked span the producer.
    """

    trace_id: str
    span_id: str
    linked_trace_id: str
    linked_span_id: str
    link_type: str | None
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)


class RunIndexStore(Protocol):
    """A run index. Writes are idempotent (clients retry) and durable when they return."""

    def write_spans(self, spans: Sequence[SpanRecord]) -> None:
        """Store a batch in one transaction; a span already stored is not duplicated."""

    def write_batch(self, spans: Sequence[SpanRecord], run_records: Sequence[RunRecord]) -> None:
        """Store spans and run records in one transaction; resent ones are not duplicated."""

    def write_prepared(
        self,
        prepared: Sequence[PreparedSpans],
        spans: Sequence[SpanRecord],
        run_records: Sequence[RunRecord],
    ) -> None:
        """``write_batch`` plus spans whose rows a decode worker built (one transaction)."""

    def list_runs(self, query: RunQuery) -> RunPage:
        """Runs matching ``query``, newest first, one page."""

    def get_run(self, run_id: str) -> RunSummary | None:
        """One run, merged across segments, or None."""

    def get_spans(self, run_id: str) -> list[SpanRecord]:
        """Every span of a run (all segments), ordered by start time."""

    def get_span_page(
        self,
        run_id: str,
        *,
        limit: int,
        cursor: str | None = None,
        include_markers: bool = True,
    ) -> SpanPage:
        """Up to ``limit`` spans of a run after ``cursor``, ordered by start time."""

    def get_metric_history(self, run_id: str) -> list[MetricPoint]:
        """Every metric point logged in a run, in time order."""

    def get_links(self, run_id: str) -> list[SpanLinkEdge]:
        """Every link held by a span of the run (dataflow edges and run links), span order."""

    def get_artifact_content(self, run_id: str, sha256: str) -> bytes | None:
        """The artifact content the run logged under ``sha256``, or None when not stored."""

    def delete_runs(self, run_ids: Sequence[str]) -> int:
        """Delete runs with their spans (and their subruns); return how many runs went."""

    def delete_older_than(self, cutoff_unix_nano: int, *, project: str | None = None) -> int:
        """Delete top-level runs started before the cutoff (with subruns); return the count."""

    def keep_last(self, count: int, *, project: str | None = None) -> int:
        """Delete all but the ``count`` newest top-level runs (with subruns); return the count."""

    def close(self) -> None:
        """Release connections."""
