"""SpanRecords to table rows (write path) and rows back to SpanRecords (read path)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from spanflow import attributes as attr
from spanflow.query.records import (
    INT64_MAX,
    MAX_TOKENS_PER_SPAN,
    AttributeValue,
    EventRecord,
    LinkRecord,
    SpanRecord,
)
from spanflow_collector.index.content import (
    AttributeEncoder,
    collect_blob_hashes,
    content_hash,
    decode_attributes,
    dumps,
    plain_attributes,
    plain_json,
)

SPAN_COLUMNS = (
    "trace_id, span_id, parent_span_id, own_run_id, run_id, name, kind, start_ns, end_ns, "
    "status_code, status_message, attributes, events, resource_hash, scope_name, "
    "scope_version, sf_kind, is_llm, input_tokens, output_tokens"
)
SPAN_ROW = {column.strip(): index for index, column in enumerate(SPAN_COLUMNS.split(","))}
"""Where each column sits in a span row (the tuples of ``BatchRows.spans``)."""
READ_COLUMNS = (
    "s.trace_id, s.span_id, s.parent_span_id, s.name, s.kind, s.start_ns, s.end_ns, "
    "s.status_code, s.status_message, s.attributes, s.events, r.attributes, "
    "s.scope_name, s.scope_version"
)
LINK_COLUMNS = "trace_id, span_id, seq, linked_trace_id, linked_span_id, link_type, attributes"
METRIC_COLUMNS = "trace_id, span_id, seq, name, value, step, time_ns"


@dataclass
class BatchRows:
    """Everything one ``write_spans`` batch inserts, as parameter tuples per table."""

    spans: list[tuple[Any, ...]] = field(default_factory=list)
    links: list[tuple[Any, ...]] = field(default_factory=list)
    metric_points: list[tuple[Any, ...]] = field(default_factory=list)
    span_blobs: list[tuple[str, str, str]] = field(default_factory=list)
    resources: dict[str, str] = field(default_factory=dict)
    blobs: dict[str, str] = field(default_factory=dict)
    trace_ids: set[str] = field(default_factory=set)
    own_run_ids: set[str] = field(default_factory=set)


def _token_count(attributes: Mapping[str, AttributeValue], key: str) -> int:
    """A token count for the run sums: 0 unless a plausible number (collectors drop others)."""
    value = attributes.get(key)
    if value.__class__ is int and 0 <= value <= MAX_TOKENS_PER_SPAN:  # the common case
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    if not 0 <= value <= MAX_TOKENS_PER_SPAN:  # also false for NaN
        return 0
    return int(value)


def build_rows(spans: Sequence[SpanRecord]) -> BatchRows:
    """Rows for every table from one batch (duplicates within the batch are kept once)."""
    rows = BatchRows()
    encoder = AttributeEncoder()
    resource_hashes: dict[int, str] = {}
    seen: set[tuple[str, str]] = set()
    for span in spans:
        key = (span.trace_id, span.span_id)
        if key in seen:
            continue
        seen.add(key)
        attributes = span.attributes
        own_run_id = attributes.get(attr.RUN_ID)
        own_run_id = own_run_id if isinstance(own_run_id, str) and own_run_id else None
        sf_kind = attributes.get(attr.SPAN_KIND)
        sf_kind = sf_kind if isinstance(sf_kind, str) else None

        resource_key = id(span.resource_attributes)
        resource_hash = resource_hashes.get(resource_key)
        if resource_hash is None:
            resource_json = plain_json(span.resource_attributes)
            resource_hash = content_hash(resource_json)
            resource_hashes[resource_key] = resource_hash
            rows.resources[resource_hash] = resource_json

        referenced = encoder.referenced
        referenced.clear()
        encoded_attributes = encoder.encode_json(attributes)
        encoded_events = _encode_events(span.events, encoder) if span.events else "[]"
        if referenced:
            rows.span_blobs.extend((span.trace_id, span.span_id, h) for h in referenced)
        is_llm = sf_kind == attr.SpanKindValue.LLM or attr.GEN_AI_OPERATION_NAME in attributes
        rows.spans.append(
            (
                span.trace_id,
                span.span_id,
                span.parent_span_id or None,
                own_run_id,
                own_run_id,
                span.name,
                span.kind,
                span.start_time_unix_nano,
                span.end_time_unix_nano,
                span.status_code,
                span.status_message,
                encoded_attributes,
                encoded_events,
                resource_hash,
                span.scope_name,
                span.scope_version,
                sf_kind,
                1 if is_llm else 0,
                _token_count(attributes, attr.GEN_AI_USAGE_INPUT_TOKENS),
                _token_count(attributes, attr.GEN_AI_USAGE_OUTPUT_TOKENS),
            )
        )
        for seq, link in enumerate(span.links):
            link_type = link.attributes.get(attr.LINK_TYPE)
            rows.links.append(
                (
                    span.trace_id,
                    span.span_id,
                    seq,
                    link.trace_id,
                    link.span_id,
                    link_type if isinstance(link_type, str) else None,
                    plain_json(link.attributes),
                )
            )
        if span.events:  # most spans have none
            for seq, event in enumerate(span.events):
                point = _metric_point(event)
                if point is not None:
                    rows.metric_points.append((span.trace_id, span.span_id, seq, *point))
        rows.trace_ids.add(span.trace_id)
        if own_run_id is not None:
            rows.own_run_ids.add(own_run_id)
    rows.blobs = encoder.blobs
    return rows


def _metric_point(event: EventRecord) -> tuple[str, float, int | None, int] | None:
    if event.name != attr.EVENT_METRIC:
        return None
    name = event.attributes.get(attr.EVENT_METRIC_NAME)
    value = event.attributes.get(attr.EVENT_METRIC_VALUE)
    step = event.attributes.get(attr.EVENT_METRIC_STEP)
    if not isinstance(name, str) or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if value != value:  # NaN: SQLite would store NULL in a NOT NULL column
        return None
    step_value = None
    is_number = isinstance(step, int | float) and not isinstance(step, bool)
    if is_number and -INT64_MAX <= step <= INT64_MAX:  # type: ignore[operator]
        step_value = int(step)  # type: ignore[arg-type]
    return name, float(value), step_value, event.time_unix_nano


def _encode_events(events: Sequence[EventRecord], encoder: AttributeEncoder) -> str:
    if not events:
        return "[]"
    return dumps(
        [[event.name, event.time_unix_nano, encoder.encode(event.attributes)] for event in events]
    )


@dataclass
class ParsedSpanRow:
    """A span row with its JSON columns parsed, waiting for its blobs."""

    row: Sequence[Any]
    attributes: dict[str, Any]
    events: list[list[Any]]


def parse_span_rows(rows: Sequence[Sequence[Any]]) -> tuple[list[ParsedSpanRow], set[str]]:
    """Parse rows selected with ``READ_COLUMNS`` and collect the blob hashes they need."""
    parsed: list[ParsedSpanRow] = []
    hashes: set[str] = set()
    for row in rows:
        attributes = json.loads(row[9])
        events = json.loads(row[10])
        collect_blob_hashes(attributes, hashes)
        for event in events:
            collect_blob_hashes(event[2], hashes)
        parsed.append(ParsedSpanRow(row, attributes, events))
    return parsed, hashes


def span_record(
    parsed: ParsedSpanRow,
    blobs: Mapping[str, str],
    links: Mapping[tuple[str, str], Sequence[LinkRecord]],
) -> SpanRecord:
    """Rebuild the SpanRecord a parsed row was made from (``links`` by (trace id, span id))."""
    row = parsed.row
    return SpanRecord(
        trace_id=row[0],
        span_id=row[1],
        parent_span_id=row[2],
        name=row[3],
        kind=row[4],
        start_time_unix_nano=row[5],
        end_time_unix_nano=row[6],
        attributes=decode_attributes(parsed.attributes, blobs),
        events=tuple(
            EventRecord(name, time_ns, decode_attributes(encoded, blobs))
            for name, time_ns, encoded in parsed.events
        ),
        links=tuple(links.get((row[0], row[1]), ())),
        status_code=row[7],
        status_message=row[8],
        resource_attributes=plain_attributes(row[11]),
        scope_name=row[12],
        scope_version=row[13],
    )
