"""The ``make_store`` fixture: every index test runs against SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from index_builders import FakeClock, StoreFactory

from spanflow_collector.index import SqlRunIndexStore, open_store


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock the stores use to derive ``interrupted``."""
    return FakeClock()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def make_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, clock: FakeClock
) -> Iterator[StoreFactory]:
    """Open stores on one fresh index (a SQLite file, or a PostgreSQL schema of its own)."""
    opened: list[SqlRunIndexStore] = []
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("index") / "index.db"

        def factory() -> SqlRunIndexStore:
            opened.append(open_store(path, clock=clock))
            return opened[-1]

    else:
        url: str = request.getfixturevalue("postgres_url")
        schema = f"t_{uuid.uuid4().hex}"

        def factory() -> SqlRunIndexStore:
            opened.append(open_store(url, schema=schema, clock=clock))
            return opened[-1]

    yield factory
    for store in opened:
        store.close()
    if request.param == "postgres":
        import psycopg

        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture
def store(make_store: StoreFactory) -> SqlRunIndexStore:
    """One open store on a fresh index."""
    return make_store()
