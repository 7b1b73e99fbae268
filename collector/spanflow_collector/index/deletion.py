"""Deleting runs: a run goes with its subruns, spans, links, metric points, blobs nobody else
uses, artifact content no other run logged, and run records, in one transaction."""

from __future__ import annotations

from spanflow_collector.index.artifacts import delete_artifact_rows
from spanflow_collector.index.executor import Executor, chunks, placeholders
from spanflow_collector.index.record_rows import RECORD_TABLES


def delete_with_subruns(executor: Executor, run_ids: list[str]) -> int:
    """Delete ``run_ids``, their subruns (transitively) and everything stored for them."""
    doomed: set[str] = set()
    frontier = sorted(set(run_ids))
    while frontier:
        found: set[str] = set()
        for batch in chunks(frontier):
            in_list = placeholders(len(batch))
            found.update(
                row[0]
                for row in executor.execute(
                    f"SELECT id FROM runs WHERE id IN ({in_list}) OR parent_id IN ({in_list})",
                    batch + batch,
                )
            )
        frontier = sorted(found - doomed)
        doomed |= found
    for batch in chunks(sorted(doomed)):
        in_list = placeholders(len(batch))
        blob_hashes = [
            row[0]
            for row in executor.execute(
                "SELECT DISTINCT b.hash FROM span_blobs b JOIN spans s "
                "ON s.trace_id = b.trace_id AND s.span_id = b.span_id "
                f"WHERE s.run_id IN ({in_list})",
                batch,
            )
        ]
        for table in ("span_blobs", "links", "metric_points"):
            executor.execute(
                f"DELETE FROM {table} WHERE EXISTS (SELECT 1 FROM spans s "
                f"WHERE s.trace_id = {table}.trace_id AND s.span_id = {table}.span_id "
                f"AND s.run_id IN ({in_list}))",
                batch,
            )
        executor.execute(f"DELETE FROM spans WHERE run_id IN ({in_list})", batch)
        for hashes in chunks(blob_hashes):
            executor.execute(
                f"DELETE FROM blobs WHERE hash IN ({placeholders(len(hashes))}) AND NOT "
                "EXISTS (SELECT 1 FROM span_blobs b WHERE b.hash = blobs.hash)",
                hashes,
            )
        delete_artifact_rows(executor, batch)
        executor.execute(f"DELETE FROM run_values WHERE run_id IN ({in_list})", batch)
        executor.execute(f"DELETE FROM run_tags WHERE run_id IN ({in_list})", batch)
        for table in RECORD_TABLES:
            executor.execute(f"DELETE FROM {table} WHERE run_id IN ({in_list})", batch)
        executor.execute(f"DELETE FROM runs WHERE id IN ({in_list})", batch)
    return len(doomed)
