"""Secrets in step names and artifact names never reach the spool directory (or any OTLP
endpoint): the SDK redacts them before a request is written or sent."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from tests.environments import child_environment
from tests.planted_secrets import PLANTED, leaked

STEP_SECRET = PLANTED[0]  # an OpenAI key
ARTIFACT_SECRET = PLANTED[12]  # a GitHub token
SCRIPT = f"""
import pathlib, spanflow
artifact = pathlib.Path("report.txt")
artifact.write_text("fine")
with spanflow.run("spooled"):
    @spanflow.step(name={f"fetch with {STEP_SECRET.text}"!r})
    def fetch():
        return "ok"
    fetch()
    spanflow.log_artifact(artifact, name={f"report for {ARTIFACT_SECRET.text}"!r})
"""


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_step_and_artifact_names_are_redacted_before_they_are_spooled(tmp_path: Path) -> None:
    """With the collector down, the spooled OTLP requests hold the step span and the artifact
    record with both names' secrets replaced by markers, and no planted secret."""
    spool = tmp_path / "spool"
    subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=tmp_path,
        env=child_environment(
            SPANFLOW_ENDPOINT=f"http://127.0.0.1:{_closed_port()}",
            SPANFLOW_SPOOL_DIR=str(spool),
            SPANFLOW_EXIT_TIMEOUT_S="1",
        ),
        check=True,
        capture_output=True,
        timeout=120,
    )
    spooled = b"".join(path.read_bytes() for path in spool.rglob("*") if path.is_file())
    assert f"[REDACTED:{STEP_SECRET.kind}]".encode() in spooled
    assert f"[REDACTED:{ARTIFACT_SECRET.kind}]".encode() in spooled
    assert leaked(spooled, [planted.needle for planted in PLANTED]) == []
