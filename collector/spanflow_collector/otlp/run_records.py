"""OTLP log records to spanflow ``RunRecord``s: the part both logs decoders share.

The protobuf and the OTLP/JSON decoder each turn a log record into plain Python (its
attributes as a dict, its body as dicts/lists/scalars, ids as hex) and call
:func:`run_record`. A log record without ``spanflow.run.id`` or without a known run record kind
is not spanflow's (another SDK's logs): it is skipped, not an error. Ill-formed spanflow
records are rejected one by one, counted for ``partial_success`` like invalid spans.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from spanflow import attributes as attr
from spanflow.query.records import INT64_MAX, AttributeValue, MetricPointValue, RunRecord
from spanflow_collector.otlp.normalize import INT64_MIN, MAX_SEGMENT, MAX_TIME_NS, clean_text

_KIND = attr.RecordKindValue
KNOWN_KINDS = frozenset(
    {
        _KIND.START,
        _KIND.HEARTBEAT,
        _KIND.PARAMS,
        _KIND.METRICS,
        _KIND.OUTPUTS,
        _KIND.INPUTS,
        _KIND.ATTRIBUTES,
        _KIND.TAGS,
        _KIND.ARTIFACT,
        _KIND.TRUNCATED,
    }
)
_KEYED_KINDS = frozenset({_KIND.PARAMS, _KIND.OUTPUTS, _KIND.INPUTS, _KIND.ATTRIBUTES})
_MAX_REASONS_REPORTED = 5
MAX_ITEMS_PER_RECORD = 100_000


class InvalidRunRecordError(ValueError):
    """One spanflow run record is ill-formed; the rest of the request is still stored."""


@dataclass
class DecodedRunRecords:
    """The run records of one logs export request; foreign log records are only counted."""

    records: list[RunRecord] = field(default_factory=list)
    ignored_log_records: int = 0
    rejected_log_records: int = 0
    reasons: list[str] = field(default_factory=list)

    def reject(self, reason: str) -> None:
        """Count one invalid run record, remembering the first few reasons."""
        self.rejected_log_records += 1
        if len(self.reasons) < _MAX_REASONS_REPORTED:
            self.reasons.append(reason)

    @property
    def error_message(self) -> str:
        """The ``partial_success.error_message`` ("" when nothing was rejected)."""
        if not self.rejected_log_records:
            return ""
        return f"{self.rejected_log_records} run record(s) rejected: " + "; ".join(self.reasons)


def attribute_value(value: Any) -> AttributeValue:
    """A decoded AnyValue as an attribute value: lists as tuples, objects as JSON text.

    Text is made storable as in spans (NUL and lone surrogates become U+FFFD); JSON text
    escapes both already.
    """
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, list):
        items = [attribute_value(item) for item in value]
        if all(isinstance(item, str) for item in items):
            return tuple(str(item) for item in items)
        return json.dumps(value, sort_keys=True, default=str)
    if value is None:
        return "null"
    return json.dumps(value, sort_keys=True, default=str)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an OTLP/JSON intValue of hundreds of digits
        return None
    return number if math.isfinite(number) else None


def _int64(value: Any) -> int | None:
    """``value`` as an int64 the stores can hold; None for anything else (NaN, inf, 2**70)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        value = int(value)
    if isinstance(value, int) and INT64_MIN <= value <= INT64_MAX:
        return value
    return None


def _points(body: Any) -> tuple[MetricPointValue, ...]:
    if not isinstance(body, Mapping):
        raise InvalidRunRecordError("a metrics record needs a kvlist body of point arrays")
    columns = [
        body.get(key) or []
        for key in (
            attr.METRICS_BODY_NAME,
            attr.METRICS_BODY_VALUE,
            attr.METRICS_BODY_STEP,
            attr.METRICS_BODY_TIME,
        )
    ]
    if not all(isinstance(column, list) for column in columns):
        raise InvalidRunRecordError("metric point columns must be arrays")
    names, values, steps, times = columns
    if not len(names) == len(values) == len(steps) == len(times):
        raise InvalidRunRecordError("metric point arrays differ in length")
    if len(names) > MAX_ITEMS_PER_RECORD:
        raise InvalidRunRecordError(f"more than {MAX_ITEMS_PER_RECORD} points in one record")
    points: list[MetricPointValue] = []
    for name, value, step, time_ns in zip(names, values, steps, times, strict=True):
        number = _number(value)
        is_step = isinstance(step, int) and not isinstance(step, bool)
        step_value = _int64(step) if is_step else None
        time_value = _int64(time_ns) if isinstance(time_ns, int | float) else 0
        out_of_range = time_value is None or (is_step and step_value is None)
        if not isinstance(name, str) or not name or number is None or out_of_range:
            # One unusable point (NaN, no name, a step or time beyond int64) does not cost its
            # neighbours, nor the other records of the request.
            continue
        points.append(MetricPointValue(clean_text(name), number, step_value, time_value or 0))
    return tuple(points)


