"""Artifact content in the index: one row per distinct sha256, and which runs logged it.

Written with the run records of a batch (``record_rows.write_record_rows``), read back by
``(run id, sha256)`` so a run serves only content it logged, and reclaimed when the last run
that logged a content is deleted (``deletion.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Set

from spanflow_collector.index.executor import Executor, chunks, placeholders


def write_artifact_rows(
    executor: Executor, contents: Mapping[str, bytes], refs: Set[tuple[str, str]]
) -> None:
    """Store each content once (a content seen before is not written again) and its runs."""
    executor.executemany(
        "INSERT INTO artifact_contents (sha256, size, content) VALUES (?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        [(sha256, len(content), content) for sha256, content in sorted(contents.items())],
    )
    executor.executemany(
        "INSERT INTO run_artifact_contents (run_id, sha256) VALUES (?, ?) ON CONFLICT DO NOTHING",
        sorted(refs),
    )


def read_artifact_content(executor: Executor, run_id: str, sha256: str) -> bytes | None:
    """The content ``run_id`` logged under ``sha256``, or None when the index holds none."""
    rows = executor.execute(
        "SELECT c.content FROM artifact_contents c JOIN run_artifact_contents r "
        "ON r.sha256 = c.sha256 WHERE r.run_id = ? AND c.sha256 = ?",
        [run_id, sha256],
    )
    return bytes(rows[0][0]) if rows else None


def delete_artifact_rows(executor: Executor, run_ids: list[str]) -> None:
    """Forget which of ``run_ids`` logged what, and drop content no other run logged."""
    in_list = placeholders(len(run_ids))
    hashes = [
        row[0]
        for row in executor.execute(
            f"SELECT DISTINCT sha256 FROM run_artifact_contents WHERE run_id IN ({in_list})",
            run_ids,
        )
    ]
    executor.execute(f"DELETE FROM run_artifact_contents WHERE run_id IN ({in_list})", run_ids)
    for batch in chunks(hashes):
        executor.execute(
            f"DELETE FROM artifact_contents WHERE sha256 IN ({placeholders(len(batch))}) AND NOT "
            "EXISTS (SELECT 1 FROM run_artifact_contents r "
            "WHERE r.sha256 = artifact_contents.sha256)",
            batch,
        )
