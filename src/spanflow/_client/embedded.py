"""The client backend that opens a run index (SQLite file or PostgreSQL) in this process."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from spanflow._client.errors import IndexNotFoundError, InvalidQueryError, RunNotFoundError
from spanflow._client.source import is_database_url
from spanflow.dataflow import DataflowGraph
from spanflow_collector.api.params import QueryParameterError, parse_run_query
from spanflow_collector.api.views import (
    RunComparison,
    RunDetail,
    SpanNode,
    build_span_tree,
    child_run_ids,
    compare_runs,
    list_page,
)
from spanflow_collector.records import SpanRecord
from spanflow_collector.store import MetricPoint, RunIndexStore, RunPage, RunQuery, RunSummary


class StoreBackend:
    """Answers the client's questions from a store, with the API's own parsing and shaping."""

    def __init__(self, store: RunIndexStore) -> None:
        self._store = store

    @classmethod
    def open(cls, location: str) -> StoreBackend:
        """Open the index at a path or database URL; a missing index file is an error."""
        if not is_database_url(location) and not Path(location).is_file():
            raise IndexNotFoundError(
                f"no run index at {location} (nothing recorded there yet?); "
                "pass a collector URL or another index path"
            )
        from spanflow_collector.index import (  # type: ignore[import-not-found,unused-ignore]
            open_store,
        )

        return cls(open_store(location))

    def list_runs(self, pairs: Sequence[tuple[str, str]]) -> RunPage:
        return self._list(_parse(pairs))

    def children(self, run_id: str, pairs: Sequence[tuple[str, str]]) -> RunPage:
        if any(name == "parent" for name, _ in pairs):
            raise InvalidQueryError("parent", "the parent is the run whose children are listed")
        run = self._run(run_id)
        return self._list(_parse([*pairs, ("parent", run.id)]))

    def run(self, run_id: str) -> RunSummary:
        return self._run(run_id)

    def detail(self, run_id: str) -> RunDetail:
        run = self._run(run_id)
        return RunDetail(
            run=run,
            metric_history=tuple(self._store.get_metric_history(run.id)),
            children=child_run_ids(self._store, run.id),
        )

    def metric_history(self, run_id: str) -> list[MetricPoint]:
        return self._store.get_metric_history(self._run(run_id).id)

    def spans(self, run_id: str) -> list[SpanRecord]:
        return self._store.get_spans(self._run(run_id).id)

    def tree(self, run_id: str, *, include_markers: bool) -> tuple[SpanNode, ...]:
        return build_span_tree(self.spans(run_id), include_markers=include_markers)

    def graph(self, run_id: str) -> DataflowGraph:
        return DataflowGraph.from_spans(self.spans(run_id))

    def compare(self, run_ids: Sequence[str]) -> RunComparison:
        return compare_runs([self._run(run_id) for run_id in run_ids])

    def delete(self, run_id: str) -> int:
        return self._store.delete_runs([self._run(run_id).id])

    def close(self) -> None:
        self._store.close()

    def _run(self, run_id: str) -> RunSummary:
        run = self._store.get_run(run_id)
        if run is None:
            raise RunNotFoundError(run_id)
        return run

    def _list(self, query: RunQuery) -> RunPage:
        try:
            return list_page(self._store, query)
        except QueryParameterError as exc:
            raise InvalidQueryError(exc.parameter, str(exc)) from exc


def _parse(pairs: Sequence[tuple[str, str]]) -> RunQuery:
    try:
        return parse_run_query(pairs)
    except QueryParameterError as exc:
        raise InvalidQueryError(exc.parameter, str(exc)) from exc
