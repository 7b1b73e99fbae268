"""Imperative runs (`start_run` … `finish`), `log_metrics(**kw)`, and run ids that travel."""

from __future__ import annotations

import threading

import pytest

import spanflow
from spanflow import attributes
from spanflow.testing import SpanCapture


def test_start_run_is_current_until_finish_and_ends_completed(
    spanflow_capture: SpanCapture,
) -> None:
    """`start_run` opens a run that module-level logging finds; `finish()` ends it completed."""
    handle = spanflow.start_run("imperative", params={"model": "small"}, tags=["nightly"])
    assert spanflow.current_run() is handle and handle.status == "running"
    spanflow.log_metrics(loss=0.25, accuracy=0.75)
    handle.log_metrics({"f1": 0.5}, step=3, recall=0.4)
    handle.finish()
    assert spanflow.current_run() is None and handle.status == "completed"
    handle.finish(status="failed")  # a second finish changes nothing
    run = spanflow_capture.run("imperative")
    assert run.status == "completed" and run.params == {"model": "small"}
    assert run.metrics == {"loss": 0.25, "accuracy": 0.75, "f1": 0.5, "recall": 0.4}
    assert {(p.name, p.step) for p in run.metric_points if p.step is not None} == {
        ("f1", 3),
        ("recall", 3),
    }


def test_finish_with_an_error_fails_the_run_and_records_it(spanflow_capture: SpanCapture) -> None:
    """`finish(error=exc)` ends failed with the error's type and message."""
    handle = spanflow.start_run("imperative-failure")
    handle.finish(error=RuntimeError("sample 4 broke"))
    run = spanflow_capture.run("imperative-failure")
    assert run.status == "failed"
    assert run.root.attributes[attributes.ERROR_TYPE] == "RuntimeError"
    assert run.root.attributes[attributes.ERROR_MESSAGE] == "sample 4 broke"
    cancelled = spanflow.start_run("imperative-cancelled")
    cancelled.finish(status="cancelled")
    assert spanflow_capture.run("imperative-cancelled").status == "cancelled"


def test_finish_refuses_an_unknown_status_and_keeps_the_run_open(
    spanflow_capture: SpanCapture,
) -> None:
    """`finish(status="done")` raises ValueError naming the statuses; the run stays running."""
    handle = spanflow.start_run("imperative-bad-status")
    with pytest.raises(ValueError, match="'completed', 'failed', 'cancelled'"):
        handle.finish(status="done")
    assert handle.status == "running"
    handle.finish()
    assert spanflow_capture.run("imperative-bad-status").status == "completed"


def test_a_run_opened_inside_an_imperative_run_is_its_subrun(
    spanflow_capture: SpanCapture,
) -> None:
    """Between `start_run` and `finish`, `with spanflow.run()` opens a subrun of it."""
    parent = spanflow.start_run("imperative-parent")
    with spanflow.run("sample-1") as child:
        spanflow.log_metrics(score=1.0)
    parent.finish()
    assert child.parent_id == parent.id
    assert spanflow_capture.run("sample-1").metrics == {"score": 1.0}


def test_finishing_from_another_thread_ends_the_run(spanflow_capture: SpanCapture) -> None:
    """A run a worker thread started and the main thread finishes ends completed, no error."""
    started: list[spanflow.RunHandle] = []
    worker = threading.Thread(target=lambda: started.append(spanflow.start_run("elsewhere")))
    worker.start()
    worker.join(timeout=10)
    (handle,) = started
    assert spanflow.current_run() is None  # the worker's run is not current here
    handle.finish()
    assert handle.status == "completed"
    assert spanflow_capture.run("elsewhere").status == "completed"


def test_finish_inside_a_with_block_ends_the_run_early(spanflow_capture: SpanCapture) -> None:
    """`r.finish(status="cancelled")` in a `with` block wins over the block's own ending."""
    with spanflow.run("early") as handle:
        handle.finish(status="cancelled")
    assert spanflow_capture.run("early").status == "cancelled"


@pytest.mark.parametrize("bad_id", ["eval/7", "with space", "", "50%", "..", "x" * 129])
def test_run_ids_that_cannot_travel_in_a_url_are_refused(bad_id: str) -> None:
    """An id with `/`, spaces, `%` or too long raises ValueError before any run opens."""
    with pytest.raises(ValueError, match="not a usable run id"):
        spanflow.run("bad", id=bad_id)
    with pytest.raises(ValueError, match="resume="):
        spanflow.start_run(resume=bad_id)


def test_run_ids_with_dots_colons_and_dashes_are_accepted(spanflow_capture: SpanCapture) -> None:
    """Ids such as `nightly:2024-05-01.v2` are kept as given."""
    with spanflow.run("dotted", id="nightly:2024-05-01.v2_a") as handle:
        pass
    assert spanflow_capture.run("dotted").id == handle.id == "nightly:2024-05-01.v2_a"


