"""Collector outages: real SDK processes, a real collector process killed and restarted."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from tests.collector.processes import collector_process
from tests.e2e.outage_scenarios import SPANS_PER_PHASE
from tests.environments import child_environment

from spanflow import Client
from spanflow.testing import OTLPReceiver

REPO_ROOT = Path(__file__).resolve().parents[2]
EXIT_BOUND_S = 10.0  # generous: the documented bound is 2 s, the machine is shared and slow
LINE_TIMEOUT_S = 60.0


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@contextmanager
def black_hole() -> Iterator[str]:
    """A loopback address that accepts connections (kernel backlog) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


@contextmanager
def collector_on(db: Path, http_port: int, grpc_port: int) -> Iterator[str]:
    """A collector process serving on the given ports; yields its HTTP base URL."""
    with collector_process(
        str(db), "--port", str(http_port), "--grpc-port", str(grpc_port)
    ) as collector:
        yield collector.http_url


def start_scenario(name: str, **variables: str) -> subprocess.Popen[str]:
    """Run ``tests/e2e/outage_scenarios.py NAME`` with only ``variables`` configuring it."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.outage_scenarios", name],
        cwd=REPO_ROOT,
        env=child_environment(**variables),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_values(process: subprocess.Popen[str]) -> dict[str, str]:
    """The next ``key=value ...`` line the scenario printed, as a dict."""
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        process.kill()
        _, errors = process.communicate(timeout=LINE_TIMEOUT_S)
        raise AssertionError(f"scenario ended early: {errors}")
    return dict(part.split("=", 1) for part in line.split())


def proceed(process: subprocess.Popen[str]) -> None:
    """Let the scenario go on past its next ``stdin`` wait."""
    assert process.stdin is not None
    process.stdin.write("\n")
    process.stdin.flush()


def finish(process: subprocess.Popen[str]) -> str:
    """Wait for the scenario to exit cleanly; its stderr."""
    _, errors = process.communicate(timeout=LINE_TIMEOUT_S)
    assert process.returncode == 0, errors
    return errors


def span_names(url_or_db: str, run_id: str) -> list[str]:
    with Client(url_or_db) as client:
        return [span.name for span in client.spans(run_id)]


def expected_names(*phases: str) -> set[str]:
    return {f"{phase}-{n}" for phase in phases for n in range(SPANS_PER_PHASE)}


@pytest.mark.slow
def test_spans_sent_while_the_collector_is_down_all_arrive_after_it_restarts(
    tmp_path: Path,
) -> None:
    """A collector SIGKILLed mid-run and restarted on its port loses none of the run's spans."""
    http_port, grpc_port = free_port(), free_port()
    db = tmp_path / "index.db"
    with collector_on(db, http_port, grpc_port) as url:
        scenario = start_scenario(
            "outage_mid_run", SPANFLOW_ENDPOINT=url, SPANFLOW_SPOOL_DIR=str(tmp_path / "spool")
        )
        run_id = read_values(scenario)["run_id"]
        assert read_values(scenario)["flushed_before"] == "True"
    # The collector is gone now (stopped by SIGTERM, its port closed).
    proceed(scenario)
    assert read_values(scenario)["flushed_during"] == "False"
    with collector_on(db, http_port, grpc_port) as url:
        proceed(scenario)
        assert read_values(scenario)["flushed_end"] == "True"
        finish(scenario)
        names = span_names(url, run_id)
        with Client(url) as client:
            run = client.get_run(run_id)
    assert expected_names("before", "during", "after") <= set(names)
    assert run.status == "completed"
    assert run.metrics["logged_during_outage"] == 1.0  # run records went through the spool too
    assert "spanflow.run.dropped_spans" not in run.attributes


