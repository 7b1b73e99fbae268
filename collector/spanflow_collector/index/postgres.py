"""The PostgreSQL run index (``pip install 'spanflow[postgres]'``): shared by teams and replicas.

Same schema, SQL and derivation as the SQLite store (``sqlstore.py``); this module supplies
connections and transactions, and runs the batch inserts as ``COPY`` (same result as one INSERT
per row, less CPU). Several collector replicas may write at once: span inserts run
concurrently, and the run recomputation step of each batch takes a transaction-scoped advisory
lock, so a batch recomputes its runs only after every batch that committed before it — with
READ COMMITTED each recompute then sees all spans committed so far, and the last writer of a run
always derives it from the complete set. Commits are durable with PostgreSQL's default
``synchronous_commit = on``. Each thread gets its own connection.

A connection can go stale under the store (the server restarted, a proxy dropped it). A read
that fails on a lost connection is retried once on a fresh one; a write is not retried here (the
connection may have died around COMMIT): its error reaches the ingest pipeline as transient, the
client retries (503), and that retry runs on a fresh connection. Writes are idempotent, so a
write that did commit before the connection died is not stored twice.
"""

from __future__ import annotations

import dataclasses
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import psycopg
from psycopg import errors, sql

from spanflow import attributes as attr
from spanflow.query.records import SpanRecord
from spanflow_collector.index.executor import Executor
from spanflow_collector.index.schema import IndexSchemaMissingError, require_current
from spanflow_collector.index.sqlstore import SqlRunIndexStore

T = TypeVar("T")
_DERIVATION_LOCK_KEY = 0x5350_414E_464C_4F57  # "SPANFLOW"
_MIGRATION_LOCK_KEY = _DERIVATION_LOCK_KEY + 1
_RETRY_DEADLINE_S = 60.0
NUL_REPLACEMENT = "\ufffd"
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# An INSERT of one row whose conflicts are ignored (or not handled): its rows can be copied in
# (COPY) with the same effect as one statement per row. An ``ON CONFLICT ... DO UPDATE`` upsert
# keeps one statement per row: one statement may not update a row twice.
_ROW_INSERT = re.compile(
    r"^INSERT INTO (?P<table>\w+) \((?P<columns>[\w, ]+)\) VALUES \((?:\?, )*\?\)"
    r"(?P<ignore_conflicts> ON CONFLICT DO NOTHING)?$"
)
# Below this many rows the two extra round trips of COPY cost more than they save.
_COPY_MIN_ROWS = 16


def _to_pyformat(statement: str) -> str:
    """``?`` placeholders to psycopg's ``%s`` (the shared SQL has no other ``?`` or ``%``)."""
    return statement.replace("%", "%%").replace("?", "%s")


def _storable(params: Sequence[Any]) -> list[Any]:
    """PostgreSQL text cannot hold NUL (U+0000): it is stored as U+FFFD instead of failing."""
    return [
        value.replace("\x00", NUL_REPLACEMENT)
        if isinstance(value, str) and "\x00" in value
        else value
        for value in params
    ]


def _nul_free_run(span: SpanRecord) -> SpanRecord:
    run_id = span.attributes.get(attr.RUN_ID)
    if not isinstance(run_id, str) or "\x00" not in run_id:
        return span
    attributes = {**span.attributes, attr.RUN_ID: run_id.replace("\x00", NUL_REPLACEMENT)}
    return dataclasses.replace(span, attributes=attributes)


