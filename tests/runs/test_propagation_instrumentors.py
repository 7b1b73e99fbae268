"""Thread and process propagation are instrumentors: idempotent, undone exactly, harmless."""

from __future__ import annotations

import functools
import json
import multiprocessing.pool
import multiprocessing.process
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

import pytest
from opentelemetry.instrumentation.utils import is_instrumentation_enabled, suppress_instrumentation
from tests.environments import child_environment

import spanflow
from spanflow._internal import inherit
from spanflow._internal.child_exit import ChildExitInstrumentor
from spanflow._internal.guard import internal_error_counts
from spanflow._internal.inherit import ProcessPropagationInstrumentor
from spanflow._internal.pool_tasks import PoolTaskInstrumentor
from spanflow._internal.process_instrumentor import ProcessInstrumentor
from spanflow._internal.threads import ThreadPropagationInstrumentor
from spanflow.testing import SpanCapture

METHODS = [
    (threading.Thread, "start"),
    (ThreadPoolExecutor, "submit"),
    (subprocess.Popen, "__init__"),
    (multiprocessing.process.BaseProcess, "start"),
    (multiprocessing.pool.Pool, "apply_async"),
    (multiprocessing.pool.Pool, "_guarded_task_generation"),
    (ProcessPoolExecutor, "submit"),
    (multiprocessing.process.BaseProcess, "_bootstrap"),
]
PRINT_RUN_CONTEXT = "import os; print(os.environ.get('SPANFLOW_RUN_CONTEXT') or '')"


@pytest.fixture
def uninstrumented(spanflow_capture: SpanCapture) -> Iterator[dict[tuple[type, str], object]]:
    """spanflow's process instrumentors off for the test (on again after it); the originals."""
    instrumentors = _all_instrumentors()
    for instrumentor in instrumentors:
        instrumentor.ensure(instrumented=False)
    try:
        yield {(owner, name): vars(owner)[name] for owner, name in METHODS}
    finally:
        for instrumentor in instrumentors:
            instrumentor.ensure(instrumented=True)


def _all_instrumentors() -> tuple[ProcessInstrumentor, ...]:
    return (
        ThreadPropagationInstrumentor(),
        ProcessPropagationInstrumentor(),
        PoolTaskInstrumentor(),
        ChildExitInstrumentor(),
    )


def _run_seen_by_a_thread() -> str | None:
    seen: list[str | None] = []

    def look() -> None:
        handle = spanflow.current_run()
        seen.append(handle.id if handle is not None else None)

    worker = threading.Thread(target=look, name="probe")
    worker.start()
    worker.join(30)
    return seen[0]


def _run_context_of_a_child() -> str:
    finished = subprocess.run(
        [sys.executable, "-c", PRINT_RUN_CONTEXT],
        capture_output=True,
        text=True,
        timeout=60,
        env=child_environment(),
        check=True,
    )
    return finished.stdout.strip()


def test_instrumenting_twice_wraps_once_and_uninstrumenting_restores_the_originals(
    uninstrumented: dict[tuple[type, str], object],
) -> None:
    """Two instrument() calls wrap each method once; uninstrument() puts back the same objects."""
    instrumentors = _all_instrumentors()
    for instrumentor in instrumentors:
        instrumentor.instrument()
        instrumentor.instrument()  # OpenTelemetry's BaseInstrumentor: a no-op the second time
    for (owner, name), original in uninstrumented.items():
        wrapped = vars(owner)[name]
        assert wrapped is not original
        assert wrapped.__wrapped__ is original  # one layer, not two
    for instrumentor in instrumentors:
        instrumentor.uninstrument()
    for (owner, name), original in uninstrumented.items():
        assert vars(owner)[name] is original


def test_a_library_wrapping_thread_start_after_spanflow_survives_its_uninstrument(
    uninstrumented: dict[tuple[type, str], object],
) -> None:
    """Another wrapper on top of spanflow's keeps working after uninstrument; re-instrumenting
    switches spanflow's layer back on instead of stacking a second one."""
    instrumentor = ThreadPropagationInstrumentor()
    instrumentor.instrument()
    spanflow_layer = vars(threading.Thread)["start"]
    library_calls: list[str] = []

    @functools.wraps(spanflow_layer)
    def library_start(self: threading.Thread) -> None:
        library_calls.append(self.name)
        spanflow_layer(self)

    threading.Thread.start = library_start  # type: ignore[method-assign]
    try:
        instrumentor.uninstrument()
        assert vars(threading.Thread)["start"] is library_start
        with spanflow.run("after-uninstrument"):
            assert _run_seen_by_a_thread() is None  # spanflow's layer passes calls through
        assert library_calls.count("probe") == 1
        instrumentor.instrument()
        assert vars(threading.Thread)["start"] is library_start
        with spanflow.run("instrumented-again") as run:
            assert _run_seen_by_a_thread() == run.id
        assert library_calls.count("probe") == 2
    finally:
        threading.Thread.start = spanflow_layer  # type: ignore[method-assign]  # the library leaves
        instrumentor.uninstrument()
    assert vars(threading.Thread)["start"] is uninstrumented[(threading.Thread, "start")]


def test_a_thread_started_under_suppression_keeps_the_run_and_the_suppression(
    spanflow_capture: SpanCapture,
) -> None:
    """Work moved to a thread is as suppressed as it was inline, and still in its run."""
    seen: list[tuple[str | None, bool]] = []

    def look() -> None:
        handle = spanflow.current_run()
        seen.append((handle.id if handle is not None else None, is_instrumentation_enabled()))

    with spanflow.run("suppressed") as run, suppress_instrumentation():
        worker = threading.Thread(target=look)
        worker.start()
        worker.join(30)
        with ThreadPoolExecutor(1) as pool:
            pool.submit(look).result(30)
    assert seen == [(run.id, False), (run.id, False)]


def test_a_child_process_is_not_handed_the_run_under_suppression(
    spanflow_capture: SpanCapture,
) -> None:
    """A child started under suppress_instrumentation gets no run; one started outside it does."""
    with spanflow.run("parent") as run:
        handed = _run_context_of_a_child()
        with suppress_instrumentation():
            suppressed = _run_context_of_a_child()
            assert inherit.carrier_for_current_run() == {}
    assert json.loads(handed)["id"] == run.id
    assert suppressed == ""


class _RunIsReadOnly(threading.Thread):
    """A thread whose ``run`` cannot be replaced, so spanflow cannot wrap it."""

    def __init__(self, done: threading.Event) -> None:
        super().__init__()
        self._done = done

    @property  # type: ignore[override]
    def run(self) -> Any:
        return self._done.set


def test_the_wrappers_never_fail_the_users_thread_or_child(
    spanflow_capture: SpanCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When spanflow cannot pass the run on, the thread still starts and the child still runs."""

    def broken() -> dict[str, str]:
        raise RuntimeError("spanflow internals broke")

    monkeypatch.setattr(inherit, "carrier_for_current_run", broken)
    done = threading.Event()
    with spanflow.run("broken"):
        thread = _RunIsReadOnly(done)
        thread.start()
        thread.join(30)
        assert _run_context_of_a_child() == ""
    assert done.is_set()
    counts = internal_error_counts()
    assert counts.get("passing the run to a thread", 0) >= 1
    assert counts.get("passing the run to a subprocess", 0) >= 1
