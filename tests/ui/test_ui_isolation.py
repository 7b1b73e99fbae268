"""Browser tests leave the process as they found it: later tests can run event loops."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import spanflow
from spanflow.testing import SpanCapture


def test_asyncio_run_works_once_the_browser_is_up(
    request: pytest.FixtureRequest, spanflow_capture: SpanCapture
) -> None:
    """With Playwright's browser started in this process (as after any browser test), a test
    that is not a browser test can still call asyncio.run and open async runs."""
    request.getfixturevalue("browser")  # starts the session's browser if no test did yet

    async def answer() -> int:
        async with spanflow.run("async-after-browser"):
            await asyncio.sleep(0)
            return 42

    assert asyncio.run(answer()) == 42
    assert [run.name for run in spanflow_capture.runs()] == ["async-after-browser"]


def test_a_browser_test_after_one_that_ran_an_event_loop_still_drives_the_browser(
    browser: Any,
) -> None:
    """Playwright's own loop is back for the next browser test (this file runs it second)."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_content("<p id='x'>ok</p>")
        assert page.inner_text("#x") == "ok"
    finally:
        context.close()
