"""Run records as OTLP logs: encode an ``ExportLogsServiceRequest`` and decode one.

Each :class:`RunRecord` is one ``LogRecord``: ``event_name`` and ``spanflow.record.kind`` say
its kind, ``trace_id``/``span_id`` are the run's root span, ``spanflow.run.id`` and
``spanflow.run.segment`` name the run, and the payload is in the body (a kvlist of values, a
string array of tags, or parallel arrays of metric points). The format is documented in
docs/attributes.md ("Run records").
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import SEVERITY_NUMBER_INFO, LogRecord

from spanflow import attributes
from spanflow.query.records import MetricPointValue, RunRecord

logger = logging.getLogger("spanflow")

SCOPE_NAME = "spanflow"
LOGS_PATH = "/v1/logs"
_KIND = attributes.RecordKindValue


# --- encoding ---------------------------------------------------------------------------------
def _set_any(target: AnyValue, value: Any) -> None:
    if value is None:
        return  # an empty AnyValue: "no value" (a point without a step)
    if isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, int):
        target.int_value = value
    elif isinstance(value, float):
        target.double_value = value
    elif isinstance(value, str):
        target.string_value = value
    elif isinstance(value, tuple | list):
        for item in value:
            _set_any(target.array_value.values.add(), item)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            pair = target.kvlist_value.values.add(key=key)
            _set_any(pair.value, item)
    else:
        target.string_value = str(value)


def _add_attribute(log: LogRecord, key: str, value: Any) -> None:
    pair: KeyValue = log.attributes.add(key=key)
    _set_any(pair.value, value)


def _points_body(points: Sequence[MetricPointValue]) -> dict[str, list[Any]]:
    return {
        attributes.METRICS_BODY_NAME: [point.name for point in points],
        attributes.METRICS_BODY_VALUE: [point.value for point in points],
        attributes.METRICS_BODY_STEP: [point.step for point in points],
        attributes.METRICS_BODY_TIME: [point.time_unix_nano for point in points],
    }


def _fill_log(log: LogRecord, record: RunRecord) -> None:
    log.time_unix_nano = record.time_unix_nano
    log.observed_time_unix_nano = record.time_unix_nano
    log.severity_number = SEVERITY_NUMBER_INFO
    log.event_name = record.kind
    if record.trace_id and record.span_id:
        log.trace_id = bytes.fromhex(record.trace_id)
        log.span_id = bytes.fromhex(record.span_id)
    _add_attribute(log, attributes.RECORD_KIND, record.kind)
    _add_attribute(log, attributes.RECORD_ID, record.record_id)
    _add_attribute(log, attributes.RUN_ID, record.run_id)
    _add_attribute(log, attributes.RUN_SEGMENT, record.segment)
    for key, value in record.fields.items():
        _add_attribute(log, key, value)
    if record.kind == _KIND.METRICS:
        _set_any(log.body, _points_body(record.points))
    elif record.kind == _KIND.TAGS:
        _set_any(log.body, record.tags)
    elif record.content is not None:
        log.body.bytes_value = record.content
    elif record.values:
        _set_any(log.body, record.values)


def encode_request(records: Sequence[RunRecord], resource: Mapping[str, Any]) -> bytes:
    """A serialized ``ExportLogsServiceRequest`` holding ``records`` under one resource."""
    request = ExportLogsServiceRequest()
    resource_logs = request.resource_logs.add()
    for key, value in resource.items():
        _set_any(resource_logs.resource.attributes.add(key=key).value, value)
    scope_logs = resource_logs.scope_logs.add()
    scope_logs.scope.name = SCOPE_NAME
    for record in records:
        _fill_log(scope_logs.log_records.add(), record)
    return request.SerializeToString()


# --- decoding (tests and the testing receiver) -------------------------------------------------
def any_value(value: AnyValue) -> Any:
    """An ``AnyValue`` as Python: arrays as lists, kvlists as dicts, empty as None."""
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [any_value(item) for item in value.array_value.values]
    if which == "kvlist_value":
        return {pair.key: any_value(pair.value) for pair in value.kvlist_value.values}
    return getattr(value, which)


def _record_from_log(log: LogRecord) -> RunRecord | None:
    fields = {pair.key: any_value(pair.value) for pair in log.attributes}
    kind = fields.pop(attributes.RECORD_KIND, None) or log.event_name
    run_id = fields.pop(attributes.RUN_ID, None)
    if not isinstance(kind, str) or not isinstance(run_id, str):
        return None
    record_id = str(fields.pop(attributes.RECORD_ID, ""))
    segment = fields.pop(attributes.RUN_SEGMENT, 0)
    body = any_value(log.body)
    points: tuple[MetricPointValue, ...] = ()
    tags: tuple[str, ...] = ()
    values: dict[str, Any] = {}
    content = body if kind == _KIND.ARTIFACT and isinstance(body, bytes) else None
    if kind == _KIND.METRICS and isinstance(body, dict):
        columns = [body.get(key) or [] for key in ("name", "value", "step", "time_unix_nano")]
        points = tuple(MetricPointValue(*row) for row in zip(*columns, strict=True))
    elif kind == _KIND.TAGS and isinstance(body, list):
        tags = tuple(str(tag) for tag in body)
    elif isinstance(body, dict):
        values = body
    return RunRecord(
        kind=kind,
        run_id=run_id,
        segment=int(segment) if isinstance(segment, int) else 0,
        trace_id=log.trace_id.hex(),
        span_id=log.span_id.hex(),
        time_unix_nano=log.time_unix_nano,
        record_id=record_id,
        fields={key: tuple(v) if isinstance(v, list) else v for key, v in fields.items()},
        values=values,
        tags=tags,
        points=points,
        content=content,
    )


def decode_request(body: bytes) -> list[RunRecord]:
    """The spanflow run records in a serialized ``ExportLogsServiceRequest`` (others skipped)."""
    request = ExportLogsServiceRequest()
    request.ParseFromString(body)
    records: list[RunRecord] = []
    for resource_logs in request.resource_logs:
        for scope_logs in resource_logs.scope_logs:
            for log in scope_logs.log_records:
                record = _record_from_log(log)
                if record is not None:
                    records.append(record)
    return records


# --- the resource they are sent with -----------------------------------------------------------
def provider_resource() -> Mapping[str, Any]:
    """The resource attributes of the global SDK tracer provider (empty without one)."""
    resource = getattr(trace.get_tracer_provider(), "resource", None)
    found = getattr(resource, "attributes", None)
    return dict(found) if isinstance(found, Mapping) else {}
