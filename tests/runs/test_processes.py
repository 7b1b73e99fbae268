"""Runs across processes: children attach to the parent's run; exits end open runs honestly.

Each scenario runs as a real Python process exporting OTLP/HTTP to a receiver on loopback.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from tests.environments import child_environment

from spanflow import attributes as attr
from spanflow.query.records import SpanRecord
from spanflow.testing import OTLPReceiver

SCENARIOS = Path(__file__).with_name("process_scenarios.py")


def _environment(receiver: OTLPReceiver) -> dict[str, str]:
    return child_environment(SPANFLOW_ENDPOINT=receiver.endpoint, PYTHONUNBUFFERED="1")


def _root_of(spans: list[SpanRecord], name: str) -> SpanRecord:
    (root,) = [s for s in spans if s.name == name and s.spanflow_kind == attr.SpanKindValue.RUN]
    return root


def test_children_of_every_kind_attach_to_the_parent_run() -> None:
    """fork, spawn, forkserver and subprocess children that configure spanflow in their target
    and never flush: their spans join the run, their runs are subruns."""
    with OTLPReceiver() as receiver:
        done = subprocess.run(
            [sys.executable, str(SCENARIOS), "children"],
            env=_environment(receiver),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        spans = receiver.wait_for(lambda s: len([x for x in s if x.name == "parent-run"]) == 1)
    parent = _root_of(spans, "parent-run")
    for label in ("fork", "spawn", "forkserver", "subprocess"):
        (work,) = [s for s in spans if s.name == f"work-in-{label}"]
        assert work.trace_id == parent.trace_id, label
        assert work.parent_span_id == parent.span_id, label
        assert work.attributes[attr.RUN_ID] == parent.run_id, label
        subrun = _root_of(spans, f"subrun-in-{label}")
        assert subrun.trace_id != parent.trace_id, label
        assert subrun.parent_span_id is None, label
        assert subrun.attributes[attr.RUN_PARENT_ID] == parent.run_id, label
        assert subrun.attributes[attr.RUN_STATUS] == "completed", label
        (link,) = subrun.links
        assert link.span_id == parent.span_id, label
        assert link.attributes[attr.LINK_TYPE] == attr.LinkTypeValue.PARENT_RUN, label


def test_sigterm_ends_an_open_run_as_interrupted_and_flushes() -> None:
    """A process killed with SIGTERM mid-run exports the run's root as interrupted."""
    with OTLPReceiver() as receiver:
        process = subprocess.Popen(
            [sys.executable, str(SCENARIOS), "sigterm"],
            env=_environment(receiver),
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "ready"
            receiver.wait_for_record(kind=attr.RecordKindValue.START)
            process.send_signal(signal.SIGTERM)
            assert process.wait(30) == -signal.SIGTERM  # still dies of the signal
        finally:
            process.kill()
            if process.stdout is not None:
                process.stdout.close()
        root = receiver.wait_for_span(kind=attr.SpanKindValue.RUN, name="killed-run")
    assert root.attributes[attr.RUN_STATUS] == "interrupted"
    assert root.status == "ERROR"


def test_interpreter_exit_ends_an_open_run_as_interrupted() -> None:
    """A script that exits with a run still open exports it as interrupted, not completed."""
    with OTLPReceiver() as receiver:
        done = subprocess.run(
            [sys.executable, str(SCENARIOS), "exit"],
            env=_environment(receiver),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        root = receiver.wait_for_span(kind=attr.SpanKindValue.RUN, name="left-open")
    assert root.attributes[attr.RUN_STATUS] == "interrupted"
