"""The run index over SQL, shared by the SQLite and PostgreSQL stores.

Subclasses supply connections and transactions (``_write`` and ``_read``); everything else —
the write path, run derivation, queries, deletion (``deletion.py``) — is written once with
``?`` placeholders in SQL both databases accept.

Write path, per batch, in one transaction: batched inserts of blobs, resources, spans, links and
metric points (``ON CONFLICT DO NOTHING``: a span written twice is stored once), and the run
records' rows (``record_rows.py``); then the run of spans without ``spanflow.run.id`` is
resolved per trace; then every run the batch touched is recomputed from its stored level spans
and record state (``derive.py``), so the summary never depends on arrival order. No statement
runs per span.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from spanflow import attributes as attr
from spanflow.query.records import LinkRecord, RunRecord, SpanRecord
from spanflow.query.store import (
    MetricPoint,
    RunPage,
    RunQuery,
    RunSummary,
    SpanLinkEdge,
    SpanPage,
)
from spanflow_collector.index import run_totals
from spanflow_collector.index.artifacts import read_artifact_content
from spanflow_collector.index.attribute_values import ATTRIBUTE_KIND, comparable
from spanflow_collector.index.content import plain_attributes, plain_json
from spanflow_collector.index.deletion import delete_with_subruns
from spanflow_collector.index.derive import RunRow, derive_run
from spanflow_collector.index.executor import Executor, chunks, placeholders
from spanflow_collector.index.held_records import release_held
from spanflow_collector.index.prepared import PreparedSpans, merge_rows
from spanflow_collector.index.queries import (
    MAX_SPAN_PAGE_SIZE,
    RUN_COLUMNS,
    InvalidQueryError,
    decode_span_cursor,
    encode_cursor,
    encode_span_cursor,
    list_runs_sql,
    run_summary,
)
from spanflow_collector.index.record_rows import (
    RecordRows,
    build_record_rows,
    load_record_states,
    write_record_rows,
)
from spanflow_collector.index.rows import (
    LINK_COLUMNS,
    METRIC_COLUMNS,
    READ_COLUMNS,
    SPAN_COLUMNS,
    SPAN_ROW,
    BatchRows,
    build_rows,
    parse_span_rows,
    span_record,
)
from spanflow_collector.index.run_claims import claimed_held, hold_unclaimed
from spanflow_collector.index.run_totals import MARKER_KINDS
from spanflow_collector.index.schema import RUN_KINDS, VERSION_TABLE, pending_migrations
from spanflow_collector.redact import redact_run_records, redact_spans

T = TypeVar("T")
# A run's level spans (derive.py), each kind read through a partial index of its own (schema
# 9), so deriving a run does not scan its other spans: the roots and start markers of spanflow
# runs, and the roots of traces from other SDKs that are runs of their own. (``|| ''`` keeps
# SQLite from turning ``run_id IN (...)`` into a trace id to look up in spans_unowned_by_trace,
# which would read every span of such a trace.)
_LEVEL_SPAN_CONDITIONS = (
    f"s.sf_kind IN {RUN_KINDS}",
    "s.own_run_id IS NULL AND s.parent_span_id IS NULL AND s.run_id = s.trace_id || ''",
)

# Per trace (a VALUES list of trace ids): the run its spans without a run id belong to (see
# _assign_trace_runs; asked only of a trace that has such spans, and COALESCE reads a later
# candidate only when the earlier ones are NULL), the least and greatest run those spans were
# given, and how many are waiting for a run. Each subquery but the third candidate (any span of
# a run in the trace, for a trace with neither run root, marker nor start record) reads one of
# schema 10's partial indexes, not the trace's spans.
_TRACE_ASSIGNMENT_SQL = (
    "WITH t (trace_id) AS (VALUES {values}) SELECT t.trace_id, CASE WHEN EXISTS "
    "(SELECT 1 FROM spans s WHERE s.trace_id = t.trace_id AND s.own_run_id IS NULL) "
    "THEN COALESCE("
    "(SELECT MIN(s.own_run_id) FROM spans s WHERE s.trace_id = t.trace_id "
    f"AND s.sf_kind IN {RUN_KINDS}), "
    "(SELECT MIN(r.run_id) FROM run_starts r WHERE r.trace_id = t.trace_id), "
    "(SELECT MIN(s.own_run_id) FROM spans s WHERE s.trace_id = t.trace_id), "
    "(SELECT MIN(s.trace_id) FROM spans s WHERE s.trace_id = t.trace_id "
    "AND s.parent_span_id IS NULL)) END, "
    "(SELECT MIN(s.run_id) FROM spans s WHERE s.trace_id = t.trace_id "
    "AND s.own_run_id IS NULL AND s.run_id IS NOT NULL), "
    "(SELECT MAX(s.run_id) FROM spans s WHERE s.trace_id = t.trace_id "
    "AND s.own_run_id IS NULL AND s.run_id IS NOT NULL), "
    "(SELECT COUNT(*) FROM spans s WHERE s.trace_id = t.trace_id "
    "AND s.own_run_id IS NULL AND s.run_id IS NULL) "
    "FROM t"
)


@dataclass
class TraceAssignment:
    """What assigning a batch's traces to runs changed (``_assign_trace_runs``)."""

    touched: set[str] = field(default_factory=set)
    """Runs that spans were assigned to or moved from: their rows are derived again."""
    summed_again: set[str] = field(default_factory=set)
    """Runs whose totals must be summed again from their stored spans."""
    added: dict[str, str] = field(default_factory=dict)
    """Trace id -> run, for traces that assigned only the batch's new spans to that run."""