def test_reusing_an_id_in_the_same_process_follows_if_exists(
    spanflow_capture: SpanCapture,
) -> None:
    """A second `run(id=X)` raises; `if_exists="resume"` adds segment 1; `"new"` gets a new id."""
    with spanflow.run("fixed", id="fixed-id", tags=["a"]):
        pass
    with pytest.raises(spanflow.RunExistsError, match="fixed-id"):
        spanflow.run(id="fixed-id").__enter__()
    with spanflow.run(id="fixed-id", if_exists="resume") as resumed:
        assert (resumed.segment, resumed.name) == (1, "fixed")
    with spanflow.run(id="fixed-id", if_exists="new") as fresh:
        assert fresh.id != "fixed-id"
    assert (
        spanflow_capture.run(fresh.name).root.attributes[
            attributes.RUN_ATTRIBUTE_PREFIX + "rerun_of"
        ]
        == "fixed-id"
    )
    with pytest.raises(ValueError, match="if_exists='sometimes'"):
        spanflow.run(id="x", if_exists="sometimes")  # type: ignore[arg-type]


def test_a_run_finished_by_another_thread_stops_being_current_where_it_started(
    spanflow_capture: SpanCapture, caplog: pytest.LogCaptureFixture
) -> None:
    """The main thread starts a run, a worker finishes it: no context error is logged, and the
    main thread is back outside any run, so a run opened next is top-level, not a subrun."""
    outer = spanflow.start_run("outer-imperative")
    inner = spanflow.start_run("finished-elsewhere")
    finisher = threading.Thread(target=inner.finish)
    finisher.start()
    finisher.join()
    assert inner.status == "completed"
    assert spanflow.current_run() is outer
    outer.finish()
    assert spanflow.current_run() is None
    with spanflow.run("next") as following:
        assert following.parent_id is None
    assert "Failed to detach context" not in caplog.text
    assert spanflow_capture.run("finished-elsewhere").status == "completed"
    assert spanflow_capture.run("finished-elsewhere").parent_id == outer.id


def test_log_params_takes_a_mapping_like_log_metrics(spanflow_capture: SpanCapture) -> None:
    """`log_params({...})` records keys that are not identifiers, keywords too; anything else
    positional is a warning and logs nothing."""
    with spanflow.run("mapped-params") as handle:
        spanflow.log_params({"model name": "m1", "lr": 0.1}, lr=0.2)
        handle.log_params({"batch-size": 8})
        with pytest.warns(spanflow.SpanflowWarning, match=r"log_params\(\) takes a mapping"):
            spanflow.log_params([("a", 1)])  # type: ignore[arg-type]
    assert spanflow_capture.run("mapped-params").params == {
        "model name": "m1",
        "lr": 0.2,
        "batch-size": 8,
    }


def test_log_outputs_and_inputs_take_a_mapping_like_log_params(
    spanflow_capture: SpanCapture,
) -> None:
    """`log_outputs({...})` and `log_inputs({...})` record keys that are not identifiers,
    keywords too (a keyword wins); anything else positional is a warning and logs nothing."""
    with spanflow.run("mapped-values") as handle:
        spanflow.log_outputs({"final answer": "4", "score": "low"}, score="high")
        handle.log_inputs({"dataset row": "2+2"}, prompt="add")
        with pytest.warns(spanflow.SpanflowWarning, match=r"log_outputs\(\) takes a mapping"):
            spanflow.log_outputs("4")  # type: ignore[arg-type]
    run = spanflow_capture.run("mapped-values")
    assert run.outputs == {"final answer": "4", "score": "high"}
    assert run.inputs == {"dataset row": "2+2", "prompt": "add"}


def test_a_run_finished_by_another_task_stops_being_current_in_the_starting_task(
    spanflow_capture: SpanCapture, caplog: pytest.LogCaptureFixture
) -> None:
    """A coroutine starts a run and a task created afterwards finishes it: no context error,
    and the starting coroutine is outside any run again."""
    import asyncio

    async def finish_later(handle: spanflow.RunHandle) -> None:
        handle.finish()

    async def main() -> spanflow.RunHandle | None:
        handle = spanflow.start_run("finished-by-task")
        await asyncio.create_task(finish_later(handle))
        return spanflow.current_run()

    # A loop of its own in a fresh thread: a browser test's driver may hold this thread's loop.
    outcome: list[spanflow.RunHandle | None] = []
    runner = threading.Thread(target=lambda: outcome.append(asyncio.run(main())))
    runner.start()
    runner.join()
    assert outcome == [None]
    assert "Failed to detach context" not in caplog.text
    assert spanflow_capture.run("finished-by-task").status == "completed"
