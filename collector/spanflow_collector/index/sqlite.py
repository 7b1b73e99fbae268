"""The SQLite run index: standard library only, safe for several processes on one file.

Concurrency: WAL journal (readers never block the writer), ``busy_timeout`` so a writer waits
for another process's transaction instead of failing, ``BEGIN IMMEDIATE`` so a write transaction
takes the write lock up front (no deadlock upgrading a read lock), and a bounded retry of the
whole batch when SQLite still reports the database busy or locked.

Durability: ``synchronous=FULL`` by default — the WAL is fsynced at every commit, so a batch is
on disk when ``write_spans`` returns, even across power loss (the collector answers 200 only
after that). ``synchronous="NORMAL"`` is faster but may lose the last commits on power loss
(never on a process crash); pass it only where that is acceptable.

Read-only (``read_only=True``): the file is opened with SQLite's ``mode=ro``, so nothing can
create, upgrade or change it; a missing file, a file that is not a run index, or a schema other
than ``LATEST_VERSION`` is refused at open. (SQLite may still create the ``-wal``/``-shm`` side
files a WAL reader needs.)

Each thread gets its own connection (SQLite connections must not be shared across threads while
in use); ``close()`` closes them all.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

from spanflow_collector.index.executor import Executor
from spanflow_collector.index.schema import require_current
from spanflow_collector.index.sqlstore import SqlRunIndexStore

logger = logging.getLogger(__name__)

T = TypeVar("T")
Synchronous = Literal["FULL", "NORMAL", "EXTRA"]
BUSY_TIMEOUT_MS = 10_000
PAGE_SIZE_BYTES = 16_384
WRITE_RETRY_DEADLINE_S = 60.0


class _SqliteExecutor:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._connection.execute(sql, params).fetchall()

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        return self._connection.executemany(sql, rows).rowcount


def _is_busy(error: sqlite3.OperationalError) -> bool:
    message = str(error).lower()
    return "locked" in message or "busy" in message


class SqliteRunIndexStore(SqlRunIndexStore):
    """The run index in one SQLite file (created with its parent folders)."""

    DIALECT = "sqlite"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: Synchronous = "FULL",
        clock: Callable[[], int] = time.time_ns,
        read_only: bool = False,
    ) -> None:
        """Open (creating or upgrading) the index at ``path``.

        Args:
            path: the database file; its parent folders are created.
            synchronous: SQLite ``synchronous`` pragma; FULL is durable across power loss.
            clock: nanoseconds since the epoch; tests inject one to age runs.
            read_only: open an existing index for reading only; never create or upgrade it.

        Raises:
            SchemaVersionError: the file was written by a newer spanflow (or, read-only, by an
                older one that needs upgrading first).
            sqlite3.DatabaseError: read-only, and the file is missing or not a run index.
        """
        super().__init__(clock=clock)
        self.path = Path(path)
        self._read_only = read_only
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._synchronous = synchronous
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._closed = False
        try:
            if read_only:
                self._read(self._check_schema_readable)
            else:
                self._write(self._migrate)
        except BaseException:
            self.close()  # e.g. SchemaVersionError: leave no connection open behind
            raise

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is not None:
            return connection
        if self._closed:
            raise RuntimeError("the run index store is closed")
        connection = sqlite3.connect(
            self._read_only_uri() if self._read_only else self.path,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
            uri=self._read_only,
        )
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if not self._read_only:  # a reader takes the journal mode the writers chose
            # Takes effect only on a new, empty file (before WAL mode and the first table); an
            # existing index keeps its page size. LLM span rows are 2-4 KB: a 4 KB page holds
            # one, so every span wrote a page of its own, and writing the index cost half the
            # writer's CPU per span more than with 16 KB pages (bench/README.md).
            connection.execute(f"PRAGMA page_size = {PAGE_SIZE_BYTES}")
            self._retry_busy(lambda: connection.execute("PRAGMA journal_mode = WAL"))
            connection.execute(f"PRAGMA synchronous = {self._synchronous}")
        self._local.connection = connection
        with self._connections_lock:
            self._connections.append(connection)
        return connection

    def _read_only_uri(self) -> str:
        # A URI, so the path is percent-encoded: "?" or "#" in a file name stay part of it.
        return f"file:{urllib.parse.quote(str(self.path.absolute()))}?mode=ro"

    def _check_schema_readable(self, executor: Executor) -> None:
        """Refuse, at open, an index that reading without upgrading would misread."""
        try:
            rows = executor.execute("SELECT version FROM schema_version")
        except sqlite3.OperationalError as error:
            raise sqlite3.DatabaseError(
                "not a spanflow run index (it has no schema_version table)"
            ) from error
        require_current(int(rows[0][0]) if rows else 0)

    def _retry_busy(self, action: Callable[[], T]) -> T:
        deadline = time.monotonic() + WRITE_RETRY_DEADLINE_S
        delay_s = 0.005
        while True:
            try:
                return action()
            except sqlite3.OperationalError as error:
                if not _is_busy(error) or time.monotonic() > deadline:
                    raise
                logger.debug("run index busy, retrying: %s", error)
                time.sleep(delay_s)
                delay_s = min(delay_s * 2, 0.25)

    def _write(self, work: Callable[[Executor], T]) -> T:
        connection = self._connection()
        executor = _SqliteExecutor(connection)

        def attempt() -> T:
            connection.execute("BEGIN IMMEDIATE")
            try:
                result = work(executor)
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
            return result

        return self._retry_busy(attempt)

    def _read(self, work: Callable[[Executor], T]) -> T:
        connection = self._connection()

        def attempt() -> T:
            # One read transaction: every query of a read sees the same snapshot.
            connection.execute("BEGIN")
            try:
                return work(_SqliteExecutor(connection))
            finally:
                if connection.in_transaction:
                    connection.execute("COMMIT")

        return self._retry_busy(attempt)

    def close(self) -> None:
        """Close every connection this store opened (from any thread)."""
        self._closed = True
        with self._connections_lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()
        self._local = threading.local()
