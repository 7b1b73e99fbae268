"""OTLP logs export requests (protobuf and OTLP/JSON) to spanflow ``RunRecord``s."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from spanflow import attributes as attr
from spanflow_collector.otlp.limits import OtlpDecodeError
from spanflow_collector.otlp.run_records import (
    DecodedRunRecords,
    InvalidRunRecordError,
    run_record,
)

_HEX = frozenset("0123456789abcdef")


# --- protobuf ---------------------------------------------------------------------------------
def _any_value(value: Any) -> Any:
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [_any_value(item) for item in value.array_value.values]
    if which == "kvlist_value":
        return {pair.key: _any_value(pair.value) for pair in value.kvlist_value.values}
    if which == "bytes_value":
        return bytes(value.bytes_value).hex()
    return getattr(value, which)


def parse_protobuf_logs(body: bytes) -> DecodedRunRecords:
    """Parse a serialized ``ExportLogsServiceRequest`` and decode its run records.

    Raises:
        OtlpDecodeError: the body is not a valid message.
    """
    request = ExportLogsServiceRequest()
    try:
        request.ParseFromString(body)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise OtlpDecodeError(f"invalid OTLP protobuf body: {exc}") from exc
    return decode_logs_request(request)


def decode_logs_request(request: Any) -> DecodedRunRecords:
    """The run records of a parsed ``ExportLogsServiceRequest`` (gRPC hands one over)."""
    result = DecodedRunRecords()
    for resource_logs in request.resource_logs:
        for scope_logs in resource_logs.scope_logs:
            for log in scope_logs.log_records:
                fields = {pair.key: _any_value(pair.value) for pair in log.attributes}
                _add(
                    result,
                    fields,
                    _any_value(log.body),
                    event_name=log.event_name,
                    trace_id=bytes(log.trace_id).hex(),
                    span_id=bytes(log.span_id).hex(),
                    time_unix_nano=log.time_unix_nano or log.observed_time_unix_nano,
                )
    return result


def _add(result: DecodedRunRecords, fields: dict[str, Any], body: Any, **log: Any) -> None:
    try:
        record = run_record(fields, body, **log)
    except InvalidRunRecordError as exc:
        result.reject(str(exc))
        return
    if record is None:
        result.ignored_log_records += 1
    else:
        result.records.append(record)


# --- OTLP/JSON ----------------------------------------------------------------------------------
def _field(message: Mapping[str, Any], camel: str, snake: str, default: Any = None) -> Any:
    value = message.get(camel)
    if value is None:
        value = message.get(snake, default)
    return default if value is None else value


def _list(message: Mapping[str, Any], camel: str, snake: str) -> list[Any]:
    value = _field(message, camel, snake, [])
    if not isinstance(value, list):
        raise TypeError(f"{camel} must be a list")
    return value


def _json_any(value: Any) -> Any:
    if not isinstance(value, Mapping):
        return None
    for camel, snake in (("stringValue", "string_value"), ("boolValue", "bool_value")):
        if camel in value or snake in value:
            return _field(value, camel, snake)
    if "intValue" in value or "int_value" in value:
        return int(_field(value, "intValue", "int_value"))
    if "doubleValue" in value or "double_value" in value:
        found = _field(value, "doubleValue", "double_value")
        return float(found)  # "NaN" / "Infinity" arrive as strings
    if "arrayValue" in value or "array_value" in value:
        array = _field(value, "arrayValue", "array_value", {})
        return [_json_any(item) for item in _list(array, "values", "values")]
    if "kvlistValue" in value or "kvlist_value" in value:
        kvlist = _field(value, "kvlistValue", "kvlist_value", {})
        return {str(pair["key"]): _json_any(pair.get("value")) for pair in kvlist["values"]}
    if "bytesValue" in value or "bytes_value" in value:
        return base64.b64decode(_field(value, "bytesValue", "bytes_value")).hex()
    return None


def _hex(value: Any, what: str) -> str:
    text = str(value or "").lower()
    if text and not set(text) <= _HEX:
        raise ValueError(f"{what} must be hex, got {value!r}")
    return text


def parse_json_logs(body: bytes) -> DecodedRunRecords:
    """Parse an OTLP/JSON ``ExportLogsServiceRequest`` body and decode its run records.

    Raises:
        OtlpDecodeError: the body is not UTF-8 JSON shaped like a logs export request.
    """
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise OtlpDecodeError(f"request body is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise OtlpDecodeError("OTLP/JSON body must be an object with a resourceLogs list")
    result = DecodedRunRecords()
    try:
        for resource_logs in _list(document, "resourceLogs", "resource_logs"):
            for scope_logs in _list(resource_logs, "scopeLogs", "scope_logs"):
                for log in _list(scope_logs, "logRecords", "log_records"):
                    _add_json(result, log)
    except (TypeError, AttributeError, KeyError, ValueError, RecursionError) as exc:
        raise OtlpDecodeError(f"malformed OTLP/JSON logs export request: {exc}") from exc
    return result


def _add_json(result: DecodedRunRecords, log: Mapping[str, Any]) -> None:
    try:
        fields = {
            str(pair["key"]): _json_any(pair.get("value"))
            for pair in _list(log, "attributes", "attributes")
        }
        time_ns = int(_field(log, "timeUnixNano", "time_unix_nano", 0)) or int(
            _field(log, "observedTimeUnixNano", "observed_time_unix_nano", 0)
        )
        details: dict[str, Any] = {
            "event_name": str(_field(log, "eventName", "event_name", "")),
            "trace_id": _hex(_field(log, "traceId", "trace_id", ""), "traceId"),
            "span_id": _hex(_field(log, "spanId", "span_id", ""), "spanId"),
            "time_unix_nano": time_ns,
        }
        body = _json_any(_field(log, "body", "body"))
    except (TypeError, AttributeError, KeyError, ValueError, binascii.Error) as exc:
        if isinstance(log, Mapping) and attr.RUN_ID not in str(log.get("attributes")):
            result.ignored_log_records += 1
            return
        result.reject(f"malformed log record: {exc}")
        return
    _add(result, fields, body, **details)