class _PostgresExecutor:
    def __init__(self, connection: psycopg.Connection[Any], staging: _StagingTables) -> None:
        self._connection = connection
        self._staging = staging

    def execute(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._connection.cursor() as cursor:
            cursor.execute(_to_pyformat(statement), _storable(params))
            return list(cursor.fetchall()) if cursor.description is not None else []

    def executemany(self, statement: str, rows: Iterable[Sequence[Any]]) -> int:
        storable = [_storable(row) for row in rows]
        if not storable:
            return 0
        insert = _ROW_INSERT.match(statement)
        with self._connection.cursor() as cursor:
            if insert is None or len(storable) < _COPY_MIN_ROWS:
                cursor.executemany(_to_pyformat(statement), storable)
                return max(cursor.rowcount, 0)  # psycopg sums the statements' counts
            if insert["ignore_conflicts"] is None:
                _copy(cursor, insert["table"], insert["columns"], storable)
                return len(storable)
            return self._copy_ignoring_conflicts(
                cursor, insert["table"], insert["columns"], storable
            )

    def _copy_ignoring_conflicts(
        self, cursor: psycopg.Cursor[Any], table: str, columns: str, rows: list[list[Any]]
    ) -> int:
        """COPY cannot skip conflicting rows: the rows are copied into a temporary table of the
        same shape and inserted from there with ``ON CONFLICT DO NOTHING``, in their order (of
        two rows with one key the first is kept, as with one statement per row)."""
        staging = self._staging.ensure(cursor, table)
        _copy(
            cursor,
            staging,
            f"{columns}, {_STAGING_ORDER}",
            [[*row, n] for n, row in enumerate(rows)],
        )
        cursor.execute(
            sql.SQL(
                "INSERT INTO {table} ({columns}) SELECT {columns} FROM {staging} "
                "ORDER BY {order} ON CONFLICT DO NOTHING"
            ).format(
                table=sql.Identifier(table),
                columns=sql.SQL(columns),
                staging=sql.Identifier(staging),
                order=sql.Identifier(_STAGING_ORDER),
            )
        )
        return max(cursor.rowcount, 0)


_STAGING_ORDER = "staging_order"


def _copy(cursor: psycopg.Cursor[Any], table: str, columns: str, rows: list[list[Any]]) -> None:
    statement = sql.SQL("COPY {table} ({columns}) FROM STDIN").format(
        table=sql.Identifier(table), columns=sql.SQL(columns)
    )
    with cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


class _StagingTables:
    """The temporary tables of one connection: created in a transaction, they exist for the
    connection only once that transaction committed."""

    def __init__(self) -> None:
        self._committed: set[str] = set()
        self._pending: set[str] = set()

    def ensure(self, cursor: psycopg.Cursor[Any], table: str) -> str:
        staging = f"staging_{table}"
        if staging not in self._committed and staging not in self._pending:
            # Emptied at every commit, so nothing outlives the transaction that copied it.
            cursor.execute(
                sql.SQL(
                    "CREATE TEMPORARY TABLE IF NOT EXISTS {staging} "
                    "(LIKE {table}, {order} integer) ON COMMIT DELETE ROWS"
                ).format(
                    staging=sql.Identifier(staging),
                    table=sql.Identifier(table),
                    order=sql.Identifier(_STAGING_ORDER),
                )
            )
            self._pending.add(staging)
        return staging

    def settle(self, *, committed: bool) -> None:
        if committed:
            self._committed |= self._pending
        self._pending.clear()


class PostgresRunIndexStore(SqlRunIndexStore):
    """The run index in a PostgreSQL database (optionally in its own schema)."""

    DIALECT = "postgresql"

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        clock: Callable[[], int] = time.time_ns,
        read_only: bool = False,
    ) -> None:
        """Connect to ``url`` and create or upgrade the schema.

        Args:
            url: a libpq connection URL, ``postgresql://user@host:port/db``.
            schema: keep the tables in this schema (created if missing) instead of the
                connection's default search path; lowercase letters, digits and ``_``.
            clock: nanoseconds since the epoch, used to derive ``interrupted`` at read time.
            read_only: read an existing index only: never create or upgrade its schema, and
                every transaction is read-only (PostgreSQL refuses any write).

        Raises:
            SchemaVersionError: the database was written by a newer spanflow (or, read-only,
                by an older one).
            IndexSchemaMissingError: read-only, and the database holds no run index.
        """
        super().__init__(clock=clock)
        if schema is not None and not _SCHEMA_NAME.match(schema):
            raise ValueError(f"invalid PostgreSQL schema name {schema!r}")
        self._url = url
        self._schema = schema
        self._local = threading.local()
        self._connections: list[psycopg.Connection[Any]] = []
        self._connections_lock = threading.Lock()
        self._closed = False
        self._read_only = read_only
        try:
            if read_only:
                self._read(self._check_schema_readable)
            else:
                self._write(self._migrate)
        except BaseException:
            self.close()  # e.g. SchemaVersionError: leave no connection open behind
            raise

    def _connection(self) -> psycopg.Connection[Any]:
        connection: psycopg.Connection[Any] | None = getattr(self._local, "connection", None)
        if connection is not None and not connection.closed:
            return connection
        if self._closed:
            raise RuntimeError("the run index store is closed")
        connection = psycopg.connect(self._url, autocommit=True)
        if self._read_only:
            connection.execute("SET default_transaction_read_only = on")
        if self._schema is not None:
            if not self._read_only:
                connection.execute(
                    sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self._schema))
                )
            connection.execute(
                sql.SQL("SET search_path TO {}").format(sql.Identifier(self._schema))
            )
        self._local.connection = connection
        self._local.staging = _StagingTables()
        with self._connections_lock:
            self._connections.append(connection)
        return connection

    def _transaction(self, work: Callable[[Executor], T], *, reconnect_once: bool) -> T:
        deadline = time.monotonic() + _RETRY_DEADLINE_S
        delay_s = 0.005
        while True:
            connection = self._connection()
            staging: _StagingTables = self._local.staging
            try:
                try:
                    with connection.transaction():
                        result = work(_PostgresExecutor(connection, staging))
                except BaseException:
                    staging.settle(committed=False)  # its CREATE TABLE was rolled back too
                    raise
                staging.settle(committed=True)
                return result
            except (errors.SerializationFailure, errors.DeadlockDetected):
                if time.monotonic() > deadline:
                    raise
                time.sleep(delay_s)
                delay_s = min(delay_s * 2, 0.25)
            except (psycopg.OperationalError, psycopg.InterfaceError):
                if not self._drop_if_lost(connection) or not reconnect_once:
                    raise
                reconnect_once = False

    def _drop_if_lost(self, connection: psycopg.Connection[Any]) -> bool:
        """Forget ``connection`` if it no longer works; whether it was lost."""
        if not connection.closed and not connection.broken:
            return False  # the server refused the statement on a live connection
        self._local.connection = None
        with self._connections_lock:
            if connection in self._connections:
                self._connections.remove(connection)
        connection.close()
        return True

    def _write(self, work: Callable[[Executor], T]) -> T:
        return self._transaction(work, reconnect_once=False)

    def _check_schema_readable(self, executor: Executor) -> None:
        """Refuse, at open, a database that reading without upgrading would misread."""
        found = executor.execute("SELECT to_regclass('schema_version') IS NOT NULL")
        if not found or not found[0][0]:
            raise IndexSchemaMissingError(
                "this PostgreSQL database holds no spanflow run index (no schema_version "
                "table); point the collector at it once to create one"
            )
        rows = executor.execute("SELECT version FROM schema_version")
        require_current(int(rows[0][0]) if rows else 0)

    def _read(self, work: Callable[[Executor], T]) -> T:
        # REPEATABLE READ would give one snapshot across a read's queries; reads here are one or
        # two statements whose results are consistent on their own, so READ COMMITTED suffices.
        return self._transaction(work, reconnect_once=True)

    def write_spans(self, spans: Sequence[SpanRecord]) -> None:
        """Store a batch; run ids holding NUL are written as U+FFFD, as every string is.

        The collector's decoders replace NUL already; spans written directly may still carry
        it, and run recomputation must find its runs under the ids the database holds.
        """
        super().write_spans([_nul_free_run(span) for span in spans])

    def _lock_derivation(self, executor: Executor) -> None:
        executor.execute("SELECT pg_advisory_xact_lock(?)", [_DERIVATION_LOCK_KEY])

    def _lock_migration(self, executor: Executor) -> None:
        executor.execute("SELECT pg_advisory_xact_lock(?)", [_MIGRATION_LOCK_KEY])

    def close(self) -> None:
        """Close every connection this store opened (from any thread)."""
        self._closed = True
        with self._connections_lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()
        self._local = threading.local()
