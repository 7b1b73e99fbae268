"""Span trees, subrun listing and comparisons computed from store records."""

from __future__ import annotations

import math

from spanflow.query.records import SpanRecord
from spanflow.query.store import RunSummary
from spanflow.query.views import build_span_tree, compare_runs
from tests.api.support import LlmCall, RunSpec, run_spans


def _span(span_id: str, parent: str | None, start: int, trace: str = "t1") -> SpanRecord:
    return SpanRecord(trace, span_id, parent, f"s{span_id}", 1, start, start + 1)


def test_tree_nests_children_in_start_order() -> None:
    """Children sit under their parent sorted by start time, whatever order spans arrive in."""
    spans = [
        _span("c2", "root", 30),
        _span("g1", "c1", 25),
        _span("root", None, 10),
        _span("c1", "root", 20),
    ]
    (root,) = build_span_tree(spans)
    assert [(depth, node.span.span_id) for depth, node in root.walk()] == [
        (0, "root"),
        (1, "c1"),
        (2, "g1"),
        (1, "c2"),
    ]


def test_each_segment_of_a_resumed_run_is_a_root() -> None:
    """A run resumed in a new trace shows one root per segment, oldest first."""
    spans = [
        _span("r2", None, 50, trace="t2"),
        _span("k2", "r2", 60, trace="t2"),
        _span("r1", None, 10),
    ]
    roots = build_span_tree(spans)
    assert [root.span.span_id for root in roots] == ["r1", "r2"]
    assert [child.span.span_id for child in roots[1].children] == ["k2"]


def test_orphans_become_roots_and_markers_are_hidden() -> None:
    """A span whose parent was never exported is still shown; liveness markers are not."""
    spans = run_spans(RunSpec("r", run_id="01JV", calls=[LlmCall()]))
    orphan = _span("orphan", "never-exported", spans[0].start_time_unix_nano + 1)
    roots = build_span_tree([*spans, orphan])
    assert [root.span.name for root in roots] == ["r", "sorphan"]
    assert all(node.span.name != "run.start" for root in roots for _, node in root.walk())
    with_markers = build_span_tree(spans, include_markers=True)
    assert "run.start" in [child.span.name for child in with_markers[0].children]


def test_comparison_marks_missing_and_different_values() -> None:
    """A key one run lacks counts as different; equal values do not; NaN equals NaN."""

    def run(run_id: str, params: dict[str, object], metrics: dict[str, float]) -> RunSummary:
        return RunSummary(
            run_id, "p", run_id, "completed", 1, 2, None, params=params, metrics=metrics
        )  # type: ignore[arg-type]

    comparison = compare_runs(
        [
            run("a", {"lr": 0.1, "seed": 1}, {"loss": math.nan}),
            run("b", {"lr": 0.1}, {"loss": math.nan}),
        ]
    )
    params = {diff.key: diff for diff in comparison.params}
    assert not params["lr"].differs
    assert params["seed"].values == (1, None) and params["seed"].differs
    assert not comparison.metrics[0].differs
