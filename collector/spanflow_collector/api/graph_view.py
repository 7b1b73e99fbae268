"""A run's dataflow graph as the run page draws it: its subruns' calls grouped by run, replay marks.

``GET /api/v1/runs/{id}/graph`` answers the graph of the run's own spans; with ``subruns=true``
it adds every descendant run's calls (breadth-first, up to ``MAX_GRAPH_RUNS`` runs and
``MAX_GRAPH_NODES`` nodes, and says so in ``truncated`` when it stops early), so edges between
subruns join real nodes. Each node names the run it belongs to; ``runs`` lists the runs shown.

In a replay (``spanflow replay``), each LLM call node carries ``replay``: where its answer came
from (``spanflow.replay.source``) and whether its output differs from the original call's — the
same comparison ``spanflow runs compare`` prints (``spanflow.query.replay_changes``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from spanflow import attributes as attr
from spanflow.query import replay_changes
from spanflow.query.graph import DataflowEdge, DataflowGraph, DataflowNode
from spanflow.query.records import SpanRecord, StatusCode
from spanflow.query.store import RunIndexStore, RunQuery, RunSummary

MAX_GRAPH_RUNS = 200
"""The run and at most this many minus one descendant runs are drawn in one graph."""
MAX_GRAPH_NODES = 2000
"""Descendant runs are added while the graph stays within this many nodes (the run's own
nodes always count in full)."""
_MAX_ANCESTORS = 64  # a parent chain longer than this is not followed to find a replay
_CHILD_PAGE = 500
_EXTERNAL = "external"

JsonObject = dict[str, Any]


@dataclass
class _Tree:
    """A run and the descendant runs loaded with it, breadth-first, each with its spans."""

    runs: list[RunSummary] = field(default_factory=list)
    spans: dict[str, list[SpanRecord]] = field(default_factory=dict)
    children: dict[str, list[RunSummary]] = field(default_factory=dict)
    graphs: dict[str, DataflowGraph] = field(default_factory=dict)
    cut: str | None = None  # "runs" or "nodes" when descendants were left out
    with_subruns: bool = False


def run_graph(store: RunIndexStore, run: RunSummary, *, subruns: bool) -> JsonObject:
    """The JSON graph of ``run`` (with its descendants' calls when ``subruns``)."""
    tree = _load_tree(store, run, subruns=subruns)
    run_of = {span.span_id: r for r in tree.runs for span in tree.spans[r.id]}
    span_by_id = {span.span_id: span for spans in tree.spans.values() for span in spans}
    nodes: dict[str, DataflowNode] = {}
    edges: list[DataflowEdge] = []
    for current in tree.runs:
        graph = tree.graphs[current.id]
        for node in graph.nodes:
            known = nodes.get(node.span_id)
            # A producer in another run is an "external" placeholder in its consumer's graph.
            if known is None or (known.kind == _EXTERNAL and node.kind != _EXTERNAL):
                nodes[node.span_id] = node
        edges.extend(graph.edges)
    changes = _replay_changes(store, run, tree, span_by_id)
    node_counts: dict[str, int] = {}
    encoded = []
    for node in nodes.values():
        owner = run_of.get(node.span_id)
        span = span_by_id.get(node.span_id)
        if owner is not None and node.kind != _EXTERNAL:
            node_counts[owner.id] = node_counts.get(owner.id, 0) + 1
        encoded.append(
            vars(node)
            | {"run_id": owner.id if owner else None, "run_name": owner.name if owner else None}
            | _facts(span)
            | {"replay": _replay_mark(span, changes[1].get(node.span_id) if changes else None)}
        )
    return {
        "nodes": encoded,
        "edges": [vars(edge) | {"input_fields": list(edge.input_fields)} for edge in edges],
        "runs": [
            {
                "id": r.id,
                "name": r.name,
                "status": r.status,
                "parent_id": r.parent_id,
                "node_count": node_counts.get(r.id, 0),
                "llm_call_count": r.llm_call_count,  # the run's own, as its summary says
            }
            for r in tree.runs
        ],
        "truncated": _truncation(tree),
        "replay_of": changes[0] if changes else None,
    }


def _load_tree(store: RunIndexStore, root: RunSummary, *, subruns: bool) -> _Tree:
    tree = _Tree(with_subruns=subruns)
    queue: deque[RunSummary] = deque([root])
    seen = {root.id}
    node_total = 0
    while queue:
        if len(tree.runs) >= MAX_GRAPH_RUNS:
            tree.cut = "runs"
            break
        current = queue[0]
        spans = store.get_spans(current.id)
        graph = DataflowGraph.from_spans(spans)
        count = sum(1 for node in graph.nodes if node.kind != _EXTERNAL)
        if tree.runs and node_total + count > MAX_GRAPH_NODES:
            tree.cut = "nodes"
            break
        queue.popleft()
        node_total += count
        tree.runs.append(current)
        tree.spans[current.id] = spans
        tree.graphs[current.id] = graph
        if not subruns:
            continue
        wanted = max(1, MAX_GRAPH_RUNS - len(tree.runs) - len(queue) + 1)
        children = [c for c in _children(store, current.id, wanted) if c.id not in seen]
        seen.update(child.id for child in children)
        tree.children[current.id] = children
        queue.extend(children)
    return tree


def _children(store: RunIndexStore, run_id: str, wanted: int) -> list[RunSummary]:
    """Up to ``wanted`` direct subruns (the newest, when there are more), in start order."""
    found: list[RunSummary] = []
    cursor: str | None = None
    while len(found) < wanted:
        limit = min(_CHILD_PAGE, wanted - len(found))
        page = store.list_runs(RunQuery(parent_id=run_id, limit=limit, cursor=cursor))
        found.extend(page.runs)
        cursor = page.next_cursor
        if cursor is None:
            break
    return sorted(found, key=lambda run: (run.start_time_unix_nano, run.id))


def _truncation(tree: _Tree) -> JsonObject | None:
    if tree.cut is None:
        return None
    shown = len(tree.runs) - 1
    limit = f"{MAX_GRAPH_RUNS} runs" if tree.cut == "runs" else f"{MAX_GRAPH_NODES:,} nodes"
    return {
        "reason": tree.cut,
        "max_runs": MAX_GRAPH_RUNS,
        "max_nodes": MAX_GRAPH_NODES,
        "subruns_shown": shown,
        "message": (
            f"Only {shown} subrun{'' if shown == 1 else 's'} of this run are drawn: one graph "
            f"holds at most {limit}. Subruns are added level by level (the newest first when a "
            "run has more); open a subrun to see its own graph."
        ),
    }


def _facts(span: SpanRecord | None) -> JsonObject:
    if span is None:
        return {"duration_s": None, "input_tokens": None, "output_tokens": None, "failed": False}
    usage = [span.attributes.get(key) for key in
             (attr.GEN_AI_USAGE_INPUT_TOKENS, attr.GEN_AI_USAGE_OUTPUT_TOKENS)]  # fmt: skip
    return {
        "duration_s": max(span.end_time_unix_nano - span.start_time_unix_nano, 0) / 1e9,
        "input_tokens": usage[0] if isinstance(usage[0], int) else None,
        "output_tokens": usage[1] if isinstance(usage[1], int) else None,
        "failed": span.status_code == StatusCode.ERROR,
    }


def _replay_mark(
    span: SpanRecord | None, change: replay_changes.CallChange | None
) -> JsonObject | None:
    source = span.attributes.get(attr.REPLAY_SOURCE) if span is not None else None
    if span is None or not isinstance(source, str):
        return None
    original = span.attributes.get(attr.REPLAY_ORIGINAL_SPAN)
    return {
        "source": source,
        "original_span_id": (
            change.original_span_id
            if change is not None
            else original
            if isinstance(original, str)
            else None
        ),
        "changed": change.changed if change is not None else None,
    }


def _replay_changes(
    store: RunIndexStore, run: RunSummary, tree: _Tree, span_by_id: dict[str, SpanRecord]
) -> tuple[JsonObject, dict[str, replay_changes.CallChange]] | None:
    """The replay this run belongs to, and each replayed call's change by span id."""
    if not any(attr.REPLAY_SOURCE in span.attributes for span in span_by_id.values()):
        return None
    replay_root = _replay_root(store, run)
    if replay_root is None:
        return None
    original_id = replay_changes.replay_of(replay_root)
    assert original_id is not None  # _replay_root found it
    original = store.get_run(original_id)
    summary: JsonObject = {
        "run_id": original_id,
        "name": original.name if original else None,
        "changes_known": False,
        "note": None,
    }
    if original is None:
        summary["note"] = "the original run is not in this index, so changed outputs are unknown"
        return summary, {}
    reuse = replay_root.id == run.id and tree.with_subruns
    replayed = tree if reuse else _load_tree(store, replay_root, subruns=True)
    recorded = _load_tree(store, original, subruns=True)
    if replayed.cut or recorded.cut:
        summary["note"] = "the replay is too large to compare call by call here"
        return summary, {}
    client = _TreeClient((replayed, recorded))
    changes = replay_changes.call_changes(client, original.id, replay_root.id)
    summary["changes_known"] = True
    return summary, {change.span_id: change for change in changes}


def _replay_root(store: RunIndexStore, run: RunSummary) -> RunSummary | None:
    """``run`` or its nearest ancestor that is a replay (only top-level runs carry the link)."""
    current: RunSummary | None = run
    for _ in range(_MAX_ANCESTORS):
        if current is None:
            return None
        if replay_changes.replay_of(current) is not None:
            return current
        current = store.get_run(current.parent_id) if current.parent_id else None
    return None


class _TreeClient:
    """What ``call_changes`` reads (``spans``, ``children``), served from loaded trees."""

    def __init__(self, trees: Sequence[_Tree]) -> None:
        self._spans = {k: v for tree in trees for k, v in tree.spans.items()}
        self._children = {k: v for tree in trees for k, v in tree.children.items()}

    def spans(self, run_id: str) -> list[SpanRecord]:
        return self._spans.get(run_id, [])

    def children(self, run_id: str) -> list[RunSummary]:
        return self._children.get(run_id, [])
