"""How a run's summary follows from its spans: segments, status, params, counts.

The store recomputes the summary of every run a write batch touched from *all* the spans it
holds for that run, so the result depends only on the set of spans stored, never on the order
they arrived in. The rules (documented in docs/run-index.md):

* A run's **level spans** are its roots (``spanflow.span.kind = run``, or for spans from other
  SDKs the trace root) and its start markers (``run.start``). Each belongs to a segment
  (``spanflow.run.segment``, 0 when absent); a resumed run has several.
* **Status** comes from the last segment: its root's ``spanflow.run.status`` (a root without
  one: OTel status ERROR means ``failed``, anything else ``completed``); a last segment with
  only a start marker, or a run with no level span yet, is ``running``.
* A ``running`` run turns ``interrupted`` when no sign of life (the end of any of its spans,
  heartbeats included) came for ``interrupted_timeout_s`` = max(3 x the heartbeat interval on its
  start marker, 90 s). The store keeps the instant this happens (``stale_after_ns``) and
  compares it with the clock at read time, so a killed process's run turns without any write.
* Params, metrics, outputs, attributes, name, project and parent are overlaid from the level
  spans in (segment, marker before root, start time) order: later segments win; tags are
  united.
* **Run records** (OTLP log records from the spanflow SDK) add to this: start records count as
  start markers; the newest value per key of params, outputs, inputs, attributes, metrics (last
  value) and artifacts overlays what the spans say; tags are united. For a run with run
  records, the last sign of life is the index's own receive time of its latest record, not a
  sender timestamp, so a sender's skewed clock cannot make a live run read ``interrupted``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from spanflow import attributes as attr
from spanflow.environment import Default
from spanflow.query.records import INT64_MAX, AttributeValue, SpanRecord, StatusCode

MIN_INTERRUPTED_TIMEOUT_S = 90.0
HEARTBEAT_TIMEOUT_FACTOR = 3.0
SERVICE_NAME = "service.name"
_UNKNOWN_SERVICE = "unknown_service"  # the OTel SDK's placeholder when no service name is set

_FINAL_STATUSES = frozenset(
    {
        attr.RunStatus.COMPLETED,
        attr.RunStatus.FAILED,
        attr.RunStatus.CANCELLED,
        attr.RunStatus.INTERRUPTED,
    }
)


_SHOWN_WHOLE = frozenset({attr.RUN_DROPPED_SPANS, attr.RUN_INTERNAL_ERRORS})


def interrupted_timeout_s(heartbeat_interval_s: float | None) -> float:
    """How long a run may stay silent before it reads as interrupted."""
    interval = heartbeat_interval_s or Default.SPANFLOW_HEARTBEAT_INTERVAL_S
    return max(HEARTBEAT_TIMEOUT_FACTOR * interval, MIN_INTERRUPTED_TIMEOUT_S)


@dataclass(frozen=True)
class RunAggregate:
    """Sums and extremes over every span assigned to one run."""

    span_count: int
    llm_call_count: int
    error_count: int
    input_tokens: int
    output_tokens: int
    first_start_ns: int
    last_end_ns: int
    last_heartbeat_ns: int | None
    trace_ids: tuple[str, ...]


@dataclass(frozen=True)
class SegmentStart:
    """What a segment's start record said (the run's facts before its root span arrives)."""

    segment: int
    name: str | None
    project: str | None
    tags: tuple[str, ...]
    parent_id: str | None
    heartbeat_interval_s: float | None
    time_ns: int


@dataclass
class RecordState:
    """Everything the index holds from a run's run records (see ``record_rows.py``)."""

    starts: list[SegmentStart] = field(default_factory=list)
    values: dict[str, dict[str, AttributeValue]] = field(default_factory=dict)  # kind -> key
    metrics: dict[str, float] = field(default_factory=dict)  # last value per metric
    tags: list[str] = field(default_factory=list)  # tag() calls, in arrival order
    truncated: list[str] = field(default_factory=list)
    last_received_ns: int | None = None
    last_heartbeat_ns: int | None = None


