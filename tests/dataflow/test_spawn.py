"""Dataflow across processes: a spawned child links to what its parent's run produced."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from spanflow import attributes as attr
from spanflow.testing import OTLPReceiver
from tests.environments import child_environment

SCENARIO = Path(__file__).with_name("spawn_scenario.py")


@pytest.mark.parametrize("method", ["spawn", "forkserver", "fork"])
def test_a_child_process_links_to_its_parents_output(method: str) -> None:
    """The child's LLM call quoting the parent's LLM output gets a dataflow link to it."""
    with OTLPReceiver() as receiver:
        done = subprocess.run(
            [sys.executable, str(SCENARIO), method],
            env=child_environment(SPANFLOW_ENDPOINT=receiver.endpoint),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        planner = receiver.wait_for_span(name="chat planner-model")
        worker = receiver.wait_for_span(name="chat worker-model")
    assert worker.attributes[attr.RUN_ID] == planner.attributes[attr.RUN_ID]
    dataflow = [
        link
        for link in worker.links
        if link.attributes[attr.LINK_TYPE] == attr.LinkTypeValue.DATAFLOW
    ]
    assert [link.span_id for link in dataflow] == [planner.span_id]
    assert dataflow[0].attributes[attr.LINK_HOW] == attr.LinkHowValue.VERBATIM
