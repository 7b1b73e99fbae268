"""Run records in the index: keyed values, metric points, tags, liveness by receive time.

Every test runs against SQLite and PostgreSQL (``index_location``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.api.fixtures import index_location

from spanflow import attributes as attr
from spanflow.query.records import MetricPointValue, RunRecord, SpanRecord, StatusCode
from spanflow.query.store import RunQuery
from spanflow_collector.index import open_store
from spanflow_collector.index.schema import LATEST_VERSION, MIGRATIONS, VERSION_TABLE
from spanflow_collector.index.sqlstore import SqlRunIndexStore

__all__ = ["index_location"]

SECOND = 1_000_000_000
T0 = 1_800_000_000 * SECOND
RUN = "01RECORDS"
TRACE = "ab" * 16
ROOT = "cd" * 8
KIND = attr.RecordKindValue


class Clock:
    """The index's clock, moved by hand."""

    def __init__(self) -> None:
        self.now_ns = T0

    def __call__(self) -> int:
        return self.now_ns


@pytest.fixture
def clock() -> Clock:
    """The index clock for one test, starting at T0."""
    return Clock()


@pytest.fixture
def store(index_location: str, clock: Clock) -> Iterator[SqlRunIndexStore]:
    """A fresh index whose read and receive times come from ``clock``."""
    opened = open_store(index_location, clock=clock)
    try:
        yield opened
    finally:
        opened.close()


def record(kind: str, record_id: str, time_ns: int = T0, **payload: object) -> RunRecord:
    """A run record of run ``RUN`` whose root span is (TRACE, ROOT)."""
    return RunRecord(
        kind=kind,
        run_id=RUN,
        record_id=record_id,
        segment=0,
        trace_id=TRACE,
        span_id=ROOT,
        time_unix_nano=time_ns,
        **payload,  # type: ignore[arg-type]
    )


def start(time_ns: int = T0, interval_s: float = 30.0) -> RunRecord:
    """The start record of ``RUN``."""
    return record(
        KIND.START,
        "start",
        time_ns,
        fields={
            attr.RUN_NAME: "recorded",
            attr.PROJECT: "records",
            attr.RUN_TAGS: ("a",),
            attr.RUN_HEARTBEAT_INTERVAL_S: interval_s,
        },
    )


def root(status: str = "completed") -> SpanRecord:
    """The root span of ``RUN`` with only spanflow's own fields."""
    return SpanRecord(
        trace_id=TRACE,
        span_id=ROOT,
        parent_span_id=None,
        name="recorded",
        kind=1,
        start_time_unix_nano=T0,
        end_time_unix_nano=T0 + 5 * SECOND,
        attributes={
            attr.SPAN_KIND: attr.SpanKindValue.RUN,
            attr.RUN_ID: RUN,
            attr.RUN_NAME: "recorded",
            attr.PROJECT: "records",
            attr.RUN_STATUS: status,
        },
        status_code=StatusCode.OK,
    )


def test_a_run_known_only_by_its_start_record_is_listed_running(
    store: SqlRunIndexStore,
) -> None:
    """Before any span arrives, the start record makes the run visible with its facts."""
    store.write_batch((), [start()])
    run = store.get_run(RUN)
    assert run is not None
    assert (run.name, run.project, run.tags, run.status) == (
        "recorded",
        "records",
        ("a",),
        "running",
    )
    assert run.start_time_unix_nano == T0
    assert run.span_count == 0


def test_keyed_values_keep_the_newest_and_points_are_stored_once(store: SqlRunIndexStore) -> None:
    """Params keep their newest value, resent records add nothing, and every point is kept."""
    points = tuple(MetricPointValue("loss", float(i), i, T0 + i) for i in range(300))
    metrics = record(KIND.METRICS, "m1", T0 + 300, points=points)
    store.write_batch((), [start(), record(KIND.PARAMS, "p2", T0 + 2, values={"lr": 0.2})])
    store.write_batch((), [record(KIND.PARAMS, "p1", T0 + 1, values={"lr": 0.1, "k": "v"})])
    store.write_batch((), [metrics])
    store.write_batch((), [metrics])  # an OTLP client retrying after a lost acknowledgement
    store.write_batch(
        [root()],
        [
            record(KIND.OUTPUTS, "o", values={"answer": "42"}),
            record(KIND.INPUTS, "i", values={"question": "why?"}),
            record(KIND.ATTRIBUTES, "at", values={"owner": "me"}),
            record(KIND.TAGS, "t", tags=("b", "a")),
            record(
                KIND.ARTIFACT,
                "art",
                fields={attr.ARTIFACT_NAME: "report.json", attr.ARTIFACT_SIZE: 12},
            ),
        ],
    )
    run = store.get_run(RUN)
    assert run is not None
    assert run.status == "completed"
    assert dict(run.params) == {"lr": 0.2, "k": "v"}
    assert dict(run.metrics) == {"loss": 299.0}
    assert dict(run.outputs) == {"answer": "42"}
    assert dict(run.inputs) == {"question": "why?"}
    assert dict(run.attributes) == {"owner": "me"}
    assert set(run.tags) == {"a", "b"}
    assert run.artifacts == {"report.json": {"size": 12, "stored": False}}  # no content sent
    history = store.get_metric_history(RUN)
    assert [(p.value, p.step) for p in history] == [(float(i), i) for i in range(300)]


