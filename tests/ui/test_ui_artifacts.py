"""The run page's artifacts panel in a real browser: sizes, downloads, references, hostile names."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.environments import child_environment
from tests.ui.conftest import BrowserLog, UiServer, ready_process, screenshot

pytestmark = pytest.mark.slow
WAIT_MS = 20_000
XSS_NAME = '<img src=x onerror="window.__xss=1">../../evil.html'
RECORD = f"""
import spanflow
with spanflow.run("with-artifacts") as run:
    spanflow.log_artifact(b"a,b\\n1,2\\n", name="table.csv")
    spanflow.log_artifact(b"<script>window.__xss=2</script>", name={XSS_NAME!r})
    spanflow.log_artifact(b"z" * 3000, name="large.bin")
with spanflow.run("no-artifacts") as plain:
    pass
print(run.id, plain.id)
"""


@pytest.fixture(scope="module")
def artifacts_ui(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    """`spanflow ui` over an index holding a run with stored, hostile and reference artifacts."""
    db = tmp_path_factory.mktemp("ui-artifacts") / "index.db"
    done = subprocess.run(
        [sys.executable, "-c", RECORD],
        env=child_environment(SPANFLOW_DB=str(db), SPANFLOW_MAX_ARTIFACT_BYTES="1000"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    command = [sys.executable, "-m", "spanflow.cli", "ui", "--db", str(db), "--port", "0"]
    with ready_process(command, child_environment(PYTHONUNBUFFERED="1"), "spanflow ui ready:") as (
        line,
        _,
    ):
        server = UiServer(url=line.split("ready: ", 1)[1].split()[0], db=db)
        server.run_ids = done.stdout.split()  # type: ignore[attr-defined]
        yield server


def test_the_panel_lists_artifacts_and_downloads_stored_content(
    page: Any, artifacts_ui: UiServer, browser_log: BrowserLog, tmp_path: Path
) -> None:
    """Each artifact shows its size and type; a stored one downloads as a file with a plain
    name and the exact bytes; a reference says so; a hostile name is text and never runs."""
    run_id, plain_id = artifacts_ui.run_ids  # type: ignore[attr-defined]
    page.goto(f"{artifacts_ui.url}#/run/{run_id}")
    panel = page.locator("section.artifacts")
    panel.wait_for(timeout=WAIT_MS)
    assert panel.get_by_role("heading").inner_text() == "Artifacts (3)"
    table_row = panel.locator('tr[data-artifact="table.csv"]')
    assert table_row.locator("td").nth(1).inner_text() == "8 B"
    assert table_row.locator("td").nth(2).inner_text() == "text/csv"
    large_row = panel.locator('tr[data-artifact="large.bin"]')
    assert large_row.locator("td").nth(1).inner_text() == "2.9 KiB"
    assert "reference only" in large_row.inner_text()
    assert large_row.get_by_role("button").count() == 0
    assert panel.get_by_text(XSS_NAME, exact=True).count() == 1
    screenshot(page, "run-artifacts")

    with page.expect_download(timeout=WAIT_MS) as table_download:
        table_row.get_by_role("button", name="download table.csv").click()
    saved = tmp_path / "table.csv"
    table_download.value.save_as(saved)
    assert table_download.value.suggested_filename == "table.csv"
    assert saved.read_bytes() == b"a,b\n1,2\n"

    with page.expect_download(timeout=WAIT_MS) as hostile_download:
        panel.get_by_role("button", name=f"download {XSS_NAME}").click()
    assert hostile_download.value.suggested_filename == "evil.html"
    hostile_download.value.save_as(tmp_path / "evil.html")
    assert (tmp_path / "evil.html").read_bytes() == b"<script>window.__xss=2</script>"

    assert page.evaluate("typeof window.__xss") == "undefined"
    assert browser_log.dialogs == []
    assert any("/artifacts/content?name=table.csv" in url for url in browser_log.request_urls)

    page.goto(f"{artifacts_ui.url}#/run/{plain_id}")
    page.locator(".run-header h1").wait_for(timeout=WAIT_MS)
    assert page.locator("section.artifacts").count() == 0
