"""Runs assembled from exported spans and run records, for tests.

Spans are ``spanflow.query.records.SpanRecord``s, the same records the run index stores and
``spanflow.Client`` returns.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from spanflow import attributes
from spanflow.query.records import RunRecord, SpanRecord

_KIND = attributes.RecordKindValue


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
        value = self.root.attributes.get(attributes.RUN_TAGS, ())
        return [str(tag) for tag in value] if isinstance(value, tuple) else [str(value)]

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
            items = value if isinstance(value, tuple) else (value,)
            cut.extend(str(item) for item in items)
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
        return [span for span in self.spans if span.spanflow_kind != attributes.SpanKindValue.RUN]


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
        if span.spanflow_kind == attributes.SpanKindValue.RUN and span.parent_span_id is None:
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
