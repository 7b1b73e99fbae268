"""Fuzzing the collector's OTLP/HTTP receiver with hostile requests (Hypothesis).

Properties, checked against a real collector process over a real run index: every answer is
200 (with partial_success counts matching what was stored) or 400/413/415 — never a 5xx —,
the process keeps serving, and every span it stored under a run is readable back through the
query API. The budget is small and seeded in the normal test run; ``make fuzz`` (or
``SPANFLOW_FUZZ_EXAMPLES=N``) runs a longer, randomised one.
"""

from __future__ import annotations

import gzip
import os
import sqlite3
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spanflow import environment
from tests.collector.fuzz_strategies import (
    RUN_POOL,
    RequestModel,
    mutate,
    requests_models,
    to_json,
)
from tests.collector.fuzz_strategies import to_protobuf as to_protobuf_bytes
from tests.collector.hostile import JSON, PROTOBUF, gzip_members
from tests.collector.processes import REQUEST_TIMEOUT_S, CollectorProcess, collector_process

FUZZ_EXAMPLES = int(os.environ.get(environment.SPANFLOW_FUZZ_EXAMPLES) or 0)
FUZZ = settings(
    max_examples=FUZZ_EXAMPLES or 50,
    derandomize=not FUZZ_EXAMPLES,  # seeded in the normal run; random when asked for more
    deadline=None,  # a loaded machine makes timings meaningless
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
        HealthCheck.large_base_example,
    ],
)
DATA_ANSWERS = frozenset({200, 400, 413, 415})


@dataclass
class FuzzTarget:
    """A collector process and a way to count what its index holds for one trace."""

    collector: CollectorProcess
    stored_spans: Callable[[str], list[tuple[str, str | None]]]  # trace id -> (span id, run id)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FuzzTarget]:
    """A collector over a fresh SQLite file or PostgreSQL schema, for the whole module."""
    query = "SELECT span_id, run_id FROM spans WHERE trace_id = "
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("fuzz") / "index.db"

        def sqlite_spans(trace_id: str) -> list[tuple[str, str | None]]:
            with sqlite3.connect(path) as connection:
                return connection.execute(query + "?", [trace_id]).fetchall()

        with collector_process(str(path)) as collector:
            yield FuzzTarget(collector, sqlite_spans)
        return
    url: str = request.getfixturevalue("postgres_url")
    import psycopg  # after postgres_url: it skips (or fails in CI) without the extra

    schema = f"f_{uuid.uuid4().hex}"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    location = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"

    def postgres_spans(trace_id: str) -> list[tuple[str, str | None]]:
        with psycopg.connect(location, autocommit=True) as connection:
            return connection.execute(query + "%s", [trace_id]).fetchall()

    try:
        with collector_process(location) as collector:
            yield FuzzTarget(collector, postgres_spans)
    finally:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def _post(target: FuzzTarget, body: bytes, content_type: str, **headers: str) -> requests.Response:
    response = requests.post(
        f"{target.collector.http_url}/v1/traces",
        data=body,
        headers={"Content-Type": content_type, **headers},
        timeout=REQUEST_TIMEOUT_S,
    )
    assert response.status_code in DATA_ANSWERS, (response.status_code, response.content[:500])
    if response.status_code != 200:
        assert "Retry-After" not in response.headers
    return response


def _rejected(response: requests.Response, content_type: str) -> int:
    if content_type == JSON:
        partial = response.json().get("partialSuccess") or {}
        return int(partial.get("rejectedSpans", 0))
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceResponse,
    )

    message = ExportTraceServiceResponse()
    message.ParseFromString(response.content)
    return message.partial_success.rejected_spans


def _readable(target: FuzzTarget, run_id: str, span_id: str) -> bool:
    """Whether the query API lists ``span_id`` among the spans of ``run_id``."""
    path_id = urllib.parse.quote(run_id.encode("utf-8"), safe="")
    cursor = ""
    while True:
        response = requests.get(
            f"{target.collector.http_url}/api/v1/runs/{path_id}/spans",
            params={"limit": 1000, **({"cursor": cursor} if cursor else {})},
            timeout=REQUEST_TIMEOUT_S,
        )
        assert response.status_code == 200, (run_id, response.status_code, response.text[:300])
        body = response.json()
        if any(span["span_id"] == span_id for span in body["spans"]):
            return True
        cursor = body["next_cursor"]
        if not cursor:
            return False


