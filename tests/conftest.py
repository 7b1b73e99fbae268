"""Fixtures shared by the whole suite."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

import spanflow
from spanflow import environment
from spanflow._internal import guard as _guard
from spanflow.instrumentation import content
from spanflow.testing import FakeLLMServer, SpanCapture
from tests import postgres
from tests.instrumentation.helpers import close_clients


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


@pytest.fixture
def llm() -> Iterator[FakeLLMServer]:
    """A fake LLM server (OpenAI, Anthropic and the other providers' APIs) on loopback."""
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def traced(spanflow_capture: SpanCapture) -> Iterator[SpanCapture]:
    """Every installed LLM client and framework instrumented for the test, uninstrumented after
    (content capture and the once-per-place error log reset first)."""
    content.set_content_capture()
    _guard.reset_reported()
    spanflow.instrument()
    try:
        yield spanflow_capture
    finally:
        close_clients()
        spanflow.uninstrument()
        gc.collect()
