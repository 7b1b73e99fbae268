"""The client backend that opens a run index (SQLite file or PostgreSQL) in this process.

Reading never creates or changes an index: a SQLite file is opened read-only and must already
be a run index of this spanflow's schema; only ``delete`` opens it for writing. Whatever goes
wrong opening or reading the index reaches the caller as a ``ClientError`` saying what and
where, never as a driver exception.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from spanflow._client.errors import (
    ArtifactNotFoundError,
    IndexNotFoundError,
    IndexUnreadableError,
    InvalidQueryError,
    RunNotFoundError,
)
from spanflow.query.artifacts import ArtifactNotFound, artifact_content
from spanflow.query.graph import DataflowGraph
from spanflow.query.params import QueryParameterError, parse_run_query
from spanflow.query.records import RunRecord, SpanRecord
from spanflow.query.store import MetricPoint, RunIndexStore, RunPage, RunQuery, RunSummary
from spanflow.query.views import (
    RunComparison,
    RunDetail,
    SpanNode,
    build_span_tree,
    child_run_ids,
    compare_runs,
    list_page,
)

_POSTGRES_SCHEMES = ("postgresql://", "postgres://")
P = ParamSpec("P")
T = TypeVar("T")


def _shown(location: str) -> str:
    """The location for a message: a database URL without its password."""
    parts = urllib.parse.urlsplit(location) if "://" in location else None
    if parts is None or parts.password is None:
        return location
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


@contextmanager
def _index_errors(location: str) -> Iterator[None]:
    """Driver and schema errors from the index, as ``IndexUnreadableError`` naming it."""
    from spanflow_collector.index import SchemaVersionError

    try:
        yield
    except SchemaVersionError as exc:
        raise IndexUnreadableError(f"{_shown(location)}: {exc}") from exc
    except Exception as exc:
        # psycopg is imported only for PostgreSQL indexes, so its errors are known by module.
        if isinstance(exc, sqlite3.Error) or type(exc).__module__.startswith("psycopg"):
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise IndexUnreadableError(
                f"cannot read the run index at {_shown(location)}: {reason}"
            ) from exc
        raise


def _translated(
    method: Callable[Concatenate[StoreBackend, P], T],
) -> Callable[Concatenate[StoreBackend, P], T]:
    @functools.wraps(method)
    def call(self: StoreBackend, /, *args: P.args, **kwargs: P.kwargs) -> T:
        with _index_errors(self._location):
            return method(self, *args, **kwargs)

    return call


def _open_for_reading(location: str) -> RunIndexStore:
    """The index at ``location``, opened so that reading cannot create or change it."""
    from spanflow_collector.index import SqliteRunIndexStore, open_store
    from spanflow_collector.index.schema import IndexSchemaMissingError

    if location.startswith(_POSTGRES_SCHEMES):
        try:
            return open_store(location, read_only=True)
        except ImportError as exc:
            raise IndexUnreadableError(str(exc)) from exc
        except IndexSchemaMissingError as exc:
            raise IndexNotFoundError(str(exc)) from exc
    if "://" in location:
        raise IndexUnreadableError(
            f"{location} is neither a run index path nor a postgresql:// URL"
        )
    path = Path(location)
    if not path.exists():
        raise IndexNotFoundError(
            f"no run index at {location} (nothing recorded there yet?); "
            "pass a collector URL or another index path"
        )
    if not path.is_file():
        raise IndexUnreadableError(f"{location} is not a run index file (it is a directory?)")
    if not os.access(path, os.R_OK):
        raise IndexUnreadableError(f"cannot read the run index at {location}: permission denied")
    if path.stat().st_size == 0:
        raise IndexUnreadableError(f"{location} is an empty file, not a run index")
    return SqliteRunIndexStore(path, read_only=True)


class StoreBackend:
    """Answers the client's questions from a store, with the API's own parsing and shaping."""

    def __init__(self, store: RunIndexStore, *, location: str) -> None:
        self._store = store
        self._location = location

    @classmethod
    def open(cls, location: str) -> StoreBackend:
        """Open the index at a path or database URL for reading; it must exist already.

        Raises:
            IndexNotFoundError: no file at the path.
            IndexUnreadableError: not a run index, another schema version, no permission, or
                the PostgreSQL driver is not installed.
        """
        with _index_errors(location):
            return cls(_open_for_reading(location), location=location)

    @_translated
    def list_runs(self, pairs: Sequence[tuple[str, str]]) -> RunPage:
        return self._list(_parse(pairs))

    @_translated
    def children(self, run_id: str, pairs: Sequence[tuple[str, str]]) -> RunPage:
        if any(name == "parent" for name, _ in pairs):
            raise InvalidQueryError("parent", "the parent is the run whose children are listed")
        run = self._run(run_id)
        return self._list(_parse([*pairs, ("parent", run.id)]))

    @_translated
    def run(self, run_id: str) -> RunSummary:
        return self._run(run_id)

    @_translated
    def detail(self, run_id: str) -> RunDetail:
        run = self._run(run_id)
        return RunDetail(
            run=run,
            metric_history=tuple(self._store.get_metric_history(run.id)),
            children=child_run_ids(self._store, run.id),
        )

    @_translated
    def metric_history(self, run_id: str) -> list[MetricPoint]:
        return self._store.get_metric_history(self._run(run_id).id)

    @_translated
    def spans(self, run_id: str) -> list[SpanRecord]:
        return self._store.get_spans(self._run(run_id).id)

    @_translated
    def tree(self, run_id: str, *, include_markers: bool) -> tuple[SpanNode, ...]:
        return build_span_tree(self.spans(run_id), include_markers=include_markers)

    @_translated
    def graph(self, run_id: str) -> DataflowGraph:
        return DataflowGraph.from_spans(self.spans(run_id))

    @_translated
    def compare(self, run_ids: Sequence[str]) -> RunComparison:
        return compare_runs([self._run(run_id) for run_id in run_ids])

    @_translated
    @_translated
    def artifact_content(self, run_id: str, name: str) -> bytes:
        try:
            return artifact_content(self._store, self._run(run_id), name)[1]
        except ArtifactNotFound as exc:
            raise ArtifactNotFoundError(exc.run_id, exc.name, str(exc)) from exc

    def delete(self, run_id: str) -> int:
        from spanflow_collector.index import open_store

        run = self._run(run_id)
        writer = open_store(self._location)  # deleting is the one write: its own store
        try:
            return writer.delete_runs([run.id])
        finally:
            writer.close()

    @_translated
    def write(self, spans: Sequence[SpanRecord], records: Sequence[RunRecord]) -> None:
        from spanflow_collector.index import open_store

        writer = open_store(self._location)  # like delete: writing opens a store of its own
        try:
            writer.write_batch(spans, records)
        finally:
            writer.close()

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