@dataclass(frozen=True)
class RunRow:
    """One ``runs`` row plus its ``run_values`` and ``run_tags`` rows."""

    id: str
    project: str
    name: str
    status: str
    start_ns: int
    end_ns: int | None
    stale_after_ns: int | None
    parent_id: str | None
    tags: tuple[str, ...]
    params: dict[str, AttributeValue]
    metrics: dict[str, float]
    outputs: dict[str, AttributeValue]
    attributes: dict[str, AttributeValue]
    error_type: str | None
    error_message: str | None
    aggregate: RunAggregate
    segment_count: int
    heartbeat_interval_s: float | None = field(default=None)
    inputs: dict[str, AttributeValue] = field(default_factory=dict)
    artifacts: dict[str, AttributeValue] = field(default_factory=dict)
    truncated: tuple[str, ...] = ()
    last_heartbeat_ns: int | None = None


def is_run_root(span: SpanRecord) -> bool:
    """A segment root: spanflow's run span, or the root of a trace no spanflow run claims."""
    kind = span.attributes.get(attr.SPAN_KIND)
    if kind == attr.SpanKindValue.RUN:
        return True
    return span.parent_span_id is None and attr.RUN_ID not in span.attributes


def _segment(span: SpanRecord) -> int:
    value = span.attributes.get(attr.RUN_SEGMENT)
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _level_order(span: SpanRecord) -> tuple[int, int, int, str]:
    return (_segment(span), 1 if is_run_root(span) else 0, span.start_time_unix_nano, span.span_id)


def _root_status(root: SpanRecord) -> str:
    status = root.attributes.get(attr.RUN_STATUS)
    if isinstance(status, str) and status in _FINAL_STATUSES:
        return status
    return (
        attr.RunStatus.FAILED if root.status_code == StatusCode.ERROR else attr.RunStatus.COMPLETED
    )


def _text(value: AttributeValue | None) -> str | None:
    return value if isinstance(value, str) and value else None


def _start_order(start: SegmentStart) -> tuple[int, int, int, str]:
    return (start.segment, 0, start.time_ns, "")


