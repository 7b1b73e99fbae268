"""The collector serves the web UI at ``/``; its data stays behind the collector's token."""

from __future__ import annotations

import re
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.collector.processes import collector_process
from tests.environments import child_environment
from tests.postgres import schema_of_its_own
from tests.ui.conftest import ready_process, record_runs, screenshot

pytestmark = pytest.mark.slow
TOKEN = "ui-test-token"
COLLECTOR_TOKEN = {"SPANFLOW_COLLECTOR_TOKEN": TOKEN}
WAIT_MS = 20_000


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def collector_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh index for a collector: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield str(tmp_path / "index.db")
        return
    postgres_url: str = request.getfixturevalue("postgres_url")
    with schema_of_its_own(postgres_url) as location:
        yield location


def _answer(url: str, **headers: str) -> tuple[int, str]:
    """Status and Content-Security-Policy of a GET."""
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, headers=headers), timeout=30
        ) as answer:
            return answer.status, answer.headers.get("content-security-policy", "")
    except urllib.error.HTTPError as error:
        error.close()
        return error.code, error.headers.get("content-security-policy", "")


def test_collector_serves_the_ui_and_asks_for_its_token(page: Any, collector_db: str) -> None:
    """A token-protected collector serves the app, which asks for the token to show runs."""
    with collector_process(collector_db, "--no-grpc", variables=COLLECTOR_TOKEN) as collector:
        record_runs(
            child_environment(SPANFLOW_ENDPOINT=collector.http_url, SPANFLOW_COLLECTOR_TOKEN=TOKEN)
        )
        assert _answer(f"{collector.http_url}/api/v1/runs")[0] == 401
        status, policy = _answer(f"{collector.http_url}/")
        assert status == 200 and "default-src 'self'" in policy
        assert _answer(f"{collector.http_url}/assets/missing.js")[0] == 404
        assert _answer(f"{collector.http_url}/", Host="evil.example")[0] == 421  # DNS rebinding

        page.goto(f"{collector.http_url}/")
        page.get_by_label("Token").fill(TOKEN)
        page.get_by_role("button", name="Continue").click()
        page.get_by_role("link", name="eval-baseline").click(timeout=WAIT_MS)
        page.wait_for_url(re.compile(r"#/run/"), timeout=WAIT_MS)
        page.locator(".subrun-list").get_by_role("link", name="sample-product").click()
        page.locator("svg .node").first.wait_for(timeout=WAIT_MS)
        screenshot(page, "collector-run")


def test_spanflow_ui_url_shows_a_collectors_runs(page: Any, tmp_path: Path) -> None:
    """`spanflow ui --url` given the token shows a token-protected collector's runs unasked."""
    db = str(tmp_path / "index.db")
    with collector_process(db, "--no-grpc", variables=COLLECTOR_TOKEN) as collector:
        record_runs(
            child_environment(SPANFLOW_ENDPOINT=collector.http_url, SPANFLOW_COLLECTOR_TOKEN=TOKEN)
        )
        command = [sys.executable, "-m", "spanflow.cli", "ui", "--port", "0"]
        command += ["--url", collector.http_url]
        environment = child_environment(PYTHONUNBUFFERED="1", SPANFLOW_COLLECTOR_READ_TOKEN=TOKEN)
        with ready_process(command, environment, "spanflow ui ready:") as (line, _):
            url = line.split("ready: ", 1)[1].split()[0]
            page.goto(url)
            page.get_by_role("link", name="eval-candidate").wait_for(timeout=WAIT_MS)
            assert page.locator(".token-form").count() == 0


def test_spanflow_ui_db_with_a_token_asks_browsers_for_it(page: Any, recorded_db: Path) -> None:
    """`spanflow ui --db` given a read token makes browsers give it, and refuses deletes."""
    command = [sys.executable, "-m", "spanflow.cli", "ui", "--db", str(recorded_db), "--port", "0"]
    environment = child_environment(PYTHONUNBUFFERED="1", SPANFLOW_COLLECTOR_READ_TOKEN=TOKEN)
    with ready_process(command, environment, "spanflow ui ready:") as (line, _):
        url = line.split("ready: ", 1)[1].split()[0]
        assert _answer(f"{url}api/v1/runs")[0] == 401
        page.goto(url)
        page.get_by_label("Token").fill(TOKEN)
        page.get_by_role("button", name="Continue").click()
        page.get_by_role("link", name="eval-baseline").wait_for(timeout=WAIT_MS)
        run_id = page.locator("tr[data-run-id]").first.get_attribute("data-run-id")
        deletion = urllib.request.Request(
            f"{url}api/v1/runs/{run_id}",
            method="DELETE",
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(deletion, timeout=30)
        refused.value.close()
        assert refused.value.code == 403
