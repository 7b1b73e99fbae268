"""Artifacts through a real collector process: OTLP logs over loopback (protobuf, JSON, gRPC),
SQLite and PostgreSQL indexes, the spool through an outage, and safe downloads over HTTP."""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest
import requests
from tests.api.fixtures import index_location
from tests.collector.processes import collector_process
from tests.environments import child_environment

from spanflow.client import ArtifactNotFoundError, Client

__all__ = ["index_location"]

TIMEOUT_S = 120
LIMIT_BYTES = 4096
SMALL = bytes(range(256)) * 8  # 2 KiB, below the limit
HOSTILE = "../<b>x</b>\x1b[2J.html"
SCRIPT = f"""
import pathlib, spanflow
big = pathlib.Path("big.bin")
big.write_bytes(b"z" * {LIMIT_BYTES * 3})
with spanflow.run("with-artifacts") as run:
    spanflow.log_artifact({SMALL!r}, name="small.bin")
    spanflow.log_artifact(big)
    spanflow.log_artifact(b"<script>alert(1)</script>", name={HOSTILE!r}, media_type="text/html")
    spanflow.log_artifact(b"", name="empty.txt")
print(run.id, flush=True)
"""


def _log_run(cwd: Path, **variables: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=cwd,
        env=child_environment(SPANFLOW_MAX_ARTIFACT_BYTES=str(LIMIT_BYTES), **variables),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()[-1]


def _check_run(url: str, run_id: str, cwd: Path) -> None:
    with Client(url) as client:
        listed = {artifact.name: artifact for artifact in client.artifacts(run_id)}
        assert client.artifact_bytes(run_id, "small.bin") == SMALL
        assert client.artifact_bytes(run_id, "empty.txt") == b""
        with pytest.raises(ArtifactNotFoundError, match="reference only"):
            client.artifact_bytes(run_id, "big.bin")
    big = listed["big.bin"]
    assert (big.stored, big.size, big.path) == (False, LIMIT_BYTES * 3, str(cwd / "big.bin"))
    assert big.sha256 == hashlib.sha256(b"z" * LIMIT_BYTES * 3).hexdigest()
    assert listed["small.bin"].stored and listed["small.bin"].size == len(SMALL)


@pytest.mark.slow
@pytest.mark.parametrize("protocol", ["http/protobuf", "http/json", "grpc"])
def test_artifacts_reach_a_collector_over_each_otlp_protocol(
    tmp_path: Path, index_location: str, protocol: str
) -> None:
    """A program logging artifacts to a collector (SQLite or PostgreSQL) over each protocol:
    small content is downloadable byte for byte, the large file is a reference."""
    with collector_process(index_location) as collector:
        endpoint = f"http://{collector.grpc_address}" if protocol == "grpc" else collector.http_url
        run_id = _log_run(
            tmp_path, SPANFLOW_ENDPOINT=endpoint, OTEL_EXPORTER_OTLP_PROTOCOL=protocol
        )
        _check_run(collector.http_url, run_id, tmp_path)


def test_downloads_are_attachments_never_rendered(tmp_path: Path) -> None:
    """The HTTP download of an artifact declared text/html is an octet-stream attachment with
    nosniff, a sandboxing CSP and a plain file name; unknown names and runs are JSON 404s."""
    stored_name = HOSTILE.replace("\x1b", "\ufffd")  # control characters are replaced
    with collector_process(str(tmp_path / "index.db")) as collector:
        run_id = _log_run(tmp_path, SPANFLOW_ENDPOINT=collector.http_url)
        base = f"{collector.http_url}/api/v1/runs/{urllib.parse.quote(run_id, safe='')}"
        listing = requests.get(f"{base}/artifacts", timeout=TIMEOUT_S)
        answer = requests.get(
            f"{base}/artifacts/content", params={"name": stored_name}, timeout=TIMEOUT_S
        )
        missing = requests.get(
            f"{base}/artifacts/content", params={"name": "nope"}, timeout=TIMEOUT_S
        )
        no_name = requests.get(f"{base}/artifacts/content", timeout=TIMEOUT_S)
        no_run = requests.get(
            f"{collector.http_url}/api/v1/runs/nope/artifacts/content",
            params={"name": "a"},
            timeout=TIMEOUT_S,
        )
    assert listing.status_code == 200
    names = {artifact["name"]: artifact for artifact in listing.json()["artifacts"]}
    assert names[stored_name]["media_type"] == "text/html"
    assert missing.status_code == 404 and missing.json()["artifact"] == "nope"
    assert no_name.status_code == 400 and no_name.json()["parameter"] == "name"
    assert no_run.status_code == 404 and no_run.json()["run_id"] == "nope"
    assert answer.status_code == 200
    assert answer.content == b"<script>alert(1)</script>"
    assert answer.headers["content-type"] == "application/octet-stream"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in answer.headers["content-security-policy"]
    disposition = answer.headers["content-disposition"]
    # The last path segment only, plain characters only; the UTF-8 form is percent-encoded.
    assert disposition.startswith("attachment; filename=\"b_2J.html\"; filename*=UTF-8''")
    assert all(char.isprintable() for char in disposition)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_artifacts_wait_in_the_spool_through_an_outage(tmp_path: Path) -> None:
    """With the collector down the artifact records are spooled; once it is up,
    `spanflow spool flush` delivers them and the content is downloadable."""
    port = _closed_port()
    endpoint = f"http://127.0.0.1:{port}"
    spool = tmp_path / "spool"
    run_id = _log_run(
        tmp_path,
        SPANFLOW_ENDPOINT=endpoint,
        SPANFLOW_SPOOL_DIR=str(spool),
        SPANFLOW_EXIT_TIMEOUT_S="1",
    )
    assert any(path.is_file() for path in spool.rglob("*"))
    with collector_process(str(tmp_path / "index.db"), "--port", str(port)) as collector:
        flushed = subprocess.run(
            [sys.executable, "-m", "spanflow.cli", "spool", "flush", "--dir", str(spool)],
            env=child_environment(),
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )
        assert flushed.returncode == 0, flushed.stdout + flushed.stderr
        _check_run(collector.http_url, run_id, tmp_path)


def test_a_run_whose_id_is_an_api_word_is_reachable(tmp_path: Path) -> None:
    """Runs with the ids "stats" and "compare" answer at /api/v1/runs/{id} (their artifacts
    and DELETE too) while /runs/stats?metric=... is still the statistics."""
    script = (
        "import spanflow\n"
        "for run_id in ('stats', 'compare'):\n"
        "    with spanflow.run(run_id, id=run_id):\n"
        "        spanflow.log_metric('accuracy', 0.5)\n"
        "        spanflow.log_artifact(b'ok', name='a.txt')\n"
    )
    with collector_process(str(tmp_path / "index.db")) as collector:
        done = subprocess.run(
            [sys.executable, "-c", script],
            cwd=tmp_path,
            env=child_environment(SPANFLOW_ENDPOINT=collector.http_url),
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )
        assert done.returncode == 0, done.stderr
        runs = f"{collector.http_url}/api/v1/runs"
        stats_run = requests.get(f"{runs}/stats", timeout=TIMEOUT_S)
        compare_run = requests.get(f"{runs}/compare", timeout=TIMEOUT_S)
        statistics = requests.get(f"{runs}/stats", params={"metric": "accuracy"}, timeout=TIMEOUT_S)
        with Client(collector.http_url) as client:
            assert client.get_run("stats").name == "stats"
            assert client.artifact_bytes("compare", "a.txt") == b"ok"
            assert client.delete("compare") == 1
            assert [run.id for run in client.iter_runs()] == ["stats"]
    assert stats_run.status_code == 200 and stats_run.json()["run"]["id"] == "stats"
    assert compare_run.status_code == 200 and compare_run.json()["run"]["id"] == "compare"
    assert statistics.status_code == 200
    assert "run" not in statistics.json()
    assert json.dumps(statistics.json()).count("0.5") >= 1


LARGE_SCRIPT = """
import hashlib, os, spanflow
blobs = {"full.bin": os.urandom(8 << 20), **{n: os.urandom(3 << 20) for n in ("a.bin", "b.bin")}}
with spanflow.run("near-the-cap") as run:
    for name, content in blobs.items():
        spanflow.log_artifact(content, name=name)
assert spanflow.force_flush(120), "not delivered"  # 14 MiB can outlast the 2 s exit wait
print(run.id, *(f"{name}={hashlib.sha256(c).hexdigest()}" for name, c in blobs.items()))
"""


@pytest.mark.slow
@pytest.mark.parametrize("protocol", ["http/json", "grpc"])
def test_artifacts_at_the_size_cap_fit_the_collectors_request_limits(
    tmp_path: Path, protocol: str
) -> None:
    """With the limit at its 8 MiB cap, an 8 MiB artifact and two of 3 MiB reach a collector
    (20 MiB request limit) even as base64 OTLP/JSON: each is stored whole."""
    with collector_process(str(tmp_path / "index.db")) as collector:
        endpoint = f"http://{collector.grpc_address}" if protocol == "grpc" else collector.http_url
        done = subprocess.run(
            [sys.executable, "-c", LARGE_SCRIPT],
            cwd=tmp_path,
            env=child_environment(
                SPANFLOW_ENDPOINT=endpoint,
                OTEL_EXPORTER_OTLP_PROTOCOL=protocol,
                SPANFLOW_MAX_ARTIFACT_BYTES=str(8 * 1024 * 1024),
            ),
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )
        assert done.returncode == 0, done.stderr
        run_id, *hashes = done.stdout.split()
        with Client(collector.http_url) as client:
            for pair in hashes:
                name, sha256 = pair.split("=")
                content = client.artifact_bytes(run_id, name)
                assert hashlib.sha256(content).hexdigest() == sha256


def test_spanflow_ui_url_relays_downloads_as_attachments(tmp_path: Path) -> None:
    """`spanflow ui --url COLLECTOR` proxies an artifact download with its bytes and the
    attachment, nosniff and sandbox headers intact."""
    from tests.ui.conftest import ready_process

    with collector_process(str(tmp_path / "index.db")) as collector:
        run_id = _log_run(tmp_path, SPANFLOW_ENDPOINT=collector.http_url)
        command = [sys.executable, "-m", "spanflow.cli", "ui", "--url", collector.http_url]
        command += ["--port", "0"]
        environment = child_environment(PYTHONUNBUFFERED="1")
        with ready_process(command, environment, "spanflow ui ready:") as (line, _):
            ui_url = line.split("ready: ", 1)[1].split()[0].rstrip("/")
            answer = requests.get(
                f"{ui_url}/api/v1/runs/{urllib.parse.quote(run_id, safe='')}/artifacts/content",
                params={"name": "small.bin"},
                timeout=TIMEOUT_S,
            )
    assert answer.status_code == 200 and answer.content == SMALL
    assert answer.headers["content-disposition"].startswith('attachment; filename="small.bin"')
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in answer.headers["content-security-policy"]
