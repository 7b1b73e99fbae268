"""Both index stores take ``RunStatus`` members wherever they take status words."""

from __future__ import annotations

from index_builders import SECOND, FakeClock, RunSpans

from spanflow import RunStatus
from spanflow.query.store import RunQuery
from spanflow_collector.index import SqlRunIndexStore


def test_members_bind_as_their_words_in_writes_and_filters(
    store: SqlRunIndexStore, clock: FakeClock
) -> None:
    """Roots carrying members are stored as the plain words, and filters given members (the
    derived ``running``/``interrupted`` ones too) find the same runs as the words do."""
    done, broke = RunSpans("01DONE"), RunSpans("01BROKE")
    silent = RunSpans("01SILENT", start_ns=clock.now_ns, heartbeat_interval_s=30)
    store.write_spans([done.marker(), done.root(status=RunStatus.COMPLETED)])
    store.write_spans([broke.marker(), broke.root(status=RunStatus.FAILED)])
    store.write_spans([silent.marker(), silent.heartbeat(clock.now_ns + 30 * SECOND)])
    clock.advance(30 + 91)
    words = {run.id: run.status for run in store.list_runs(RunQuery()).runs}
    assert words == {"01DONE": "completed", "01BROKE": "failed", "01SILENT": "interrupted"}
    assert all(type(status) is str for status in words.values())
    for member in RunStatus:
        by_member = store.list_runs(RunQuery(statuses=(member,))).runs
        by_word = store.list_runs(RunQuery(statuses=(member.value,))).runs
        assert [run.id for run in by_member] == [run.id for run in by_word], member
    assert [r.id for r in store.list_runs(RunQuery(statuses=(RunStatus.FAILED,))).runs] == [
        "01BROKE"
    ]
