"""Who may use a collector process: token scopes, the Bearer scheme, Host and Origin checks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import requests
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.collector.processes import (
    REQUEST_TIMEOUT_S,
    CollectorProcess,
    collector_process,
    run_spans,
)

FULL, INGEST, READ = "full-7c1d", "ingest-52aa", "read-93fe"
PROTOBUF = "application/x-protobuf"


@pytest.fixture
def scoped_collector(tmp_path: Path) -> Iterator[CollectorProcess]:
    """A collector with a full token (from a file), an ingest token (file), a read token (env)."""
    (tmp_path / "full").write_text(FULL + "\n")
    (tmp_path / "ingest").write_text(INGEST)
    with collector_process(
        str(tmp_path / "index.db"),
        "--token-file",
        str(tmp_path / "full"),
        "--ingest-token-file",
        str(tmp_path / "ingest"),
        variables={"SPANFLOW_COLLECTOR_READ_TOKEN": READ},
    ) as running:
        yield running


def _call(
    running: CollectorProcess,
    method: str,
    path: str,
    authorization: str | None = None,
    **headers: str,
) -> requests.Response:
    sent = dict(headers)
    if authorization is not None:
        sent["Authorization"] = authorization
    body = run_spans("run-access", 1, 2, trace=1) if method == "POST" else None
    if body is not None:
        sent.setdefault("Content-Type", PROTOBUF)
    return requests.request(
        method, running.http_url + path, data=body, headers=sent, timeout=REQUEST_TIMEOUT_S
    )


def _statuses(running: CollectorProcess, token: str | None) -> tuple[int, int, int]:
    authorization = None if token is None else f"Bearer {token}"
    return (
        _call(running, "POST", "/v1/traces", authorization).status_code,
        _call(running, "GET", "/api/v1/runs", authorization).status_code,
        _call(running, "DELETE", "/api/v1/runs/no-such-run", authorization).status_code,
    )


def test_each_token_grants_only_its_scopes(scoped_collector: CollectorProcess) -> None:
    """Ingest tokens only export, read tokens only read, the full token does all (404 = allowed)."""
    assert _statuses(scoped_collector, INGEST) == (200, 403, 403)
    assert _statuses(scoped_collector, READ) == (403, 200, 403)
    assert _statuses(scoped_collector, FULL) == (200, 200, 404)
    assert _statuses(scoped_collector, None) == (401, 401, 401)
    assert _statuses(scoped_collector, "wrong") == (401, 401, 401)
    refused = _call(scoped_collector, "GET", "/api/v1/runs", f"Bearer {INGEST}")
    assert refused.json()["message"] == "this token does not grant the read scope"


def test_bearer_scheme_is_case_insensitive(scoped_collector: CollectorProcess) -> None:
    """``bearer``, ``BEARER`` and ``Bearer`` are the same scheme (RFC 9110)."""
    for scheme in ("bearer", "BEARER", "Bearer"):
        response = _call(scoped_collector, "GET", "/api/v1/runs", f"{scheme} {READ}")
        assert response.status_code == 200, scheme


def test_grpc_calls_need_a_token_with_the_ingest_scope(scoped_collector: CollectorProcess) -> None:
    """Over gRPC the ingest and full tokens export; a read token is PERMISSION_DENIED."""
    request = ExportTraceServiceRequest.FromString(run_spans("run-grpc", 1, 1, trace=2))
    with grpc.insecure_channel(scoped_collector.grpc_address) as channel:
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)  # type: ignore[no-untyped-call]
        for token in (INGEST, FULL):
            stub.Export(request, metadata=[("authorization", f"bearer {token}")], timeout=30)
        with pytest.raises(grpc.RpcError) as refused:
            stub.Export(request, metadata=[("authorization", f"Bearer {READ}")], timeout=30)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.RpcError) as missing:
            stub.Export(request, timeout=30)
        assert missing.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_single_token_still_grants_everything(tmp_path: Path) -> None:
    """A collector given one token, as before scopes existed, lets it export, read and delete."""
    with collector_process(str(tmp_path / "index.db"), "--token", "only-token") as running:
        assert _statuses(running, "only-token") == (200, 200, 404)
        assert "--token is visible to other users" in running.stderr_text()


def test_dns_rebinding_hosts_are_refused(tmp_path: Path) -> None:
    """A token-less loopback collector answers localhost names only; evil.example gets 421."""
    with collector_process(str(tmp_path / "index.db"), "--allow-host", "spanflow.internal") as c:
        port = c.http_url.rsplit(":", 1)[1]
        for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}", "localhost"):
            assert _call(c, "GET", "/api/v1/runs", Host=host).status_code == 200, host
        assert _call(c, "GET", "/api/v1/runs", Host="spanflow.internal:80").status_code == 200
        for method, path in (("GET", "/api/v1/runs"), ("DELETE", "/api/v1/runs/x")):
            refused = _call(c, method, path, Host=f"evil.example:{port}")
            assert refused.status_code == 421
            assert "does not answer for Host 'evil.example" in refused.json()["message"]
        assert _call(c, "POST", "/v1/traces", Host="evil.example").status_code == 421


def test_cross_origin_browser_requests_are_refused(tmp_path: Path) -> None:
    """A page from another origin can neither read, delete nor export; same-origin pages can."""
    with collector_process(str(tmp_path / "index.db")) as c:
        port = c.http_url.rsplit(":", 1)[1]
        own = {"Host": f"localhost:{port}", "Origin": f"http://localhost:{port}"}
        assert _call(c, "GET", "/api/v1/runs", **own).status_code == 200
        for origin in ("http://evil.example", "null", f"http://evil.example:{port}"):
            for method, path in (
                ("GET", "/api/v1/runs"),
                ("DELETE", "/api/v1/runs/x"),
                ("POST", "/v1/traces"),
            ):
                refused = _call(c, method, path, Host=f"localhost:{port}", Origin=origin)
                assert refused.status_code == 403, (origin, method)
