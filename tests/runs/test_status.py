"""Honest run status: completed, failed with the error, cancelled; the user's exception kept."""

from __future__ import annotations

import asyncio

import pytest

import spanflow
from spanflow import attributes
from spanflow.testing import SpanCapture


class EvalError(Exception):
    """A user error raised inside a run."""


def test_a_failing_run_records_the_error_and_reraises_the_same_object(
    spanflow_capture: SpanCapture,
) -> None:
    """The run ends failed with error type and message; the caller gets the very exception."""
    raised = EvalError("sample 3 broke")
    with pytest.raises(EvalError) as caught, spanflow.run("failing") as handle:
        raise raised
    assert caught.value is raised
    assert handle.status == "failed"
    run = spanflow_capture.run("failing")
    assert run.status == "failed"
    assert run.root.status == "ERROR"
    assert run.root.attributes[attributes.ERROR_TYPE] == "EvalError"
    assert run.root.attributes[attributes.ERROR_MESSAGE] == "sample 3 broke"
    (exception_event,) = [e for e in run.root.events if e.name == "exception"]
    assert exception_event.attributes["exception.message"] == "sample 3 broke"


def test_a_failing_decorated_function_reraises_the_same_object(
    spanflow_capture: SpanCapture,
) -> None:
    """The decorator form keeps the user's exception object too."""
    raised = ValueError("bad input")

    @spanflow.run("decorated-failure")
    def work() -> None:
        raise raised

    with pytest.raises(ValueError) as caught:
        work()
    assert caught.value is raised
    assert spanflow_capture.run("decorated-failure").status == "failed"


def test_keyboard_interrupt_ends_the_run_cancelled(spanflow_capture: SpanCapture) -> None:
    """Ctrl-C inside a run makes it cancelled, not failed, and still propagates."""
    with pytest.raises(KeyboardInterrupt), spanflow.run("interrupted-by-user"):
        raise KeyboardInterrupt
    run = spanflow_capture.run("interrupted-by-user")
    assert run.status == "cancelled" and run.root.status == "ERROR"


def test_asyncio_cancellation_ends_the_run_cancelled(spanflow_capture: SpanCapture) -> None:
    """A task cancelled inside `async with run()` ends its run as cancelled."""
    entered = asyncio.Event()

    async def worker() -> None:
        async with spanflow.run("cancelled-task"):
            entered.set()
            await asyncio.Event().wait()

    async def main() -> None:
        task = asyncio.create_task(worker())
        await entered.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert spanflow_capture.run("cancelled-task").status == "cancelled"


def test_a_failed_subrun_handled_by_the_parent_leaves_the_parent_completed(
    spanflow_capture: SpanCapture,
) -> None:
    """A subrun failure caught by the caller fails only the subrun."""
    with spanflow.run("parent"):
        try:
            with spanflow.run("child"):
                raise RuntimeError("one sample")
        except RuntimeError:
            pass
    assert spanflow_capture.run("child").status == "failed"
    assert spanflow_capture.run("parent").status == "completed"


def test_system_exit_zero_completes_and_nonzero_fails(spanflow_capture: SpanCapture) -> None:
    """`sys.exit(0)` inside a run is a completion; `sys.exit(2)` is a failure."""
    with pytest.raises(SystemExit), spanflow.run("exit-0"):
        raise SystemExit(0)
    with pytest.raises(SystemExit), spanflow.run("exit-2"):
        raise SystemExit(2)
    assert spanflow_capture.run("exit-0").status == "completed"
    assert spanflow_capture.run("exit-2").status == "failed"


def test_the_start_record_names_the_root_and_carries_the_run_facts(
    spanflow_capture: SpanCapture,
) -> None:
    """The start record carries name, project, tags, parent id and interval; no marker span."""
    with spanflow.run("parent") as parent, spanflow.run("marked", tags=["x"], params={"p": 1}):
        pass
    run = spanflow_capture.run("marked")
    (start,) = run.records_of(attributes.RecordKindValue.START)
    assert (start.trace_id, start.span_id) == (run.root.trace_id, run.root.span_id)
    assert start.run_id == run.id and start.segment == 0
    assert start.fields[attributes.RUN_NAME] == "marked"
    assert start.fields[attributes.PROJECT] == "default"
    assert start.fields[attributes.RUN_TAGS] == ("x",)
    assert start.fields[attributes.RUN_PARENT_ID] == parent.id
    assert start.fields[attributes.RUN_HEARTBEAT_INTERVAL_S] == 30.0
    assert start.time_ns < run.root.end_time_ns
    assert run.params == {"p": 1}
    assert run.work_spans == []
