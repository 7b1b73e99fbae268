"""`--allow-host` names written with a port or in IPv6 brackets still match requests."""

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
