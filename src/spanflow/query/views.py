"""What the query API shows beyond the store's records: span trees, run detail and run comparison.

Pure functions over store records, shared by the REST routes and the embedded Python client.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from spanflow import attributes as attr
from spanflow.query.params import QueryParameterError
from spanflow.query.records import AttributeValue, SpanRecord
from spanflow.query.store import MetricPoint, RunIndexStore, RunPage, RunQuery, RunSummary

MARKER_KINDS = frozenset({attr.SpanKindValue.RUN_START, attr.SpanKindValue.RUN_HEARTBEAT})
"""Span kinds that only signal liveness; span trees leave them out unless asked."""

_CHILD_PAGE_SIZE = 500


@dataclass(frozen=True)
class SpanNode:
    """A span and the spans started under it, in start order."""

    span: SpanRecord
    children: tuple[SpanNode, ...] = ()

    def walk(self) -> Iterable[tuple[int, SpanNode]]:
        """``(depth, node)`` for this node and every descendant, depth first."""
        stack: list[tuple[int, SpanNode]] = [(0, self)]
        while stack:
            depth, node = stack.pop()
            yield depth, node
            stack.extend((depth + 1, child) for child in reversed(node.children))


@dataclass(frozen=True)
class RunDetail:
    """A run with its metric history and the ids of its subruns."""

    run: RunSummary
    metric_history: tuple[MetricPoint, ...]
    children: tuple[str, ...]


@dataclass(frozen=True)
class ValueDiff:
    """One param, metric or output across compared runs (``None`` where a run lacks it)."""

    key: str
    values: tuple[AttributeValue | None, ...]

    @property
    def differs(self) -> bool:
        """Whether the runs disagree (a missing value counts as different)."""
        return len(set(map(repr, self.values))) > 1


@dataclass(frozen=True)
class RunComparison:
    """Params, metrics, outputs, inputs and free attributes of runs side by side, keys sorted."""

    runs: tuple[RunSummary, ...]
    params: tuple[ValueDiff, ...]
    metrics: tuple[ValueDiff, ...]
    outputs: tuple[ValueDiff, ...]
    inputs: tuple[ValueDiff, ...] = ()
    attributes: tuple[ValueDiff, ...] = ()
    artifacts: tuple[ValueDiff, ...] = ()  # by name: the sha256 (else the path) of each run's


def build_span_tree(
    spans: Iterable[SpanRecord], *, include_markers: bool = False
) -> tuple[SpanNode, ...]:
    """Nest spans under their parents; spans whose parent is absent become roots.

    A run with several segments (resumed) has one root per segment, in start order.
    """
    ordered = sorted(
        (
            s
            for s in spans
            if include_markers or s.attributes.get(attr.SPAN_KIND) not in MARKER_KINDS
        ),
        key=lambda s: (s.start_time_unix_nano, s.span_id),
    )
    known = {(s.trace_id, s.span_id) for s in ordered}
    children_of: dict[tuple[str, str], list[SpanRecord]] = {}
    roots: list[SpanRecord] = []
    for span in ordered:
        parent = (span.trace_id, span.parent_span_id or "")
        if span.parent_span_id and parent in known and parent != (span.trace_id, span.span_id):
            children_of.setdefault(parent, []).append(span)
        else:
            roots.append(span)

    def node(span: SpanRecord) -> SpanNode:
        below = children_of.get((span.trace_id, span.span_id), ())
        return SpanNode(span=span, children=tuple(node(child) for child in below))

    return tuple(node(root) for root in roots)


def list_page(store: RunIndexStore, query: RunQuery) -> RunPage:
    """``store.list_runs(query)``, with the store's refusals as ``QueryParameterError``.

    The parser already rejects everything else a store refuses, so what is left is a cursor
    the store did not issue.
    """
    try:
        return store.list_runs(query)
    except ValueError as exc:
        raise QueryParameterError("cursor" if query.cursor else "query", str(exc)) from exc


def child_run_ids(store: RunIndexStore, run_id: str) -> tuple[str, ...]:
    """Ids of every direct subrun of ``run_id``, newest first."""
    ids: list[str] = []
    cursor: str | None = None
    while True:
        page = store.list_runs(RunQuery(parent_id=run_id, limit=_CHILD_PAGE_SIZE, cursor=cursor))
        ids.extend(run.id for run in page.runs)
        cursor = page.next_cursor
        if cursor is None:
            return tuple(ids)


def compare_runs(runs: Sequence[RunSummary]) -> RunComparison:
    """Line up the params, metrics, outputs, inputs and attributes of ``runs`` key by key."""
    return RunComparison(
        runs=tuple(runs),
        params=_diff([run.params for run in runs]),
        metrics=_diff([run.metrics for run in runs]),
        outputs=_diff([run.outputs for run in runs]),
        inputs=_diff([run.inputs for run in runs]),
        attributes=_diff([run.attributes for run in runs]),
        artifacts=_diff([_artifact_identities(run) for run in runs]),
    )


def _artifact_identities(run: RunSummary) -> dict[str, AttributeValue]:
    """Each artifact's content identity: its sha256, else its path (a reference only)."""
    identities: dict[str, AttributeValue] = {}
    for name, facts in run.artifacts.items():
        identity = facts.get("sha256") or facts.get("path")
        if isinstance(identity, str):
            identities[name] = identity
    return identities


def _diff(mappings: Sequence[Mapping[str, AttributeValue]]) -> tuple[ValueDiff, ...]:
    keys = sorted({key for mapping in mappings for key in mapping})
    return tuple(ValueDiff(key, tuple(mapping.get(key) for mapping in mappings)) for key in keys)
