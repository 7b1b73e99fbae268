"""JSON forms of runs, spans, trees and comparisons decode back to the records they came from."""

from __future__ import annotations

import json
import math
from typing import Any

from spanflow.dataflow import DataflowGraph
from spanflow.query import codec
from spanflow.query.store import MetricPoint, RunPage, RunSummary
from spanflow.query.views import RunDetail, build_span_tree, compare_runs
from tests.api.support import LlmCall, RunSpec, run_spans


def _through_json(value: object) -> Any:
    return json.loads(codec.dumps(value))


def _summary(**changes: object) -> RunSummary:
    fields: dict[str, object] = {
        "id": "01JRUN",
        "project": "evals",
        "name": "eval-7",
        "status": "completed",
        "start_time_unix_nano": 1_780_000_000_123_456_789,
        "end_time_unix_nano": 1_780_000_002_123_456_789,
        "parent_id": None,
        "tags": ("nightly",),
        "params": {"lr": 0.01, "layers": (1, 2, 3), "model": "gpt-4o", "shuffle": True},
        "metrics": {"accuracy": 0.93},
        "outputs": {"answer": "42"},
        "attributes": {"team": "search"},
        "span_count": 4,
        "llm_call_count": 2,
        "input_tokens": 120,
        "output_tokens": 30,
        "trace_ids": ("ab" * 16,),
    }
    fields.update(changes)
    return RunSummary(**fields)


def test_run_pages_round_trip_with_exact_nanoseconds() -> None:
    """A page of runs survives JSON exactly, nanosecond times and array params included."""
    page = RunPage(
        runs=(_summary(), _summary(id="01JOTHER", end_time_unix_nano=None)), next_cursor="c"
    )
    encoded = _through_json(codec.encode_page(page))
    assert codec.decode_page(encoded) == page
    first = encoded["runs"][0]
    assert first["started_at"] == "2026-05-28T20:26:40.123456Z"
    assert first["duration_s"] == 2.0


def test_non_finite_metrics_survive_as_names() -> None:
    """A NaN or infinite metric (a diverged loss) is valid JSON and decodes to the same float."""
    run = _summary(metrics={"loss": math.nan, "ratio": math.inf})
    text = codec.dumps(codec.encode_run(run))
    assert '"NaN"' in text and '"Infinity"' in text
    decoded = codec.decode_run(json.loads(text))
    assert math.isnan(decoded.metrics["loss"]) and decoded.metrics["ratio"] == math.inf


def test_spans_and_trees_round_trip() -> None:
    """Spans with events and links, nested into a tree, decode to equal records."""
    first = LlmCall(output_text="draft")
    spans = run_spans(
        RunSpec(
            "r",
            run_id="01JR",
            metric_points=[("loss", 0.5, 1)],
            calls=[first, LlmCall(consumes=first.span_id)],
        )
    )
    decoded = [codec.decode_span(_through_json(codec.encode_span(s))) for s in spans]
    assert decoded == spans
    tree = build_span_tree(spans)
    assert codec.decode_tree(_through_json(codec.encode_tree(tree))) == tree


def test_detail_comparison_and_graph_round_trip() -> None:
    """Run detail, a comparison of two runs, and a dataflow graph decode to equal values."""
    detail = RunDetail(
        run=_summary(), metric_history=(MetricPoint("loss", 0.5, 1, 10),), children=("01JC",)
    )
    assert codec.decode_detail(_through_json(codec.encode_detail(detail))) == detail
    comparison = compare_runs([_summary(), _summary(id="01JB", params={"lr": 0.02})])
    decoded = codec.decode_comparison(_through_json(codec.encode_comparison(comparison)))
    assert decoded == comparison
    first = LlmCall(output_text="draft")
    graph = DataflowGraph.from_spans(
        run_spans(RunSpec("r", run_id="01JG", calls=[first, LlmCall(consumes=first.span_id)]))
    )
    assert graph.edges
    assert codec.decode_graph(_through_json(codec.encode_graph(graph))) == graph
