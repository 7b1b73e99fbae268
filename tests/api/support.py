"""Test helpers for the query side: runs as the SDK exports them, and the API on loopback."""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import uvicorn
from starlette.applications import Starlette

from spanflow import attributes as attr
from spanflow.query.records import (
    AttributeValue,
    EventRecord,
    LinkRecord,
    SpanRecord,
    StatusCode,
)
from spanflow.query.store import RunIndexStore
from spanflow_collector.api import build_routes

BASE_TIME_NS = (time.time_ns() // 10**9 - 3600) * 10**9
"""Runs start at offsets from one hour ago: recent enough for relative times, and ended runs
are long finished. A run that is still open gets a long heartbeat interval to stay ``running``."""
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ids = itertools.count(1)


def ulid(time_ms: int, serial: int) -> str:
    """A ULID-shaped id: 48-bit milliseconds then 80 bits, Crockford base32."""
    number = (time_ms << 80) | serial
    return "".join(_CROCKFORD[(number >> (5 * i)) & 31] for i in reversed(range(26)))


def hex_id(width: int) -> str:
    """A fresh lowercase hex id of ``width`` characters (unique within the test session)."""
    return f"{next(_ids):0{width}x}"


@dataclass(frozen=True)
class LlmCall:
    """One LLM call inside a run."""

    model: str = "gpt-4o-mini"
    input_tokens: int = 10
    output_tokens: int = 5
    output_text: str = "ok"
    consumes: str | None = None  # span id of an earlier call whose output this call read
    span_id: str = field(default_factory=lambda: hex_id(16))
    failed: bool = False
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)  # added to the span