def test_a_truncation_record_is_visible_on_the_run(store: SqlRunIndexStore) -> None:
    """What the SDK had to cut is listed on the run, once per kind."""
    cut = {attr.RUN_TRUNCATED: ("metric_points",)}
    store.write_batch((), [start(), record(KIND.TRUNCATED, "t1", fields=cut)])
    store.write_batch((), [record(KIND.TRUNCATED, "t2", fields=cut)])
    run = store.get_run(RUN)
    assert run is not None and run.truncated == ("metric_points",)


def test_liveness_follows_the_index_clock_not_the_senders(
    store: SqlRunIndexStore, clock: Clock
) -> None:
    """A sender 120 s behind stays running while records arrive; silence makes it interrupted."""
    skewed = T0 - 120 * SECOND
    store.write_batch((), [start(time_ns=skewed)])
    for _ in range(3):
        clock.now_ns += 60 * SECOND
        store.write_batch((), [record(KIND.HEARTBEAT, f"hb{clock.now_ns}", skewed)])
        run = store.get_run(RUN)
        assert run is not None and run.status == "running"
        assert run.last_heartbeat_unix_nano == clock.now_ns
    clock.now_ns += 89 * SECOND
    assert store.get_run(RUN).status == "running"  # type: ignore[union-attr]
    clock.now_ns += 2 * SECOND  # 91 s of silence > max(3 x 30 s, 90 s)
    run = store.get_run(RUN)
    assert run is not None and run.status == "interrupted"
    page = store.list_runs(RunQuery(statuses=("interrupted",)))
    assert [found.id for found in page.runs] == [RUN]


def test_spans_without_a_run_id_join_the_run_of_their_trace_start_record(
    store: SqlRunIndexStore,
) -> None:
    """A span of the run's trace made by another SDK belongs to the run before the root ends."""
    foreign = SpanRecord(
        trace_id=TRACE,
        span_id="ef" * 8,
        parent_span_id=ROOT,
        name="db query",
        kind=3,
        start_time_unix_nano=T0 + 1,
        end_time_unix_nano=T0 + 2,
    )
    store.write_batch([foreign], [])
    store.write_batch((), [start()])
    assert [span.name for span in store.get_spans(RUN)] == ["db query"]
    run = store.get_run(RUN)
    assert run is not None and run.span_count == 1


def test_deleting_a_run_removes_its_records(store: SqlRunIndexStore) -> None:
    """After delete, neither the run nor its metric points or values come back."""
    points = (MetricPointValue("loss", 1.0, None, T0),)
    store.write_batch(
        [root()],
        [
            start(),
            record(KIND.METRICS, "m", points=points),
            record(KIND.PARAMS, "p", values={"a": 1}),
        ],
    )
    assert store.delete_runs([RUN]) == 1
    assert store.get_run(RUN) is None
    assert store.get_metric_history(RUN) == []
    store.write_batch((), [record(KIND.HEARTBEAT, "late")])
    run = store.get_run(RUN)
    assert run is not None and dict(run.params) == {}


def test_an_index_of_schema_1_opens_with_its_runs_intact(tmp_path: Path) -> None:
    """Opening an index written before run records upgrades it and keeps its runs readable."""
    path = tmp_path / "v1.db"
    with sqlite3.connect(path) as connection:
        for statement in MIGRATIONS[0].statements:
            connection.execute(statement)
        connection.execute(VERSION_TABLE)
        connection.execute("INSERT INTO schema_version (version) VALUES (1)")
        connection.execute(
            "INSERT INTO runs VALUES (?, 'p', 'old', 'completed', ?, ?, NULL, NULL, '[\"x\"]', "
            "'{\"lr\": 0.1}', '{}', '{}', '{}', NULL, NULL, 1, 0, 0, 0, 0, 1, '[]', NULL)",
            ["01OLD", T0, T0 + SECOND],
        )
    connection.close()
    store = open_store(path)
    try:
        assert store.schema_version() == LATEST_VERSION
        run = store.get_run("01OLD")
        assert run is not None
        assert (run.name, run.tags, dict(run.params)) == ("old", ("x",), {"lr": 0.1})
        assert (dict(run.inputs), dict(run.artifacts), run.truncated) == ({}, {}, ())
    finally:
        store.close()