def run_record(
    fields: dict[str, Any],
    body: Any,
    *,
    event_name: str,
    trace_id: str,
    span_id: str,
    time_unix_nano: int,
) -> RunRecord | None:
    """The RunRecord of one decoded log record, or None when it is not spanflow's.

    Raises:
        InvalidRunRecordError: a spanflow run record whose payload is unusable.
    """
    run_id = fields.pop(attr.RUN_ID, None)
    kind = fields.pop(attr.RECORD_KIND, None) or event_name
    if not isinstance(run_id, str) or not run_id or kind not in KNOWN_KINDS:
        return None
    record_id = fields.pop(attr.RECORD_ID, None)
    if not isinstance(record_id, str) or not record_id:
        raise InvalidRunRecordError(f"run record of {run_id} has no {attr.RECORD_ID}")
    segment = fields.pop(attr.RUN_SEGMENT, 0)
    if time_unix_nano <= 0:
        raise InvalidRunRecordError(f"run record {record_id} has no time_unix_nano")
    values: dict[str, AttributeValue] = {}
    tags: tuple[str, ...] = ()
    points: tuple[MetricPointValue, ...] = ()
    content: bytes | None = None
    if kind == _KIND.ARTIFACT:
        content = _artifact_content(fields, body)
    elif kind == _KIND.METRICS:
        points = _points(body)
    elif kind == _KIND.TAGS:
        if not isinstance(body, list):
            raise InvalidRunRecordError("a tags record needs an array body")
        tags = tuple(clean_text(tag) for tag in body if isinstance(tag, str) and tag)
    elif kind in _KEYED_KINDS:
        if not isinstance(body, Mapping):
            raise InvalidRunRecordError(f"a {kind} record needs a kvlist body")
        if len(body) > MAX_ITEMS_PER_RECORD:
            raise InvalidRunRecordError(f"more than {MAX_ITEMS_PER_RECORD} values in one record")
        values = {
            clean_text(str(key)): attribute_value(value) for key, value in body.items() if key
        }
    # As for spans (docs/run-index.md): a segment out of range counts as 0, a time past int64
    # is clamped, text is made storable; otherwise the index refuses the whole record.
    if isinstance(segment, bool) or not isinstance(segment, int) or not 0 <= segment <= MAX_SEGMENT:
        segment = 0
    return RunRecord(
        kind=kind,
        run_id=clean_text(run_id),
        record_id=clean_text(record_id),
        segment=segment,
        trace_id=trace_id,
        span_id=span_id,
        time_unix_nano=min(time_unix_nano, MAX_TIME_NS),
        fields={clean_text(key): attribute_value(value) for key, value in fields.items()},
        values=values,
        tags=tags,
        points=points,
        content=content,
    )


def _artifact_content(fields: Mapping[str, Any], body: Any) -> bytes | None:
    """An artifact record's content (its bytes body; the decoders hand bytes over as hex).

    Content that does not hash to the record's sha256 or differs from its size is refused, so
    what the index serves under a hash is always that hash's bytes.
    """
    if body is None or body == "":
        if fields.get(attr.ARTIFACT_STORED) is True and fields.get(attr.ARTIFACT_SIZE) != 0:
            raise InvalidRunRecordError("an artifact record marked stored carries no content")
        return b"" if fields.get(attr.ARTIFACT_STORED) is True else None
    if not isinstance(body, str):
        raise InvalidRunRecordError("an artifact record's body must be bytes")
    try:
        content = bytes.fromhex(body)
    except ValueError:
        raise InvalidRunRecordError("an artifact record's body must be bytes") from None
    if hashlib.sha256(content).hexdigest() != fields.get(attr.ARTIFACT_SHA256):
        raise InvalidRunRecordError("artifact content does not match its spanflow.artifact.sha256")
    if fields.get(attr.ARTIFACT_SIZE) != len(content):
        raise InvalidRunRecordError("artifact content does not match its spanflow.artifact.size")
    return content
