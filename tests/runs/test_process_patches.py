"""The process-wide patches for children: undoable, idempotent, and harmless when spanflow fails.

Real child processes are exercised in test_process_delivery.py; these tests call a pool task
in this process, the way a worker calls it after unpickling.
"""

from __future__ import annotations

import multiprocessing.pool
import multiprocessing.process
import pickle
from concurrent.futures import ProcessPoolExecutor

import pytest
from opentelemetry import trace

import spanflow
from spanflow._internal import child_exit, inherit, pool_tasks, provider_state
from spanflow._internal.pool_tasks import PoolTask
from spanflow.testing import SpanCapture

tracer = trace.get_tracer("tests.runs.process_patches")


def _patched_methods() -> list[object]:
    return [
        multiprocessing.pool.Pool.apply_async,
        multiprocessing.pool.Pool._guarded_task_generation,  # type: ignore[attr-defined]
        ProcessPoolExecutor.submit,
        multiprocessing.process.BaseProcess._bootstrap,  # type: ignore[attr-defined]
    ]


def _end_a_span() -> str:
    tracer.start_span("in-task").end()
    return "done"


def _fail() -> None:
    raise ValueError("from the task")


def test_disabling_restores_the_originals_and_configuring_twice_wraps_once(
    spanflow_capture: SpanCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OTEL_SDK_DISABLED puts the pool and process methods back; configure() again wraps once."""
    wrapped = _patched_methods()
    assert all(getattr(method, "__wrapped__", None) is not None for method in wrapped)
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    try:
        spanflow.configure(exporters=[spanflow_capture.exporter])
        assert not pool_tasks.installed() and not child_exit.installed()
        originals = _patched_methods()
        assert all(getattr(method, "__wrapped__", None) is None for method in originals)
        assert multiprocessing.pool.Pool.apply_async.__module__ == "multiprocessing.pool"
    finally:
        monkeypatch.delenv("OTEL_SDK_DISABLED")
        spanflow.configure(exporters=[spanflow_capture.exporter])
        spanflow.configure(exporters=[spanflow_capture.exporter])
    again = _patched_methods()
    assert all(getattr(method, "__wrapped__", None) in originals for method in again)


def test_a_pool_task_travels_by_pickle_and_runs_in_the_submitters_run(
    spanflow_capture: SpanCapture,
) -> None:
    """A task pickled inside a run and called outside it still records its span in that run."""
    with spanflow.run("submitter") as run:
        task = pickle.loads(pickle.dumps(PoolTask(_end_a_span, inherit.carrier_for_current_run())))
    assert task() == "done"
    (span,) = spanflow_capture.spans_named("in-task")
    assert span.run_id == run.id
    assert span.parent_span_id == spanflow_capture.run("submitter").root.span_id


def test_a_pool_task_flushes_only_when_it_ended_spans(
    spanflow_capture: SpanCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A task that made no span costs no flush; one that ended a span flushes once."""
    flushes: list[float] = []
    monkeypatch.setattr(
        provider_state, "force_flush", lambda timeout_s=30.0: flushes.append(timeout_s) or True
    )
    assert PoolTask(lambda: 7, {})() == 7
    assert flushes == []
    assert PoolTask(_end_a_span, {})() == "done"
    assert flushes == [pool_tasks.TASK_FLUSH_TIMEOUT_S]


def test_after_a_flush_times_out_later_tasks_do_not_wait(
    spanflow_capture: SpanCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exporter that cannot keep up costs one bounded wait, not one per task."""
    flushes: list[float] = []
    monkeypatch.setattr(
        provider_state, "force_flush", lambda timeout_s=30.0: bool(flushes.append(timeout_s))
    )
    monkeypatch.setattr(pool_tasks, "_flush_paused_until", 0.0)
    for _ in range(3):
        assert PoolTask(_end_a_span, {})() == "done"
    assert len(flushes) == 1


def test_a_pool_task_returns_and_raises_like_its_function_when_spanflow_fails(
    spanflow_capture: SpanCapture, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Broken context entry and flushing never change what the task returns or raises."""

    def broken(*args: object, **kwargs: object) -> bool:
        raise RuntimeError("spanflow internals broke")

    monkeypatch.setattr(inherit, "context_from_carrier", broken)
    monkeypatch.setattr(provider_state, "force_flush", broken)
    with spanflow.run("submitter"):
        carrier = inherit.carrier_for_current_run()
    assert PoolTask(_end_a_span, carrier)() == "done"
    with pytest.raises(ValueError, match="from the task"):
        PoolTask(_fail, carrier)()
    assert "pool task" in caplog.text


def test_thread_pool_tasks_run_in_the_submitters_run(spanflow_capture: SpanCapture) -> None:
    """multiprocessing.pool.ThreadPool work joins the run that submitted it, not the creator's."""
    with multiprocessing.pool.ThreadPool(2) as pool:
        with spanflow.run("first") as first:
            assert pool.apply_async(_end_a_span).get(30) == "done"
        with spanflow.run("second") as second:
            assert pool.map(lambda _: _end_a_span(), range(2)) == ["done", "done"]
    owners = [span.run_id for span in spanflow_capture.spans_named("in-task")]
    assert owners == [first.id, second.id, second.id]
