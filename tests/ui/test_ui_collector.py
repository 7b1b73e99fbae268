"""The collector serves the web UI at ``/``; its data stays behind the collector's token."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.collector.processes import collector_process
from tests.environments import child_environment
from tests.ui.conftest import record_runs, screenshot

pytestmark = pytest.mark.slow
TOKEN = "ui-test-token"
WAIT_MS = 20_000


def _status(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            return answer.status, answer.headers.get("content-security-policy", "")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("content-security-policy", "")


def test_collector_serves_the_ui_and_asks_for_its_token(
    page: Any, browser: Any, tmp_path: Path
) -> None:
    """A token-protected SQLite collector serves the app, which asks for the token to show runs."""
    with collector_process(str(tmp_path / "index.db"), "--no-grpc", "--token", TOKEN) as collector:
        record_runs(
            child_environment(SPANFLOW_ENDPOINT=collector.http_url, SPANFLOW_COLLECTOR_TOKEN=TOKEN)
        )
        assert _status(f"{collector.http_url}/api/v1/runs")[0] == 401
        status, policy = _status(f"{collector.http_url}/")
        assert status == 200 and "default-src 'self'" in policy

        page.goto(f"{collector.http_url}/")
        page.get_by_label("Token").fill(TOKEN)
        page.get_by_role("button", name="Continue").click()
        page.get_by_role("link", name="eval-baseline").wait_for(timeout=WAIT_MS)
        page.get_by_role("link", name="eval-baseline").click()
        page.wait_for_url(re.compile(r"#/run/"), timeout=WAIT_MS)
        page.locator(".subrun-list").get_by_role("link", name="sample-product").click()
        page.locator("svg .node").first.wait_for(timeout=WAIT_MS)
        screenshot(page, "collector-run")