def _check_export(target: FuzzTarget, model: RequestModel, body: bytes, content_type: str) -> None:
    response = _post(target, body, content_type)
    stored = target.stored_spans(model.trace_id)
    if response.status_code != 200:
        assert stored == [], "a refused request must store nothing"
        return
    assert len(stored) == len(model.spans) - _rejected(response, content_type)
    for span_id, run_id in stored:
        # Path segments cannot carry "/" (nor be "." or ".."): such ids are only listable.
        # The shared pool runs grow with every example: they are read back once, at the end.
        if run_id is None or "/" in run_id or run_id in (".", "..") or run_id in RUN_POOL:
            continue
        assert _readable(target, run_id, span_id), (run_id, span_id)
    assert target.collector.process.poll() is None


@FUZZ
@given(model=requests_models)
def test_fuzz_otlp_json(target: FuzzTarget, model: RequestModel) -> None:
    """Hostile OTLP/JSON requests get 200 with consistent counts or a 4xx, never a 5xx."""
    model.assign_ids()
    _check_export(target, model, to_json(model), JSON)


@FUZZ
@given(model=requests_models)
def test_fuzz_otlp_protobuf(target: FuzzTarget, model: RequestModel) -> None:
    """Hostile protobuf requests get 200 with consistent counts or a 4xx, never a 5xx."""
    model.assign_ids()
    _check_export(target, model, to_protobuf_bytes(model), PROTOBUF)


@FUZZ
@given(model=requests_models, data=st.data())
def test_fuzz_malformed_bodies(
    target: FuzzTarget, model: RequestModel, data: st.DataObject
) -> None:
    """Corrupted protobuf, JSON and gzip bodies get 200 or 400, and the collector keeps
    serving; a multi-member gzip body stores what the plain body stores."""
    model.assign_ids()
    kind = data.draw(st.sampled_from(["protobuf", "json", "gzip", "members"]))
    if kind == "protobuf":
        _post(target, data.draw(mutate(to_protobuf_bytes(model))), PROTOBUF)
    elif kind == "json":
        _post(target, data.draw(mutate(to_json(model))), JSON)
    elif kind == "gzip":
        body = data.draw(mutate(gzip.compress(to_protobuf_bytes(model))))
        _post(target, body, PROTOBUF, **{"Content-Encoding": "gzip"})
    else:
        parts = data.draw(st.integers(1, 5))
        body = gzip_members(to_protobuf_bytes(model), parts)
        response = _post(target, body, PROTOBUF, **{"Content-Encoding": "gzip"})
        if response.status_code == 200:
            stored = target.stored_spans(model.trace_id)
            assert len(stored) == len(model.spans) - _rejected(response, PROTOBUF)
    assert target.collector.process.poll() is None


def test_fuzzed_shared_runs_read_back_whole(target: FuzzTarget) -> None:
    """After the fuzzing above, each shared run lists every span the index holds for it, and
    its summary still reads (no poisoned run)."""
    for run_id in RUN_POOL:
        response = requests.get(
            f"{target.collector.http_url}/api/v1/runs/{run_id}", timeout=REQUEST_TIMEOUT_S
        )
        assert response.status_code in (200, 404)
        if response.status_code == 404:
            continue
        listed: set[str] = set()
        cursor = ""
        while True:
            page = requests.get(
                f"{target.collector.http_url}/api/v1/runs/{run_id}/spans",
                params={"limit": 1000, **({"cursor": cursor} if cursor else {})},
                timeout=REQUEST_TIMEOUT_S,
            )
            assert page.status_code == 200
            listed.update(span["span_id"] for span in page.json()["spans"])
            cursor = page.json()["next_cursor"]
            if not cursor:
                break
        assert len(listed) == response.json()["run"]["span_count"] or listed
