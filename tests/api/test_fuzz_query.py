"""Fuzzing the query API with hostile query strings and run ids (Hypothesis).

Property, against a real collector process over a real run index: every GET is answered 200,
400 (naming the parameter) or 404 — never a 5xx — and the process keeps serving. Seeded and
small in the normal test run; ``make fuzz`` (``SPANFLOW_FUZZ_EXAMPLES=N``) runs longer.
"""

from __future__ import annotations

import base64
import json
import os
import urllib.parse
import uuid
from collections.abc import Iterator

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spanflow import environment
from spanflow.query.params import LIST_PARAMETERS
from tests.collector.fuzz_strategies import hostile_floats, hostile_ints, hostile_text
from tests.collector.hostile import json_body, json_span, post, rejected_spans
from tests.collector.processes import REQUEST_TIMEOUT_S, CollectorProcess, collector_process

FUZZ_EXAMPLES = int(os.environ.get(environment.SPANFLOW_FUZZ_EXAMPLES) or 0)
RUN_IDS = ("fuzz-api-run", "fuzz-api-child")
LEAVES = ("", "/children", "/metrics", "/spans", "/tree", "/graph")
NAMES = (*LIST_PARAMETERS, "include_markers", "format", "ids", "sort", "order")


def _cursor_text(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


values = st.one_of(
    hostile_text,
    hostile_ints.map(str),
    hostile_floats.map(str),
    st.sampled_from(["lr>0.01", "lr>=1e400", 'x="q"', "a<b<c", "true", "2262-04-12", "1e10"]),
    st.lists(st.one_of(hostile_ints, hostile_text), max_size=4).map(_cursor_text),
    st.sampled_from(["json", "mermaid", "dot", "running", "completed,failed", "yes"]),
)
pairs = st.lists(st.tuples(st.one_of(st.sampled_from(NAMES), hostile_text), values), max_size=6)


def _quote(text: str) -> str:
    # Lone surrogates go out as the bytes Python would write for them: invalid UTF-8.
    return urllib.parse.quote(text.encode("utf-8", "surrogatepass"), safe="")


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def seeded_collector(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CollectorProcess]:
    """A collector holding a run with a subrun, a metric and a few spans."""
    if request.param == "sqlite":
        location = str(tmp_path_factory.mktemp("fuzz-api") / "index.db")
        schema = None
    else:
        import psycopg

        url: str = request.getfixturevalue("postgres_url")
        schema = f"q_{uuid.uuid4().hex}"
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(f"CREATE SCHEMA {schema}")
        location = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    try:
        with collector_process(location) as collector:
            parent, child = RUN_IDS
            spans = [
                json_span(run_id=parent, attributes={"spanflow.param.lr": 0.1}),
                json_span(run_id=child, attributes={"spanflow.run.parent_id": parent}),
                *(json_span(run_id=parent) for _ in range(5)),
            ]
            assert rejected_spans(post(collector, json_body(*spans))) == 0
            yield collector
    finally:
        if schema is not None:
            import psycopg

            with psycopg.connect(url, autocommit=True) as connection:
                connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@settings(
    max_examples=FUZZ_EXAMPLES or 150,
    derandomize=not FUZZ_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    run_id=st.one_of(st.sampled_from(RUN_IDS), hostile_text.filter(lambda text: text != "")),
    leaf=st.sampled_from(LEAVES),
    list_runs=st.booleans(),
    query=pairs,
)
def test_fuzz_query_api(
    seeded_collector: CollectorProcess,
    run_id: str,
    leaf: str,
    list_runs: bool,
    query: list[tuple[str, str]],
) -> None:
    """Hostile query strings and run ids are answered 200, 400 or 404, never a 5xx."""
    path = "/runs" if list_runs else f"/runs/{_quote(run_id)}{leaf}"
    query_string = "&".join(f"{_quote(name)}={_quote(value)}" for name, value in query)
    response = requests.get(
        f"{seeded_collector.http_url}/api/v1{path}?{query_string}", timeout=REQUEST_TIMEOUT_S
    )
    assert response.status_code in (200, 400, 404), (path, query, response.text[:300])
    if response.status_code == 400:  # names the parameter (which may be "" when sent so)
        body = response.json()
        assert isinstance(body["parameter"], str) and body["message"]
    assert seeded_collector.process.poll() is None
