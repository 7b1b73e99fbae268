"""What a collector process says: no database password in its output, no database error text
in its answers, and one clear line for every bad option."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from google.rpc import status_pb2

from tests.collector.processes import (
    COLLECTOR_COMMAND,
    REQUEST_TIMEOUT_S,
    CollectorProcess,
    collector_process,
    post_traces,
    run_spans,
)
from tests.environments import child_environment

PASSWORD = "Pw-9f2c-secret"


def _run_cli(*arguments: str, **variables: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COLLECTOR_COMMAND, *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        env=child_environment(**variables),
    )


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _with_password(url: str) -> str:
    parts = urlsplit(url)
    user, _, host = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{user or 'spanflow'}:{PASSWORD}@{host}"))


def _drop_spans_table(index_location: str) -> None:
    if index_location.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(index_location, autocommit=True) as connection:
            connection.execute("DROP TABLE spans CASCADE")
        return
    with sqlite3.connect(index_location) as connection:
        connection.execute("DROP TABLE spans")


def _wait_for_log(running: CollectorProcess, text: str) -> str:
    deadline = time.monotonic() + REQUEST_TIMEOUT_S
    while text not in (output := running.stderr_text()):
        assert time.monotonic() < deadline, output
        time.sleep(0.05)
    return output


def test_a_failing_index_gets_a_generic_503_and_the_details_go_to_the_log(
    index_location: str,
) -> None:
    """When the index fails to commit, clients get "store unavailable" and the log says why."""
    with collector_process(index_location) as running:
        assert post_traces(running.http_url, run_spans("run-ok", 1, 2, trace=1)) == 200
        _drop_spans_table(index_location)
        response = requests.post(
            f"{running.http_url}/v1/traces",
            data=run_spans("run-lost", 10, 2, trace=2),
            headers={"Content-Type": "application/x-protobuf"},
            timeout=REQUEST_TIMEOUT_S,
        )
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "1"
        message = status_pb2.Status.FromString(response.content).message
        assert message == "store unavailable, retry later"
        log = _wait_for_log(running, "could not store 2 spans")
        assert "spans" in log.split("could not store 2 spans", 1)[1]


@pytest.mark.postgres
@pytest.mark.parametrize("index_location", ["postgres"], indirect=True)
def test_the_index_password_never_reaches_the_output(index_location: str) -> None:
    """A PostgreSQL password in --db is masked in the ready line and in every log line."""
    with collector_process(_with_password(index_location)) as running:
        assert f":***@{urlsplit(index_location).hostname}" in running.ready_line
        _drop_spans_table(index_location)
        assert post_traces(running.http_url, run_spans("run-x", 1, 2, trace=1)) == 503
        log = _wait_for_log(running, "could not store 2 spans")
    assert PASSWORD not in running.ready_line
    assert PASSWORD not in log


def test_an_unreachable_index_is_one_masked_line_and_exit_1() -> None:
    """A PostgreSQL server that refuses the connection: one line, the password masked."""
    done = _run_cli("--db", f"postgresql://spanflow:{PASSWORD}@127.0.0.1:{_closed_port()}/x")
    assert done.returncode == 1
    assert PASSWORD not in done.stdout + done.stderr
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("spanflow collector: cannot open the run index postgresql://")
    assert "spanflow:***@127.0.0.1" in done.stderr


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (("--port", "99999"), "--port must be an integer from 0 to 65535, got '99999'"),
        (("--port", "-1"), "--port must be an integer from 0 to 65535"),
        (("--grpc-port", "70000"), "--grpc-port must be an integer from 0 to 65535"),
        (("--max-body-mib", "-1"), "--max-body-mib must be an integer from 1 to 1024"),
        (("--max-body-mib", "0"), "--max-body-mib must be an integer from 1 to 1024"),
        (("--max-spans-per-request", "0"), "--max-spans-per-request must be an integer"),
        (("--header-timeout-s", "nan"), "--header-timeout-s must be a number of seconds"),
        (("--token-file", "/nonexistent/token"), "cannot read --token-file /nonexistent/token"),
        (("--read-token-file", "/nonexistent/r"), "cannot read --read-token-file /nonexistent/r"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(
    tmp_path: Path, arguments: tuple[str, ...], expected: str
) -> None:
    """Out-of-range numbers and unreadable token files: one line on stderr, exit code 2."""
    done = _run_cli("--db", str(tmp_path / "index.db"), *arguments)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("spanflow collector: ")
    assert expected in done.stderr
    assert not (tmp_path / "index.db").exists()


def test_a_postgresql_url_without_psycopg_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """Without psycopg installed, a postgresql:// index says which extra to install."""
    shadow = tmp_path / "no_psycopg" / "psycopg"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('No module named psycopg')\n")
    python_path = [str(shadow.parent), *sys.path]
    done = _run_cli(
        "--db",
        f"postgresql://spanflow:{PASSWORD}@127.0.0.1:5432/x",
        PYTHONPATH=":".join(python_path),
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert "pip install 'spanflow[postgres]'" in done.stderr
    assert PASSWORD not in done.stderr
