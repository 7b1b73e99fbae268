"""multiprocessing scenarios for tests/runs/test_process_delivery.py: ``MODE METHOD [instrument]``.

spanflow is configured at module top level (with ``instrument`` as a third argument, by the
README's ``spanflow.instrument()``; otherwise by ``configure()``, which spares every spawned
worker the LLM client imports), so a spawned or
forkserver child re-imports this module (as ``__mp_main__``) and configures spanflow before it
knows its parent's run. No child ever calls ``force_flush()``: what reaches the receiver got
there on its own. Each task makes a plain span and a run of its own.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import multiprocessing.queues
import signal
import sys
from collections.abc import Callable

from opentelemetry import trace

import spanflow

if sys.argv[3:] == ["instrument"]:  # the README's own line; spawned children run it again
    spanflow.instrument()
else:
    spanflow.configure()

LABELS = ("a", "b", "c", "d")


def task(label: str) -> str:
    """One unit of work in a child: a span in the caller's run, then a subrun."""
    trace.get_tracer("child").start_span(f"work-in-{label}").end()
    with spanflow.run(f"subrun-in-{label}"):
        pass
    return label


def kill_every_child() -> None:
    """SIGKILL every child: what a worker did not deliver before returning its result is lost.

    All at once: a worker killed while the others live may die holding the task queue's lock,
    and they would wait for it forever (a CPython limitation; ``Pool`` has it too).
    """
    for child in multiprocessing.active_children():
        child.kill()


def process(context: multiprocessing.context.BaseContext) -> None:
    with spanflow.run("parent-run"):
        child = context.Process(target=task, args=("a",))  # type: ignore[attr-defined]
        child.start()
        child.join(60)
        assert child.exitcode == 0, child.exitcode


def pool_map_terminated(context: multiprocessing.context.BaseContext) -> None:
    with spanflow.run("parent-run"):
        pool = context.Pool(2)
        assert len(pool.map(task, LABELS)) == len(LABELS)
        pool.terminate()  # SIGTERM: the workers' exit hooks do not run
        pool.join()


def pool_imap(context: multiprocessing.context.BaseContext) -> None:
    with spanflow.run("parent-run"), context.Pool(2) as pool:  # leaving terminates the workers
        assert len(list(pool.imap(task, LABELS))) == len(LABELS)


def pool_apply_async(context: multiprocessing.context.BaseContext) -> None:
    with spanflow.run("parent-run"), context.Pool(2) as pool:
        results = [pool.apply_async(task, (label,)) for label in LABELS]
        assert all(result.get(60) for result in results)


def pool_max_tasks(context: multiprocessing.context.BaseContext) -> None:
    with spanflow.run("parent-run"):
        pool = context.Pool(2, maxtasksperchild=1)
        assert len(pool.map(task, LABELS, chunksize=1)) == len(LABELS)
        pool.close()
        pool.join()


def executor_reused_then_killed(context: multiprocessing.context.BaseContext) -> None:
    """One executor serves two runs; its workers are SIGKILLed once all results are in."""
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=context) as executor:
        with spanflow.run("parent-run"):
            assert len(list(executor.map(task, LABELS[:2]))) == 2
        with spanflow.run("second-parent-run"):
            assert all(executor.submit(task, label).result(60) for label in LABELS[2:])
        kill_every_child()


def wait_for_work(
    ready: multiprocessing.queues.Queue[str], work: multiprocessing.queues.Queue[str]
) -> None:
    """A child with a span in flight that waits in C for work that never comes."""
    trace.get_tracer("child").start_span("waiting").end()  # the exporter thread is busy now
    ready.put("ready")
    work.get()


def terminate_a_waiting_child(context: multiprocessing.context.BaseContext) -> None:
    """terminate() ends a child blocked in Queue.get(), whichever thread the signal lands on."""
    with spanflow.run("parent-run"):
        for _ in range(5):
            # Fresh queues each time: a killed child may die holding a queue's lock.
            ready, work = context.Queue(), context.Queue()  # type: ignore[attr-defined]
            child = context.Process(target=wait_for_work, args=(ready, work))  # type: ignore[attr-defined]
            child.start()
            assert ready.get(timeout=60) == "ready"
            child.terminate()
            child.join(30)
            assert child.exitcode == -signal.SIGTERM, child.exitcode


SCENARIOS: dict[str, Callable[[multiprocessing.context.BaseContext], None]] = {
    "process": process,
    "pool-map-terminated": pool_map_terminated,
    "pool-imap": pool_imap,
    "pool-apply-async": pool_apply_async,
    "pool-max-tasks": pool_max_tasks,
    "executor": executor_reused_then_killed,
    "terminate-waiting": terminate_a_waiting_child,
}

if __name__ == "__main__":
    SCENARIOS[sys.argv[1]](multiprocessing.get_context(sys.argv[2]))
