"""A forked child process keeps detecting, and sees what its parent indexed before the fork."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

CHILD_SCRIPT = textwrap.dedent(
    """
    import os
    from opentelemetry.sdk.trace import TracerProvider
    from spanflow.dataflow import (
        CallInputs, CallOutputs, TextField, get_detector, on_call_end, on_call_start,
        set_dataflow,
    )

    set_dataflow(enabled=True)  # the background worker
    tracer = TracerProvider().get_tracer("fork-test")
    text = "The velvet turbine near the glacier harbor measures every quiet monsoon tide."

    def call(name, inputs, outputs):
        span = tracer.start_span(name, attributes={"spanflow.run.id": "fork-run"})
        pending = on_call_start(span, CallInputs(fields=(TextField("prompt", inputs),)))
        on_call_end(pending, CallOutputs(fields=(TextField("output", outputs),)))
        span.end()
        return span

    producer = call("producer", "Write one sentence.", text)
    assert get_detector().flush(5)
    pid = os.fork()
    if pid == 0:
        consumer = call("consumer", f"Summarize: {text}", "ok")
        linked = [link.context.span_id for link in consumer.links]
        os._exit(0 if linked == [producer.get_span_context().span_id] else 3)
    _, status = os.waitpid(pid, 0)
    raise SystemExit(os.waitstatus_to_exitcode(status))
    """
)


def _run_forking(script: str) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in a fresh interpreter (it forks; its exit code tells the child's)."""
    command = [sys.executable, "-c", script]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


@pytest.mark.skipif(sys.platform == "win32", reason="os.fork is POSIX only")
def test_forked_child_links_to_outputs_indexed_before_the_fork() -> None:
    """After fork the child gets a fresh worker and links to the parent's earlier outputs."""
    result = _run_forking(CHILD_SCRIPT)
    assert result.returncode == 0, result.stderr


MID_JOB_SCRIPT = textwrap.dedent(
    """
    import os, threading, time
    from spanflow.dataflow import get_detector, set_dataflow

    set_dataflow(enabled=True)  # the background worker
    detector = get_detector()
    started = threading.Event()
    steps = []

    def slow_job():  # as a job that changes an index in several steps
        started.set()
        steps.append("first half")
        time.sleep(0.5)
        steps.append("second half")

    detector._submit(slow_job)
    assert started.wait(5)
    pid = os.fork()  # while the worker is in the middle of the job
    if pid == 0:
        # The fork waited for the job: the child has both halves, and a working detector.
        os._exit(0 if steps == ["first half", "second half"] and detector.flush(5) else 3)
    _, status = os.waitpid(pid, 0)
    raise SystemExit(os.waitstatus_to_exitcode(status))
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="os.fork is POSIX only")
def test_a_fork_waits_for_the_job_in_progress_so_the_child_gets_a_whole_index() -> None:
    result = _run_forking(MID_JOB_SCRIPT)
    assert result.returncode == 0, result.stderr
