"""The PostgreSQL run index (``pip install 'spanflow[postgres]'``): shared by teams and replicas.

Same schema, SQL and derivation as the SQLite store (``sqlstore.py``); this module only supplies
connections and transactions. Several collector replicas may write at once: span inserts run
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
from spanflow_collector.index.sqlstore import SqlRunIndexStore

T = TypeVar("T")
_DERIVATION_LOCK_KEY = 0x5350_414E_464C_4F57  # "SPANFLOW"
_MIGRATION_LOCK_KEY = _DERIVATION_LOCK_KEY + 1
_RETRY_DEADLINE_S = 60.0
NUL_REPLACEMENT = "\ufffd"
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# An INSERT of one row whose conflicts are ignored (or not handled): its rows can go in
# multi-row VALUES statements with the same effect as one statement per row, first row first.
# An ``ON CONFLICT ... DO UPDATE`` cannot: one statement may not update a row twice.
_ROW_INSERT = re.compile(
    r"^(?P<head>INSERT INTO \w+ \([\w, ]+\) VALUES )(?P<row>\((?:\?, )*\?\))"
    r"(?P<tail> ON CONFLICT DO NOTHING)?$"
)
_MAX_PARAMS_PER_STATEMENT = 65535  # the protocol's limit of bind parameters
_MAX_ROWS_PER_STATEMENT = 1000


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
    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self._connection = connection

    def execute(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._connection.cursor() as cursor:
            cursor.execute(_to_pyformat(statement), _storable(params))
            return list(cursor.fetchall()) if cursor.description is not None else []

    def executemany(self, statement: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = [_storable(row) for row in rows]
        if not rows:
            return
        insert = _ROW_INSERT.match(statement)
        with self._connection.cursor() as cursor:
            if insert is None:
                cursor.executemany(_to_pyformat(statement), rows)
                return
            # One round trip and one plan per chunk instead of per row: psycopg pipelines
            # executemany, but the server still parses, plans and executes each row apart.
            columns = insert["row"].count("?")
            per_statement = min(_MAX_ROWS_PER_STATEMENT, _MAX_PARAMS_PER_STATEMENT // columns)
            for start in range(0, len(rows), per_statement):
                chunk = rows[start : start + per_statement]
                values = ", ".join([insert["row"]] * len(chunk))
                statement_text = f"{insert['head']}{values}{insert['tail'] or ''}"
                cursor.execute(
                    _to_pyformat(statement_text), [value for row in chunk for value in row]
                )


class PostgresRunIndexStore(SqlRunIndexStore):
    """The run index in a PostgreSQL database (optionally in its own schema)."""

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        """Connect to ``url`` and create or upgrade the schema.

        Args:
            url: a libpq connection URL, ``postgresql://user@host:port/db``.
            schema: keep the tables in this schema (created if missing) instead of the
                connection's default search path; lowercase letters, digits and ``_``.
            clock: nanoseconds since the epoch, used to derive ``interrupted`` at read time.

        Raises:
            SchemaVersionError: the database was written by a newer spanflow.
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
        try:
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
        if self._schema is not None:
            connection.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self._schema))
            )
            connection.execute(
                sql.SQL("SET search_path TO {}").format(sql.Identifier(self._schema))
            )
        self._local.connection = connection
        with self._connections_lock:
            self._connections.append(connection)
        return connection

    def _transaction(self, work: Callable[[Executor], T], *, reconnect_once: bool) -> T:
        deadline = time.monotonic() + _RETRY_DEADLINE_S
        delay_s = 0.005
        while True:
            connection = self._connection()
            try:
                with connection.transaction():
                    return work(_PostgresExecutor(connection))
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
