"""Integers past int64 in params, outputs and metric steps: recorded as text (or without the
step) with a warning, and never cost the run its other data, embedded or over OTLP."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.environments import child_environment

from spanflow.query.store import RunQuery
from spanflow_collector.index.sqlite import SqliteRunIndexStore
from spanflow_collector.server import Collector

SCRIPT = """
import spanflow
with spanflow.run("edges", params={"big": 2**64, "small": -(2**70), "lr": 0.1}):
    spanflow.log_metric("far", 1.0, step=2**63)
    spanflow.log_metric("loss", 0.5, step=2)
    spanflow.log_output("huge", 2**100)
    spanflow.log_output("answer", 42)
"""


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[tuple[Collector, SqliteRunIndexStore]]:
    """A collector over a real SQLite index on loopback (OTLP/HTTP only)."""
    store = SqliteRunIndexStore(tmp_path / "collector.db")
    running = Collector(store, http_port=0, grpc_port=None)
    running.start()
    try:
        yield running, store
    finally:
        running.stop()


def _record(tmp_path: Path, **variables: str) -> str:
    done = subprocess.run(
        [sys.executable, "-W", "always", "-c", SCRIPT],
        cwd=tmp_path,
        env=child_environment(**variables),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "Failed to encode" not in done.stderr, done.stderr
    assert "outside int64" in done.stderr
    return done.stderr


def _check(store: SqliteRunIndexStore) -> None:
    (run,) = store.list_runs(RunQuery(limit=10)).runs
    assert dict(run.params) == {"big": str(2**64), "small": str(-(2**70)), "lr": 0.1}
    assert dict(run.outputs) == {"huge": str(2**100), "answer": 42}
    points = {(p.name, p.step) for p in store.get_metric_history(run.id)}
    assert points == {("far", None), ("loss", 2)}


def test_embedded_index_keeps_everything_beside_a_huge_int(tmp_path: Path) -> None:
    """Embedded: the huge values are text, the far step is dropped, the rest is stored."""
    db = tmp_path / "index.db"
    _record(tmp_path, SPANFLOW_DB=str(db))
    store = SqliteRunIndexStore(db)
    try:
        _check(store)
    finally:
        store.close()


def test_otlp_export_keeps_everything_beside_a_huge_int(
    tmp_path: Path, collector: tuple[Collector, SqliteRunIndexStore]
) -> None:
    """OTLP to a collector: spans and run records encode, so the run arrives whole."""
    running, store = collector
    _record(tmp_path, SPANFLOW_ENDPOINT=running.http_url, SPANFLOW_SPOOL_MAX_BYTES="0")
    _check(store)
