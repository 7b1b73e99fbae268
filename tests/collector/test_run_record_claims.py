"""Run records change a run only when sent from one of that run's own traces (real OTLP/HTTP)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from spanflow import attributes as attr
from spanflow.query.records import RunRecord
from spanflow.query.store import RunIndexStore
from spanflow_collector.index import run_claims
from spanflow_collector.server import Collector
from tests.collector.run_records_over_otlp import (
    T0,
    collector_with_token,
    run_record,
    send_logs_http,
)

KIND = attr.RecordKindValue
RUN_ID = "victim-run"
OWN_TRACE = "a1" * 16
OTHER_TRACE = "b2" * 16


@pytest.fixture
def served(index_location: str) -> Iterator[tuple[Collector, RunIndexStore]]:
    """A collector with an ingest token over a real SQLite or PostgreSQL index."""
    with collector_with_token(index_location) as served:
        yield served


def _record(kind: str, trace_id: str, record_id: str, **payload: Any) -> RunRecord:
    return run_record(RUN_ID, kind, trace_id, record_id, **payload)


def test_a_params_record_from_another_trace_cannot_overwrite_a_runs_params(
    served: tuple[Collector, RunIndexStore],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Naming a run's id from a trace the run never started in changes nothing; past the bound
    of records a run holds for such traces, they are refused (and logged as run records, not
    spans) and its params stay."""
    monkeypatch.setattr(run_claims, "MAX_HELD_RECORDS_PER_RUN", 0)
    running, store = served
    send_logs_http(
        running,
        [
            _record(KIND.START, OWN_TRACE, "s", fields={attr.RUN_NAME: "victim"}),
            _record(KIND.PARAMS, OWN_TRACE, "p", values={"lr": 0.1}),
        ],
    )
    later = T0 + 10**9
    answer = send_logs_http(
        running,
        [
            _record(KIND.PARAMS, OTHER_TRACE, "evil", values={"lr": 99.0}, time_ns=later),
            _record(KIND.PARAMS, "", "evil-no-trace", values={"lr": 98.0}, time_ns=later),
            _record(KIND.OUTPUTS, OWN_TRACE, "o", values={"answer": 42}),
        ],
    )
    assert answer.partial_success.rejected_log_records == 2
    assert f"run {RUN_ID} was not started in trace {OTHER_TRACE} and holds 0 records" in (
        answer.partial_success.error_message
    )
    run = store.get_run(RUN_ID)
    assert run is not None
    assert (dict(run.params), dict(run.outputs)) == ({"lr": 0.1}, {"answer": 42})
    assert "the run index refused 2 of 3 run records for their data" in caplog.text


def test_records_that_arrive_before_their_start_record_are_kept(
    served: tuple[Collector, RunIndexStore],
) -> None:
    """Out-of-order delivery: params of a run not known yet are stored, then the start lands."""
    running, store = served
    early = send_logs_http(running, [_record(KIND.PARAMS, OWN_TRACE, "p", values={"k": 3})])
    assert early.partial_success.rejected_log_records == 0
    send_logs_http(running, [_record(KIND.START, OWN_TRACE, "s", fields={attr.RUN_NAME: "late"})])
    run = store.get_run(RUN_ID)
    assert run is not None and (run.name, dict(run.params)) == ("late", {"k": 3})


def test_a_resumed_segment_adds_to_its_run_from_its_new_trace(
    served: tuple[Collector, RunIndexStore],
) -> None:
    """A new segment's start record opens its trace to the run: its params are stored."""
    running, store = served
    send_logs_http(
        running,
        [
            _record(KIND.START, OWN_TRACE, "s0"),
            _record(KIND.PARAMS, OWN_TRACE, "p0", values={"a": 1}),
        ],
    )
    resumed = send_logs_http(
        running,
        [
            _record(KIND.START, OTHER_TRACE, "s1", segment=1, time_ns=T0 + 5),
            _record(KIND.PARAMS, OTHER_TRACE, "p1", segment=1, values={"b": 2}, time_ns=T0 + 6),
        ],
    )
    assert resumed.partial_success.rejected_log_records == 0
    send_logs_http(running, [_record(KIND.PARAMS, OTHER_TRACE, "p2", segment=1, values={"c": 3})])
    run = store.get_run(RUN_ID)
    assert run is not None and dict(run.params) == {"a": 1, "b": 2, "c": 3}
