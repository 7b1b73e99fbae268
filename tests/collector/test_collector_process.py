"""`spanflow collector` as a real process: SDK → OTLP/HTTP → index → CLI, and kill -9 durability.

The end-to-end and durability tests run against SQLite and a real PostgreSQL server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

import spanflow
from tests.collector.processes import collector_process, post_traces, run_spans, span_hex
from tests.environments import child_environment

BATCH = 25
SENDERS = 4


AGENT = """
import spanflow
from opentelemetry import trace

with spanflow.run("e2e-eval", project="e2e", params={"model": "m1"}) as run:
    for i in range(2):
        with spanflow.run(f"e2e-sample-{i}"):
            trace.get_tracer("agent").start_span("work").end()
            spanflow.log_metric("correct", 1.0)
    spanflow.log_metric("accuracy", 1.0)
print(run.id)
"""


def _spanflow_cli(*arguments: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "spanflow.cli", *arguments],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_sdk_to_collector_to_cli(index_location: str) -> None:
    """A script's runs reach the collector over OTLP/HTTP and the CLI reads them back."""
    with collector_process(index_location) as collector:
        agent = subprocess.run(
            [sys.executable, "-c", AGENT],
            env=child_environment(SPANFLOW_ENDPOINT=collector.http_url),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert agent.returncode == 0, agent.stderr
        run_id = agent.stdout.strip()
        listed = json.loads(_spanflow_cli("runs", "list", "--url", collector.http_url, "--json"))
        shown = _spanflow_cli("runs", "show", run_id, "--url", collector.http_url)
    by_name = {run["name"]: run for run in listed["runs"]}
    assert set(by_name) == {"e2e-eval", "e2e-sample-0", "e2e-sample-1"}
    evaluation = by_name["e2e-eval"]
    assert evaluation["id"] == run_id
    assert evaluation["status"] == "completed"
    assert evaluation["project"] == "e2e"
    assert by_name["e2e-sample-0"]["parent_id"] == run_id
    assert "accuracy" in shown and "subruns (2)" in shown
    # After the collector is gone, the same index answers directly.
    tree = _spanflow_cli("runs", "tree", by_name["e2e-sample-1"]["id"], "--db", index_location)
    assert "e2e-sample-1" in tree and "work" in tree


def test_every_acknowledged_span_survives_kill_9(index_location: str) -> None:
    """Clients keep sending while the collector is SIGKILLed: each span that got 200 is stored."""
    acknowledged: dict[str, list[int]] = {f"durable-{n}": [] for n in range(SENDERS)}
    stop = threading.Event()
    enough = threading.Semaphore(0)

    def sender(run_id: str, number: int, url: str) -> None:
        first = 0
        while not stop.is_set():
            body = run_spans(run_id, first + number * 1_000_000, BATCH, trace=number)
            if post_traces(url, body) == 200:
                acknowledged[run_id].append(first)
                enough.release()
            first += BATCH

    with collector_process(index_location) as collector:
        threads = [
            threading.Thread(target=sender, args=(run_id, n, collector.http_url), daemon=True)
            for n, run_id in enumerate(acknowledged)
        ]
        for thread in threads:
            thread.start()
        for _ in range(12):  # a dozen acknowledged batches, then pull the plug mid-stream
            assert enough.acquire(timeout=60)
        collector.kill_hard()
        stop.set()
        for thread in threads:
            thread.join(60)
    with spanflow.Client(index_location) as client:
        for number, (run_id, firsts) in enumerate(acknowledged.items()):
            stored = {span.span_id for span in client.spans(run_id)} if firsts else set()
            for first in firsts:
                for n in range(first, first + BATCH):
                    assert span_hex(n + number * 1_000_000) in stored, (run_id, n)


@pytest.mark.postgres
def test_two_replicas_on_one_postgresql_store_every_span_once(postgres_url: str) -> None:
    """Overlapping batches sent to two collectors sharing one database are stored exactly once."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex}"
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in postgres_url else "?"
    database = f"{postgres_url}{separator}options=-csearch_path%3D{schema}"
    try:
        with collector_process(database) as first, collector_process(database) as second:
            for start in range(0, 200, 50):  # spans start..start+74: each overlaps the next
                body = run_spans("replicated", start, 75, trace=7)
                assert post_traces(first.http_url, body) == 200
                assert post_traces(second.http_url, body) == 200
            via_second = json.loads(
                _spanflow_cli("runs", "show", "replicated", "--url", second.http_url, "--json")
            )
        with spanflow.Client(database) as client:
            stored = [span.span_id for span in client.spans("replicated")]
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    assert sorted(stored) == sorted({span_hex(n) for n in range(225)})
    assert via_second["run"]["span_count"] == 225


def test_binding_beyond_loopback_without_a_token_is_refused(tmp_path: Path) -> None:
    """`--host 0.0.0.0` without a token exits 2 and says why, before listening anywhere."""
    environment = {k: v for k, v in os.environ.items() if k != "SPANFLOW_COLLECTOR_TOKEN"}
    command = [sys.executable, "-m", "spanflow.cli", "collector", "--host", "0.0.0.0"]
    done = subprocess.run(
        [*command, "--port", "0", "--db", str(tmp_path / "index.db")],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "refusing to listen on 0.0.0.0 without a token" in done.stderr
