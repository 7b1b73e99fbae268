"""A throwaway PostgreSQL server on loopback for the benches, with its default durability.

``scripts/postgres-env.sh`` starts the test server with ``fsync=off`` (tests want speed, not
crash safety); a bench figure must include the cost of a durable commit, so the benches start
their own server with PostgreSQL's defaults (``fsync=on``, ``synchronous_commit=on``).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def server_binaries() -> Path | None:
    """The newest installed PostgreSQL ``bin`` folder, or None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    return found[-1] if found else None


@contextmanager
def postgres_server(*, max_connections: int = 100) -> Iterator[str]:
    """Start a fresh cluster on a free loopback port; yield a URL of an empty database."""
    binaries = server_binaries()
    if binaries is None:
        raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
    workdir = Path(tempfile.mkdtemp(prefix="spanflow-bench-pg-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(workdir, "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = workdir / "data"
    subprocess.run(
        [*as_postgres, str(binaries / "initdb"), "-D", str(data), "-U", "spanflow", "--auth=trust"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    options = (
        f"-k {workdir} -p {port} -c listen_addresses=127.0.0.1 -c max_connections={max_connections}"
    )
    pg_ctl = [*as_postgres, str(binaries / "pg_ctl"), "-D", str(data)]
    subprocess.run(
        [*pg_ctl, "-l", str(workdir / "log"), "-w", "-o", options, "start"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    try:
        createdb = [str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port)]
        subprocess.run([*createdb, "-U", "spanflow", "bench"], check=True)
        yield f"postgresql://spanflow@127.0.0.1:{port}/bench"
    finally:
        subprocess.run([*pg_ctl, "-m", "fast", "stop"], check=False, stdout=subprocess.DEVNULL)
        shutil.rmtree(workdir, ignore_errors=True)
