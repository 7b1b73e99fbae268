"""Run data without silent limits: what a run logs is what the index holds, via every route.

Runs log through the public API into the embedded index and into a real collector process
over OTLP (SQLite and PostgreSQL), and are read back with ``spanflow.Client``, the REST API
and ``spanflow runs show``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from opentelemetry import trace
from tests.api.fixtures import index_location
from tests.collector.processes import collector_process
from tests.environments import child_environment

import spanflow
from spanflow import attributes
from spanflow._internal import settings
from spanflow.client import RunSummary
from spanflow.testing import OTLPReceiver

__all__ = ["index_location"]

PARAMS = 10_000
POINTS = 100_000
WAIT_S = 60.0


@pytest.fixture
def embedded_db(tmp_path: Path) -> Iterator[Path]:
    """spanflow configured to write into a fresh embedded index for one test."""
    path = tmp_path / "index.db"
    spanflow.configure(exporters=["embedded"], db_path=path)
    try:
        yield path
    finally:
        spanflow.force_flush()
        spanflow.configure(exporters=["none"])


def _cli(*arguments: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "spanflow.cli", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        env=child_environment(),
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _log_big_run() -> str:
    with spanflow.run("big", project="scale", tags=["load"]) as run:
        spanflow.log_params(**{f"p{i:05d}": i for i in range(PARAMS)})
        for step in range(POINTS // 2):
            spanflow.log_metrics({"loss": 1.0 / (step + 1), "acc": step / POINTS}, step=step)
    return run.id


def _assert_big_run(run: RunSummary, history_size: int) -> None:
    assert (run.name, run.project, run.tags, run.status) == ("big", "scale", ("load",), "completed")
    assert len(run.params) == PARAMS
    assert run.params["p00000"] == 0 and run.params[f"p{PARAMS - 1:05d}"] == PARAMS - 1
    assert run.metrics == {"loss": 1.0 / (POINTS // 2), "acc": (POINTS // 2 - 1) / POINTS}
    assert run.truncated == ()
    assert history_size == POINTS


def test_500_steps_of_one_metric_are_all_readable(embedded_db: Path, tmp_path: Path) -> None:
    """500 points of one metric, inputs and an artifact all reach Client and `runs show`."""
    report = tmp_path / "report.txt"
    report.write_text("ok")
    with spanflow.run("long-training") as run:
        spanflow.log_input("dataset", "gsm8k")
        for step in range(500):
            spanflow.log_metric("loss", 500 - step, step=step)
        spanflow.log_artifact(report)
    spanflow.force_flush()
    with spanflow.Client(embedded_db) as client:
        history = client.metric_history(run.id)
        found = client.get_run(run.id)
    assert [(p.step, p.value) for p in history] == [(s, 500.0 - s) for s in range(500)]
    assert dict(found.inputs) == {"dataset": "gsm8k"}
    assert found.artifacts["report.txt"]["size"] == 2
    shown = _cli("runs", "show", run.id, "--db", str(embedded_db))
    assert "500 points" in shown
    assert "gsm8k" in shown and "report.txt" in shown


def test_130_params_and_70_metrics_keep_the_runs_own_fields(embedded_db: Path) -> None:
    """User data beyond OTel's 128-attribute limit cannot push out name, project, tags, status."""
    params = {f"param_{i}": i for i in range(130)}
    with spanflow.run("wide", project="limits", tags=["t1", "t2"], params=params) as run:
        spanflow.log_metrics({f"metric_{i}": float(i) for i in range(70)}, step=0)
    spanflow.force_flush()
    with spanflow.Client(embedded_db) as client:
        found = client.get_run(run.id)
    assert (found.name, found.project, found.tags) == ("wide", "limits", ("t1", "t2"))
    assert found.status == "completed"
    assert dict(found.params) == params
    assert len(found.metrics) == 70


def test_10000_params_and_100000_points_in_the_embedded_index(embedded_db: Path) -> None:
    """A run with 10,000 params and 100,000 metric points is stored exactly."""
    run_id = _log_big_run()
    spanflow.force_flush()
    with spanflow.Client(embedded_db) as client:
        _assert_big_run(client.get_run(run_id), len(client.metric_history(run_id)))


