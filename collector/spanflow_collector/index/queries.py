"""SQL for reading runs: the list_runs filter builder, keyset cursors, rows to RunSummary."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any

from spanflow import attributes as attr
from spanflow.query.store import RunQuery, RunSummary, ValueFilter
from spanflow_collector.index.attribute_values import ATTRIBUTE_KIND
from spanflow_collector.index.content import plain_attributes

RUN_COLUMNS = (
    "id, project, name, status, start_ns, end_ns, stale_after_ns, parent_id, tags, params, "
    "metrics, outputs, attributes, error_type, error_message, span_count, llm_call_count, "
    "error_count, input_tokens, output_tokens, segment_count, trace_ids, last_heartbeat_ns, "
    "inputs, artifacts, truncated"
)
MAX_PAGE_SIZE = 1000
MAX_SPAN_PAGE_SIZE = 1000
"""Most spans one ``get_span_page`` returns: spans can carry large content, so pages stay small."""
_INT64 = range(-(2**63), 2**63)
_MAX_CURSOR_TEXT = 200  # run ids and hex span/trace ids are far shorter
_OPERATORS = frozenset({"=", "!=", "<", "<=", ">", ">="})


class InvalidQueryError(ValueError):
    """A query the index cannot answer: a malformed cursor, an unknown operator, a bad limit."""


def encode_cursor(start_ns: int, run_id: str) -> str:
    """Opaque keyset cursor pointing just after the run (start_ns, run_id)."""
    raw = json.dumps([start_ns, run_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str]:
    """Inverse of ``encode_cursor``; raises InvalidQueryError for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        start_ns, run_id = json.loads(raw)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise InvalidQueryError(f"invalid cursor {cursor[:80]!r}") from exc
    if not _is_int64(start_ns) or not _is_short_text(run_id):
        raise InvalidQueryError(f"invalid cursor {cursor[:80]!r}")
    return start_ns, run_id


