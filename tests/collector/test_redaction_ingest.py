"""A real collector process redacts spans from any OTLP sender before storing them.

The foreign span below is what another OpenTelemetry SDK might send: secrets in attribute
values (strings, arrays, kvlists), under secret-looking names, in an exception event's message
and stack trace, in the status message, in link and resource attributes and in the span name.
The test greps the raw SQLite file (and WAL) and a ``pg_dump`` of the PostgreSQL schema.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from spanflow import attributes as attr
from spanflow.redaction import marker
from tests.collector.payloads import any_value, export_request, make_span, span_id, trace_id
from tests.collector.processes import collector_process, post_traces
from tests.planted_secrets import (
    NAMED,
    ORDINARY,
    PLANTED,
    all_secret_text,
    index_bytes,
    leaked,
    postgres_dump,
)

CUSTOM_SECRET = "ACME-12345678"
UNREDACTED_SECRET = "ghp_Br4veGithubToken0123456789abcdefghijkl"


def _keyvalues(values: dict[str, object]) -> list[KeyValue]:
    return [KeyValue(key=key, value=any_value(value)) for key, value in values.items()]


def foreign_request() -> bytes:
    """Two spans of another SDK: one full of secrets, one marked ``spanflow.redaction.off``."""
    text = all_secret_text()
    span = make_span(
        1,
        attributes={
            "http.url": PLANTED[-3].text,  # user:password@ URL
            "http.request.header.authorization": ["Bearer abc123def456ghi789"],
            "llm.prompts": [planted.text for planted in PLANTED],
            "llm.input": {"messages": [{"role": "user", "content": text}]},  # a kvlist
            "customer.id": f"customer {CUSTOM_SECRET}",
            **NAMED,
            **ORDINARY,
        },
    )
    span.name = f"POST {PLANTED[0].text}"
    exception = span.events.add(name="exception", time_unix_nano=span.start_time_unix_nano + 1)
    exception.attributes.extend(
        _keyvalues(
            {
                "exception.type": "AuthError",
                "exception.message": f"rejected {text}",
                "exception.stacktrace": f'File "app.py", line 3\n  client = Client("{text}")',
            }
        )
    )
    span.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message=f"failed: {text}"))
    link = span.links.add(trace_id=trace_id(9), span_id=span_id(9))
    link.attributes.extend(_keyvalues({"source.token": "Pl4nt3dLinkToken", "note": text}))
    opted_out = make_span(
        2, parent=1, attributes={attr.REDACTION_OFF: True, "debug.value": UNREDACTED_SECRET}
    )
    request = export_request([span, opted_out])
    request.resource_spans[0].resource.attributes.extend(
        _keyvalues({"deployment.secret": "Pl4nt3dResourceSecret", "host.note": text})
    )
    return request.SerializeToString()


NEEDLES = [planted.needle for planted in PLANTED] + list(NAMED.values())
NEEDLES += ["abc123def456ghi789", "Pl4nt3dLinkToken", "Pl4nt3dResourceSecret", CUSTOM_SECRET]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def index(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, Callable[[], bytes]]]:
    """Where the collector writes (``--db``) and how to read everything it stored as bytes."""
    if request.param == "sqlite":
        db = tmp_path / "index.db"
        yield str(db), lambda: index_bytes(db)
        return
    url: str = request.getfixturevalue("postgres_url")
    import psycopg  # after postgres_url: it skips (or fails in CI) without the extra

    schema = f"t_{uuid.uuid4().hex}"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in url else "?"
    try:
        yield (
            f"{url}{separator}options=-csearch_path%3D{schema}",
            lambda: postgres_dump(url, schema),
        )
    finally:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def test_foreign_spans_are_stored_without_their_secrets(
    index: tuple[str, Callable[[], bytes]],
) -> None:
    """Every planted secret is gone from the stored index; markers and ordinary values stay."""
    db, read_index = index
    with collector_process(db, "--redact-pattern", r"ACME-[0-9]{8}") as collector:
        assert post_traces(collector.http_url, foreign_request()) == 200
    stored = read_index()
    assert leaked(stored, NEEDLES) == []
    for kind in {planted.kind for planted in PLANTED} | {"custom"}:
        assert marker(kind).encode() in stored, kind
    for value in ORDINARY.values():
        if isinstance(value, str):
            assert value.encode() in stored, value
    assert UNREDACTED_SECRET.encode() in stored  # the span that opted out is kept as sent


def test_a_bad_redact_pattern_stops_the_collector_before_it_listens(tmp_path: Path) -> None:
    """``--redact-pattern '(unclosed'`` exits 2 with the pattern named, creating no index."""
    done = subprocess.run(
        [
            *(sys.executable, "-m", "spanflow.cli", "collector", "--port", "0", "--no-grpc"),
            *("--db", str(tmp_path / "index.db"), "--redact-pattern", "(unclosed"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--redact-pattern: redact pattern '(unclosed' is not a regular expression" in (
        done.stderr
    )
    assert not (tmp_path / "index.db").exists()