@dataclass(frozen=True)
class RunSpec:
    """A run as the SDK would export it: root span, start marker, LLM calls, metric events."""

    name: str
    offset_s: float = 0.0  # start, seconds after BASE_TIME_NS
    duration_s: float | None = 2.0  # None: still running (only the start marker exported)
    project: str = "default"
    status: str = attr.RunStatus.COMPLETED
    tags: tuple[str, ...] = ()
    params: Mapping[str, AttributeValue] = field(default_factory=dict)
    metric_points: Sequence[tuple[str, float, int | None]] = ()  # (name, value, step)
    outputs: Mapping[str, AttributeValue] = field(default_factory=dict)
    parent_id: str | None = None
    calls: Sequence[LlmCall] = ()
    error: tuple[str, str] | None = None  # (type, message) when failed
    heartbeat_interval_s: float = 3600.0
    run_id: str = ""
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)  # run(..., **attrs)

    @property
    def start_ns(self) -> int:
        """When the run started."""
        return BASE_TIME_NS + round(self.offset_s * 1e9)

    def with_id(self) -> RunSpec:
        """This spec with a ULID derived from its start time."""
        if self.run_id:
            return self
        return replace(self, run_id=ulid(self.start_ns // 1_000_000, next(_ids)))


def run_spans(spec: RunSpec) -> list[SpanRecord]:
    """Every span the SDK exports for ``spec`` (which must have an id)."""
    assert spec.run_id, "call with_id() first"
    trace_id, root_id = hex_id(32), hex_id(16)
    run_attributes: dict[str, AttributeValue] = {
        attr.RUN_ID: spec.run_id,
        attr.RUN_NAME: spec.name,
        attr.PROJECT: spec.project,
        attr.RUN_TAGS: spec.tags,
        attr.RUN_SEGMENT: 0,
    }
    if spec.parent_id:
        run_attributes[attr.RUN_PARENT_ID] = spec.parent_id
    for key, value in spec.params.items():
        run_attributes[attr.PARAM_PREFIX + key] = value
    for key, value in spec.attributes.items():
        run_attributes[attr.RUN_ATTRIBUTE_PREFIX + key] = value
    start = spec.start_ns
    spans = [
        SpanRecord(
            trace_id=trace_id,
            span_id=hex_id(16),
            parent_span_id=root_id,
            name="run.start",
            kind=1,
            start_time_unix_nano=start,
            end_time_unix_nano=start,
            attributes={
                **run_attributes,
                attr.SPAN_KIND: attr.SpanKindValue.RUN_START,
                attr.RUN_HEARTBEAT_INTERVAL_S: spec.heartbeat_interval_s,
            },
        )
    ]
    for index, call in enumerate(spec.calls):
        call_start = start + (index + 1) * 10_000_000
        links = ()
        if call.consumes:
            links = (
                LinkRecord(
                    trace_id,
                    call.consumes,
                    {
                        attr.LINK_TYPE: attr.LinkTypeValue.DATAFLOW,
                        attr.LINK_HOW: attr.LinkHowValue.VERBATIM,
                        attr.LINK_SCORE: 1.0,
                        attr.LINK_INPUT_FIELDS: ("messages[0].content",),
                        attr.LINK_OUTPUT_FIELD: "choices[0].message.content",
                    },
                ),
            )
        spans.append(
            SpanRecord(
                trace_id=trace_id,
                span_id=call.span_id,
                parent_span_id=root_id,
                name=f"chat {call.model}",
                kind=3,
                start_time_unix_nano=call_start,
                end_time_unix_nano=call_start + 5_000_000,
                attributes={
                    attr.RUN_ID: spec.run_id,
                    attr.SPAN_KIND: attr.SpanKindValue.LLM,
                    attr.GEN_AI_OPERATION_NAME: "chat",
                    attr.GEN_AI_PROVIDER_NAME: "openai",
                    attr.GEN_AI_REQUEST_MODEL: call.model,
                    attr.GEN_AI_USAGE_INPUT_TOKENS: call.input_tokens,
                    attr.GEN_AI_USAGE_OUTPUT_TOKENS: call.output_tokens,
                    attr.GEN_AI_OUTPUT_MESSAGES: (
                        '[{"role": "assistant", "parts": [{"type": "text", "content": "'
                        + call.output_text
                        + '"}]}]'
                    ),
                    **call.attributes,
                },
                links=links,
                status_code=StatusCode.ERROR if call.failed else StatusCode.UNSET,
                status_message="rate limited" if call.failed else "",
            )
        )
    if spec.duration_s is None:
        return spans
    end = start + round(spec.duration_s * 1e9)
    final = dict(run_attributes)
    final[attr.SPAN_KIND] = attr.SpanKindValue.RUN
    final[attr.RUN_STATUS] = spec.status
    last_values: dict[str, float] = {}
    events = []
    for index, (name, value, step) in enumerate(spec.metric_points):
        last_values[name] = value
        event_attributes: dict[str, AttributeValue] = {
            attr.EVENT_METRIC_NAME: name,
            attr.EVENT_METRIC_VALUE: value,
        }
        if step is not None:
            event_attributes[attr.EVENT_METRIC_STEP] = step
        events.append(EventRecord(attr.EVENT_METRIC, start + (index + 1) * 1_000, event_attributes))
    for name, value in last_values.items():
        final[attr.METRIC_PREFIX + name] = value
    for key, output in spec.outputs.items():
        final[attr.OUTPUT_PREFIX + key] = output
    if spec.error:
        final[attr.ERROR_TYPE], final[attr.ERROR_MESSAGE] = spec.error
    failed = spec.status == attr.RunStatus.FAILED
    spans.append(
        SpanRecord(
            trace_id=trace_id,
            span_id=root_id,
            parent_span_id=None,
            name=spec.name,
            kind=1,
            start_time_unix_nano=start,
            end_time_unix_nano=end,
            attributes=final,
            events=tuple(events),
            status_code=StatusCode.ERROR if failed else StatusCode.OK,
            status_message=spec.error[1] if failed and spec.error else "",
            scope_name="spanflow",
        )
    )
    return spans


def write_runs(store: RunIndexStore, *specs: RunSpec) -> list[RunSpec]:
    """Store ``specs`` (giving each an id) and return them with their ids."""
    with_ids = [spec.with_id() for spec in specs]
    store.write_spans([span for spec in with_ids for span in run_spans(spec)])
    return with_ids


@contextmanager
def serve(store: RunIndexStore) -> Iterator[str]:
    """The query API over ``store`` on a loopback ephemeral port; yields its base URL."""
    app = Starlette(routes=build_routes(store))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive(), "the API server thread died while starting"
            assert time.monotonic() < deadline, "the API server did not start within 10 s"
            threading.Event().wait(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
