"""Runs and spans made in multiprocessing children reach the index without any flush in them.

Every scenario in pool_scenarios.py runs as a real script that configures spanflow at import
time, starts real children with fork, spawn or forkserver, and exports OTLP/HTTP to a receiver
on loopback (one case writes into the embedded SQLite index instead).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from tests.environments import child_environment

import spanflow
from spanflow import attributes as attr
from spanflow.query.records import SpanRecord
from spanflow.testing import OTLPReceiver

SCENARIOS = Path(__file__).with_name("pool_scenarios.py")
LABELS = ("a", "b", "c", "d")


def _run_scenario(mode: str, method: str, environment: dict[str, str], *extra: str) -> None:
    done = subprocess.run(
        [sys.executable, str(SCENARIOS), mode, method, *extra],
        env=environment,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr


def _root(spans: list[SpanRecord], name: str) -> SpanRecord:
    (root,) = [s for s in spans if s.name == name and s.spanflow_kind == attr.SpanKindValue.RUN]
    return root


def _collect(mode: str, method: str, labels: tuple[str, ...], *extra: str) -> list[SpanRecord]:
    with OTLPReceiver() as receiver:
        environment = child_environment(SPANFLOW_ENDPOINT=receiver.endpoint)
        _run_scenario(mode, method, environment, *extra)
        expected = {f"subrun-in-{label}" for label in labels} | {"parent-run"}
        # The parent flushed at exit, so everything should be in; wait briefly regardless.
        return receiver.wait_for(
            lambda spans: (
                expected <= {s.name for s in spans if s.spanflow_kind == attr.SpanKindValue.RUN}
            ),
            timeout_s=30,
        )


def _assert_delivered_under(spans: list[SpanRecord], parent_name: str, label: str) -> None:
    parent = _root(spans, parent_name)
    (work,) = [s for s in spans if s.name == f"work-in-{label}"]
    assert (work.trace_id, work.parent_span_id) == (parent.trace_id, parent.span_id), label
    assert work.attributes[attr.RUN_ID] == parent.run_id, label
    subrun = _root(spans, f"subrun-in-{label}")
    assert subrun.attributes[attr.RUN_PARENT_ID] == parent.run_id, label
    assert subrun.attributes[attr.RUN_STATUS] == attr.RunStatus.COMPLETED, label
    (link,) = subrun.links
    assert link.span_id == parent.span_id, label


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_a_process_child_delivers_its_run_as_a_subrun(method: str) -> None:
    """A Process child's span and run arrive, under the parent's run, for every start method."""
    spans = _collect("process", method, ("a",))
    _assert_delivered_under(spans, "parent-run", "a")


def test_a_spawned_child_of_a_script_that_instruments_at_import_keeps_its_parent() -> None:
    """With the README's top-level spanflow.instrument(), a spawned child's run is a subrun."""
    spans = _collect("process", "spawn", ("a",), "instrument")
    _assert_delivered_under(spans, "parent-run", "a")


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_pool_workers_terminated_after_map_had_delivered_every_task(method: str) -> None:
    """Pool workers terminated once map() returned had already delivered every task's spans."""
    spans = _collect("pool-map-terminated", method, LABELS)
    for label in LABELS:
        _assert_delivered_under(spans, "parent-run", label)


@pytest.mark.parametrize(
    ("mode", "method"),
    [("pool-imap", "fork"), ("pool-apply-async", "spawn"), ("pool-max-tasks", "forkserver")],
)
def test_pool_tasks_deliver_with_imap_apply_async_and_maxtasksperchild(
    mode: str, method: str
) -> None:
    """imap (then terminate), apply_async and one-task workers all deliver every task's runs."""
    spans = _collect(mode, method, LABELS)
    for label in LABELS:
        _assert_delivered_under(spans, "parent-run", label)


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_a_reused_executor_attributes_each_task_to_the_run_that_submitted_it(method: str) -> None:
    """ProcessPoolExecutor workers serve two runs in turn and are killed; nothing is lost."""
    spans = _collect("executor", method, LABELS)
    with_second = [s for s in spans if s.name == "second-parent-run"]
    assert len(with_second) == 1
    for label in LABELS[:2]:
        _assert_delivered_under(spans, "parent-run", label)
    for label in LABELS[2:]:
        _assert_delivered_under(spans, "second-parent-run", label)


def test_pool_runs_land_in_the_embedded_index_as_subruns(tmp_path: Path) -> None:
    """With no endpoint, spawned pool workers write their subruns into the local SQLite index."""
    db_path = tmp_path / "index.db"
    _run_scenario("pool-map-terminated", "spawn", child_environment(SPANFLOW_DB=str(db_path)))
    with spanflow.Client(db_path) as client:
        (parent,) = client.list_runs(name="parent-run").runs
        children = client.children(parent.id)
    assert sorted(child.name for child in children) == [f"subrun-in-{x}" for x in LABELS]
    assert {child.status for child in children} == {attr.RunStatus.COMPLETED}


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_terminate_ends_a_child_that_waits_for_work(method: str) -> None:
    """A child blocked in Queue.get() dies of terminate(): spanflow's SIGTERM handler is off."""
    with OTLPReceiver() as receiver:
        environment = child_environment(SPANFLOW_ENDPOINT=receiver.endpoint)
        _run_scenario("terminate-waiting", method, environment)