def encode_span_cursor(start_ns: int, span_id: str, trace_id: str) -> str:
    """Opaque keyset cursor pointing just after the span (start_ns, span_id, trace_id)."""
    raw = json.dumps([start_ns, span_id, trace_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_span_cursor(cursor: str) -> tuple[int, str, str]:
    """Inverse of ``encode_span_cursor``; raises InvalidQueryError for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        start_ns, span_id, trace_id = json.loads(raw)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise InvalidQueryError(f"invalid cursor {cursor[:80]!r}") from exc
    if not (_is_int64(start_ns) and _is_short_text(span_id) and _is_short_text(trace_id)):
        raise InvalidQueryError(f"invalid cursor {cursor[:80]!r}")
    return start_ns, span_id, trace_id


def _is_int64(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value in _INT64


def _is_short_text(value: object) -> bool:
    return isinstance(value, str) and len(value) <= _MAX_CURSOR_TEXT


def status_condition(statuses: Sequence[str], now_ns: int) -> tuple[str, list[Any]]:
    """SQL matching runs whose status *as read now* is one of ``statuses``.

    A stored ``running`` whose ``stale_after_ns`` has passed reads as ``interrupted``.
    """
    clauses: list[str] = []
    params: list[Any] = []
    for status in dict.fromkeys(statuses):
        if status == attr.RunStatus.RUNNING:
            clauses.append("(status = ? AND (stale_after_ns IS NULL OR stale_after_ns >= ?))")
            params += [status, now_ns]
        elif status == attr.RunStatus.INTERRUPTED:
            clauses.append("(status = ? OR (status = ? AND stale_after_ns < ?))")
            params += [status, attr.RunStatus.RUNNING, now_ns]
        else:
            clauses.append("status = ?")
            params.append(status)
    return "(" + " OR ".join(clauses) + ")", params


def _value_condition(kind: str, value_filter: ValueFilter) -> tuple[str, list[Any]]:
    if value_filter.op not in _OPERATORS:
        raise InvalidQueryError(f"unknown comparison operator {value_filter.op!r}")
    value = value_filter.value
    operand: float | str
    op = "<>" if value_filter.op == "!=" else value_filter.op
    if isinstance(value, bool):
        if op not in ("=", "<>"):
            raise InvalidQueryError(f"booleans compare with = or != only, not {value_filter.op}")
        column, operand = "text", json.dumps(value)
    elif isinstance(value, int | float):
        column, operand = "num", float(value)
    elif isinstance(value, str):
        column, operand = "text", value
    else:
        column, operand = "text", json.dumps(list(value))
    sql = (
        "EXISTS (SELECT 1 FROM run_values v WHERE v.run_id = runs.id AND v.kind = ? "
        f"AND v.key = ? AND v.{column} {op} ?)"
    )
    return sql, [kind, value_filter.key, operand]


def list_runs_sql(query: RunQuery, now_ns: int) -> tuple[str, list[Any]]:
    """SELECT for one page of ``query`` (fetches limit + 1 rows to detect a next page)."""
    if not 1 <= query.limit <= MAX_PAGE_SIZE:
        raise InvalidQueryError(f"limit must be between 1 and {MAX_PAGE_SIZE}, got {query.limit}")
    conditions: list[str] = []
    params: list[Any] = []
    if query.project is not None:
        conditions.append("project = ?")
        params.append(query.project)
    if query.statuses:
        sql, status_params = status_condition(query.statuses, now_ns)
        conditions.append(sql)
        params += status_params
    for tag in query.tags:
        conditions.append(
            "EXISTS (SELECT 1 FROM run_tags t WHERE t.run_id = runs.id AND t.tag = ?)"
        )
        params.append(tag)
    if query.name_contains:
        escaped = (
            query.name_contains.lower()
            .replace("\\", "\\\\")
            .replace("%", "\\%")
            .replace("_", "\\_")
        )
        conditions.append("LOWER(name) LIKE ? ESCAPE '\\'")
        params.append(f"%{escaped}%")
    if query.started_after_ns is not None:
        conditions.append("start_ns >= ?")
        params.append(query.started_after_ns)
    if query.started_before_ns is not None:
        conditions.append("start_ns < ?")
        params.append(query.started_before_ns)
    if query.parent_id is not None:
        conditions.append("parent_id = ?")
        params.append(query.parent_id)
    if query.top_level_only:
        conditions.append("parent_id IS NULL")
    for kind, filters in (
        ("param", query.params),
        ("metric", query.metrics),
        (ATTRIBUTE_KIND, query.attributes),
    ):
        for value_filter in filters:
            sql, value_params = _value_condition(kind, value_filter)
            conditions.append(sql)
            params += value_params
    if query.cursor is not None:
        start_ns, run_id = decode_cursor(query.cursor)
        conditions.append("(start_ns < ? OR (start_ns = ? AND id < ?))")
        params += [start_ns, start_ns, run_id]
    where = " WHERE " + " AND ".join(conditions) if conditions else ""
    sql = (
        f"SELECT {RUN_COLUMNS} FROM runs{where} ORDER BY start_ns DESC, id DESC "
        f"LIMIT {query.limit + 1}"
    )
    return sql, params


def run_summary(row: Sequence[Any], now_ns: int) -> RunSummary:
    """A RunSummary from a row selected with ``RUN_COLUMNS``, status as of ``now_ns``."""
    status = row[3]
    stale_after_ns = row[6]
    if status == attr.RunStatus.RUNNING and stale_after_ns is not None and stale_after_ns < now_ns:
        status = attr.RunStatus.INTERRUPTED.value  # a plain str, as the stored statuses are
    metrics = {key: float(value) for key, value in json.loads(row[10]).items()}
    return RunSummary(
        id=row[0],
        project=row[1],
        name=row[2],
        status=status,
        start_time_unix_nano=row[4],
        end_time_unix_nano=row[5],
        parent_id=row[7],
        tags=tuple(json.loads(row[8])),
        params=plain_attributes(row[9]),
        metrics=metrics,
        outputs=plain_attributes(row[11]),
        attributes=plain_attributes(row[12]),
        error_type=row[13],
        error_message=row[14],
        span_count=row[15],
        llm_call_count=row[16],
        error_count=row[17],
        input_tokens=row[18],
        output_tokens=row[19],
        segment_count=row[20],
        trace_ids=tuple(json.loads(row[21])),
        last_heartbeat_unix_nano=row[22],
        inputs=plain_attributes(row[23]),
        artifacts=json.loads(row[24]),
        truncated=tuple(json.loads(row[25])),
    )
