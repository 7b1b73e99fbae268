"""Builders for the spans the SDK (and other OTel SDKs) send, with deterministic ids."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from spanflow import attributes as attr
from spanflow.query.records import (
    AttributeValue,
    EventRecord,
    LinkRecord,
    SpanRecord,
    StatusCode,
)
from spanflow_collector.index import SqlRunIndexStore

StoreFactory = Callable[..., SqlRunIndexStore]
"""The ``make_store`` fixture: opens another store on the same fresh index."""

T0 = 1_800_000_000 * 10**9  # the fake clock's default "now"
SECOND = 10**9
_span_ids = itertools.count(1)
_trace_ids = itertools.count(1)


class FakeClock:
    """A settable clock in nanoseconds since the epoch."""

    def __init__(self, now_ns: int = T0) -> None:
        self.now_ns = now_ns

    def __call__(self) -> int:
        return self.now_ns

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now_ns += int(seconds * 1e9)


def new_trace_id() -> str:
    """A fresh 32-hex-char trace id."""
    return f"{next(_trace_ids):032x}"


def new_span_id() -> str:
    """A fresh 16-hex-char span id."""
    return f"{next(_span_ids):016x}"


@dataclass
class RunSpans:
    """One segment of a spanflow run: builds its root, markers and children."""

    run_id: str
    name: str = "eval"
    project: str = "proj"
    segment: int = 0
    start_ns: int = T0 - 20 * SECOND
    trace_id: str = field(default_factory=new_trace_id)
    root_span_id: str = field(default_factory=new_span_id)
    parent_run_id: str | None = None
    heartbeat_interval_s: float = 30.0

    def _run_attributes(self) -> dict[str, AttributeValue]:
        values: dict[str, AttributeValue] = {
            attr.RUN_ID: self.run_id,
            attr.RUN_NAME: self.name,
            attr.PROJECT: self.project,
            attr.RUN_SEGMENT: self.segment,
        }
        if self.parent_run_id is not None:
            values[attr.RUN_PARENT_ID] = self.parent_run_id
        return values

    def marker(self, **extra: AttributeValue) -> SpanRecord:
        """The ``run.start`` marker, exported when the run opens."""
        return SpanRecord(
            trace_id=self.trace_id,
            span_id=new_span_id(),
            parent_span_id=self.root_span_id,
            name="run.start",
            kind=1,
            start_time_unix_nano=self.start_ns,
            end_time_unix_nano=self.start_ns,
            attributes={
                **self._run_attributes(),
                attr.SPAN_KIND: attr.SpanKindValue.RUN_START,
                attr.RUN_HEARTBEAT_INTERVAL_S: self.heartbeat_interval_s,
                **extra,
            },
        )

    def heartbeat(self, at_ns: int) -> SpanRecord:
        """A ``run.heartbeat`` span at ``at_ns``."""
        return SpanRecord(
            trace_id=self.trace_id,
            span_id=new_span_id(),
            parent_span_id=self.root_span_id,
            name="run.heartbeat",
            kind=1,
            start_time_unix_nano=at_ns,
            end_time_unix_nano=at_ns,
            attributes={attr.RUN_ID: self.run_id, attr.SPAN_KIND: attr.SpanKindValue.RUN_HEARTBEAT},
        )

    def root(
        self,
        *,
        status: str = attr.RunStatus.COMPLETED,
        end_ns: int | None = None,
        events: tuple[EventRecord, ...] = (),
        links: tuple[LinkRecord, ...] = (),
        status_code: int | None = None,
        **extra: AttributeValue,
    ) -> SpanRecord:
        """The segment's root span, exported when the segment ends."""
        if status_code is None:
            status_code = StatusCode.ERROR if status == attr.RunStatus.FAILED else StatusCode.OK
        return SpanRecord(
            trace_id=self.trace_id,
            span_id=self.root_span_id,
            parent_span_id=None,
            name=self.name,
            kind=1,
            start_time_unix_nano=self.start_ns,
            end_time_unix_nano=end_ns if end_ns is not None else self.start_ns + 10 * SECOND,
            attributes={
                **self._run_attributes(),
                attr.SPAN_KIND: attr.SpanKindValue.RUN,
                attr.RUN_STATUS: status,
                **extra,
            },
            events=events,
            links=links,
            status_code=status_code,
        )

    def child(
        self,
        name: str = "step",
        *,
        offset_s: float = 1.0,
        parent_span_id: str | None = None,
        stamped: bool = True,
        status_code: int = StatusCode.UNSET,
        links: tuple[LinkRecord, ...] = (),
        **extra: AttributeValue,
    ) -> SpanRecord:
        """A span inside the segment (stamped with the run id unless ``stamped=False``)."""
        start = self.start_ns + int(offset_s * SECOND)
        attributes: dict[str, AttributeValue] = {attr.RUN_ID: self.run_id} if stamped else {}
        attributes.update(extra)
        return SpanRecord(
            trace_id=self.trace_id,
            span_id=new_span_id(),
            parent_span_id=parent_span_id or self.root_span_id,
            name=name,
            kind=1,
            start_time_unix_nano=start,
            end_time_unix_nano=start + SECOND // 2,
            attributes=attributes,
            links=links,
            status_code=status_code,
        )

    def llm(
        self,
        *,
        input_tokens: int = 10,
        output_tokens: int = 5,
        offset_s: float = 2.0,
        **extra: AttributeValue,
    ) -> SpanRecord:
        """An LLM CLIENT span with GenAI usage attributes."""
        span = self.child(
            "chat gpt-4o",
            offset_s=offset_s,
            **{
                attr.SPAN_KIND: attr.SpanKindValue.LLM,
                attr.GEN_AI_OPERATION_NAME: "chat",
                attr.GEN_AI_REQUEST_MODEL: "gpt-4o",
                attr.GEN_AI_USAGE_INPUT_TOKENS: input_tokens,
                attr.GEN_AI_USAGE_OUTPUT_TOKENS: output_tokens,
                **extra,
            },
        )
        return SpanRecord(**{**span.__dict__, "kind": 3})


