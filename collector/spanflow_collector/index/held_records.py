"""Run records held until their trace is the run's: stored aside, applied when it becomes so.

A run record of a known run, sent from a trace the run has no start record or span in yet, is
not applied (``run_claims.py``), but it is not refused either: a run resumed in another process
opens a segment in a new trace, and that segment's records can overtake its start record: after
an outage, several processes drain a shared spool at once, each sending the oldest file it could
claim, so the file holding the start record may land after the next one; or the start record
was lost (the spool's bound) and only the segment's root span says the trace is the run's.
Such records wait in ``run_held_records`` as JSON, and are applied the moment a start record or
span puts their trace in the run. Records of a trace that never joins the run stay there, never
applied, until the run is deleted; past ``MAX_HELD_RECORDS_PER_RUN`` for one run, further ones
are refused as foreign.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from typing import Any

from spanflow.query.records import Attributes, AttributeValue, MetricPointValue, RunRecord
from spanflow_collector.index.executor import Executor, chunks, placeholders

MAX_HELD_RECORDS_PER_RUN = 10_000
"""Held records one run may gather; later ones are refused (a bound on what a forger can park)."""


def held_counts(executor: Executor, run_ids: Sequence[str]) -> dict[str, int]:
    """How many records each of ``run_ids`` holds now."""
    counts: dict[str, int] = {}
    for batch in chunks(run_ids):
        for run_id, count in executor.execute(
            "SELECT run_id, COUNT(*) FROM run_held_records "
            f"WHERE run_id IN ({placeholders(len(batch))}) GROUP BY run_id",
            batch,
        ):
            counts[run_id] = int(count)
    return counts


def hold_records(executor: Executor, records: Iterable[RunRecord], received_ns: int) -> None:
    """Put ``records`` aside (a record resent with the same id is held once)."""
    executor.executemany(
        "INSERT INTO run_held_records (run_id, trace_id, record_id, received_ns, record) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [
            (record.run_id, record.trace_id, record.record_id, received_ns, _encode(record))
            for record in records
        ],
    )


def held_traces(executor: Executor, run_ids: Sequence[str]) -> set[tuple[str, str]]:
    """(run id, trace id) pairs holding records, among ``run_ids``."""
    pairs: set[tuple[str, str]] = set()
    for batch in chunks(run_ids):
        for run_id, trace_id in executor.execute(
            "SELECT DISTINCT run_id, trace_id FROM run_held_records "
            f"WHERE run_id IN ({placeholders(len(batch))})",
            batch,
        ):
            pairs.add((run_id, trace_id))
    return pairs


def release_held(executor: Executor, pairs: Sequence[tuple[str, str]]) -> list[RunRecord]:
    """Take the records held for each (run id, trace id) out of the table, oldest first."""
    released: list[RunRecord] = []
    for run_id, trace_id in pairs:
        rows = executor.execute(
            "SELECT record FROM run_held_records WHERE run_id = ? AND trace_id = ? "
            "ORDER BY received_ns, record_id",
            [run_id, trace_id],
        )
        released.extend(_decode(text) for (text,) in rows)
        executor.execute(
            "DELETE FROM run_held_records WHERE run_id = ? AND trace_id = ?", [run_id, trace_id]
        )
    return released


def _encode(record: RunRecord) -> str:
    return json.dumps(
        {
            "kind": record.kind,
            "run_id": record.run_id,
            "record_id": record.record_id,
            "segment": record.segment,
            "trace_id": record.trace_id,
            "span_id": record.span_id,
            "time_unix_nano": record.time_unix_nano,
            "fields": _plain(record.fields),
            "values": _plain(record.values),
            "tags": list(record.tags),
            "points": [
                [point.name, point.value, point.step, point.time_unix_nano]
                for point in record.points
            ],
            "content": (
                None if record.content is None else base64.b64encode(record.content).decode()
            ),
        },
        sort_keys=True,
    )


def _plain(attributes: Attributes) -> dict[str, Any]:
    return {
        key: list(value) if isinstance(value, tuple) else value for key, value in attributes.items()
    }


def _attributes(plain: dict[str, Any]) -> dict[str, AttributeValue]:
    return {key: tuple(value) if isinstance(value, list) else value for key, value in plain.items()}


def _decode(text: str) -> RunRecord:
    data = json.loads(text)
    content = data["content"]
    return RunRecord(
        kind=data["kind"],
        run_id=data["run_id"],
        record_id=data["record_id"],
        segment=data["segment"],
        trace_id=data["trace_id"],
        span_id=data["span_id"],
        time_unix_nano=data["time_unix_nano"],
        fields=_attributes(data["fields"]),
        values=_attributes(data["values"]),
        tags=tuple(data["tags"]),
        points=tuple(MetricPointValue(*point) for point in data["points"]),
        content=None if content is None else base64.b64decode(content),
    )
