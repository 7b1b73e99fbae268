"""Fixtures for the web UI's browser tests: recorded runs, a ``spanflow ui`` process, Chromium.

Chromium is Debian's (``apt-get install chromium``), driven by Playwright; nothing is ever
downloaded. Without it (or without Playwright or the built UI) the tests skip on a developer's
machine and fail when ``CI`` is set, like the PostgreSQL tests with SPANFLOW_REQUIRE_POSTGRES.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.environments import child_environment

CHROMIUM_PATH = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
RECORDER = Path(__file__).with_name("recorder.py")
UI_INDEX = Path(__file__).resolve().parents[2] / "collector/spanflow_collector/ui/static/index.html"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "ui"
READY_TIMEOUT_S = 60.0
RECORD_TIMEOUT_S = 120.0
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}


def _missing_requirement() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install -e '.[dev]')"
    if not os.path.exists(CHROMIUM_PATH):
        return f"Chromium is not installed at {CHROMIUM_PATH} (apt-get install chromium)"
    if not UI_INDEX.is_file():
        return f"the web UI is not built ({UI_INDEX} is missing: run `make ui`)"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, for the whole session; skip (fail in CI) when missing."""
    missing = _missing_requirement()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests need: {missing}", pytrace=False)
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
        _playwright_loop.append(_park_running_loop())
        try:
            yield launched
        finally:
            asyncio._set_running_loop(_playwright_loop.pop())
            launched.close()
    # The dispatcher's loop is closed now; leave no running or current loop behind.
    asyncio._set_running_loop(None)
    asyncio.set_event_loop(None)


# Playwright's sync API marks its own event loop as this thread's running loop between calls
# (its dispatcher greenlet resumes inside that loop). Left set, every later test in the
# process that calls asyncio.run() or a CLI main() using it fails with "cannot be called from
# a running event loop". So the loop is parked while no browser test runs, and restored for
# the duration of each one (and for the browser's shutdown).
_playwright_loop: list[asyncio.AbstractEventLoop | None] = []


def _park_running_loop() -> asyncio.AbstractEventLoop | None:
    """Unset this thread's running loop and return it."""
    running = asyncio._get_running_loop()
    asyncio._set_running_loop(None)
    return running


@pytest.fixture(autouse=True)
def _playwright_loop_while_testing(request: pytest.FixtureRequest) -> Iterator[None]:
    """For a browser test: Playwright's loop runs during the test and is parked after it.

    Autouse, so it is set up before ``page`` and torn down after it: the page's own teardown
    (closing its context) still talks to the browser.
    """
    if "browser" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("browser")
    asyncio._set_running_loop(_playwright_loop[-1])
    try:
        yield
    finally:
        _playwright_loop[-1] = _park_running_loop()


@pytest.fixture(scope="session")
def recorded_db(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Path:
    """An embedded index holding runs recorded by the real SDK against the fake LLM server."""
    db = tmp_path_factory.mktemp("ui-index") / "index.db"
    record_runs(child_environment(SPANFLOW_DB=str(db)))
    return db


def record_runs(environment: dict[str, str]) -> None:
    """Run the recorder script's ``record`` step in its own process."""
    done = subprocess.run(
        [sys.executable, str(RECORDER), "record"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=RECORD_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@dataclass
class UiServer:
    """A running ``spanflow ui`` and what it serves."""

    url: str
    db: Path


@pytest.fixture(scope="session")
def ui_server(recorded_db: Path) -> Iterator[UiServer]:
    """``spanflow ui --db <recorded index> --port 0`` as a real process."""
    command = [sys.executable, "-m", "spanflow.cli", "ui", "--db", str(recorded_db), "--port", "0"]
    environment = child_environment(PYTHONUNBUFFERED="1")
    with ready_process(command, environment, "spanflow ui ready:") as (line, _):
        yield UiServer(url=line.split("ready: ", 1)[1].split()[0], db=recorded_db)


@contextmanager
def ready_process(
    command: list[str], environment: dict[str, str], marker: str
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """Start ``command``; yield its first stdout line containing ``marker``; terminate it after."""
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=environment,
        text=True,
    )
    try:
        seen: list[str] = []
        line = readline_within(process, READY_TIMEOUT_S, marker, seen)
        if line is None:
            raise RuntimeError(f"{command} never said {marker!r}: {''.join(seen)}")
        yield line, process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(READY_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(READY_TIMEOUT_S)
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()


def readline_within(
    process: subprocess.Popen[str], timeout_s: float, marker: str, seen: list[str]
) -> str | None:
    """The first stdout line containing ``marker``, or None after ``timeout_s`` or at EOF."""
    found: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            seen.append(line)
            if marker in line:
                found.append(line.strip())
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout_s)
    return found[0] if found else None


@dataclass
class BrowserLog:
    """What a page did that a test may forbid: requests, dialogs, script errors."""

    request_urls: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def off_loopback(self) -> list[str]:
        """Requests to any host but this machine's loopback."""
        return [
            url
            for url in self.request_urls
            if urlsplit(url).scheme not in ("data", "about", "blob")
            and urlsplit(url).hostname not in LOOPBACK_HOSTS
        ]


@pytest.fixture
def browser_log() -> BrowserLog:
    """The current page's request, dialog and error log."""
    return BrowserLog()


@pytest.fixture
def page(browser: Any, browser_log: BrowserLog) -> Iterator[Any]:
    """A fresh page that logs every request (aborting any off loopback) and every dialog."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})

    def route(request_route: Any) -> None:
        browser_log.request_urls.append(request_route.request.url)
        if urlsplit(request_route.request.url).hostname in LOOPBACK_HOSTS:
            request_route.continue_()
        else:
            request_route.abort()

    def dialog(opened: Any) -> None:
        browser_log.dialogs.append(opened.message)
        opened.dismiss()

    context.route("**/*", route)
    opened_page = context.new_page()
    opened_page.on("dialog", dialog)
    opened_page.on("pageerror", lambda error: browser_log.page_errors.append(str(error)))
    yield opened_page
    context.close()
    assert browser_log.off_loopback() == [], "the UI made requests beyond 127.0.0.1"
    assert browser_log.page_errors == [], "the UI raised in the browser"


def screenshot(page: Any, name: str) -> None:
    """Save a full-page screenshot under test-artifacts/ui/ (git-ignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
