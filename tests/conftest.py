"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os

import pytest

from spanflow import environment


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

    Without one the requesting test skips — or fails when ``SPANFLOW_REQUIRE_POSTGRES=1`` (CI),
    so a missing server can never pass silently there.
    """
    url = os.environ.get(environment.SPANFLOW_TEST_POSTGRES_URL)
    if url:
        return url
    message = (
        f"{environment.SPANFLOW_TEST_POSTGRES_URL} is not set (run `. scripts/postgres-env.sh`)"
    )
    if os.environ.get(environment.SPANFLOW_REQUIRE_POSTGRES) == "1":
        pytest.fail(message)
    pytest.skip(message)
