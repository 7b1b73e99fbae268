"""Run records to table rows (write path) and back to a ``RecordState`` per run (derivation).

Writes stay proportional to what a batch carries, never to what a run already holds: keyed
values are upserted per key (newest record time wins), metric points are inserted once per
(run, record id, position), and a run's last value per metric is upserted beside them. So
recomputing a run after a batch reads one row per key, not every point ever logged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from spanflow import attributes as attr
from spanflow.query.records import AttributeValue, RunRecord
from spanflow_collector.index.artifacts import write_artifact_rows
from spanflow_collector.index.derive import RecordState, SegmentStart
from spanflow_collector.index.executor import Executor

_KIND = attr.RecordKindValue
_KEYED_KINDS = {
    _KIND.PARAMS: "param",
    _KIND.OUTPUTS: "output",
    _KIND.INPUTS: "input",
    _KIND.ATTRIBUTES: "attribute",
}
_TRUNCATION_WORD = re.compile(r"[a-z][a-z0-9_]{0,63}")
_ARTIFACT_FIELDS = {
    attr.ARTIFACT_PATH: "path",
    attr.ARTIFACT_SIZE: "size",
    attr.ARTIFACT_SHA256: "sha256",
    attr.ARTIFACT_MEDIA_TYPE: "media_type",
    attr.ARTIFACT_STORED: "stored",
}
UPSERT_NEWEST = (
    "INSERT INTO run_record_values (run_id, kind, key, value, time_ns) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (run_id, kind, key) DO UPDATE SET value = excluded.value, "
    "time_ns = excluded.time_ns WHERE excluded.time_ns >= run_record_values.time_ns"
)
INSERT_FIRST = (
    "INSERT INTO run_record_values (run_id, kind, key, value, time_ns) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT DO NOTHING"
)
UPSERT_LIVENESS = (
    "INSERT INTO run_liveness (run_id, last_received_ns, last_heartbeat_ns) VALUES (?, ?, ?) "
    "ON CONFLICT (run_id) DO UPDATE SET last_received_ns = CASE WHEN excluded.last_received_ns "
    "> run_liveness.last_received_ns THEN excluded.last_received_ns ELSE "
    "run_liveness.last_received_ns END, last_heartbeat_ns = COALESCE(CASE WHEN "
    "excluded.last_heartbeat_ns > run_liveness.last_heartbeat_ns THEN excluded.last_heartbeat_ns "
    "ELSE run_liveness.last_heartbeat_ns END, excluded.last_heartbeat_ns, "
    "run_liveness.last_heartbeat_ns)"
)


def encode_value(value: AttributeValue | dict[str, Any]) -> str:
    """A stored value as JSON (tuples as arrays)."""
    return json.dumps(list(value) if isinstance(value, tuple) else value, sort_keys=True)


def decode_value(text: str) -> AttributeValue:
    """The inverse of :func:`encode_value`; objects come back as their JSON text."""
    value = json.loads(text)
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return value  # type: ignore[no-any-return]


@dataclass
class RecordRows:
    """What one batch of run records writes, per table."""

    received_ns: int = 0  # when the batch arrived (the index's clock)
    starts: list[tuple[Any, ...]] = field(default_factory=list)
    newest: dict[tuple[str, str, str], tuple[str, int]] = field(default_factory=dict)
    first: dict[tuple[str, str, str], tuple[str, int]] = field(default_factory=dict)
    points: list[tuple[Any, ...]] = field(default_factory=list)
    liveness: dict[str, tuple[int, int | None]] = field(default_factory=dict)
    run_ids: set[str] = field(default_factory=set)
    start_trace_ids: set[str] = field(default_factory=set)
    artifact_contents: dict[str, bytes] = field(default_factory=dict)  # sha256 -> content
    artifact_refs: set[tuple[str, str]] = field(default_factory=set)  # (run id, sha256)

    def keep_newest(self, key: tuple[str, str, str], value: str, time_ns: int) -> None:
        """Remember ``value`` for ``key`` unless the batch already has a newer one."""
        held = self.newest.get(key)
        if held is None or time_ns >= held[1]:
            self.newest[key] = (value, time_ns)

    def keep_first(self, key: tuple[str, str, str], value: str, time_ns: int) -> None:
        """Remember ``value`` for ``key`` unless the batch already has an older one."""
        held = self.first.get(key)
        if held is None or time_ns < held[1]:
            self.first[key] = (value, time_ns)


def build_record_rows(records: Sequence[RunRecord], received_ns: int) -> RecordRows:
    """Rows for every run record table from one batch received at ``received_ns``."""
    rows = RecordRows(received_ns=received_ns)
    for record in records:
        run_id = record.run_id
        rows.run_ids.add(run_id)
        heartbeat_ns = received_ns if record.kind == _KIND.HEARTBEAT else None
        held = rows.liveness.get(run_id)
        rows.liveness[run_id] = (received_ns, heartbeat_ns or (held[1] if held else None))
        time_ns = record.time_unix_nano
        if record.kind == _KIND.START:
            _add_start(rows, record)
            continue
        if record.kind in _KEYED_KINDS:
            kind = _KEYED_KINDS[record.kind]
            for key, value in record.values.items():
                rows.keep_newest((run_id, kind, key), encode_value(value), time_ns)
        elif record.kind == _KIND.METRICS:
            latest: dict[str, tuple[int, float]] = {}
            for seq, point in enumerate(record.points):
                rows.points.append(
                    (
                        run_id,
                        record.record_id,
                        seq,
                        point.name,
                        point.value,
                        point.step,
                        point.time_unix_nano,
                    )
                )
                newest = latest.get(point.name)
                if newest is None or point.time_unix_nano >= newest[0]:
                    latest[point.name] = (point.time_unix_nano, point.value)
            for name, (point_ns, value) in latest.items():
                rows.keep_newest((run_id, "metric", name), encode_value(value), point_ns)
        elif record.kind == _KIND.TAGS:
            for tag in record.tags:
                rows.keep_first((run_id, "tag", tag), "true", time_ns)
        elif record.kind == _KIND.ARTIFACT:
            _add_artifact(rows, record)
        elif record.kind == _KIND.TRUNCATED:
            cut = record.fields.get(attr.RUN_TRUNCATED)
            for what in cut if isinstance(cut, tuple) else (cut,) if isinstance(cut, str) else ():
                if _TRUNCATION_WORD.fullmatch(str(what)):  # a word, never terminal controls
                    rows.keep_first((run_id, "truncated", str(what)), "true", time_ns)
    return rows


def _text(value: AttributeValue | None) -> str | None:
    return value if isinstance(value, str) and value else None


def _add_start(rows: RecordRows, record: RunRecord) -> None:
    fields = record.fields
    tags = fields.get(attr.RUN_TAGS)
    interval = fields.get(attr.RUN_HEARTBEAT_INTERVAL_S)
    interval_s = (
        float(interval)
        if isinstance(interval, int | float) and not isinstance(interval, bool) and interval > 0
        else None
    )
    rows.starts.append(
        (
            record.run_id,
            record.trace_id,
            record.span_id,
            record.segment,
            _text(fields.get(attr.RUN_NAME)),
            _text(fields.get(attr.PROJECT)),
            json.dumps(list(tags) if isinstance(tags, tuple) else []),
            _text(fields.get(attr.RUN_PARENT_ID)),
            interval_s,
            record.time_unix_nano,
        )
    )
    if record.trace_id:
        rows.start_trace_ids.add(record.trace_id)


def _add_artifact(rows: RecordRows, record: RunRecord) -> None:
    name = _text(record.fields.get(attr.ARTIFACT_NAME))
    if name is None:
        return
    facts = {
        short: record.fields[key] for key, short in _ARTIFACT_FIELDS.items() if key in record.fields
    }
    # "stored" says what the index holds, not what the sender meant to send.
    facts["stored"] = record.content is not None
    if record.content is not None:
        sha256 = str(record.fields[attr.ARTIFACT_SHA256])
        rows.artifact_contents[sha256] = record.content
        rows.artifact_refs.add((record.run_id, sha256))
    rows.keep_newest((record.run_id, "artifact", name), encode_value(facts), record.time_unix_nano)


def write_record_rows(executor: Executor, rows: RecordRows) -> None:
    """Insert and upsert one batch's rows (inside the caller's transaction)."""
    executor.executemany(
        "INSERT INTO run_starts (run_id, trace_id, span_id, segment, name, project, tags, "
        "parent_id, heartbeat_interval_s, time_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        rows.starts,
    )
    executor.executemany(
        UPSERT_NEWEST,
        [(*key, value, time_ns) for key, (value, time_ns) in sorted(rows.newest.items())],
    )
    executor.executemany(
        INSERT_FIRST,
        [(*key, value, time_ns) for key, (value, time_ns) in sorted(rows.first.items())],
    )
    executor.executemany(
        "INSERT INTO run_metric_points (run_id, record_id, seq, name, value, step, time_ns) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        rows.points,
    )
    write_artifact_rows(executor, rows.artifact_contents, rows.artifact_refs)
    executor.executemany(
        UPSERT_LIVENESS,
        [(run_id, *times) for run_id, times in sorted(rows.liveness.items())],
    )


def load_record_states(
    executor: Executor, run_ids: Sequence[str], in_list: str
) -> dict[str, RecordState]:
    """The RecordState of each of ``run_ids`` that has run records."""
    states: dict[str, RecordState] = {}
    for row in executor.execute(
        "SELECT run_id, segment, name, project, tags, parent_id, heartbeat_interval_s, time_ns "
        f"FROM run_starts WHERE run_id IN ({in_list})",
        list(run_ids),
    ):
        state = states.setdefault(row[0], RecordState())
        state.starts.append(
            SegmentStart(row[1], row[2], row[3], tuple(json.loads(row[4])), row[5], row[6], row[7])
        )
    for run_id, kind, key, value in executor.execute(
        "SELECT run_id, kind, key, value FROM run_record_values "
        f"WHERE run_id IN ({in_list}) ORDER BY run_id, time_ns, key",
        list(run_ids),
    ):
        state = states.setdefault(run_id, RecordState())
        if kind == "tag":
            state.tags.append(key)
        elif kind == "truncated":
            state.truncated.append(key)
        elif kind == "metric":
            state.metrics[key] = float(json.loads(value))
        else:
            state.values.setdefault(kind, {})[key] = decode_value(value)
    for run_id, received_ns, heartbeat_ns in executor.execute(
        "SELECT run_id, last_received_ns, last_heartbeat_ns FROM run_liveness "
        f"WHERE run_id IN ({in_list})",
        list(run_ids),
    ):
        state = states.setdefault(run_id, RecordState())
        state.last_received_ns = received_ns
        state.last_heartbeat_ns = heartbeat_ns
    return states


RECORD_TABLES = (
    "run_starts",
    "run_record_values",
    "run_metric_points",
    "run_liveness",
    "run_held_records",
)
"""Tables keyed by ``run_id`` that deleting a run clears."""
