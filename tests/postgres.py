"""The test PostgreSQL server and its driver: tests skip without them, and fail in CI.

``. scripts/postgres-env.sh`` starts a throwaway server and exports its URL; ``psycopg`` comes
with the ``postgres`` extra. With ``SPANFLOW_REQUIRE_POSTGRES=1`` (set by ``.ci/run``) a missing
server or driver fails the test instead, so PostgreSQL coverage can never vanish silently in CI.
"""

from __future__ import annotations

import importlib
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import NoReturn

import pytest

from spanflow import environment


def postgres_url() -> str:
    """The test server's URL, once it and ``psycopg`` are there; otherwise skip (or fail)."""
    url = os.environ.get(environment.SPANFLOW_TEST_POSTGRES_URL)
    if not url:
        _unavailable(
            f"{environment.SPANFLOW_TEST_POSTGRES_URL} is not set (run `. scripts/postgres-env.sh`)"
        )
    import_psycopg()
    return url


def import_psycopg() -> ModuleType:
    """``psycopg``; without the ``postgres`` extra, skip (or fail) the test or module."""
    try:
        return importlib.import_module("psycopg")
    except ImportError:
        _unavailable("psycopg is not installed (pip install 'spanflow[postgres]')")


def _unavailable(message: str) -> NoReturn:
    if os.environ.get(environment.SPANFLOW_REQUIRE_POSTGRES) == "1":
        pytest.fail(message)
    pytest.skip(message, allow_module_level=True)


@contextmanager
def schema_of_its_own(url: str, prefix: str = "t") -> Iterator[str]:
    """A fresh schema on the server at ``url``, dropped afterwards; yields a URL whose search
    path selects it, so a client, CLI or collector given only that URL uses the schema."""
    psycopg = import_psycopg()
    schema = f"{prefix}_{uuid.uuid4().hex}"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in url else "?"
    try:
        yield f"{url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
