"""Which run records may change a run: those sent from one of the run's own traces.

A run record names its run (``spanflow.run.id``) and the root span of its run segment
(``trace_id``/``span_id``). Run ids can be chosen by users (``run(id=...)``, ids derived from a
config), so knowing one proves nothing; a trace id is 128 random bits that only the process
running the segment has (and readers of the index). So once the index knows a run's traces, a
run record (params, metrics, outputs, inputs, attributes, tags, artifacts, heartbeats) for it
changes it only when it comes from one of them: a trace holding the run's root span or start
record, or a start record of the same batch. Any other is held aside (``held_records.py``) and
applied once its trace joins the run, so a sender holding an ingest token cannot overwrite
another run's params by naming its id, while a resumed segment whose records overtake its own
start record loses nothing. Past a bound of held records per run, more are refused (counted in
``partial_success``).

Records of a run the index knows no trace of yet are stored as before: out-of-order delivery
is normal (the records of a segment may land before its start record). Start records
themselves are always stored, since opening a new segment in a new trace is what
``run(resume=...)`` does from another process; see docs/collector.md for what that leaves open.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from spanflow import attributes as attr
from spanflow.query.records import RunRecord
from spanflow_collector.index.executor import Executor, chunks, placeholders
from spanflow_collector.index.held_records import (
    MAX_HELD_RECORDS_PER_RUN,
    held_counts,
    held_traces,
    hold_records,
)

_KIND = attr.RecordKindValue


class ForeignRunRecordError(ValueError):
    """Run records name a run the index knows, from traces that are not the run's, past the
    bound of records a run may hold for such traces.

    A ``ValueError``: the ingest pipeline treats it as a fault in the data. It names every such
    record of the batch (``refused``: run id, trace id, record id), so the pipeline can store
    the rest at once and report these in ``partial_success``, one reason each.
    """

    def __init__(self, refused: Sequence[tuple[str, str, str]]) -> None:
        self.refused = frozenset(refused)
        self.reasons = tuple(
            f"run record {record_id}: run {run_id} was not started in trace "
            f"{trace_id or '(none)'} and holds {MAX_HELD_RECORDS_PER_RUN} records waiting for "
            "their segment's start already"
            for run_id, trace_id, record_id in refused
        )
        super().__init__(self.reasons[0] if self.reasons else "foreign run records")

    def refuses(self, record: RunRecord) -> bool:
        """Whether ``record`` is one of those refused."""
        return (record.run_id, record.trace_id, record.record_id) in self.refused


def hold_unclaimed(
    executor: Executor, records: Sequence[RunRecord], received_ns: int
) -> list[RunRecord]:
    """The records of ``records`` that may change their run now; the others are held.

    A record of a known run from a trace the run has no start record or span in (and no start
    record in this batch) is held (``held_records.py``) until that trace joins the run.

    Raises:
        ForeignRunRecordError: naming the records past a run's ``MAX_HELD_RECORDS_PER_RUN``
            (nothing is held then; the pipeline stores the rest without them).
    """
    claims = [record for record in records if record.kind != _KIND.START]
    if not claims:
        return list(records)
    started = {(record.run_id, record.trace_id) for record in records if record.kind == _KIND.START}
    known = _known_traces(executor, sorted({record.run_id for record in claims}))
    unclaimed = [
        record
        for record in claims
        if known.get(record.run_id)
        and record.trace_id not in known[record.run_id]
        and (record.run_id, record.trace_id) not in started
    ]
    if not unclaimed:
        return list(records)
    counts = held_counts(executor, sorted({record.run_id for record in unclaimed}))
    refused: list[tuple[str, str, str]] = []
    for record in unclaimed:
        if counts.get(record.run_id, 0) >= MAX_HELD_RECORDS_PER_RUN:
            refused.append((record.run_id, record.trace_id, record.record_id))
        counts[record.run_id] = counts.get(record.run_id, 0) + 1
    if refused:
        raise ForeignRunRecordError(refused)
    hold_records(executor, unclaimed, received_ns)
    held = {id(record) for record in unclaimed}
    return [record for record in records if id(record) not in held]


def claimed_held(executor: Executor, run_ids: Sequence[str]) -> list[tuple[str, str]]:
    """(run id, trace id) pairs of held records whose trace is now one of the run's."""
    pairs = held_traces(executor, run_ids)
    if not pairs:
        return []
    known = _known_traces(executor, sorted({run_id for run_id, _ in pairs}))
    return sorted(pair for pair in pairs if pair[1] in known.get(pair[0], set()))


def _known_traces(executor: Executor, run_ids: list[str]) -> dict[str, set[str]]:
    """Each run's traces: those of its start records and of its spans (``runs.trace_ids``)."""
    known: dict[str, set[str]] = {}
    for batch in chunks(run_ids):
        in_list = placeholders(len(batch))
        for run_id, trace_id in executor.execute(
            f"SELECT run_id, trace_id FROM run_starts WHERE run_id IN ({in_list})", batch
        ):
            known.setdefault(run_id, set()).add(trace_id)
        for run_id, trace_ids in executor.execute(
            f"SELECT id, trace_ids FROM runs WHERE id IN ({in_list})", batch
        ):
            known.setdefault(run_id, set()).update(json.loads(trace_ids))
    return {run_id: traces - {""} for run_id, traces in known.items()}
