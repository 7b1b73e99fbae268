"""Child-process scenarios for tests/runs/test_processes.py, run as a script with a mode."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import time

from opentelemetry import trace

import spanflow

CHILD_CODE = """
import spanflow
from opentelemetry import trace
spanflow.configure()
trace.get_tracer("child").start_span("work-in-subprocess").end()
with spanflow.run("subrun-in-subprocess"):
    pass
"""


def child_work(label: str) -> None:
    """What a multiprocessing child does: configure, a plain span, a run of its own; no flush."""
    spanflow.configure()
    trace.get_tracer("child").start_span(f"work-in-{label}").end()
    with spanflow.run(f"subrun-in-{label}"):
        pass


def children() -> None:
    with spanflow.run("parent-run"):
        for method in ("fork", "spawn", "forkserver"):
            process = multiprocessing.get_context(method).Process(target=child_work, args=(method,))
            process.start()
            process.join(60)
            assert process.exitcode == 0, (method, process.exitcode)
        subprocess.run([sys.executable, "-c", CHILD_CODE], check=True, timeout=60)


def wait_for_sigterm() -> None:
    with spanflow.run("killed-run"):
        print("ready", flush=True)
        time.sleep(60)


def exit_with_open_run() -> None:
    spanflow.run("left-open").__enter__()
    sys.exit(0)


if __name__ == "__main__":
    spanflow.configure()
    {"children": children, "sigterm": wait_for_sigterm, "exit": exit_with_open_run}[sys.argv[1]]()
