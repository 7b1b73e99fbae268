"""Fuzz: any recorded string through every `spanflow runs` renderer stays inert and one line.

Run names, tags, params, outputs, span names, status messages and LLM content are drawn from all
of Unicode plus escape sequences and layout characters. Every renderer must finish, print no
character a terminal interprets (only its own newlines, and its own colour codes when colour is
on), and keep its line structure: the same data with harmless strings in the same places gives
the same number of lines. The Mermaid and DOT renderings must parse as exactly one statement per
node and edge, with each label decoding back to its printable text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from spanflow import attributes as attr
from spanflow.cli import runs_render as render
from spanflow.dataflow import DataflowEdge, DataflowGraph, DataflowNode
from spanflow.query.records import SpanRecord, StatusCode
from spanflow.query.store import MetricPoint, RunSummary
from spanflow.query.terminal_text import printable
from spanflow.query.views import RunDetail, build_span_tree, compare_runs
from tests.cli.graph_syntax import parse_dot, parse_mermaid
from tests.cli.hostile_text import fuzz_settings, hostile_text, unsafe_characters

NOW_NS = 1_780_000_000 * 10**9
STYLES = (render.Style(color=False), render.Style(color=True))
STATUSES = [attr.RunStatus.COMPLETED, attr.RunStatus.FAILED, attr.RunStatus.RUNNING]

values = st.one_of(
    hostile_text,
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.lists(hostile_text, max_size=3).map(tuple),
)


@st.composite
def runs(draw: st.DrawFn) -> RunSummary:
    """A run whose every string field is hostile."""
    error = draw(st.one_of(st.none(), hostile_text))
    return RunSummary(
        id=draw(hostile_text),
        project=draw(hostile_text),
        name=draw(hostile_text),
        status=draw(st.one_of(st.sampled_from(STATUSES), hostile_text)),
        start_time_unix_nano=NOW_NS - draw(st.integers(0, 10**15)),
        end_time_unix_nano=draw(st.one_of(st.none(), st.just(NOW_NS))),
        parent_id=draw(st.one_of(st.none(), hostile_text)),
        tags=tuple(draw(st.lists(hostile_text, max_size=3))),
        params=draw(st.dictionaries(hostile_text, values, max_size=3)),
        metrics=draw(st.dictionaries(hostile_text, st.floats(), max_size=2)),
        outputs=draw(st.dictionaries(hostile_text, values, max_size=2)),
        error_type=error,
        error_message=draw(st.one_of(st.none(), hostile_text)) if error is not None else None,
        segment_count=draw(st.integers(1, 3)),
    )


# --- line structure, independent of content ------------------------------------------------
def _renamer() -> Callable[[str], str]:
    """Plain names for hostile strings: equal strings get equal names, empty stays empty.

    Renaming this way keeps which strings are equal (merged metric rows, dict keys) and which
    are empty (sections left out), so only the content differs, never the layout.
    """
    names: dict[str, str] = {"": ""}
    return lambda text: names.setdefault(text, f"s{len(names)}")


def _harmless(value: Any, rename: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return rename(value)
    if isinstance(value, tuple):
        return tuple(_harmless(item, rename) for item in value)
    if isinstance(value, Mapping):
        return {rename(key): _harmless(item, rename) for key, item in value.items()}
    return value


def _harmless_run(run: RunSummary, rename: Callable[[str], str]) -> RunSummary:
    fields = {name: _harmless(getattr(run, name), rename) for name in vars(run)}
    fields["status"] = run.status  # the status word picks the colour, not the layout
    return RunSummary(**fields)


def _assert_inert(text: str, style: render.Style) -> None:
    assert unsafe_characters(text, colour=style.color) == []
    if not style.color:
        assert "\x1b" not in text


@fuzz_settings()
@given(st.lists(runs(), min_size=1, max_size=4))
def test_runs_table_is_inert_with_one_line_per_run(listed: list[RunSummary]) -> None:
    """`runs list` prints a header and exactly one inert line per run, whatever the runs hold."""
    for style in STYLES:
        table = render.runs_table(listed, now_ns=NOW_NS, style=style)
        _assert_inert(table, style)
        assert len(table.split("\n")) == 1 + len(listed)


@fuzz_settings()
@given(runs(), st.lists(hostile_text, max_size=3), st.lists(hostile_text, max_size=3))
def test_run_detail_is_inert_and_laid_out_like_plain_data(
    run: RunSummary, children: list[str], metric_names: list[str]
) -> None:
    """`runs show` has the same lines for hostile strings as for plain ones, all inert."""
    history = tuple(MetricPoint(name, 1.0, None, NOW_NS) for name in metric_names)
    detail = RunDetail(run=run, metric_history=history, children=tuple(children))
    rename = _renamer()
    plain = RunDetail(
        run=_harmless_run(run, rename),
        metric_history=tuple(
            MetricPoint(rename(p.name), p.value, p.step, p.time_unix_nano) for p in history
        ),
        children=tuple(rename(child) for child in children),
    )
    for style in STYLES:
        text = render.run_detail_text(detail, now_ns=NOW_NS, style=style)
        _assert_inert(text, style)
        expected = render.run_detail_text(plain, now_ns=NOW_NS, style=style)
        assert len(text.split("\n")) == len(expected.split("\n"))


@st.composite
def span_trees(draw: st.DrawFn) -> list[SpanRecord]:
    """A run root span with hostile LLM and step spans under it, some failed."""
    root = SpanRecord(
        trace_id="0" * 31 + "1",
        span_id="a" * 16,
        parent_span_id=None,
        name=draw(hostile_text),
        kind=1,
        start_time_unix_nano=NOW_NS,
        end_time_unix_nano=NOW_NS + 10**9,
        attributes={attr.SPAN_KIND: attr.SpanKindValue.RUN, attr.RUN_ID: draw(hostile_text)},
    )
    spans = [root]
    for index in range(draw(st.integers(0, 4))):
        failed = draw(st.booleans())
        attributes = {
            attr.SPAN_KIND: draw(st.sampled_from([attr.SpanKindValue.LLM, "step"])),
            attr.GEN_AI_USAGE_INPUT_TOKENS: draw(st.one_of(st.integers(0, 10**6), hostile_text)),
            attr.GEN_AI_USAGE_OUTPUT_TOKENS: draw(st.integers(0, 10**6)),
            attr.ERROR_TYPE: draw(hostile_text),
            attr.GEN_AI_OUTPUT_MESSAGES: draw(hostile_text),
        }
        parent = draw(st.sampled_from(spans)).span_id
        spans.append(
            SpanRecord(
                trace_id=root.trace_id,
                span_id=f"{index + 1:016x}",
                parent_span_id=parent,
                name=draw(hostile_text),
                kind=3,
                start_time_unix_nano=NOW_NS + index + 1,
                end_time_unix_nano=NOW_NS + index + 2,
                attributes=attributes,
                status_code=StatusCode.ERROR if failed else StatusCode.UNSET,
                status_message=draw(hostile_text) if failed else "",
            )
        )
    return spans


@fuzz_settings()
@given(span_trees())
def test_span_tree_draws_one_inert_line_per_span(spans: list[SpanRecord]) -> None:
    """`runs tree` draws exactly one line per span, so no span name can forge a tree line."""
    roots = build_span_tree(spans)
    for style in STYLES:
        text = render.span_tree_text(roots, style=style)
        _assert_inert(text, style)
        lines = text.split("\n")
        assert len(lines) == len(spans)
        assert all(line.startswith(("├─ ", "└─ ", "│  ", "   ")) for line in lines[1:])


@fuzz_settings()
@given(st.lists(runs(), min_size=2, max_size=3))
def test_comparison_is_inert_and_laid_out_like_plain_data(compared: list[RunSummary]) -> None:
    """`runs compare` has one inert line per id, status and differing key."""
    comparison = compare_runs(compared)
    rows = 1 + 2 + len(comparison.params) + len(comparison.metrics) + len(comparison.outputs)
    for style in STYLES:
        text = render.comparison_text(comparison, style=style)
        _assert_inert(text, style)
        assert len(text.split("\n")) == rows


@st.composite
def graphs(draw: st.DrawFn) -> DataflowGraph:
    """Nodes and edges whose ids, names, models, previews and edge kinds are hostile."""
    span_ids = draw(st.lists(hostile_text, min_size=1, max_size=4, unique=True))
    nodes = tuple(
        DataflowNode(
            span_id=span_id,
            name=draw(hostile_text),
            kind=attr.SpanKindValue.LLM,
            model=draw(st.one_of(st.none(), hostile_text)),
            output_preview=draw(hostile_text),
        )
        for span_id in span_ids
    )
    edges = tuple(
        DataflowEdge(
            producer=draw(st.sampled_from(span_ids)),
            consumer=draw(st.sampled_from(span_ids)),
            how=draw(hostile_text),
            score=draw(st.floats()),
        )
        for _ in range(draw(st.integers(0, 4)))
    )
    return DataflowGraph(nodes=nodes, edges=edges)


def _expected_label(node: DataflowNode) -> list[str]:
    # The label is the name (with the model when the name lacks it), then the output preview.
    with_model = node.model and node.model not in node.name
    first = f"{node.name} · {node.model}" if with_model else node.name
    return [printable(first)] + ([printable(node.output_preview)] if node.output_preview else [])


@fuzz_settings()
@given(graphs())
def test_mermaid_has_one_statement_per_node_and_edge(graph: DataflowGraph) -> None:
    """`runs graph` Mermaid: each label stays inside its node or edge and decodes exactly."""
    text = graph.to_mermaid()
    assert unsafe_characters(text) == []
    parsed = parse_mermaid(text)
    ids = {node.span_id: f"n{i}" for i, node in enumerate(graph.nodes)}
    assert parsed.nodes == {ids[node.span_id]: _expected_label(node) for node in graph.nodes}
    assert parsed.edges == [
        (ids[e.producer], ids[e.consumer], printable(f"{e.how} {e.score:.2f}")) for e in graph.edges
    ]


@fuzz_settings()
@given(graphs())
def test_dot_has_one_statement_per_node_and_edge(graph: DataflowGraph) -> None:
    """`runs graph --format dot`: quoted ids and labels never end early and decode exactly."""
    text = graph.to_dot()
    assert unsafe_characters(text) == []
    parsed = parse_dot(text)
    assert parsed.nodes == {printable(node.span_id): _expected_label(node) for node in graph.nodes}
    assert parsed.edges == [
        (printable(e.producer), printable(e.consumer), printable(f"{e.how} {e.score:.2f}"))
        for e in graph.edges
    ]
