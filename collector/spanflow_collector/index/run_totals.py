"""A run's sums over its spans, kept up to date by each batch instead of summed again.

``run_totals`` holds per run the counts, token sums and time extremes over every span assigned
to it, and ``run_traces`` the first start of each of its traces (the run's trace ids are listed
in that order). A batch whose span inserts all went in (the insert count equals its distinct
spans) adds its own spans' sums to those rows: the cost of a batch no longer grows with the size
of the runs it touches. A run is instead summed again from all its stored spans when that count
says some spans were stored already (a resent batch, partly or wholly: which ones is not known),
and when spans without a run id of their own moved to it from another run or from an earlier
batch, or away from it; such spans that the batch itself brought are added like the others.
Either way the totals equal the sums over the stored spans, whatever order the spans arrived in.

On PostgreSQL both steps run under the derivation lock (``postgres.py``), after the batch's
inserts: a batch adds to the totals the batches committed before it left, and a run summed
again sees every span committed so far.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from spanflow import attributes as attr
from spanflow.query.records import INT64_MAX
from spanflow_collector.index.derive import RunAggregate
from spanflow_collector.index.executor import Executor, chunks, placeholders
from spanflow_collector.index.rows import SPAN_ROW

MARKER_KINDS = f"('{attr.SpanKindValue.RUN_START}', '{attr.SpanKindValue.RUN_HEARTBEAT}')"
_MARKERS = frozenset({attr.SpanKindValue.RUN_START, attr.SpanKindValue.RUN_HEARTBEAT})
_HEARTBEAT = attr.SpanKindValue.RUN_HEARTBEAT
_ERROR_STATUS = 2

_TRACE_ID, _SPAN_ID, _RUN_ID = SPAN_ROW["trace_id"], SPAN_ROW["span_id"], SPAN_ROW["run_id"]
_START, _END, _STATUS = SPAN_ROW["start_ns"], SPAN_ROW["end_ns"], SPAN_ROW["status_code"]
_SF_KIND, _IS_LLM = SPAN_ROW["sf_kind"], SPAN_ROW["is_llm"]
_INPUT_TOKENS, _OUTPUT_TOKENS = SPAN_ROW["input_tokens"], SPAN_ROW["output_tokens"]

TOTALS_COLUMNS = (
    "run_id, span_count, llm_call_count, error_count, input_tokens, output_tokens, "
    "first_start_ns, last_end_ns, last_heartbeat_ns"
)

NO_SPANS = RunAggregate(0, 0, 0, 0, 0, 0, 0, None, ())
"""The aggregate of a run known only from its run records so far (no span stored yet)."""


@dataclass
class _Sums:
    span_count: int = 0
    llm_call_count: int = 0
    error_count: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    first_start_ns: int | None = None
    last_end_ns: int | None = None
    last_heartbeat_ns: int | None = None
    trace_starts: dict[str, int] = field(default_factory=dict)

    def row(self, run_id: str) -> tuple[Any, ...]:
        return (
            run_id,
            self.span_count,
            self.llm_call_count,
            self.error_count,
            min(self.input_tokens, INT64_MAX),
            min(self.output_tokens, INT64_MAX),
            self.first_start_ns,
            self.last_end_ns,
            self.last_heartbeat_ns,
        )


def distinct_span_count(span_rows: Sequence[tuple[Any, ...]]) -> int:
    """How many different spans ``span_rows`` hold (merged requests may repeat one)."""
    return len({(row[_TRACE_ID], row[_SPAN_ID]) for row in span_rows})


def add_batch(
    executor: Executor,
    span_rows: Sequence[tuple[Any, ...]],
    skip: Iterable[str],
    assigned: Mapping[str, str],
) -> set[str]:
    """Add the newly stored ``span_rows`` to their runs' totals, except the runs in ``skip``
    (summed again instead); a span without a run id counts for the run ``assigned`` gives its
    trace, if any. Returns the runs added to."""
    skipped = set(skip)
    sums: dict[str, _Sums] = {}
    seen: set[tuple[str, str]] = set()
    for row in span_rows:
        run_id = row[_RUN_ID]
        if run_id is None:
            run_id = assigned.get(row[_TRACE_ID])
        if run_id is None or run_id in skipped:
            continue
        key = (row[_TRACE_ID], row[_SPAN_ID])
        if key in seen:  # the first of two rows with one key is the one stored
            continue
        seen.add(key)
        run = sums.get(run_id)
        if run is None:
            run = sums[run_id] = _Sums()
        _add_row(run, row)
    if not sums:
        return set()
    run_ids = sorted(sums)
    stored = _load_sums(executor, sums)
    for run_id, delta in sums.items():
        before = stored.get(run_id)
        if before is not None:
            _merge(delta, before)
    _replace(executor, run_ids, sums)
    return set(run_ids)


def sum_again(executor: Executor, run_ids: Sequence[str]) -> None:
    """Sum the totals of ``run_ids`` from all their stored spans (none left: no row)."""
    for batch in chunks(run_ids):
        in_list = placeholders(len(batch))
        sums: dict[str, _Sums] = {}
        for row in executor.execute(
            "SELECT run_id, "
            f"CAST(SUM(CASE WHEN sf_kind IN {MARKER_KINDS} THEN 0 ELSE 1 END) AS BIGINT), "
            "CAST(SUM(is_llm) AS BIGINT), "
            f"CAST(SUM(CASE WHEN status_code = {_ERROR_STATUS} THEN 1 ELSE 0 END) AS BIGINT), "
            # Summed as doubles, which cannot overflow, then saturated to BIGINT.
            "SUM(CAST(input_tokens AS DOUBLE PRECISION)), "
            "SUM(CAST(output_tokens AS DOUBLE PRECISION)), "
            "MIN(start_ns), MAX(end_ns), "
            f"MAX(CASE WHEN sf_kind = '{_HEARTBEAT}' THEN end_ns END) "
            f"FROM spans WHERE run_id IN ({in_list}) GROUP BY run_id",
            batch,
        ):
            sums[row[0]] = _Sums(
                span_count=row[1],
                llm_call_count=row[2],
                error_count=row[3],
                input_tokens=saturated_int(row[4]),
                output_tokens=saturated_int(row[5]),
                first_start_ns=row[6],
                last_end_ns=row[7],
                last_heartbeat_ns=row[8],
            )
        for run_id, trace_id, first_start in executor.execute(
            "SELECT run_id, trace_id, MIN(start_ns) FROM spans "
            f"WHERE run_id IN ({in_list}) GROUP BY run_id, trace_id",
            batch,
        ):
            sums[run_id].trace_starts[trace_id] = first_start
        executor.execute(f"DELETE FROM run_traces WHERE run_id IN ({in_list})", batch)
        executor.execute(f"DELETE FROM run_totals WHERE run_id IN ({in_list})", batch)
        present = sorted(sums)
        _insert(executor, present, [sums[run_id] for run_id in present])


def load_aggregates(
    executor: Executor, run_ids: list[str], in_list: str
) -> dict[str, RunAggregate]:
    """The stored totals of those of ``run_ids`` that have spans."""
    traces: dict[str, list[str]] = {}
    for run_id, trace_id in executor.execute(
        f"SELECT run_id, trace_id FROM run_traces WHERE run_id IN ({in_list}) "
        "ORDER BY run_id, first_start_ns, trace_id",
        run_ids,
    ):
        traces.setdefault(run_id, []).append(trace_id)
    return {
        row[0]: RunAggregate(
            span_count=row[1],
            llm_call_count=row[2],
            error_count=row[3],
            input_tokens=row[4],
            output_tokens=row[5],
            first_start_ns=row[6],
            last_end_ns=row[7],
            last_heartbeat_ns=row[8],
            trace_ids=tuple(traces.get(row[0], ())),
        )
        for row in executor.execute(
            f"SELECT {TOTALS_COLUMNS} FROM run_totals WHERE run_id IN ({in_list})", run_ids
        )
    }


def delete_totals(executor: Executor, in_list: str, run_ids: list[str]) -> None:
    """Forget the totals of deleted runs."""
    executor.execute(f"DELETE FROM run_traces WHERE run_id IN ({in_list})", run_ids)
    executor.execute(f"DELETE FROM run_totals WHERE run_id IN ({in_list})", run_ids)


def backfill(executor: Executor) -> None:
    """Sum the totals of every run that has spans (the schema step that adds the tables)."""
    run_ids = [
        row[0]
        for row in executor.execute(
            "SELECT DISTINCT run_id FROM spans WHERE run_id IS NOT NULL ORDER BY run_id"
        )
    ]
    sum_again(executor, run_ids)


def saturated_int(total: float | None) -> int:
    """A SUM read as a double, as an int within BIGINT (saturating instead of overflowing)."""
    if total is None or total != total:
        return 0
    if total >= 2.0**63:  # every double below 2**63 converts to an int that fits BIGINT
        return INT64_MAX
    return int(max(total, 0.0))


def _add_row(run: _Sums, row: tuple[Any, ...]) -> None:
    sf_kind = row[_SF_KIND]
    if sf_kind not in _MARKERS:
        run.span_count += 1
    run.llm_call_count += row[_IS_LLM] or 0
    if row[_STATUS] == _ERROR_STATUS:
        run.error_count += 1
    run.input_tokens += row[_INPUT_TOKENS] or 0
    run.output_tokens += row[_OUTPUT_TOKENS] or 0
    start, end = row[_START], row[_END]
    if run.first_start_ns is None or start < run.first_start_ns:
        run.first_start_ns = start
    if run.last_end_ns is None or end > run.last_end_ns:
        run.last_end_ns = end
    if sf_kind == _HEARTBEAT and (run.last_heartbeat_ns is None or end > run.last_heartbeat_ns):
        run.last_heartbeat_ns = end
    trace_id = row[_TRACE_ID]
    known = run.trace_starts.get(trace_id)
    if known is None or start < known:
        run.trace_starts[trace_id] = start


def _merge(delta: _Sums, before: _Sums) -> None:
    """Add the stored ``before`` into ``delta``; ``delta.trace_starts`` keeps only the traces
    whose first start changed or that are new."""
    delta.span_count += before.span_count
    delta.llm_call_count += before.llm_call_count
    delta.error_count += before.error_count
    delta.input_tokens += before.input_tokens
    delta.output_tokens += before.output_tokens
    delta.first_start_ns = _least(delta.first_start_ns, before.first_start_ns)
    delta.last_end_ns = _greatest(delta.last_end_ns, before.last_end_ns)
    delta.last_heartbeat_ns = _greatest(delta.last_heartbeat_ns, before.last_heartbeat_ns)
    for trace_id, known in before.trace_starts.items():
        start = delta.trace_starts.get(trace_id)
        if start is not None and start >= known:
            del delta.trace_starts[trace_id]


def _load_sums(executor: Executor, delta: dict[str, _Sums]) -> dict[str, _Sums]:
    """The stored totals of the runs in ``delta``, with the first starts of only the traces
    ``delta`` touches (the others do not change)."""
    stored: dict[str, _Sums] = {}
    for batch in chunks(sorted(delta)):
        in_list = placeholders(len(batch))
        for row in executor.execute(
            f"SELECT {TOTALS_COLUMNS} FROM run_totals WHERE run_id IN ({in_list})", batch
        ):
            stored[row[0]] = _Sums(*row[1:])
        traces = sorted({trace_id for run_id in batch for trace_id in delta[run_id].trace_starts})
        for trace_batch in chunks(traces):
            for run_id, trace_id, first_start in executor.execute(
                "SELECT run_id, trace_id, first_start_ns FROM run_traces "
                f"WHERE run_id IN ({in_list}) AND trace_id IN ({placeholders(len(trace_batch))})",
                [*batch, *trace_batch],
            ):
                if run_id in stored:
                    stored[run_id].trace_starts[trace_id] = first_start
    return stored


def _replace(executor: Executor, run_ids: list[str], sums: dict[str, _Sums]) -> None:
    """Write ``sums`` over the stored totals of ``run_ids``; their ``trace_starts`` hold only
    the traces to write."""
    for batch in chunks(run_ids):
        executor.execute(
            f"DELETE FROM run_totals WHERE run_id IN ({placeholders(len(batch))})", batch
        )
    executor.executemany(
        "DELETE FROM run_traces WHERE run_id = ? AND trace_id = ?",
        [(run_id, trace_id) for run_id in run_ids for trace_id in sums[run_id].trace_starts],
    )
    _insert(executor, run_ids, [sums[run_id] for run_id in run_ids])


def _insert(executor: Executor, run_ids: list[str], sums: list[_Sums]) -> None:
    executor.executemany(
        f"INSERT INTO run_totals ({TOTALS_COLUMNS}) VALUES ({placeholders(9)})",
        [run.row(run_id) for run_id, run in zip(run_ids, sums, strict=True)],
    )
    executor.executemany(
        "INSERT INTO run_traces (run_id, trace_id, first_start_ns) VALUES (?, ?, ?)",
        [
            (run_id, trace_id, start)
            for run_id, run in zip(run_ids, sums, strict=True)
            for trace_id, start in run.trace_starts.items()
        ],
    )


def _least(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def _greatest(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)