class SqlRunIndexStore:
    """RunIndexStore logic over any ``Executor``; subclasses provide the transactions."""

    DIALECT = ""
    """The database, as ``Migration.dialect`` names it."""

    def __init__(self, *, clock: Callable[[], int] = time.time_ns) -> None:
        self._clock = clock

    # --- transactions, supplied by subclasses -------------------------------------------------
    def _write(self, work: Callable[[Executor], T]) -> T:
        raise NotImplementedError

    def _read(self, work: Callable[[Executor], T]) -> T:
        raise NotImplementedError

    def _lock_derivation(self, executor: Executor) -> None:
        """Serialise run recomputation between concurrent writers (a no-op where writes are)."""

    def _lock_migration(self, executor: Executor) -> None:
        """Serialise schema upgrades between processes (a no-op where writes are)."""

    def close(self) -> None:
        """Release connections."""

    def _migrate(self, executor: Executor) -> None:
        """Bring the schema to ``LATEST_VERSION`` (subclasses call this in a write at open)."""
        self._lock_migration(executor)
        executor.execute(VERSION_TABLE)
        rows = executor.execute("SELECT version FROM schema_version")
        current = rows[0][0] if rows else 0
        migrations = pending_migrations(current)
        for migration in migrations:
            if migration.dialect in (None, self.DIALECT):
                for statement in migration.statements:
                    executor.execute(statement)
            if migration.backfill is not None:
                migration.backfill(executor)
        if migrations:
            executor.execute("DELETE FROM schema_version")
            executor.execute(
                "INSERT INTO schema_version (version) VALUES (?)", [migrations[-1].version]
            )

    def schema_version(self) -> int:
        """The schema version of the open index."""
        rows = self._read(lambda executor: executor.execute("SELECT version FROM schema_version"))
        return int(rows[0][0])

    # --- writes --------------------------------------------------------------------------------
    def write_spans(self, spans: Sequence[SpanRecord]) -> None:
        """Store a batch in one transaction; a span already stored is not duplicated."""
        self.write_batch(spans, ())

    def write_batch(self, spans: Sequence[SpanRecord], run_records: Sequence[RunRecord]) -> None:
        """Store spans and run records in one transaction; resent ones are not duplicated."""
        if not spans and not run_records:
            return
        # The one place secrets are removed at ingest, for spans and run records alike.
        rows = build_rows(redact_spans(spans))
        records = redact_run_records(run_records)
        record_rows = build_record_rows(records, self._clock())
        self._write(lambda executor: self._ingest(executor, rows, records, record_rows))

    def write_prepared(
        self,
        prepared: Sequence[PreparedSpans],
        spans: Sequence[SpanRecord],
        run_records: Sequence[RunRecord],
    ) -> None:
        """``write_batch`` plus spans whose rows were built already (``index/prepared.py``)."""
        parts = [part.rows for part in prepared]
        if spans:
            parts.append(build_rows(redact_spans(spans)))
        rows = merge_rows(parts)
        records = redact_run_records(run_records)
        record_rows = build_record_rows(records, self._clock())
        self._write(lambda executor: self._ingest(executor, rows, records, record_rows))

    def _ingest(
        self,
        executor: Executor,
        rows: BatchRows,
        run_records: Sequence[RunRecord],
        record_rows: RecordRows,
    ) -> None:
        """Write one batch; ``record_rows`` are ``run_records``' rows, built outside the
        transaction and built again only when some of the records are held."""
        executor.executemany(
            "INSERT INTO blobs (hash, content) VALUES (?, ?) ON CONFLICT DO NOTHING",
            sorted(rows.blobs.items()),
        )
        executor.executemany(
            "INSERT INTO resources (hash, attributes) VALUES (?, ?) ON CONFLICT DO NOTHING",
            sorted(rows.resources.items()),
        )
        stored = executor.executemany(
            f"INSERT INTO spans ({SPAN_COLUMNS}) VALUES ({placeholders(20)}) "
            "ON CONFLICT DO NOTHING",
            rows.spans,
        )
        # One reference per blob and trace: the calls of a run re-send the same messages.
        executor.executemany(
            "INSERT INTO trace_blobs (hash, trace_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
            sorted({(digest, trace_id) for trace_id, _, digest in rows.span_blobs}),
        )
        executor.executemany(
            f"INSERT INTO links ({LINK_COLUMNS}) VALUES ({placeholders(7)}) ON CONFLICT DO NOTHING",
            rows.links,
        )
        executor.executemany(
            f"INSERT INTO metric_points ({METRIC_COLUMNS}) VALUES ({placeholders(7)}) "
            "ON CONFLICT DO NOTHING",
            rows.metric_points,
        )
        received_ns = record_rows.received_ns
        kept = hold_unclaimed(executor, run_records, received_ns)
        if len(kept) != len(run_records):
            record_rows = build_record_rows(kept, received_ns)
        write_record_rows(executor, record_rows)
        self._lock_derivation(executor)
        # Every trace of the batch: a span of its own run arriving after the trace's spans of
        # other SDKs can decide their run (they waited, or had the trace's own run).
        traces = rows.trace_ids | record_rows.start_trace_ids
        all_new = stored == run_totals.distinct_span_count(rows.spans)
        assignment = self._assign_trace_runs(executor, sorted(traces), rows, all_new=all_new)
        self._update_totals(executor, rows, stored, all_new, assignment)
        affected = set(rows.own_run_ids) | record_rows.run_ids | assignment.touched
        self._recompute_runs(executor, sorted(affected))
        # The runs of records this batch held too: a writer that stored their trace's start
        # record meanwhile could not see them held (they were not committed yet).
        held_for = affected | {record.run_id for record in run_records}
        self._apply_held(executor, sorted(held_for), received_ns)

    def _apply_held(self, executor: Executor, run_ids: Sequence[str], received_ns: int) -> None:
        """Apply the records held for traces this batch made their run's (``held_records.py``)."""
        pairs = claimed_held(executor, run_ids)
        if not pairs:
            return
        held_rows = build_record_rows(release_held(executor, pairs), received_ns)
        write_record_rows(executor, held_rows)
        self._recompute_runs(executor, sorted(held_rows.run_ids))

    def _assign_trace_runs(
        self, executor: Executor, trace_ids: Sequence[str], rows: BatchRows, *, all_new: bool
    ) -> TraceAssignment:
        """Give spans without ``spanflow.run.id`` the run of their trace.

        A trace's run is the run whose root, start marker or start record is in it, else the
        run of any spanflow span in it, else — when the trace has a root — a run of its own
        whose id is the trace id (traces from other OTel SDKs). Until then its spans wait
        unassigned. Only spans whose run changes are updated. When the only spans a trace
        assigns are this batch's own new ones (``all_new``: every span of the batch was
        stored by it), its run's totals can add them; a run that spans moved to from another
        run or from an earlier batch, and a run they moved from, are summed again.
        """
        assignment = TraceAssignment()
        if not trace_ids:
            return assignment
        batch_unowned: dict[str, set[str]] = {}
        trace, span, own_run = SPAN_ROW["trace_id"], SPAN_ROW["span_id"], SPAN_ROW["own_run_id"]
        for row in rows.spans:
            if row[own_run] is None:
                batch_unowned.setdefault(row[trace], set()).add(row[span])
        waiting_updates: list[tuple[str, str]] = []
        moved_updates: list[tuple[str | None, str, str]] = []
        for batch in chunks(trace_ids):
            for trace_id, run_id, lowest, highest, waiting in executor.execute(
                _TRACE_ASSIGNMENT_SQL.format(values=", ".join(["(?)"] * len(batch))), batch
            ):
                if highest is None and not waiting:
                    continue  # no span without a run id of its own
                moved_from = {old for old in (lowest, highest) if old is not None} - {run_id}
                if lowest != highest and lowest is not None:  # not one run per trace
                    moved_from |= self._unowned_runs(executor, trace_id) - {run_id}
                for old in sorted(moved_from):
                    moved_updates.append((run_id, trace_id, old))
                assignment.touched |= moved_from
                assignment.summed_again |= moved_from
                if run_id is None or not (moved_from or waiting):
                    continue
                waiting_updates.append((run_id, trace_id))
                assignment.touched.add(run_id)
                only_new = all_new and waiting == len(batch_unowned.get(trace_id, ()))
                if moved_from or not only_new:
                    assignment.summed_again.add(run_id)
                else:
                    assignment.added[trace_id] = run_id
        executor.executemany(
            "UPDATE spans SET run_id = ? WHERE trace_id = ? AND own_run_id IS NULL "
            "AND run_id IS NULL",
            waiting_updates,
        )
        executor.executemany(
            "UPDATE spans SET run_id = ? WHERE trace_id = ? AND own_run_id IS NULL AND run_id = ?",
            moved_updates,
        )
        return assignment

    @staticmethod
    def _unowned_runs(executor: Executor, trace_id: str) -> set[str]:
        """Every run the spans without a run id of their own in ``trace_id`` were given."""
        return {
            run_id
            for (run_id,) in executor.execute(
                "SELECT DISTINCT run_id FROM spans WHERE trace_id = ? AND own_run_id IS NULL "
                "AND run_id IS NOT NULL",
                [trace_id],
            )
        }

    def _update_totals(
        self,
        executor: Executor,
        rows: BatchRows,
        stored: int,
        all_new: bool,
        assignment: TraceAssignment,
    ) -> None:
        """Bring ``run_totals`` up to date with the batch (``run_totals.py``): when all its
        spans were new, they are added to their runs (spans without a run id to the run their
        trace assigned them), and the runs spans moved to or from are summed again; when only
        some were new, every run the batch touched is summed again."""
        if stored == 0:
            run_totals.sum_again(executor, sorted(assignment.touched))
        elif all_new:
            skip = assignment.summed_again
            run_totals.add_batch(executor, rows.spans, skip=skip, assigned=assignment.added)
            run_totals.sum_again(executor, sorted(skip))
        else:
            run_totals.sum_again(executor, sorted(assignment.touched | rows.own_run_ids))

    def _recompute_runs(self, executor: Executor, run_ids: Sequence[str]) -> None:
        """Derive the runs' rows from their totals, level spans and run records."""
        for batch in chunks(run_ids):
            in_list = placeholders(len(batch))
            aggregates = run_totals.load_aggregates(executor, batch, in_list)
            level_spans: dict[str, list[SpanRecord]] = {run_id: [] for run_id in batch}
            for condition in _LEVEL_SPAN_CONDITIONS:
                for run_id, span in self._spans_where(
                    executor,
                    f"s.run_id IN ({in_list}) AND {condition}",
                    batch,
                    extra_column="s.run_id",
                    ordered=False,  # derive_run orders them
                ):
                    level_spans[run_id].append(span)
            states = load_record_states(executor, batch, in_list)
            for run_id in states.keys() - aggregates.keys():
                aggregates[run_id] = run_totals.NO_SPANS
            derived = [
                derive_run(run_id, aggregate, level_spans[run_id], states.get(run_id))
                for run_id, aggregate in aggregates.items()
            ]
            executor.execute(f"DELETE FROM run_values WHERE run_id IN ({in_list})", batch)
            executor.execute(f"DELETE FROM run_tags WHERE run_id IN ({in_list})", batch)
            gone = [run_id for run_id in batch if run_id not in aggregates]
            if gone:
                executor.execute(f"DELETE FROM runs WHERE id IN ({placeholders(len(gone))})", gone)
            self._upsert_runs(executor, derived)

    def _upsert_runs(self, executor: Executor, runs: Sequence[RunRow]) -> None:
        columns = [column.strip() for column in RUN_COLUMNS.split(",")]
        updates = ", ".join(f"{column} = excluded.{column}" for column in columns[1:])
        executor.executemany(
            f"INSERT INTO runs ({RUN_COLUMNS}) VALUES ({placeholders(len(columns))}) "
            f"ON CONFLICT (id) DO UPDATE SET {updates}",
            [
                (
                    run.id,
                    run.project,
                    run.name,
                    run.status,
                    run.start_ns,
                    run.end_ns,
                    run.stale_after_ns,
                    run.parent_id,
                    json.dumps(list(run.tags)),
                    plain_json(run.params),
                    plain_json(run.metrics),
                    plain_json(run.outputs),
                    plain_json(run.attributes),
                    run.error_type,
                    run.error_message,
                    run.aggregate.span_count,
                    run.aggregate.llm_call_count,
                    run.aggregate.error_count,
                    run.aggregate.input_tokens,
                    run.aggregate.output_tokens,
                    run.segment_count,
                    json.dumps(list(run.aggregate.trace_ids)),
                    run.last_heartbeat_ns,
                    plain_json(run.inputs),
                    _artifacts_json(run.artifacts),
                    json.dumps(list(run.truncated)),
                )
                for run in runs
            ],
        )
        values: list[tuple[str, str, str, float | None, str | None]] = []
        for run in runs:
            for key, value in run.params.items():
                values.append((run.id, "param", key, *comparable(value)))
            for key, number in run.metrics.items():
                values.append((run.id, "metric", key, number, None))
            for key, value in run.attributes.items():
                values.append((run.id, ATTRIBUTE_KIND, key, *comparable(value)))
        executor.executemany(
            "INSERT INTO run_values (run_id, kind, key, num, text) VALUES (?, ?, ?, ?, ?)", values
        )
        executor.executemany(
            "INSERT INTO run_tags (run_id, tag) VALUES (?, ?)",
            [(run.id, tag) for run in runs for tag in run.tags],
        )

    # --- reads ---------------------------------------------------------------------------------
    def _spans_where(
        self,
        executor: Executor,
        condition: str,
        params: Sequence[Any],
        *,
        extra_column: str | None = None,
        ordered: bool = True,
    ) -> list[tuple[Any, SpanRecord]]:
        """Spans matching ``condition`` (on alias ``s``), blobs reassembled; in start order
        unless not ``ordered`` (which leaves the database free to pick a partial index over
        the index that gives that order)."""
        columns = READ_COLUMNS + (f", {extra_column}" if extra_column else "")
        order = " ORDER BY s.start_ns, s.span_id" if ordered else ""
        rows = executor.execute(
            f"SELECT {columns} FROM spans s JOIN resources r ON r.hash = s.resource_hash "
            f"WHERE {condition}{order}",
            params,
        )
        parsed, hashes = parse_span_rows(rows)
        blobs: dict[str, str] = {}
        for batch in chunks(sorted(hashes)):
            blobs.update(
                executor.execute(
                    f"SELECT hash, content FROM blobs WHERE hash IN ({placeholders(len(batch))})",
                    batch,
                )
            )
        links: dict[tuple[str, str], list[LinkRecord]] = {}
        if parsed:
            for trace_id, span_id, linked_trace_id, linked_span_id, encoded in executor.execute(
                "SELECT l.trace_id, l.span_id, l.linked_trace_id, l.linked_span_id, l.attributes "
                "FROM links l JOIN spans s ON s.trace_id = l.trace_id AND s.span_id = l.span_id "
                f"WHERE {condition} ORDER BY l.trace_id, l.span_id, l.seq",
                params,
            ):
                links.setdefault((trace_id, span_id), []).append(
                    LinkRecord(linked_trace_id, linked_span_id, plain_attributes(encoded))
                )
        extra_index = len(READ_COLUMNS.split(","))
        return [
            (item.row[extra_index] if extra_column else None, span_record(item, blobs, links))
            for item in parsed
        ]

    def list_runs(self, query: RunQuery) -> RunPage:
        """Runs matching ``query``, newest first, one page."""
        now_ns = self._clock()
        sql, params = list_runs_sql(query, now_ns)
        rows = self._read(lambda executor: executor.execute(sql, params))
        runs = tuple(run_summary(row, now_ns) for row in rows[: query.limit])
        next_cursor = None
        if len(rows) > query.limit:
            last = runs[-1]
            next_cursor = encode_cursor(last.start_time_unix_nano, last.id)
        return RunPage(runs=runs, next_cursor=next_cursor)

    def get_run(self, run_id: str) -> RunSummary | None:
        """One run, merged across segments, or None."""
        rows = self._read(
            lambda executor: executor.execute(
                f"SELECT {RUN_COLUMNS} FROM runs WHERE id = ?", [run_id]
            )
        )
        return run_summary(rows[0], self._clock()) if rows else None

    def get_spans(self, run_id: str) -> list[SpanRecord]:
        """Every span of a run (all segments, start markers and heartbeats too), by start time."""
        found = self._read(lambda executor: self._spans_where(executor, "s.run_id = ?", [run_id]))
        return [span for _, span in found]

    def get_span_page(
        self,
        run_id: str,
        *,
        limit: int,
        cursor: str | None = None,
        include_markers: bool = True,
    ) -> SpanPage:
        """Up to ``limit`` spans of a run after ``cursor``, by (start time, span id, trace id).

        Memory is bounded by the page, however many spans the run holds: the page's keys are
        found first, then only the spans between its first and last key are read.

        Raises:
            InvalidQueryError: ``limit`` outside 1..MAX_SPAN_PAGE_SIZE, or a foreign cursor.
        """
        if not 1 <= limit <= MAX_SPAN_PAGE_SIZE:
            raise InvalidQueryError(f"limit must be between 1 and {MAX_SPAN_PAGE_SIZE}")
        after = decode_span_cursor(cursor) if cursor else None
        condition = "s.run_id = ?"
        if not include_markers:
            condition += f" AND (s.sf_kind IS NULL OR s.sf_kind NOT IN {MARKER_KINDS})"
        key = "(s.start_ns, s.span_id, s.trace_id)"

        def work(executor: Executor) -> SpanPage:
            keys_condition = condition + (f" AND {key} > (?, ?, ?)" if after else "")
            keys = executor.execute(
                f"SELECT s.start_ns, s.span_id, s.trace_id FROM spans s WHERE {keys_condition} "
                f"ORDER BY s.start_ns, s.span_id, s.trace_id LIMIT {limit + 1}",
                [run_id, *(after or ())],
            )
            if not keys:
                return SpanPage(spans=(), next_cursor=None)
            first, last = keys[0], keys[min(limit, len(keys)) - 1]
            found = self._spans_where(
                executor,
                f"{condition} AND {key} >= (?, ?, ?) AND {key} <= (?, ?, ?)",
                [run_id, *first, *last],
            )
            spans = sorted(
                (span for _, span in found),
                key=lambda span: (span.start_time_unix_nano, span.span_id, span.trace_id),
            )
            next_cursor = encode_span_cursor(*last) if len(keys) > limit else None
            return SpanPage(spans=tuple(spans), next_cursor=next_cursor)

        return self._read(work)

    def get_metric_history(self, run_id: str) -> list[MetricPoint]:
        """Every metric point logged in a run (span events and run records), in time order."""
        rows = self._read(
            lambda executor: executor.execute(
                "SELECT name, value, step, time_ns FROM ("
                "SELECT m.name, m.value, m.step, m.time_ns, m.trace_id AS k1, "
                "m.span_id AS k2, m.seq FROM metric_points m "
                "JOIN spans s ON s.trace_id = m.trace_id AND s.span_id = m.span_id "
                "WHERE s.run_id = ? UNION ALL "
                "SELECT name, value, step, time_ns, record_id, '', seq FROM run_metric_points "
                "WHERE run_id = ?) points ORDER BY time_ns, k1, k2, seq",
                [run_id, run_id],
            )
        )
        return [MetricPoint(name, value, step, time_ns) for name, value, step, time_ns in rows]

    def get_links(self, run_id: str) -> list[SpanLinkEdge]:
        """Every link held by a span of the run (dataflow edges and run links), span order."""
        rows = self._read(
            lambda executor: executor.execute(
                "SELECT l.trace_id, l.span_id, l.linked_trace_id, l.linked_span_id, l.link_type, "
                "l.attributes FROM links l "
                "JOIN spans s ON s.trace_id = l.trace_id AND s.span_id = l.span_id "
                "WHERE s.run_id = ? ORDER BY s.start_ns, s.span_id, l.seq",
                [run_id],
            )
        )
        return [
            SpanLinkEdge(row[0], row[1], row[2], row[3], row[4], plain_attributes(row[5]))
            for row in rows
        ]

    def get_artifact_content(self, run_id: str, sha256: str) -> bytes | None:
        """The content the run logged under ``sha256``, or None when the index holds none."""
        return self._read(lambda executor: read_artifact_content(executor, run_id, sha256))

    # --- deletion and retention ----------------------------------------------------------------
    def delete_runs(self, run_ids: Sequence[str]) -> int:
        """Delete runs with their spans (and their subruns); return how many runs went."""
        if not run_ids:
            return 0
        return self._write(lambda executor: delete_with_subruns(executor, list(run_ids)))

    def delete_older_than(self, cutoff_unix_nano: int, *, project: str | None = None) -> int:
        """Delete top-level runs started before the cutoff (with subruns); return the count.

        Runs still live (``running`` and not yet stale) are kept.
        """

        def work(executor: Executor) -> int:
            sql, params = self._top_level_sql(project)
            rows = executor.execute(f"{sql} AND start_ns < ?", [*params, cutoff_unix_nano])
            return delete_with_subruns(executor, [row[0] for row in rows])

        return self._write(work)

    def keep_last(self, count: int, *, project: str | None = None) -> int:
        """Delete all but the ``count`` newest top-level runs (with subruns); return the count.

        Runs still live (``running`` and not yet stale) are kept and count towards ``count``.
        """
        if count < 0:
            raise ValueError(f"count must be zero or more, got {count}")

        def work(executor: Executor) -> int:
            sql, params = self._top_level_sql(project)
            rows = executor.execute(f"{sql} ORDER BY start_ns DESC, id DESC", params)
            return delete_with_subruns(executor, [row[0] for row in rows[count:]])

        return self._write(work)

    def _top_level_sql(self, project: str | None) -> tuple[str, list[Any]]:
        sql = (
            "SELECT id FROM runs WHERE parent_id IS NULL "
            "AND NOT (status = ? AND stale_after_ns >= ?)"
        )
        params: list[Any] = [attr.RunStatus.RUNNING, self._clock()]
        if project is not None:
            sql += " AND project = ?"
            params.append(project)
        return sql, params


def _artifacts_json(artifacts: dict[str, Any]) -> str:
    """Artifacts as one JSON object of objects (each stored as its JSON text)."""
    return json.dumps(
        {
            name: json.loads(facts) if isinstance(facts, str) else facts
            for name, facts in artifacts.items()
        },
        sort_keys=True,
    )
