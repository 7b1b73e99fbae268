"""Which run records may change a run: those sent from one of the run's own traces.

A run record names its run (``spanflow.run.id``) and the root span of its run segment
(``trace_id``/``span_id``). Run ids can be chosen by users (``run(id=...)``, ids derived from a
config), so knowing one proves nothing; a trace id is 128 random bits that only the process
running the segment has (and readers of the index). So once the index knows a run's traces, a
run record (params, metrics, outputs, inputs, attributes, tags, artifacts, heartbeats) for it
is stored only when it comes from one of them: a trace holding the run's root span or start
record, or a start record of the same batch. Otherwise the record is refused (counted in
``partial_success``), so a sender holding an ingest token cannot overwrite another run's
params by naming its id.

Records of a run the index knows no trace of yet are stored as before: out-of-order delivery
is normal (the records of a segment may land before its start record). Start records
themselves are always stored, since opening a new segment in a new trace is what
``run(resume=...)`` does from another process; see docs/collector.md for what that leaves open.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from spanflow.query.records import RunRecord
from spanflow_collector.index.executor import Executor, chunks, placeholders
from spanflow_collector.index.record_rows import RecordRows


class ForeignRunRecordError(ValueError):
    """Run records name a run the index knows, from traces that are not the run's.

    A ``ValueError``: the ingest pipeline treats it as a fault in the data. It names every such
    record of the batch (``refused``: run id, trace id, record id), so the pipeline can store
    the rest at once and report these in ``partial_success``, one reason each.
    """

    def __init__(self, refused: Sequence[tuple[str, str, str]]) -> None:
        self.refused = frozenset(refused)
        self.reasons = tuple(
            f"run record {record_id}: run {run_id} was not started in trace "
            f"{trace_id or '(none)'}; only its own segments may add to it"
            for run_id, trace_id, record_id in refused
        )
        super().__init__(self.reasons[0] if self.reasons else "foreign run records")

    def refuses(self, record: RunRecord) -> bool:
        """Whether ``record`` is one of those refused."""
        return (record.run_id, record.trace_id, record.record_id) in self.refused


def refuse_foreign_records(executor: Executor, rows: RecordRows) -> None:
    """Raise when records of ``rows`` claim a known run from a trace not the run's.

    Raises:
        ForeignRunRecordError: naming every such record.
    """
    if not rows.claims:
        return
    known = _known_traces(executor, sorted({run_id for run_id, _, _ in rows.claims}))
    refused = [
        (run_id, trace_id, record_id)
        for run_id, trace_id, record_id in rows.claims
        if known.get(run_id)
        and trace_id not in known[run_id]
        and (run_id, trace_id) not in rows.started_traces
    ]
    if refused:
        raise ForeignRunRecordError(refused)


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
