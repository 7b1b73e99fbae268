"""The run index schema as an ordered list of migrations, shared by SQLite and PostgreSQL.

``schema_version`` holds one row: the number of migrations applied. Opening an index applies the
missing ones in order, each in its own transaction; opening an index written by a newer spanflow
(a version above ``LATEST_VERSION``) raises ``SchemaVersionError`` instead of guessing.
The DDL sticks to types and syntax both databases accept (TEXT, BIGINT, DOUBLE PRECISION,
composite primary keys, plain indexes), so one list serves both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from spanflow import attributes as attr
from spanflow_collector.index import attribute_values, run_totals
from spanflow_collector.index.executor import Executor

RUN_KINDS = f"('{attr.SpanKindValue.RUN}', '{attr.SpanKindValue.RUN_START}')"
"""The ``sf_kind`` values of run roots and start markers, as an SQL list."""


class SchemaVersionError(RuntimeError):
    """The index was created by a newer spanflow than this one; upgrade spanflow to open it."""


@dataclass(frozen=True)
class Migration:
    """One schema step: the version it produces and the statements that produce it."""

    version: int
    description: str
    statements: tuple[str, ...]
    backfill: Callable[[Executor], None] | None = None  # Python run after the statements
    dialect: str | None = None
    """Only this database (``"sqlite"``) runs the statements; the others just take the version."""


_INITIAL = (
    """CREATE TABLE blobs (
        hash TEXT PRIMARY KEY,
        content TEXT NOT NULL
    )""",
    """CREATE TABLE resources (
        hash TEXT PRIMARY KEY,
        attributes TEXT NOT NULL
    )""",
    # own_run_id: spanflow.run.id as the span carried it; run_id: the run the index assigned
    # (own_run_id, else the run of the span's trace), NULL while no run is known for the trace.
    """CREATE TABLE spans (
        trace_id TEXT NOT NULL,
        span_id TEXT NOT NULL,
        parent_span_id TEXT,
        own_run_id TEXT,
        run_id TEXT,
        name TEXT NOT NULL,
        kind INTEGER NOT NULL,
        start_ns BIGINT NOT NULL,
        end_ns BIGINT NOT NULL,
        status_code INTEGER NOT NULL,
        status_message TEXT NOT NULL,
        attributes TEXT NOT NULL,
        events TEXT NOT NULL,
        resource_hash TEXT NOT NULL,
        scope_name TEXT NOT NULL,
        scope_version TEXT NOT NULL,
        sf_kind TEXT,
        is_llm INTEGER NOT NULL,
        input_tokens BIGINT NOT NULL,
        output_tokens BIGINT NOT NULL,
        PRIMARY KEY (trace_id, span_id)
    )""",
    "CREATE INDEX spans_by_run ON spans (run_id, start_ns)",
    # Which spans reference which blob, so deleting runs can delete blobs nobody uses any more.
    """CREATE TABLE span_blobs (
        trace_id TEXT NOT NULL,
        span_id TEXT NOT NULL,
        hash TEXT NOT NULL,
        PRIMARY KEY (trace_id, span_id, hash)
    )""",
    "CREATE INDEX span_blobs_by_hash ON span_blobs (hash)",
    """CREATE TABLE links (
        trace_id TEXT NOT NULL,
        span_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        linked_trace_id TEXT NOT NULL,
        linked_span_id TEXT NOT NULL,
        link_type TEXT,
        attributes TEXT NOT NULL,
        PRIMARY KEY (trace_id, span_id, seq)
    )""",
    "CREATE INDEX links_by_target ON links (linked_trace_id, linked_span_id)",
    """CREATE TABLE metric_points (
        trace_id TEXT NOT NULL,
        span_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        name TEXT NOT NULL,
        value DOUBLE PRECISION NOT NULL,
        step BIGINT,
        time_ns BIGINT NOT NULL,
        PRIMARY KEY (trace_id, span_id, seq)
    )""",
    # stale_after_ns: for a run still `running`, the instant after which it reads as
    # `interrupted` (last sign of life + timeout); NULL once a final status is known.
    """CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        project TEXT NOT NULL,
        name TEXT NOT NULL,
        status TEXT NOT NULL,
        start_ns BIGINT NOT NULL,
        end_ns BIGINT,
        stale_after_ns BIGINT,
        parent_id TEXT,
        tags TEXT NOT NULL,
        params TEXT NOT NULL,
        metrics TEXT NOT NULL,
        outputs TEXT NOT NULL,
        attributes TEXT NOT NULL,
        error_type TEXT,
        error_message TEXT,
        span_count BIGINT NOT NULL,
        llm_call_count BIGINT NOT NULL,
        error_count BIGINT NOT NULL,
        input_tokens BIGINT NOT NULL,
        output_tokens BIGINT NOT NULL,
        segment_count INTEGER NOT NULL,
        trace_ids TEXT NOT NULL,
        last_heartbeat_ns BIGINT
    )""",
    "CREATE INDEX runs_by_start ON runs (start_ns, id)",
    "CREATE INDEX runs_by_project_start ON runs (project, start_ns, id)",
    "CREATE INDEX runs_by_parent_start ON runs (parent_id, start_ns, id)",
    # Params and metrics, one row per key, so filters are indexable in both databases.
    """CREATE TABLE run_values (
        run_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        num DOUBLE PRECISION,
        text TEXT,
        PRIMARY KEY (run_id, kind, key)
    )""",
    "CREATE INDEX run_values_by_key ON run_values (kind, key, num)",
    """CREATE TABLE run_tags (
        run_id TEXT NOT NULL,
        tag TEXT NOT NULL,
        PRIMARY KEY (run_id, tag)
    )""",
    "CREATE INDEX run_tags_by_tag ON run_tags (tag, run_id)",
)

_RUN_RECORDS = (
    # One row per run segment start record: what the run is called before its root arrives,
    # and which trace is the segment's (spans without a run id in it belong to the run).
    """CREATE TABLE run_starts (
        run_id TEXT NOT NULL,
        trace_id TEXT NOT NULL,
        span_id TEXT NOT NULL,
        segment INTEGER NOT NULL,
        name TEXT,
        project TEXT,
        tags TEXT NOT NULL,
        parent_id TEXT,
        heartbeat_interval_s DOUBLE PRECISION,
        time_ns BIGINT NOT NULL,
        PRIMARY KEY (run_id, trace_id, span_id)
    )""",
    "CREATE INDEX run_starts_by_trace ON run_starts (trace_id)",
    # Keyed run data from run records, newest value per key (by record time) kept: kind is
    # param, output, input, attribute, metric (last value), tag, artifact or truncated.
    """CREATE TABLE run_record_values (
        run_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        time_ns BIGINT NOT NULL,
        PRIMARY KEY (run_id, kind, key)
    )""",
    # Metric points from run records; (run, record id, position) makes a resent record a no-op.
    """CREATE TABLE run_metric_points (
        run_id TEXT NOT NULL,
        record_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        name TEXT NOT NULL,
        value DOUBLE PRECISION NOT NULL,
        step BIGINT,
        time_ns BIGINT NOT NULL,
        PRIMARY KEY (run_id, record_id, seq)
    )""",
    "CREATE INDEX run_metric_points_by_time ON run_metric_points (run_id, time_ns)",
    # Liveness by the index's own clock: when a record of the run last arrived.
    """CREATE TABLE run_liveness (
        run_id TEXT PRIMARY KEY,
        last_received_ns BIGINT NOT NULL,
        last_heartbeat_ns BIGINT
    )""",
    "ALTER TABLE runs ADD COLUMN inputs TEXT NOT NULL DEFAULT '{}'",
    "ALTER TABLE runs ADD COLUMN artifacts TEXT NOT NULL DEFAULT '{}'",
    "ALTER TABLE runs ADD COLUMN truncated TEXT NOT NULL DEFAULT '[]'",
)

_ARTIFACTS = (
    # Artifact content, once per distinct sha256 however many runs logged it. BYTEA is
    # PostgreSQL's binary type; SQLite keeps a bytes value as a BLOB under any declared type.
    """CREATE TABLE artifact_contents (
        sha256 TEXT PRIMARY KEY,
        size BIGINT NOT NULL,
        content BYTEA NOT NULL
    )""",
    # Which run logged which content, so deleting runs reclaims content nobody logged since.
    """CREATE TABLE run_artifact_contents (
        run_id TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        PRIMARY KEY (run_id, sha256)
    )""",
    "CREATE INDEX run_artifact_contents_by_hash ON run_artifact_contents (sha256)",
)

_HELD_RECORDS = (
    # Run records of a known run from a trace it has not started in yet (index/held_records.py):
    # the record as JSON, applied and deleted once that trace joins the run.
    """CREATE TABLE run_held_records (
        run_id TEXT NOT NULL,
        trace_id TEXT NOT NULL,
        record_id TEXT NOT NULL,
        received_ns BIGINT NOT NULL,
        record TEXT NOT NULL,
        PRIMARY KEY (run_id, trace_id, record_id)
    )""",
)

# A chat span references about 13 blobs (its re-sent messages): span_blobs took 13 rows per
# span, on SQLite a row-id table with two indexes (3 B-tree inserts a row), the largest part of
# writing an LLM span. trace_blobs keeps one row per blob and trace instead: the calls of a run
# share its trace and re-send the same messages, so an export adds a row per new message only.
# Keyed by hash first, for the one question asked of it: does anything still use this blob?
# Deleting spans recomputes their traces' rows from the spans left (index/deletion.py).
_TRACE_BLOBS = """CREATE TABLE trace_blobs (
        hash TEXT NOT NULL,
        trace_id TEXT NOT NULL,
        PRIMARY KEY (hash, trace_id)
    )"""
_TRACE_BLOBS_FROM_SPAN_BLOBS = (
    "INSERT INTO trace_blobs (hash, trace_id) SELECT DISTINCT hash, trace_id FROM span_blobs",
    "DROP TABLE span_blobs",
)

_RUN_TOTALS_IN_SPANS_BY_RUN = (
    # Every write recomputes the runs it touched from all their spans (sqlstore.py): with the
    # columns of those sums in the index, that reads the index alone, not every span's row
    # (2-4 KB for an LLM span). The leading (run_id, start_ns) still orders a run's spans.
    "DROP INDEX spans_by_run",
    "CREATE INDEX spans_by_run ON spans (run_id, start_ns, trace_id, end_ns, sf_kind, is_llm, "
    "status_code, input_tokens, output_tokens)",
)

# A run's sums over its spans, kept by each batch (run_totals.py) instead of summed again
# from all the run's spans on every write; the backfill sums them once from the spans stored.
_RUN_TOTALS = (
    """CREATE TABLE run_totals (
        run_id TEXT PRIMARY KEY,
        span_count BIGINT NOT NULL,
        llm_call_count BIGINT NOT NULL,
        error_count BIGINT NOT NULL,
        input_tokens BIGINT NOT NULL,
        output_tokens BIGINT NOT NULL,
        first_start_ns BIGINT NOT NULL,
        last_end_ns BIGINT NOT NULL,
        last_heartbeat_ns BIGINT
    )""",
    """CREATE TABLE run_traces (
        run_id TEXT NOT NULL,
        trace_id TEXT NOT NULL,
        first_start_ns BIGINT NOT NULL,
        PRIMARY KEY (run_id, trace_id)
    )""",
    # A run's level spans (sqlstore.py reads them on every write to the run) without scanning
    # the rest of its spans: partial indexes, so the other spans add no index entry.
    f"CREATE INDEX spans_level ON spans (run_id) WHERE sf_kind IN {RUN_KINDS}",
    "CREATE INDEX spans_foreign_roots ON spans (run_id) "
    "WHERE own_run_id IS NULL AND parent_span_id IS NULL",
)

# What assigning a trace's spans of other SDKs to a run looks up per trace (sqlstore.py), by
# index instead of by reading every span of the trace: its level spans, its roots, and its spans
# without a run id of their own with the run they were given. Partial: spanflow's other spans
# add no entry.
_TRACE_ASSIGNMENT_INDEXES = (
    "CREATE INDEX spans_level_by_trace ON spans (trace_id, own_run_id) "
    f"WHERE sf_kind IN {RUN_KINDS}",
    "CREATE INDEX spans_roots_by_trace ON spans (trace_id) WHERE parent_span_id IS NULL",
    "CREATE INDEX spans_unowned_by_trace ON spans (trace_id, run_id) WHERE own_run_id IS NULL",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "runs, spans, links, metric points, content blobs", _INITIAL),
    Migration(2, "run records: starts, keyed values, metric points, liveness", _RUN_RECORDS),
    Migration(
        3, "free run attributes filterable", (), backfill=attribute_values.backfill_attribute_values
    ),
    Migration(4, "artifact content, content-addressed by sha256", _ARTIFACTS),
    Migration(5, "run records held until their trace joins the run", _HELD_RECORDS),
    # The same table on both, one B-tree on SQLite: each file takes the one of its database.
    Migration(
        6,
        "blob references by trace (SQLite)",
        (_TRACE_BLOBS + " WITHOUT ROWID", *_TRACE_BLOBS_FROM_SPAN_BLOBS),
        dialect="sqlite",
    ),
    Migration(
        7,
        "blob references by trace (PostgreSQL)",
        (_TRACE_BLOBS, *_TRACE_BLOBS_FROM_SPAN_BLOBS),
        dialect="postgresql",
    ),
    Migration(8, "run totals read from the spans_by_run index", _RUN_TOTALS_IN_SPANS_BY_RUN),
    Migration(9, "run totals kept up to date by each batch", _RUN_TOTALS, run_totals.backfill),
    Migration(10, "spans of other SDKs assigned to runs by index", _TRACE_ASSIGNMENT_INDEXES),
)
LATEST_VERSION = MIGRATIONS[-1].version

VERSION_TABLE = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"


def pending_migrations(current_version: int) -> list[Migration]:
    """Migrations to apply to an index at ``current_version``, in order.

    Raises:
        SchemaVersionError: the index is newer than this code.
    """
    if current_version > LATEST_VERSION:
        raise SchemaVersionError(
            f"the run index has schema version {current_version}, but this spanflow knows "
            f"versions up to {LATEST_VERSION}; upgrade spanflow to open it"
        )
    return [migration for migration in MIGRATIONS if migration.version > current_version]


def require_current(current_version: int) -> None:
    """Refuse to read, without upgrading, an index whose schema this code would misread.

    Raises:
        SchemaVersionError: the index is older than this code (a writer must upgrade it first)
            or newer.
    """
    if pending_migrations(current_version):
        raise SchemaVersionError(
            f"the run index has schema version {current_version}, older than this spanflow's "
            f"{LATEST_VERSION}; open it once with a writing command (spanflow collector, "
            "or a recorded run) to upgrade it"
        )


class IndexSchemaMissingError(LookupError):
    """A read-only open found no run index where one was expected."""