def derive_run(
    run_id: str,
    aggregate: RunAggregate,
    level_spans: Sequence[SpanRecord],
    records: RecordState | None = None,
) -> RunRow:
    """The summary row of run ``run_id`` from its aggregate, level spans and run records."""
    records = records or RecordState()
    ordered = sorted(level_spans, key=_level_order)
    starts = sorted(records.starts, key=_start_order)
    project: str | None = None
    name: str | None = None
    parent_id: str | None = None
    heartbeat_interval_s: float | None = None
    tags: dict[str, None] = {}
    params: dict[str, AttributeValue] = {}
    metrics: dict[str, float] = {}
    outputs: dict[str, AttributeValue] = {}
    run_attributes: dict[str, AttributeValue] = {}
    for start in starts:
        # Start records come before the spans of their segment: a root's facts win over them.
        project = start.project or project
        name = start.name or name
        parent_id = start.parent_id or parent_id
        heartbeat_interval_s = start.heartbeat_interval_s or heartbeat_interval_s
        tags.update((tag, None) for tag in start.tags)
    for span in ordered:
        attributes = span.attributes
        spanflow_made = attr.RUN_ID in attributes
        if spanflow_made:
            # A resumed segment that could only assume its project does not move the run.
            if not (project and attributes.get(attr.RUN_PROJECT_ASSUMED) is True):
                project = _text(attributes.get(attr.PROJECT)) or project
            name = _text(attributes.get(attr.RUN_NAME)) or name
        else:
            service = _text(span.resource_attributes.get(SERVICE_NAME))
            if service and not service.startswith(_UNKNOWN_SERVICE):
                project = service
            name = span.name or name
        parent_id = _text(attributes.get(attr.RUN_PARENT_ID)) or parent_id
        interval = attributes.get(attr.RUN_HEARTBEAT_INTERVAL_S)
        if isinstance(interval, int | float) and not isinstance(interval, bool) and interval > 0:
            heartbeat_interval_s = float(interval)
        raw_tags = attributes.get(attr.RUN_TAGS)
        if isinstance(raw_tags, tuple):
            tags.update((str(tag), None) for tag in raw_tags)
        elif isinstance(raw_tags, str):
            tags[raw_tags] = None
        for key, value in attributes.items():
            if key.startswith(attr.PARAM_PREFIX):
                params[key[len(attr.PARAM_PREFIX) :]] = value
            elif key.startswith(attr.METRIC_PREFIX):
                if isinstance(value, int | float) and not isinstance(value, bool):
                    metrics[key[len(attr.METRIC_PREFIX) :]] = float(value)
            elif key.startswith(attr.OUTPUT_PREFIX):
                outputs[key[len(attr.OUTPUT_PREFIX) :]] = value
            elif key.startswith(attr.RUN_ATTRIBUTE_PREFIX):
                run_attributes[key[len(attr.RUN_ATTRIBUTE_PREFIX) :]] = value
            elif key in _SHOWN_WHOLE:  # `runs show` marks the gap / spanflow's own failures
                run_attributes[key] = value

    tags.update((tag, None) for tag in records.tags)
    params.update(records.values.get("param", {}))
    outputs.update(records.values.get("output", {}))
    run_attributes.update(records.values.get("attribute", {}))
    metrics.update(records.metrics)

    status: str = attr.RunStatus.RUNNING
    end_ns: int | None = None
    error_type: str | None = None
    error_message: str | None = None
    roots = [span for span in ordered if is_run_root(span)]
    segments = {_segment(span) for span in ordered} | {start.segment for start in starts}
    if segments:
        last_segment = max(segments)
        last_roots = [span for span in roots if _segment(span) == last_segment]
        if last_roots:
            last_root = max(last_roots, key=lambda span: (span.end_time_unix_nano, span.span_id))
            status = _root_status(last_root)
            end_ns = max(span.end_time_unix_nano for span in roots)
            if status == attr.RunStatus.FAILED:
                error_type = _text(last_root.attributes.get(attr.ERROR_TYPE))
                error_message = _text(last_root.attributes.get(attr.ERROR_MESSAGE)) or _text(
                    last_root.status_message
                )
    stale_after_ns: int | None = None
    if status == attr.RunStatus.RUNNING:
        if records.last_received_ns is not None:
            # The index's own clock: a sender whose clock is off cannot make a live run stale.
            last_sign_of_life = records.last_received_ns
        else:
            last_sign_of_life = max(
                [aggregate.last_end_ns, *(span.start_time_unix_nano for span in ordered)]
            )
        timeout_ns = int(interrupted_timeout_s(heartbeat_interval_s) * 1e9)
        stale_after_ns = min(last_sign_of_life + timeout_ns, INT64_MAX)  # BIGINT saturates
    start_times = [span.start_time_unix_nano for span in ordered]
    start_times += [start.time_ns for start in starts]
    start_ns = min(start_times) if start_times else aggregate.first_start_ns
    return RunRow(
        id=run_id,
        project=project or Default.SPANFLOW_PROJECT,
        name=name or run_id,
        status=status,
        start_ns=start_ns,
        end_ns=end_ns,
        stale_after_ns=stale_after_ns,
        parent_id=parent_id,
        tags=tuple(tags),
        params=params,
        metrics=metrics,
        outputs=outputs,
        attributes=run_attributes,
        error_type=error_type,
        error_message=error_message,
        aggregate=aggregate,
        segment_count=max(1, len(segments)),
        heartbeat_interval_s=heartbeat_interval_s,
        inputs=dict(records.values.get("input", {})),
        artifacts=dict(records.values.get("artifact", {})),
        truncated=tuple(records.truncated),
        last_heartbeat_ns=records.last_heartbeat_ns or aggregate.last_heartbeat_ns,
    )
