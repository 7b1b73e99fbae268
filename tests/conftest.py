"""Fixtures shared by the whole suite."""

from __future__ import annotations

import pytest

from spanflow import environment
from tests import postgres


@pytest.fixture(autouse=True)
def private_spool(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each test spools to a directory of its own, never to the user's cache directory.

    Ephemeral ports are reused, so a spool shared between tests could deliver one test's
    leftovers to a later test's receiver.
    """
    monkeypatch.setenv(environment.SPANFLOW_SPOOL_DIR, str(tmp_path_factory.mktemp("spool")))


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test PostgreSQL server (``. scripts/postgres-env.sh`` exports it).

    Without one, or without ``psycopg`` (the ``postgres`` extra), the requesting test skips —
    or fails when ``SPANFLOW_REQUIRE_POSTGRES=1`` (CI), so a missing server can never pass
    silently there.
    """
    return postgres.postgres_url()
