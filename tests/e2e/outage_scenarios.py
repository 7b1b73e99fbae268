"""Scripts the outage tests run as real processes (``python -m tests.e2e.outage_scenarios NAME``).

Each configures spanflow from the environment the test gives it, prints ``key=value`` lines the
test reads, and waits on a line of stdin where the test has to do something in between (kill or
restart the collector).
"""

from __future__ import annotations

import sys
import time

import spanflow
from spanflow._internal import config

SPANS_PER_PHASE = 20


def _emit(phase: str, count: int) -> None:
    tracer = config.tracer()
    for n in range(count):
        with tracer.start_as_current_span(f"{phase}-{n}"):
            pass


def outage_mid_run() -> None:
    """Spans before, during and after a collector outage; the test restarts it in between."""
    with spanflow.run("outage") as run:
        print(f"run_id={run.id}", flush=True)
        _emit("before", SPANS_PER_PHASE)
        print(f"flushed_before={spanflow.force_flush(timeout_s=20)}", flush=True)
        sys.stdin.readline()  # the test killed the collector
        _emit("during", SPANS_PER_PHASE)
        spanflow.log_metric("logged_during_outage", 1.0)
        print(f"flushed_during={spanflow.force_flush(timeout_s=1)}", flush=True)
        sys.stdin.readline()  # the test restarted the collector
        _emit("after", SPANS_PER_PHASE)
    print(f"flushed_end={spanflow.force_flush(timeout_s=30)}", flush=True)


def exit_while_down() -> None:
    """A whole run while the collector is down, then exit; prints when the run ended."""
    with spanflow.run("exit-while-down") as run:
        print(f"run_id={run.id}", flush=True)
        _emit("work", SPANS_PER_PHASE)
    print(f"ended_at={time.monotonic()}", flush=True)


def flush_result() -> None:
    """One run, then ``force_flush(timeout_s=1)``: prints its result and how long it took."""
    with spanflow.run("flush-result", params={"protocol_check": "yes"}) as run:
        print(f"run_id={run.id}", flush=True)
        _emit("work", 3)
    started = time.monotonic()
    result = spanflow.force_flush(timeout_s=1)
    print(f"flushed={result} took_s={time.monotonic() - started:.2f}", flush=True)


def spool_overflow() -> None:
    """Big spans while the endpoint refuses retryably, with a tiny spool: the oldest drop."""
    with spanflow.run("overflow") as run:
        print(f"run_id={run.id}", flush=True)
        tracer = config.tracer()
        for n in range(40):
            with tracer.start_as_current_span(f"big-{n}") as span:
                span.set_attribute("payload", "x" * 2000)
            if n % 10 == 9:
                spanflow.force_flush(timeout_s=2)  # one request (and spool file) per 10 spans
        sys.stdin.readline()  # the test lets the endpoint accept again
    print(f"flushed_end={spanflow.force_flush(timeout_s=30)}", flush=True)


def _forked_child_work() -> None:
    _emit("child", 5)
    sys.exit(0 if spanflow.force_flush(timeout_s=20) else 3)


def fork_during_outage() -> None:
    """A child forked while the parent's transport is down; the test ends the outage first."""
    import multiprocessing

    with spanflow.run("fork-parent") as run:
        print(f"run_id={run.id}", flush=True)
        _emit("parent", 5)
        print(f"flushed_down={spanflow.force_flush(timeout_s=1)}", flush=True)
        sys.stdin.readline()  # the endpoint accepts again
        child = multiprocessing.get_context("fork").Process(target=_forked_child_work)
        child.start()
        child.join(60)
        print(f"child_exit={child.exitcode}", flush=True)
    print(f"flushed_end={spanflow.force_flush(timeout_s=30)}", flush=True)


if __name__ == "__main__":
    {
        "outage_mid_run": outage_mid_run,
        "exit_while_down": exit_while_down,
        "flush_result": flush_result,
        "spool_overflow": spool_overflow,
        "fork_during_outage": fork_during_outage,
    }[sys.argv[1]]()
