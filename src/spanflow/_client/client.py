"""``spanflow.Client``: list, inspect, compare and delete runs in a collector or a local index."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType

from spanflow import environment as env
from spanflow._client import bundles, management
from spanflow._client.backend import Backend
from spanflow._client.errors import InvalidQueryError
from spanflow._client.query import TimeBound, ValueFilters, run_list_pairs
from spanflow._client.source import Source, resolve_source
from spanflow.query.analysis.history import MetricStats
from spanflow.query.analysis.paired import PairedComparison
from spanflow.query.artifacts import ArtifactInfo, artifact_infos
from spanflow.query.graph import DataflowGraph
from spanflow.query.params import MAX_LIMIT
from spanflow.query.records import SpanRecord
from spanflow.query.store import MetricPoint, RunPage, RunSummary
from spanflow.query.views import RunComparison, RunDetail, SpanNode

MAX_COMPARED_RUNS = 20


class Client:
    """Read (and delete) runs, from a spanflow collector or straight from a run index.

    Every method returns the same records whichever way the client reads, and raises the same
    errors (``spanflow.client.ClientError`` and its subclasses). A SQLite index is opened
    read-only and must exist already: reading never creates, upgrades or changes it; only
    ``delete`` writes.

    Args:
        url_or_db: an ``http(s)://`` collector URL; a SQLite index path or ``postgresql://`` URL;
            or None for where the SDK writes: ``SPANFLOW_ENDPOINT``, else ``SPANFLOW_DB``, else
            ``./.spanflow/index.db``.
        token: bearer token for a collector that requires one (default:
            ``SPANFLOW_COLLECTOR_TOKEN``).
        timeout_s: per-request timeout against a collector.

    Example::

        client = spanflow.Client()
        for run in client.iter_runs(project="evals", status="failed"):
            print(run.name, run.error_message)
    """

    def __init__(
        self,
        url_or_db: str | os.PathLike[str] | None = None,
        *,
        token: str | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self.source: Source = resolve_source(url_or_db)
        self._backend: Backend
        if self.source.is_http:
            from spanflow._client.http import HttpBackend

            if token is None:
                token = os.environ.get(env.SPANFLOW_COLLECTOR_TOKEN) or None
            self._backend = HttpBackend(self.source.location, token=token, timeout_s=timeout_s)
        else:
            from spanflow._client.embedded import StoreBackend

            self._backend = StoreBackend.open(self.source.location)

    def __repr__(self) -> str:
        return f"Client({self.source.location!r})"

    def list_runs(
        self,
        *,
        project: str | None = None,
        status: str | Sequence[str] | None = None,
        tags: str | Sequence[str] | None = None,
        name: str | None = None,
        started_after: TimeBound = None,
        started_before: TimeBound = None,
        parent: str | None = None,
        top_level: bool = False,
        params: ValueFilters = None,
        metrics: ValueFilters = None,
        attributes: ValueFilters = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> RunPage:
        """One page of runs, newest first; pass ``page.next_cursor`` as ``cursor`` for the next.

        Args:
            project: only this project's runs.
            status: one status word or several (any of them matches).
            tags: the runs must carry every one of these tags.
            name: the run name contains this text.
            started_after: a ``datetime`` (naive = UTC), unix seconds or ISO 8601 text.
            started_before: likewise.
            parent: only the subruns of this run id.
            top_level: leave subruns out.
            params: ``{"lr": (">", 0.01), "model": "gpt-4o"}`` or ``["lr>0.01"]``.
            metrics: compared against each run's last value, as ``params``.
            attributes: free run attributes (``run(..., dataset="gsm8k")``), as ``params``.
            limit: page size, 1 to 500.
            cursor: ``next_cursor`` of the previous page.

        Raises:
            InvalidQueryError: a filter cannot be understood (``parameter`` names it).
        """
        pairs = run_list_pairs(
            project=project,
            status=status,
            tags=tags,
            name=name,
            started_after=started_after,
            started_before=started_before,
            parent=parent,
            top_level=top_level,
            params=params,
            metrics=metrics,
            attributes=attributes,
            limit=limit,
            cursor=cursor,
        )
        return self._backend.list_runs(pairs)

    def iter_runs(
        self,
        *,
        project: str | None = None,
        status: str | Sequence[str] | None = None,
        tags: str | Sequence[str] | None = None,
        name: str | None = None,
        started_after: TimeBound = None,
        started_before: TimeBound = None,
        parent: str | None = None,
        top_level: bool = False,
        params: ValueFilters = None,
        metrics: ValueFilters = None,
        attributes: ValueFilters = None,
        page_size: int = 200,
    ) -> Iterator[RunSummary]:
        """Every matching run, newest first, fetching pages as the loop goes (filters as above)."""
        pairs = run_list_pairs(
            project=project,
            status=status,
            tags=tags,
            name=name,
            started_after=started_after,
            started_before=started_before,
            parent=parent,
            top_level=top_level,
            params=params,
            metrics=metrics,
            attributes=attributes,
            limit=min(page_size, MAX_LIMIT),
        )
        yield from _every_run(lambda cursor: self._backend.list_runs(_at(pairs, cursor)))

    def get_run(self, run_id: str) -> RunSummary:
        """The run, merged across its segments. Raises ``RunNotFoundError``."""
        return self._backend.run(run_id)

    def run_detail(self, run_id: str) -> RunDetail:
        """The run with its metric history and subrun ids, in one request."""
        return self._backend.detail(run_id)

    def children(self, run_id: str) -> list[RunSummary]:
        """Every direct subrun of the run, newest first."""
        pairs = run_list_pairs(limit=MAX_LIMIT)
        return list(_every_run(lambda cursor: self._backend.children(run_id, _at(pairs, cursor))))

    def metric_history(self, run_id: str) -> list[MetricPoint]:
        """Every metric point the run logged, in time order."""
        return self._backend.metric_history(run_id)

    def spans(self, run_id: str) -> list[SpanRecord]:
        """Every span of the run (all segments, liveness markers included), by start time."""
        return self._backend.spans(run_id)

    def artifacts(self, run_id: str) -> list[ArtifactInfo]:
        """The run's artifacts by name: size, sha256, media type, path, and ``stored`` (False
        for a reference only, whose content was above the size limit when logged)."""
        return list(artifact_infos(self._backend.run(run_id)))

    def artifact_bytes(self, run_id: str, name: str) -> bytes:
        """The content of the run's artifact ``name``.

        Raises:
            ArtifactNotFoundError: no artifact of that name, or only a reference is stored.
        """
        return self._backend.artifact_content(run_id, name)

    def tree(self, run_id: str, *, include_markers: bool = False) -> tuple[SpanNode, ...]:
        """The run's spans nested under their parents: one root per segment."""
        return self._backend.tree(run_id, include_markers=include_markers)

    def graph(self, run_id: str) -> DataflowGraph:
        """The run's dataflow graph (``to_mermaid()``, ``to_dot()``, ``to_dict()``)."""
        return self._backend.graph(run_id)

    def compare(self, *run_ids: str) -> RunComparison:
        """Params, metrics and outputs of 2 to 20 runs side by side."""
        if not 2 <= len(run_ids) <= MAX_COMPARED_RUNS:
            raise InvalidQueryError("ids", f"compare 2 to {MAX_COMPARED_RUNS} runs")
        return self._backend.compare(run_ids)

    def compare_paired(
        self, run_a: str, run_b: str, *, pair_by: str = "name", confidence: float = 0.95
    ) -> PairedComparison:
        """Compare two evaluation runs sample by sample: their subruns paired by ``pair_by``.

        For every metric both sides logged: the mean difference B - A with a ``confidence``
        interval, the paired t-test and Wilcoxon signed-rank test for scores, McNemar's exact
        test for pass/fail metrics (values 0/1), and the samples that flipped.

        Args:
            pair_by: ``"name"`` (the subrun name), ``"param:KEY"`` or ``"attr:KEY"``.
            confidence: level of the interval, strictly between 0 and 1.
        """
        return management.paired(self, run_a, run_b, pair_by=pair_by, confidence=confidence)

    def metric_stats(
        self,
        metric: str,
        *,
        project: str | None = None,
        by: str | None = None,
        last: int | None = None,
        status: str | Sequence[str] | None = None,
        tags: str | Sequence[str] | None = None,
        name: str | None = None,
    ) -> MetricStats:
        """A metric across the newest ``last`` top-level runs: values in time order, and the
        count, mean, median, standard deviation, min and max, per value of the ``by`` param.

        A run that did not log the metric itself counts with its subruns' mean, if they did.
        """
        return management.metric_stats(
            self, metric, project=project, by=by, last=last, status=status, tags=tags, name=name
        )

    def prune(
        self,
        *,
        older_than_s: float | None = None,
        keep_last: int | None = None,
        status: str | Sequence[str] = (),
        project: str | None = None,
        dry_run: bool = False,
        progress: management.Progress | None = None,
    ) -> management.PruneResult:
        """Delete old top-level runs with their subruns; running runs are always kept.

        The ``keep_last`` newest matching runs stay; of the rest, those started more than
        ``older_than_s`` seconds ago are deleted (all of them when ``older_than_s`` is None).
        ``dry_run`` returns the choice without deleting.
        """
        statuses = (status,) if isinstance(status, str) else tuple(status)
        return management.prune(
            self,
            older_than_s=older_than_s,
            keep_last=keep_last,
            statuses=statuses,
            project=project,
            dry_run=dry_run,
            progress=progress,
        )

    def export(
        self,
        path: str | os.PathLike[str],
        *run_ids: str,
        project: str | None = None,
        since: TimeBound = None,
        progress: bundles.Progress | None = None,
    ) -> bundles.BundleResult:
        """Write runs with their subruns, spans, links, content and metric series to a bundle.

        Runs are the given ids plus, with ``project``/``since``, the matching top-level runs.
        A path ending in ``.gz`` is gzip-compressed. Format: docs/query.md (bundles).
        """
        return bundles.export_bundle(
            self, run_ids, path, project=project, since=since, progress=progress
        )

    def import_(
        self, path: str | os.PathLike[str], *, progress: bundles.Progress | None = None
    ) -> bundles.BundleResult:
        """Store a bundle's runs in this client's index or collector, ids and status kept.

        Importing the same bundle again changes nothing. Through a collector it needs a token
        allowed to ingest.
        """
        return bundles.import_bundle(self._backend, path, progress=progress)

    def delete(self, run_id: str) -> int:
        """Delete the run with its spans and subruns; returns how many runs were deleted."""
        return self._backend.delete(run_id)

    def close(self) -> None:
        """Release the index connection (nothing to do for a collector URL)."""
        self._backend.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _at(pairs: list[tuple[str, str]], cursor: str | None) -> list[tuple[str, str]]:
    """The query ``pairs`` for the page ``cursor`` points at (None: the first page)."""
    return pairs if cursor is None else [*pairs, ("cursor", cursor)]


def _every_run(fetch_page: Callable[[str | None], RunPage]) -> Iterator[RunSummary]:
    """The runs of every page, fetched one page at a time as the caller iterates."""
    cursor: str | None = None
    while True:
        page = fetch_page(cursor)
        yield from page.runs
        if page.next_cursor is None:
            return
        cursor = page.next_cursor
