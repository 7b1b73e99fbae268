"""The run index: SQLite (embedded, standard library only) and PostgreSQL stores.

``open_store("postgresql://...")`` opens the PostgreSQL store (needs the ``postgres`` extra);
anything else is a SQLite file path. See docs/run-index.md for the schema and derivation rules.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from spanflow_collector.index.derive import interrupted_timeout_s
from spanflow_collector.index.queries import InvalidQueryError
from spanflow_collector.index.schema import LATEST_VERSION, SchemaVersionError
from spanflow_collector.index.sqlite import SqliteRunIndexStore
from spanflow_collector.index.sqlstore import SqlRunIndexStore

_POSTGRES_SCHEMES = ("postgresql://", "postgres://")

__all__ = [
    "LATEST_VERSION",
    "InvalidQueryError",
    "SchemaVersionError",
    "SqlRunIndexStore",
    "SqliteRunIndexStore",
    "interrupted_timeout_s",
    "open_store",
]


def open_store(
    url_or_path: str | os.PathLike[str],
    *,
    schema: str | None = None,
    clock: Callable[[], int] = time.time_ns,
    read_only: bool = False,
) -> SqlRunIndexStore:
    """Open the run index at ``url_or_path``, creating or upgrading its schema.

    Args:
        url_or_path: ``postgresql://...`` (or ``postgres://``) for PostgreSQL; anything else is
            a SQLite file path (parent folders are created).
        schema: PostgreSQL only: the schema to keep the tables in (created if missing).
        clock: nanoseconds since the epoch, used to derive ``interrupted`` at read time.
        read_only: read an existing index only; never create, upgrade or change it.

    Raises:
        SchemaVersionError: the index was written by a newer spanflow.
        ImportError: a PostgreSQL URL without the ``postgres`` extra installed.
    """
    target = os.fspath(url_or_path)
    if target.startswith(_POSTGRES_SCHEMES):
        try:
            from spanflow_collector.index.postgres import PostgresRunIndexStore
        except ImportError as exc:
            raise ImportError(
                "the PostgreSQL run index needs psycopg: pip install 'spanflow[postgres]'"
            ) from exc
        return PostgresRunIndexStore(target, schema=schema, clock=clock, read_only=read_only)
    if schema is not None:
        raise ValueError("schema= applies to PostgreSQL URLs only")
    return SqliteRunIndexStore(target, clock=clock, read_only=read_only)
