"""Artifact content in the index (SQLite and PostgreSQL): stored once, served per run,
reclaimed with the last run that logged it."""

from __future__ import annotations

import hashlib

from spanflow import attributes as attr
from spanflow.query.records import RunRecord
from spanflow_collector.index import SqlRunIndexStore

T0 = 1_800_000_000_000_000_000
BINARY = bytes(range(256)) + b"\x00" * 10  # NUL bytes survive both databases


def _artifact(run_id: str, name: str, content: bytes | None, record_id: str) -> RunRecord:
    return RunRecord(
        kind=attr.RecordKindValue.ARTIFACT,
        run_id=run_id,
        record_id=record_id,
        segment=0,
        trace_id="",
        span_id="",
        time_unix_nano=T0,
        fields={
            attr.ARTIFACT_NAME: name,
            attr.ARTIFACT_SIZE: len(BINARY),
            attr.ARTIFACT_SHA256: hashlib.sha256(BINARY).hexdigest(),
            attr.ARTIFACT_STORED: content is not None,
        },
        content=content,
    )


def test_content_is_stored_once_served_per_run_and_reclaimed(store: SqlRunIndexStore) -> None:
    """Two runs logging the same bytes (one twice, resent) share one copy; a third run that
    logged only a reference cannot read it; deleting both owners reclaims it."""
    sha256 = hashlib.sha256(BINARY).hexdigest()
    first = _artifact("run-a", "w.bin", BINARY, "a1")
    store.write_batch([], [first, _artifact("run-b", "copy.bin", BINARY, "b1")])
    store.write_batch([], [first, _artifact("run-c", "ref.bin", None, "c1")])  # a resend
    assert store.get_artifact_content("run-a", sha256) == BINARY
    assert store.get_artifact_content("run-b", sha256) == BINARY
    assert store.get_artifact_content("run-c", sha256) is None
    run_c = store.get_run("run-c")
    assert run_c is not None and run_c.artifacts["ref.bin"]["stored"] is False
    count = store._read(lambda ex: ex.execute("SELECT COUNT(*) FROM artifact_contents"))
    assert count[0][0] == 1
    store.delete_runs(["run-a"])
    assert store.get_artifact_content("run-b", sha256) == BINARY
    store.delete_runs(["run-b"])
    count = store._read(lambda ex: ex.execute("SELECT COUNT(*) FROM artifact_contents"))
    assert count[0][0] == 0