def metric_event(name: str, value: float, *, step: int | None, at_ns: int) -> EventRecord:
    """A ``spanflow.metric`` event as ``log_metric`` records it on the run root."""
    attributes: dict[str, AttributeValue] = {
        attr.EVENT_METRIC_NAME: name,
        attr.EVENT_METRIC_VALUE: value,
    }
    if step is not None:
        attributes[attr.EVENT_METRIC_STEP] = step
    return EventRecord(attr.EVENT_METRIC, at_ns, attributes)


def foreign_trace(
    *,
    service: str | None = "checkout",
    root_name: str = "GET /checkout",
    error: bool = False,
    children: int = 2,
    start_ns: int = T0 - 50 * SECOND,
) -> list[SpanRecord]:
    """A trace from another OTel SDK (no spanflow attributes): root first, then children."""
    trace_id = new_trace_id()
    root_id = new_span_id()
    resource: dict[str, AttributeValue] = {"service.name": service} if service else {}
    root = SpanRecord(
        trace_id=trace_id,
        span_id=root_id,
        parent_span_id=None,
        name=root_name,
        kind=2,
        start_time_unix_nano=start_ns,
        end_time_unix_nano=start_ns + 3 * SECOND,
        attributes={"http.request.method": "GET"},
        status_code=StatusCode.ERROR if error else StatusCode.UNSET,
        status_message="boom" if error else "",
        resource_attributes=resource,
    )
    spans = [root]
    for index in range(children):
        spans.append(
            SpanRecord(
                trace_id=trace_id,
                span_id=new_span_id(),
                parent_span_id=root_id,
                name=f"db query {index}",
                kind=3,
                start_time_unix_nano=start_ns + SECOND,
                end_time_unix_nano=start_ns + 2 * SECOND,
                resource_attributes=resource,
            )
        )
    return spans
