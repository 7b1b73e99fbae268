"""Plain records of exported spans and run records, and runs assembled from them, for tests."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan

from spanflow import attributes
from spanflow._internal.run_records import RunRecord

_KIND = attributes.RecordKindValue


@dataclass(frozen=True)
class EventRecord:
    """A span event."""

    name: str
    attributes: Mapping[str, Any]
    time_ns: int


@dataclass(frozen=True)
class LinkRecord:
    """A span link (ids as lowercase hex)."""

    trace_id: str
    span_id: str
    attributes: Mapping[str, Any]


@dataclass(frozen=True)
class SpanRecord:
    """One exported span; ids are lowercase hex, ``parent_span_id`` is ``None`` on roots."""

    name: str
    trace_id: str
    span_id: str
    parent_span_id: str | None
    attributes: Mapping[str, Any]
    start_time_ns: int
    end_time_ns: int
    status_code: str  # "UNSET" | "OK" | "ERROR"
    status_description: str = ""
    events: tuple[EventRecord, ...] = ()
    links: tuple[LinkRecord, ...] = ()
    resource: Mapping[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str | None:
        """The ``spanflow.span.kind`` of the span, if spanflow made it."""
        value = self.attributes.get(attributes.SPAN_KIND)
        return value if isinstance(value, str) else None

    @property
    def run_id(self) -> str | None:
        """The ``spanflow.run.id`` stamped on the span."""
        value = self.attributes.get(attributes.RUN_ID)
        return value if isinstance(value, str) else None


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def record_from_readable(span: ReadableSpan) -> SpanRecord:
    """Convert an SDK ``ReadableSpan`` (in-memory export) into a :class:`SpanRecord`."""
    context = span.get_span_context()
    assert context is not None
    return SpanRecord(
        name=span.name,
        trace_id=f"{context.trace_id:032x}",
        span_id=f"{context.span_id:016x}",
        parent_span_id=f"{span.parent.span_id:016x}" if span.parent is not None else None,
        attributes={key: _plain(value) for key, value in (span.attributes or {}).items()},
        start_time_ns=span.start_time or 0,
        end_time_ns=span.end_time or 0,
        status_code=span.status.status_code.name,
        status_description=span.status.description or "",
        events=tuple(
            EventRecord(
                event.name,
                {key: _plain(value) for key, value in (event.attributes or {}).items()},
                event.timestamp,
            )
            for event in span.events
        ),
        links=tuple(
            LinkRecord(
                f"{link.context.trace_id:032x}",
                f"{link.context.span_id:016x}",
                dict(link.attributes or {}),
            )
            for link in span.links
        ),
        resource=dict(span.resource.attributes),
    )


@dataclass(frozen=True)
class MetricPoint:
    """One ``log_metric`` call as recorded."""

    name: str
    value: float
    step: int | None


@dataclass(frozen=True)
class CapturedRun:
    """One run segment as exported: its root span, every span stamped with its id, and the
    run records (params, metric points, outputs, ...) of the segment."""

    root: SpanRecord
    spans: tuple[SpanRecord, ...]
    records: tuple[RunRecord, ...] = ()
    """The segment's run records (start, heartbeats, params, metric points, ...), in order."""

    @property
    def id(self) -> str:
        """The run id."""
        return str(self.root.attributes[attributes.RUN_ID])

    @property
    def name(self) -> str | None:
        """The run name."""
        value = self.root.attributes.get(attributes.RUN_NAME)
        return None if value is None else str(value)

    @property
    def project(self) -> str:
        """The run's project."""
        return str(self.root.attributes[attributes.PROJECT])

    @property
    def status(self) -> str | None:
        """The final ``spanflow.run.status``."""
        value = self.root.attributes.get(attributes.RUN_STATUS)
        return None if value is None else str(value)

    @property
    def parent_id(self) -> str | None:
        """The parent run's id for a subrun."""
        value = self.root.attributes.get(attributes.RUN_PARENT_ID)
        return None if value is None else str(value)

    @property
    def tags(self) -> list[str]:
        """The run's tags."""
        return list(self.root.attributes.get(attributes.RUN_TAGS, []))

    @property
    def params(self) -> dict[str, Any]:
        """Params decoded back: native values as is, JSON strings of non-scalars parsed."""
        params = _with_prefix(self.root.attributes, attributes.PARAM_PREFIX)
        params.update(_decoded(self._values(_KIND.PARAMS)))
        return params

    @property
    def outputs(self) -> dict[str, Any]:
        """Outputs, with JSON-encoded values left as recorded."""
        return self._values(_KIND.OUTPUTS)

    @property
    def inputs(self) -> dict[str, Any]:
        """Inputs, with JSON-encoded values left as recorded."""
        return self._values(_KIND.INPUTS)

    @property
    def metrics(self) -> dict[str, float]:
        """The last value of each metric."""
        return {point.name: point.value for point in self.metric_points}

    @property
    def metric_points(self) -> list[MetricPoint]:
        """Every metric point, in logging order."""
        return [
            MetricPoint(point.name, point.value, point.step)
            for record in self.records_of(_KIND.METRICS)
            for point in record.points
        ]

    @property
    def artifacts(self) -> list[dict[str, Any]]:
        """Each ``log_artifact`` call's facts (``spanflow.artifact.*`` keys)."""
        return [dict(record.fields) for record in self.records_of(_KIND.ARTIFACT)]

    @property
    def truncated(self) -> list[str]:
        """What spanflow had to cut from this run (empty when nothing was)."""
        cut: list[str] = []
        for record in self.records_of(_KIND.TRUNCATED):
            value = record.fields.get(attributes.RUN_TRUNCATED, ())
            cut.extend(value if isinstance(value, tuple | list) else [str(value)])
        return cut

    def records_of(self, kind: str) -> list[RunRecord]:
        """This segment's run records of one kind (``spanflow.attributes.RecordKindValue``)."""
        return [record for record in self.records if record.kind == kind]

    def _values(self, kind: str) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for record in self.records_of(kind):
            merged.update(record.values)
        return merged

    @property
    def work_spans(self) -> list[SpanRecord]:
        """Spans of this run other than its root."""
        return [span for span in self.spans if span.kind != attributes.SpanKindValue.RUN]


def _decoded(values: Mapping[str, Any]) -> dict[str, Any]:
    decoded: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, str) and value[:1] in "[{":
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        decoded[key] = value
    return decoded


def _with_prefix(values: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    decoded: dict[str, Any] = {}
    for key, value in values.items():
        if not key.startswith(prefix):
            continue
        if isinstance(value, str) and value[:1] in "[{":
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        decoded[key[len(prefix) :]] = value
    return decoded


def assemble_runs(
    spans: Iterable[SpanRecord], records: Iterable[RunRecord] = ()
) -> list[CapturedRun]:
    """Group spans and run records into run segments by run id, in root start order."""
    by_root: dict[tuple[str, str], list[RunRecord]] = {}
    for record in records:
        by_root.setdefault((record.run_id, record.trace_id), []).append(record)
    members: dict[str, list[SpanRecord]] = {}
    roots: list[SpanRecord] = []
    for span in spans:
        if span.kind == attributes.SpanKindValue.RUN and span.parent_span_id is None:
            roots.append(span)
        elif span.run_id is not None:
            members.setdefault(span.run_id, []).append(span)
    roots.sort(key=lambda span: span.start_time_ns)
    return [
        CapturedRun(
            root=root,
            spans=(root, *members.get(root.run_id or "", ())),
            records=tuple(by_root.get((root.run_id or "", root.trace_id), ())),
        )
        for root in roots
    ]
