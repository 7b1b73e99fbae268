"""Reading an index opens it read-only: nothing is created, upgraded or changed by a reader."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from index_builders import RunSpans
from tests.postgres import import_psycopg

from spanflow.client import Client, IndexNotFoundError
from spanflow.query.store import RunQuery
from spanflow_collector.index import open_store
from spanflow_collector.index.schema import IndexSchemaMissingError, SchemaVersionError

psycopg = import_psycopg()  # the postgres extra; skips the module without it (fails in CI)

pytestmark = pytest.mark.postgres


@pytest.fixture
def schema(postgres_url: str) -> Iterator[str]:
    """A fresh PostgreSQL schema name, dropped afterwards."""
    name = f"t_{uuid.uuid4().hex}"
    yield name
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


def _tables(postgres_url: str, schema: str) -> int:
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        row = connection.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s", (schema,)
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_a_reader_sees_the_runs_and_postgres_refuses_its_writes(
    postgres_url: str, schema: str
) -> None:
    """A read-only store reads what a writer stored; any write is refused by the server."""
    run = RunSpans("01READONLY")
    writer = open_store(postgres_url, schema=schema)
    writer.write_spans([run.marker(), run.root()])
    reader = open_store(postgres_url, schema=schema, read_only=True)
    try:
        assert [summary.id for summary in reader.list_runs(RunQuery()).runs] == ["01READONLY"]
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            reader.write_spans([RunSpans("01WRITE").root()])
        assert [summary.id for summary in writer.list_runs(RunQuery()).runs] == ["01READONLY"]
    finally:
        reader.close()
        writer.close()


def test_a_reader_creates_no_schema_and_no_tables(postgres_url: str, schema: str) -> None:
    """Opening an empty database for reading says it holds no index and leaves it empty."""
    with pytest.raises(IndexSchemaMissingError, match="holds no spanflow run index"):
        open_store(postgres_url, schema=schema, read_only=True)
    assert _tables(postgres_url, schema) == 0


def test_a_reader_does_not_upgrade_an_older_index(postgres_url: str, schema: str) -> None:
    """An index at an older schema version is refused by a reader, not migrated by it."""
    open_store(postgres_url, schema=schema).close()
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(f"UPDATE {schema}.schema_version SET version = 1")
    with pytest.raises(SchemaVersionError, match="open it once with a writing command"):
        open_store(postgres_url, schema=schema, read_only=True)
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        row = connection.execute(f"SELECT version FROM {schema}.schema_version").fetchone()
    assert row == (1,)


def test_the_client_on_an_empty_database_says_there_is_no_index(postgres_url: str) -> None:
    """`Client(postgresql://...)` reading a database without an index answers 'not found'."""
    database = f"empty_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {database}")
    url = postgres_url.rsplit("/", 1)[0] + "/" + database
    try:
        with pytest.raises(IndexNotFoundError, match="holds no spanflow run index"):
            Client(url).list_runs()
        with psycopg.connect(url, autocommit=True) as connection:
            row = connection.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
            ).fetchone()
        assert row == (0,)
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {database}")
