"""Runs follow the code: asyncio tasks, threads and thread pools, never a neighbour's run."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from opentelemetry import trace

import spanflow
from spanflow._internal import threads
from spanflow.testing import SpanCapture

tracer = trace.get_tracer("tests.runs.context")


def _owner_by_span_name(capture: SpanCapture) -> dict[str, str | None]:
    return {span.name: span.run_id for span in capture.spans()}


def test_32_threads_opening_subruns_concurrently_attribute_every_span_correctly(
    spanflow_capture: SpanCapture,
) -> None:
    """Spans in 32 threads go to the parent run before, and to each thread's subrun inside."""
    count = 32
    barrier = threading.Barrier(count, timeout=30)
    subrun_ids: dict[int, str] = {}
    parent_ids: dict[int, str | None] = {}

    def work(index: int) -> None:
        with tracer.start_as_current_span(f"before-{index}"):
            pass
        with spanflow.run(f"thread-{index}") as sub:
            subrun_ids[index] = sub.id
            parent_ids[index] = sub.parent_id
            barrier.wait()  # every subrun is open at the same time
            for step in range(3):
                with tracer.start_as_current_span(f"work-{index}-{step}"):
                    spanflow.log_metric("step", step)
                barrier.wait()
        with tracer.start_as_current_span(f"after-{index}"):
            pass

    with spanflow.run("parent") as parent:
        workers = [threading.Thread(target=work, args=(i,)) for i in range(count)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
    owners = _owner_by_span_name(spanflow_capture)
    runs = spanflow_capture.runs_by_name()
    for index in range(count):
        assert parent_ids[index] == parent.id
        assert owners[f"before-{index}"] == parent.id
        assert owners[f"after-{index}"] == parent.id
        for step in range(3):
            assert owners[f"work-{index}-{step}"] == subrun_ids[index]
        captured = runs[f"thread-{index}"]
        assert [p.value for p in captured.metric_points] == [0.0, 1.0, 2.0]
    assert len(set(subrun_ids.values())) == count


def test_200_asyncio_tasks_opening_subruns_concurrently_attribute_every_span_correctly(
    spanflow_capture: SpanCapture,
) -> None:
    """200 interleaved tasks under asyncio.gather each get their own subrun's spans."""
    count = 200
    subrun_ids: dict[int, str] = {}

    async def sample(index: int, everyone_open: asyncio.Event, opened: list[int]) -> None:
        async with spanflow.run(f"task-{index}") as sub:
            subrun_ids[index] = sub.id
            opened.append(index)
            if len(opened) == count:
                everyone_open.set()
            await everyone_open.wait()
            for step in range(3):
                with tracer.start_as_current_span(f"work-{index}-{step}"):
                    await asyncio.sleep(0)
                spanflow.log_metric("index", index, step=step)

    async def main() -> str:
        everyone_open = asyncio.Event()
        opened: list[int] = []
        async with spanflow.run("parent") as parent:
            await asyncio.gather(*(sample(i, everyone_open, opened) for i in range(count)))
            return parent.id

    parent_id = asyncio.run(main())
    owners = _owner_by_span_name(spanflow_capture)
    runs = spanflow_capture.runs_by_name()
    assert len(runs) == count + 1
    for index in range(count):
        for step in range(3):
            assert owners[f"work-{index}-{step}"] == subrun_ids[index]
        captured = runs[f"task-{index}"]
        assert captured.parent_id == parent_id
        assert {p.value for p in captured.metric_points} == {float(index)}


def test_thread_pool_work_items_belong_to_the_run_that_submitted_them(
    spanflow_capture: SpanCapture,
) -> None:
    """A pool created in one run serves later runs and code outside runs without mixing them."""

    def traced(label: str) -> str | None:
        with tracer.start_as_current_span(label):
            handle = spanflow.current_run()
            return handle.id if handle is not None else None

    with ThreadPoolExecutor(max_workers=4) as pool:
        with spanflow.run("first") as first:
            assert pool.submit(traced, "in-first").result() == first.id
        with spanflow.run("second") as second:
            seen = list(pool.map(traced, [f"in-second-{i}" for i in range(8)]))
            assert seen == [second.id] * 8
        assert pool.submit(traced, "outside").result() is None
    owners = _owner_by_span_name(spanflow_capture)
    assert owners["in-first"] == first.id
    assert all(owners[f"in-second-{i}"] == second.id for i in range(8))
    assert owners["outside"] is None


def test_concurrent_subruns_in_a_thread_pool_each_get_their_own_spans(
    spanflow_capture: SpanCapture,
) -> None:
    """32 subruns opened by pool work items running at once are never confused."""
    count = 32
    barrier = threading.Barrier(8, timeout=30)

    def sample(index: int) -> str:
        with spanflow.run(f"pooled-{index}") as sub:
            barrier.wait()
            with tracer.start_as_current_span(f"pooled-work-{index}"):
                pass
            return sub.id

    with spanflow.run("pool-parent") as parent, ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(sample, range(count)))
    owners = _owner_by_span_name(spanflow_capture)
    for index in range(count):
        assert owners[f"pooled-work-{index}"] == ids[index]
        assert spanflow_capture.run(f"pooled-{index}").parent_id == parent.id


def test_asyncio_to_thread_keeps_the_run(spanflow_capture: SpanCapture) -> None:
    """Work sent to a thread with asyncio.to_thread stays in the run that sent it."""

    def blocking() -> str | None:
        handle = spanflow.current_run()
        return handle.id if handle is not None else None

    async def main() -> tuple[str, str | None]:
        async with spanflow.run("to-thread") as handle:
            return handle.id, await asyncio.to_thread(blocking)

    expected, seen = asyncio.run(main())
    assert seen == expected


def test_thread_propagation_can_be_turned_off_and_restores_the_originals(
    spanflow_capture: SpanCapture,
) -> None:
    """`configure(propagate_context=False)` puts back the original Thread and pool methods."""
    assert threads.installed()
    try:
        spanflow.configure(exporters=[spanflow_capture.exporter], propagate_context=False)
        assert not threads.installed()
        assert threading.Thread.start.__module__ == "threading"
        assert ThreadPoolExecutor.submit.__module__ == "concurrent.futures.thread"
        seen: list[object] = []
        with spanflow.run("no-propagation"):
            worker = threading.Thread(target=lambda: seen.append(spanflow.current_run()))
            worker.start()
            worker.join()
        assert seen == [None]
    finally:
        spanflow.configure(exporters=[spanflow_capture.exporter])
    assert threads.installed()
    assert spanflow_capture.run("no-propagation").status == "completed"