def test_reaching_a_run_limit_warns_once_and_marks_the_run_truncated(
    embedded_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past SPANFLOW_MAX_RUN_METRIC_POINTS one warning is raised and the run says truncated."""
    monkeypatch.setenv("SPANFLOW_MAX_RUN_METRIC_POINTS", "10")
    monkeypatch.setattr(settings, "_current", settings.current())  # restored after the test
    settings.update("max_run_metric_points", None)  # read the variable, as configure() does
    with spanflow.run("capped") as run:
        for step in range(10):
            spanflow.log_metric("x", step, step=step)
        with pytest.warns(spanflow.SpanflowWarning, match="more than 10 metric points"):
            spanflow.log_metric("x", 10, step=10)
        spanflow.log_metric("x", 11, step=11)  # no second warning (filterwarnings=error)
    spanflow.force_flush()
    with spanflow.Client(embedded_db) as client:
        assert client.get_run(run.id).truncated == ("metric_points",)
        assert len(client.metric_history(run.id)) == 10
    assert "truncated" in _cli("runs", "show", run.id, "--db", str(embedded_db))


def test_10000_params_and_100000_points_over_otlp(index_location: str) -> None:
    """Sent over OTLP to a collector process, the big run is stored exactly (REST and Client)."""
    with collector_process(index_location) as collector:
        spanflow.configure(endpoint=collector.http_url)
        try:
            run_id = _log_big_run()
            assert spanflow.force_flush(WAIT_S)
        finally:
            spanflow.configure(exporters=["none"])
        with spanflow.Client(collector.http_url) as client:
            _assert_big_run(client.get_run(run_id), len(client.metric_history(run_id)))
        body = requests.get(f"{collector.http_url}/api/v1/runs/{run_id}", timeout=WAIT_S).json()
        assert len(body["run"]["params"]) == PARAMS


def _wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _status(client: spanflow.Client, run_id: str) -> str | None:
    found = [run for run in client.list_runs(limit=50).runs if run.id == run_id]
    return found[0].status if found else None


def test_a_trace_only_endpoint_gets_spans_but_no_bookkeeping(tmp_path: Path) -> None:
    """Beside a collector, a trace-only receiver sees the user's span and the root, nothing else."""
    with (
        collector_process(str(tmp_path / "index.db")) as collector,
        OTLPReceiver(accept_logs=False) as jaeger,
        spanflow.Client(collector.http_url) as client,
    ):
        spanflow.configure(
            endpoint=[collector.http_url, jaeger.endpoint], heartbeat_interval_s=0.05
        )
        try:
            with spanflow.run("watched") as run:
                _wait_until(lambda: _status(client, run.id) == "running", "running")
                trace.get_tracer("agent").start_span("user-work").end()
                _wait_until(lambda: jaeger.logs_request_count >= 1, "the refused logs request")
                client_heartbeat = client.get_run(run.id).last_heartbeat_unix_nano
                _wait_until(
                    lambda: client.get_run(run.id).last_heartbeat_unix_nano != client_heartbeat,
                    "a later heartbeat at the collector",
                )
        finally:
            spanflow.force_flush()
            spanflow.configure(exporters=["none"])
        _wait_until(lambda: _status(client, run.id) == "completed", "completed")
        names = sorted(span.name for span in jaeger.spans())
        assert names == ["user-work", "watched"]
        assert jaeger.logs_request_count == 1  # refused once, never asked again
        root = jaeger.wait_for_span(kind=attributes.SpanKindValue.RUN)
        assert root.attributes[attributes.RUN_NAME] == "watched"


SKEWED_AGENT = """
import sys, time
import spanflow
from spanflow._internal import clock

clock.set_clock(lambda: time.time_ns() - 120_000_000_000)  # this machine's clock is 120 s late
with spanflow.run("skewed") as run:
    print(run.id, flush=True)
    sys.stdin.readline()
"""


def test_a_sender_with_a_late_clock_reads_running_while_it_heartbeats(tmp_path: Path) -> None:
    """A process whose clock is 120 s behind is shown running, not interrupted, then completed."""
    with collector_process(str(tmp_path / "index.db")) as collector:
        agent = subprocess.Popen(
            [sys.executable, "-c", SKEWED_AGENT],
            env=child_environment(
                SPANFLOW_ENDPOINT=collector.http_url, SPANFLOW_HEARTBEAT_INTERVAL_S="0.2"
            ),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert agent.stdout is not None and agent.stdin is not None
            run_id = agent.stdout.readline().strip()
            with spanflow.Client(collector.http_url) as client:
                _wait_until(lambda: _status(client, run_id) is not None, "the run")
                first = client.get_run(run_id)
                assert first.status == "running"
                _wait_until(
                    lambda: (
                        client.get_run(run_id).last_heartbeat_unix_nano
                        not in (None, first.last_heartbeat_unix_nano)
                    ),
                    "a heartbeat",
                )
                assert client.get_run(run_id).status == "running"
                agent.stdin.close()
                assert agent.wait(WAIT_S) == 0
                _wait_until(lambda: _status(client, run_id) == "completed", "completed")
        finally:
            agent.kill()
            if agent.stdout is not None:
                agent.stdout.close()


EXITING_AGENT = """
import spanflow

with spanflow.run("exits", params={f"k{i}": i for i in range(2000)}) as run:
    for step in range(20_000):
        spanflow.log_metric("loss", step, step=step)
print(run.id)
"""


def test_a_process_that_exits_right_after_logging_loses_no_run_data(tmp_path: Path) -> None:
    """Without any flush call, run records still queued at exit reach the collector."""
    with collector_process(str(tmp_path / "index.db")) as collector:
        agent = subprocess.run(
            [sys.executable, "-c", EXITING_AGENT],
            env=child_environment(SPANFLOW_ENDPOINT=collector.http_url),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert agent.returncode == 0, agent.stderr
        run_id = agent.stdout.strip()
        with spanflow.Client(collector.http_url) as client:
            run = client.get_run(run_id)
            assert run.status == "completed" and len(run.params) == 2000
            assert len(client.metric_history(run_id)) == 20_000
