"""Host names: `--allow-host` forms with a port or IPv6 brackets match, malformed ones do not."""

from __future__ import annotations

from pathlib import Path

import requests

from tests.collector.processes import REQUEST_TIMEOUT_S, collector_process


def test_allowed_hosts_given_with_a_port_or_brackets_are_answered(tmp_path: Path) -> None:
    """`--allow-host proxy.example:8080` and `--allow-host [2001:db8::7]` answer those hosts on
    any port (the port form used to match nothing, so every proxied request got 421), and other
    hosts still get 421."""
    options = ("--allow-host", "proxy.example:8080", "--allow-host", "[2001:db8::7]")
    with collector_process(str(tmp_path / "index.db"), "--no-grpc", *options) as collector:
        url = f"{collector.http_url}/api/v1/runs"

        def status(host: str) -> int:
            answer = requests.get(url, headers={"Host": host}, timeout=REQUEST_TIMEOUT_S)
            return answer.status_code

        for host in ("proxy.example:8080", "proxy.example", "[2001:db8::7]:4318"):
            assert status(host) == 200, host
        assert status("evil.example:8080") == 421


def test_malformed_bracketed_hosts_are_refused(tmp_path: Path) -> None:
    """`Host: [::1]evil.example`, `[::1]:80x` and an unclosed `[::1` are not loopback names: a
    loopback collector answers them with 421, and `[::1]:port` with 200."""
    with collector_process(str(tmp_path / "index.db"), "--no-grpc") as collector:
        url = f"{collector.http_url}/api/v1/runs"
        port = collector.http_url.rsplit(":", 1)[1]

        def status(host: str) -> int:
            answer = requests.get(url, headers={"Host": host}, timeout=REQUEST_TIMEOUT_S)
            return answer.status_code

        assert status(f"[::1]:{port}") == 200
        for host in ("[::1]evil.example", "[::1]:80x", "[::1"):
            assert status(host) == 421, host
