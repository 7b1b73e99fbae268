"""The seam between ``Client`` and what it reads: a collector over HTTP or a run index directly."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from spanflow.query.graph import DataflowGraph
from spanflow.query.records import RunRecord, SpanRecord
from spanflow.query.store import MetricPoint, RunPage, RunSummary
from spanflow.query.views import RunComparison, RunDetail, SpanNode


class Backend(Protocol):
    """Each operation returns the same records whichever backend answers.

    Unknown runs raise ``RunNotFoundError``, bad filters ``InvalidQueryError``.
    """

    def list_runs(self, pairs: Sequence[tuple[str, str]]) -> RunPage:
        """One page of runs for ``GET /api/v1/runs`` query parameters."""

    def children(self, run_id: str, pairs: Sequence[tuple[str, str]]) -> RunPage:
        """One page of the run's subruns."""

    def run(self, run_id: str) -> RunSummary:
        """The run's summary."""

    def detail(self, run_id: str) -> RunDetail:
        """The run, its metric history and its subrun ids."""

    def metric_history(self, run_id: str) -> list[MetricPoint]:
        """Every metric point of the run, in time order."""

    def spans(self, run_id: str) -> list[SpanRecord]:
        """Every span of the run, by start time."""

    def tree(self, run_id: str, *, include_markers: bool) -> tuple[SpanNode, ...]:
        """The run's span tree, one root per segment."""

    def graph(self, run_id: str) -> DataflowGraph:
        """The run's dataflow graph."""

    def compare(self, run_ids: Sequence[str]) -> RunComparison:
        """Params, metrics and outputs of the runs side by side."""

    def artifact_content(self, run_id: str, name: str) -> bytes:
        """The stored content of the run's artifact ``name`` (``ArtifactNotFoundError``)."""

    def delete(self, run_id: str) -> int:
        """Delete the run and its subruns; how many runs went."""

    def write(self, spans: Sequence[SpanRecord], records: Sequence[RunRecord]) -> None:
        """Store spans and run records as an exporter would (idempotent)."""

    def close(self) -> None:
        """Release connections."""
