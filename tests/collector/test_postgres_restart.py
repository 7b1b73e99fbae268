"""A collector over PostgreSQL survives a server restart: reads on connections that went stale
succeed (one reconnect), and writes answer 503 at worst and succeed on the client's retry."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from spanflow import environment
from tests.collector.hostile import api, json_body, json_span, post, run_spans_by_id
from tests.collector.processes import collector_process

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
_PG_TIMEOUT_S = 60
RETRY_DEADLINE_S = 60.0


@dataclass
class ThrowawayPostgres:
    """A PostgreSQL server of this test's own, which the test may restart."""

    url: str
    restart: Callable[[], None]


def _postgres_bin() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    if found:
        return found[-1]
    pg_ctl = shutil.which("pg_ctl")
    return os.path.dirname(pg_ctl) if pg_ctl else None


@pytest.fixture
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    """initdb + pg_ctl start on a free loopback port, as scripts/postgres-env.sh does."""
    bin_dir = _postgres_bin()
    if bin_dir is None:
        if os.environ.get(environment.SPANFLOW_REQUIRE_POSTGRES) == "1":
            pytest.fail("no PostgreSQL server binaries found")
        pytest.skip("no PostgreSQL server binaries found")
    directory = tempfile.mkdtemp(prefix="spanflow-pg-restart-")
    run_as: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(directory, "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = os.path.join(directory, "data")
    options = f"-k {directory} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off"

    def pg_ctl(*arguments: str) -> None:
        subprocess.run(
            [*run_as, f"{bin_dir}/pg_ctl", "-D", data, "-l", f"{directory}/log", *arguments],
            check=True,
            capture_output=True,
            timeout=_PG_TIMEOUT_S,
        )

    subprocess.run(
        [*run_as, f"{bin_dir}/initdb", "-D", data, "-U", "spanflow", "--auth=trust"],
        check=True,
        capture_output=True,
        timeout=_PG_TIMEOUT_S,
    )
    pg_ctl("-w", "-o", options, "start")
    try:
        yield ThrowawayPostgres(
            url=f"postgresql://spanflow@127.0.0.1:{port}/postgres",
            restart=lambda: pg_ctl("-w", "-m", "fast", "-o", options, "restart"),
        )
    finally:
        pg_ctl("-w", "-m", "fast", "stop")
        shutil.rmtree(directory, ignore_errors=True)


def _post_until_stored(collector: object, body: bytes) -> list[int]:
    """POST like an OTLP exporter: retry 503 (with its Retry-After) until 200; the statuses."""
    statuses: list[int] = []
    deadline = time.monotonic() + RETRY_DEADLINE_S
    while time.monotonic() < deadline:
        response = post(collector, body)  # type: ignore[arg-type]
        statuses.append(response.status_code)
        if response.status_code != 503:
            return statuses
        assert response.headers["Retry-After"]
        time.sleep(0.2)  # an exporter's backoff between retries
    return statuses


def test_reads_and_writes_survive_a_postgres_restart(
    throwaway_postgres: ThrowawayPostgres,
) -> None:
    """After PostgreSQL restarts under a running collector, every read succeeds at once and
    writes succeed (503 with Retry-After at worst, then 200 on retry)."""
    run_id = f"run-{uuid.uuid4().hex}"
    with collector_process(throwaway_postgres.url) as collector:
        assert _post_until_stored(collector, json_body(json_span(run_id=run_id))) == [200]

        def statuses_of_reads() -> list[int]:
            with ThreadPoolExecutor(8) as pool:
                responses = pool.map(lambda _: api(collector, f"/runs/{run_id}"), range(16))
                return [response.status_code for response in responses]

        assert statuses_of_reads() == [200] * 16  # a connection in many API worker threads

        throwaway_postgres.restart()

        assert statuses_of_reads() == [200] * 16
        late = json_span(run_id=run_id)
        statuses = _post_until_stored(collector, json_body(late))
        assert statuses[-1] == 200 and set(statuses) <= {200, 503}
        assert late["spanId"] in run_spans_by_id(collector, run_id)