@pytest.mark.slow
def test_a_collector_killed_hard_mid_run_loses_nothing(tmp_path: Path) -> None:
    """SIGKILL (no shutdown code) of the collector mid-run: every span still arrives."""
    http_port, grpc_port = free_port(), free_port()
    db = tmp_path / "index.db"
    with collector_process(
        str(db), "--port", str(http_port), "--grpc-port", str(grpc_port)
    ) as collector:
        scenario = start_scenario(
            "outage_mid_run",
            SPANFLOW_ENDPOINT=collector.http_url,
            SPANFLOW_SPOOL_DIR=str(tmp_path / "spool"),
        )
        run_id = read_values(scenario)["run_id"]
        assert read_values(scenario)["flushed_before"] == "True"
        collector.kill_hard()
    proceed(scenario)
    read_values(scenario)  # flushed_during
    with collector_on(db, http_port, grpc_port) as url:
        proceed(scenario)
        assert read_values(scenario)["flushed_end"] == "True"
        finish(scenario)
        assert expected_names("before", "during", "after") <= set(span_names(url, run_id))


@pytest.mark.slow
@pytest.mark.parametrize("down", ["refused", "black hole"])
def test_exit_with_the_collector_down_is_bounded_and_spool_flush_delivers_later(
    tmp_path: Path, down: str
) -> None:
    """The process ends within the exit bound; ``spanflow spool flush`` delivers the run later."""
    spool_dir = str(tmp_path / "spool")
    http_port, grpc_port = free_port(), free_port()
    with black_hole() as hole:
        endpoint = hole if down == "black hole" else f"http://127.0.0.1:{http_port}"
        scenario = start_scenario(
            "exit_while_down", SPANFLOW_ENDPOINT=endpoint, SPANFLOW_SPOOL_DIR=spool_dir
        )
        run_id = read_values(scenario)["run_id"]
        read_values(scenario)  # ended_at: the run is over, the interpreter is exiting
        started = time.monotonic()
        finish(scenario)
        exit_s = time.monotonic() - started
    assert exit_s < EXIT_BOUND_S
    if down == "black hole":
        return  # its spool names the black hole's port, which no collector can take over
    status = subprocess.run(
        [sys.executable, "-m", "spanflow.cli", "spool", "status"],
        env=child_environment(SPANFLOW_SPOOL_DIR=spool_dir),
        capture_output=True,
        text=True,
        timeout=LINE_TIMEOUT_S,
    )
    assert f"http://127.0.0.1:{http_port}/v1/traces  traces:" in status.stdout
    db = tmp_path / "index.db"
    with collector_on(db, http_port, grpc_port) as url:
        flushed = subprocess.run(
            [sys.executable, "-m", "spanflow.cli", "spool", "flush"],
            env=child_environment(SPANFLOW_SPOOL_DIR=spool_dir),
            capture_output=True,
            text=True,
            timeout=LINE_TIMEOUT_S,
        )
        assert flushed.returncode == 0, flushed.stderr
        assert expected_names("work") <= set(span_names(url, run_id))
        with Client(url) as client:
            assert client.get_run(run_id).status == "completed"


@pytest.mark.slow
def test_the_next_process_for_the_same_endpoint_delivers_what_an_earlier_one_spooled(
    tmp_path: Path,
) -> None:
    """A process that exited during an outage has its spans delivered by the next process."""
    spool_dir = str(tmp_path / "spool")
    http_port, grpc_port = free_port(), free_port()
    endpoint = f"http://127.0.0.1:{http_port}"
    first = start_scenario(
        "exit_while_down", SPANFLOW_ENDPOINT=endpoint, SPANFLOW_SPOOL_DIR=spool_dir
    )
    first_run = read_values(first)["run_id"]
    finish(first)
    with collector_on(tmp_path / "index.db", http_port, grpc_port) as url:
        second = start_scenario("flush_result", SPANFLOW_ENDPOINT=url, SPANFLOW_SPOOL_DIR=spool_dir)
        read_values(second)
        read_values(second)
        finish(second)
        deadline = time.monotonic() + LINE_TIMEOUT_S
        while not expected_names("work") <= set(span_names(url, first_run)):
            assert time.monotonic() < deadline, "the spooled run never arrived"
            time.sleep(0.2)


