"""Deleting runs: a run goes with its subruns, spans, links, metric points, blobs nobody else
uses, artifact content no other run logged, and run records, in one transaction."""

from __future__ import annotations

import json

from spanflow_collector.index.artifacts import delete_artifact_rows
from spanflow_collector.index.content import collect_blob_hashes
from spanflow_collector.index.executor import Executor, chunks, placeholders
from spanflow_collector.index.record_rows import RECORD_TABLES
from spanflow_collector.index.run_totals import delete_totals


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
        # The blobs the doomed spans reference, by trace, read from their encoded attributes.
        referenced = _references(
            executor,
            f"SELECT trace_id, attributes, events FROM spans WHERE run_id IN ({in_list})",
            batch,
        )
        for table in ("links", "metric_points"):
            executor.execute(
                f"DELETE FROM {table} WHERE EXISTS (SELECT 1 FROM spans s "
                f"WHERE s.trace_id = {table}.trace_id AND s.span_id = {table}.span_id "
                f"AND s.run_id IN ({in_list}))",
                batch,
            )
        executor.execute(f"DELETE FROM spans WHERE run_id IN ({in_list})", batch)
        # A trace keeps its reference to a blob while a span left in it uses the blob.
        kept: set[tuple[str, str]] = set()
        for traces in chunks(sorted({trace_id for _, trace_id in referenced})):
            kept |= _references(
                executor,
                "SELECT trace_id, attributes, events FROM spans "
                f"WHERE trace_id IN ({placeholders(len(traces))})",
                traces,
            )
        released = sorted(referenced - kept)
        executor.executemany("DELETE FROM trace_blobs WHERE hash = ? AND trace_id = ?", released)
        for hashes in chunks(sorted({digest for digest, _ in released})):
            executor.execute(
                f"DELETE FROM blobs WHERE hash IN ({placeholders(len(hashes))}) AND NOT "
                "EXISTS (SELECT 1 FROM trace_blobs b WHERE b.hash = blobs.hash)",
                hashes,
            )
        delete_artifact_rows(executor, batch)
        executor.execute(f"DELETE FROM run_values WHERE run_id IN ({in_list})", batch)
        executor.execute(f"DELETE FROM run_tags WHERE run_id IN ({in_list})", batch)
        delete_totals(executor, in_list, batch)
        for table in RECORD_TABLES:
            executor.execute(f"DELETE FROM {table} WHERE run_id IN ({in_list})", batch)
        executor.execute(f"DELETE FROM runs WHERE id IN ({in_list})", batch)
    return len(doomed)


def _references(executor: Executor, sql: str, params: list[str]) -> set[tuple[str, str]]:
    """(blob hash, trace id) of every blob the spans ``sql`` selects reference; its columns are
    trace_id, attributes, events."""
    found: set[tuple[str, str]] = set()
    hashes: set[str] = set()
    for trace_id, attributes, events in executor.execute(sql, params):
        hashes.clear()
        collect_blob_hashes(json.loads(attributes), hashes)
        for event in json.loads(events):
            collect_blob_hashes(event[2], hashes)
        found.update((digest, trace_id) for digest in hashes)
    return found
