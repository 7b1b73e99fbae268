"""A request's table rows built ahead of its write, so that work can leave the writer's process.

Redaction and row building (``redact.py``, ``rows.py``) cost more CPU than the inserts that
follow. The OTLP/HTTP receiver runs them, with decoding, in a worker process for large bodies
(``spanflow_collector.prepare``) and hands the pipeline a ``PreparedSpans``: plain tuples and
strings, cheap to pickle. The store then merges the prepared rows of every request in a batch
and writes them in one transaction (``SqlRunIndexStore.write_prepared``), exactly as if it had
built them from the spans itself.

A ``PreparedSpans`` splits by span (``prepared[a:b]``), so the pipeline can still isolate the
spans a store refuses by bisection.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from spanflow.query.records import SpanRecord
from spanflow_collector.index.rows import SPAN_ROW, BatchRows, build_rows
from spanflow_collector.redact import redact_spans

_TRACE_ID, _SPAN_ID = SPAN_ROW["trace_id"], SPAN_ROW["span_id"]
_OWN_RUN_ID, _RESOURCE_HASH = SPAN_ROW["own_run_id"], SPAN_ROW["resource_hash"]


class PreparedSpans:
    """The rows of some spans, redacted and encoded, ready for ``write_prepared``."""

    __slots__ = ("rows",)

    def __init__(self, rows: BatchRows) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows.spans)

    def __getitem__(self, part: slice) -> PreparedSpans:
        return PreparedSpans(_subset(self.rows, self.rows.spans[part]))

    def first_span_id(self) -> str:
        """The id of the first span held (names a refused span in a rejection)."""
        span_id: str = self.rows.spans[0][_SPAN_ID]
        return span_id


def prepare_spans(spans: Sequence[SpanRecord]) -> PreparedSpans:
    """Redact ``spans`` and build their rows (what ``write_spans`` does before its inserts)."""
    return PreparedSpans(build_rows(redact_spans(spans)))


def merge_rows(parts: Iterable[BatchRows]) -> BatchRows:
    """One batch's rows from several requests' (a span in two of them is inserted once)."""
    merged = BatchRows()
    for rows in parts:
        merged.spans.extend(rows.spans)
        merged.links.extend(rows.links)
        merged.metric_points.extend(rows.metric_points)
        merged.span_blobs.extend(rows.span_blobs)
        merged.resources.update(rows.resources)
        merged.blobs.update(rows.blobs)
        merged.trace_ids |= rows.trace_ids
        merged.own_run_ids |= rows.own_run_ids
    return merged


def _subset(rows: BatchRows, spans: list[tuple[Any, ...]]) -> BatchRows:
    """The rows of ``spans`` (some of ``rows.spans``) and of what belongs to them only."""
    keys = {(span[_TRACE_ID], span[_SPAN_ID]) for span in spans}
    subset = BatchRows(spans=spans)
    subset.links = [link for link in rows.links if (link[0], link[1]) in keys]
    subset.metric_points = [point for point in rows.metric_points if (point[0], point[1]) in keys]
    subset.span_blobs = [ref for ref in rows.span_blobs if (ref[0], ref[1]) in keys]
    hashes = {ref[2] for ref in subset.span_blobs}
    subset.blobs = {key: text for key, text in rows.blobs.items() if key in hashes}
    resources = {span[_RESOURCE_HASH] for span in spans}
    subset.resources = {key: text for key, text in rows.resources.items() if key in resources}
    for span in spans:
        trace_id, own_run_id = span[_TRACE_ID], span[_OWN_RUN_ID]
        subset.trace_ids.add(trace_id)
        if own_run_id is not None:
            subset.own_run_ids.add(own_run_id)
    return subset