@pytest.mark.slow
def test_force_flush_against_a_black_hole_returns_false_within_its_timeout(
    tmp_path: Path,
) -> None:
    """``force_flush(timeout_s=1)`` against an endpoint that never answers is False, promptly."""
    with black_hole() as hole:
        scenario = start_scenario(
            "flush_result", SPANFLOW_ENDPOINT=hole, SPANFLOW_SPOOL_DIR=str(tmp_path / "spool")
        )
        read_values(scenario)
        result = read_values(scenario)
        finish(scenario)
    assert result["flushed"] == "False"
    assert float(result["took_s"]) < EXIT_BOUND_S


@pytest.mark.slow
def test_force_flush_against_401_is_false_and_names_the_endpoint_and_status(
    tmp_path: Path,
) -> None:
    """A collector answering 401 makes force_flush False with one log line saying so."""
    with OTLPReceiver() as receiver:
        receiver.answer_status = 401
        scenario = start_scenario(
            "flush_result",
            SPANFLOW_ENDPOINT=receiver.endpoint,
            SPANFLOW_SPOOL_DIR=str(tmp_path / "spool"),
        )
        read_values(scenario)
        result = read_values(scenario)
        errors = finish(scenario)
    assert result["flushed"] == "False"
    lines = [line for line in errors.splitlines() if "401" in line]
    assert len(lines) == 1, errors
    assert receiver.traces_url in lines[0]


@pytest.mark.slow
def test_past_the_spool_bound_the_oldest_spans_drop_with_a_warning_and_the_run_says_so(
    tmp_path: Path,
) -> None:
    """A full spool drops its oldest requests, warns, and the run shows how many spans it lost."""
    with OTLPReceiver() as receiver:
        receiver.answer_status = 503
        port = int(receiver.endpoint.rsplit(":", 1)[1])
        scenario = start_scenario(
            "spool_overflow",
            SPANFLOW_ENDPOINT=receiver.endpoint,
            SPANFLOW_SPOOL_DIR=str(tmp_path / "spool"),
            SPANFLOW_SPOOL_MAX_BYTES="50000",  # two requests of ten 2 kB spans fit
        )
        run_id = read_values(scenario)["run_id"]
        receiver.wait_for_refusals(1)
    # The receiver's port now gets a real collector, which takes what survived in the spool.
    with collector_on(tmp_path / "index.db", port, free_port()) as url:
        proceed(scenario)
        read_values(scenario)  # flushed_end
        errors = finish(scenario)
        with Client(url) as client:
            run = client.get_run(run_id)
        names = set(span_names(url, run_id))
        shown = subprocess.run(
            [sys.executable, "-m", "spanflow.cli", "runs", "show", "--url", url, run_id],
            env=child_environment(),
            capture_output=True,
            text=True,
            timeout=LINE_TIMEOUT_S,
        )
    assert "past its bound" in errors
    dropped = run.attributes["spanflow.run.dropped_spans"]
    assert isinstance(dropped, int) and dropped >= 10
    assert dropped == 40 - len({name for name in names if name.startswith("big-")})
    assert "big-39" in names  # the newest survive; the oldest went
    assert run.status == "completed"
    assert f"{dropped} spans lost before reaching the index" in shown.stdout


@pytest.mark.slow
def test_a_child_forked_during_an_outage_sends_its_own_spans_once(tmp_path: Path) -> None:
    """A fork child starts with a fresh transport: its spans go out, nothing is sent twice."""
    with OTLPReceiver() as receiver:
        receiver.answer_status = 503
        scenario = start_scenario(
            "fork_during_outage",
            SPANFLOW_ENDPOINT=receiver.endpoint,
            SPANFLOW_SPOOL_DIR=str(tmp_path / "spool"),
        )
        run_id = read_values(scenario)["run_id"]
        assert read_values(scenario)["flushed_down"] == "False"
        receiver.answer_status = None
        proceed(scenario)
        assert read_values(scenario)["child_exit"] == "0"
        assert read_values(scenario)["flushed_end"] == "True"
        finish(scenario)
        spans = receiver.spans()
    counts = Counter((span.trace_id, span.span_id) for span in spans)
    assert set(counts.values()) == {1}
    names = {span.name for span in spans if span.run_id == run_id}
    assert {f"parent-{n}" for n in range(5)} | {f"child-{n}" for n in range(5)} <= names
