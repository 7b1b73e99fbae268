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


@pytest.mark.skipif(sys.platform == "win32", reason="os.fork is POSIX only")
def test_forked_child_links_to_outputs_indexed_before_the_fork() -> None:
    """After fork the child gets a fresh worker and links to the parent's earlier outputs."""
    result = subprocess.run(
        [sys.executable, "-c", CHILD_SCRIPT], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
