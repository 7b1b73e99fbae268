"""The dataflow graph of a set of spans, and its Mermaid and Graphviz DOT renderings.

``DataflowGraph.from_spans`` reads ``SpanRecord``s (``spanflow.query.records``), the one span
model of the index, the client and ``spanflow.testing``; ``spanflow.graph`` converts
OpenTelemetry ``ReadableSpan``s and plain mappings to them first.

Labels come from recorded spans, so the renderings escape them for their format: first every
control character becomes a visible escape (``terminal_text.printable``, so a label is one line
and nothing reaches a terminal raw), then the characters the format gives meaning to are
replaced — Mermaid entity codes (``#quot;``, ``#lt;``, ...) and DOT backslash escapes — so no
label can end its node or edge early.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from spanflow import attributes as attr
from spanflow.query.records import LinkRecord, SpanRecord
from spanflow.query.terminal_text import printable

PREVIEW_CHARS = 60
# Spans that are graph nodes even without links: calls, steps and framework tool calls.
_NODE_KINDS = (attr.SpanKindValue.LLM, attr.SpanKindValue.STEP, attr.SpanKindValue.TOOL)


@dataclass(frozen=True)
class DataflowNode:
    """A call in the graph: an LLM call, a step, or a producer known only by its id."""

    span_id: str
    name: str
    kind: str  # spanflow.span.kind value, or "span" / "external"
    model: str | None = None
    input_preview: str = ""
    output_preview: str = ""


@dataclass(frozen=True)
class DataflowEdge:
    """Data produced by ``producer`` and consumed by ``consumer`` (span ids, hex)."""

    producer: str
    consumer: str
    how: str
    score: float
    input_fields: tuple[str, ...] = ()
    output_field: str = ""


@dataclass(frozen=True)
class DataflowGraph:
    """Nodes in start order and dataflow edges between them."""

    nodes: tuple[DataflowNode, ...]
    edges: tuple[DataflowEdge, ...] = field(default=())

    @classmethod
    def from_spans(cls, spans: Iterable[SpanRecord]) -> DataflowGraph:
        """Build the graph from span records, in start order."""
        ordered = sorted(spans, key=lambda span: span.start_time_unix_nano)
        nodes: dict[str, DataflowNode] = {
            span.span_id: _node(span) for span in ordered if _graph_kind(span) in _NODE_KINDS
        }
        edges: list[DataflowEdge] = []
        by_id = {span.span_id: span for span in ordered}
        for span in ordered:
            for link in span.links:
                if link.attributes.get(attr.LINK_TYPE) != attr.LinkTypeValue.DATAFLOW:
                    continue
                for span_id in (link.span_id, span.span_id):
                    if span_id not in nodes:
                        known = by_id.get(span_id)
                        nodes[span_id] = (
                            _node(known) if known else DataflowNode(span_id, span_id, "external")
                        )
                edges.append(_edge(link, span.span_id))
        return cls(nodes=tuple(nodes.values()), edges=tuple(edges))

    def edge_pairs(self) -> set[tuple[str, str]]:
        """``(producer, consumer)`` span id pairs."""
        return {(edge.producer, edge.consumer) for edge in self.edges}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form: ``{"nodes": [...], "edges": [...]}``."""
        return {
            "nodes": [vars(node) | {} for node in self.nodes],
            "edges": [
                vars(edge) | {"input_fields": list(edge.input_fields)} for edge in self.edges
            ],
        }

    def to_mermaid(self) -> str:
        """A Mermaid ``flowchart LR`` of the graph."""
        names = {node.span_id: f"n{i}" for i, node in enumerate(self.nodes)}
        lines = ["flowchart LR"]
        for node in self.nodes:
            label = "<br/>".join(_mermaid_escape(part) for part in _label_parts(node))
            lines.append(f'  {names[node.span_id]}["{label}"]')
        for edge in self.edges:
            label = _mermaid_escape(f"{edge.how} {edge.score:.2f}")
            lines.append(f'  {names[edge.producer]} -->|"{label}"| {names[edge.consumer]}')
        return "\n".join(lines) + "\n"

    def to_dot(self) -> str:
        """A Graphviz DOT ``digraph`` of the graph."""
        lines = ["digraph dataflow {", "  rankdir=LR;", "  node [shape=box];"]
        for node in self.nodes:
            label = "\\n".join(_dot_escape(part) for part in _label_parts(node))
            lines.append(f'  "{_dot_escape(node.span_id)}" [label="{label}"];')
        for edge in self.edges:
            label = _dot_escape(f"{edge.how} {edge.score:.2f}")
            producer, consumer = _dot_escape(edge.producer), _dot_escape(edge.consumer)
            lines.append(f'  "{producer}" -> "{consumer}" [label="{label}"];')
        lines.append("}")
        return "\n".join(lines) + "\n"


def _edge(link: LinkRecord, consumer: str) -> DataflowEdge:
    get = link.attributes.get
    value = get(attr.LINK_INPUT_FIELDS) or ()
    fields = value if isinstance(value, tuple) else (value,)  # another SDK's one field
    return DataflowEdge(
        producer=link.span_id,
        consumer=consumer,
        how=str(get(attr.LINK_HOW, "")),
        score=_score(get(attr.LINK_SCORE)),
        input_fields=tuple(str(item) for item in fields),
        output_field=str(get(attr.LINK_OUTPUT_FIELD, "")),
    )


def _graph_kind(span: SpanRecord) -> str:
    """The node kind of a span: its ``spanflow.span.kind``, else guessed from other SDKs'
    GenAI and step attributes, else ``"span"``."""
    kind = span.spanflow_kind
    if kind is not None:
        return kind
    operation = span.attributes.get(attr.GEN_AI_OPERATION_NAME)
    if operation == attr.GenAiOperationValue.EXECUTE_TOOL:  # other instrumentations' tools
        return attr.SpanKindValue.TOOL
    if operation is not None:
        return attr.SpanKindValue.LLM
    if attr.STEP_NAME in span.attributes:
        return attr.SpanKindValue.STEP
    return "span"


def _node(span: SpanRecord) -> DataflowNode:
    get = span.attributes.get
    model = get(attr.GEN_AI_RESPONSE_MODEL) or get(attr.GEN_AI_REQUEST_MODEL)
    return DataflowNode(
        span_id=span.span_id,
        name=span.name,
        kind=_graph_kind(span),
        model=str(model) if model else None,
        input_preview=_preview(
            get(attr.GEN_AI_INPUT_MESSAGES)
            or get(attr.STEP_INPUT)
            or get(attr.GEN_AI_TOOL_CALL_ARGUMENTS),
            -1,
        ),
        output_preview=_preview(
            get(attr.GEN_AI_OUTPUT_MESSAGES)
            or get(attr.STEP_OUTPUT)
            or get(attr.GEN_AI_TOOL_CALL_RESULT),
            0,
        ),
    )


def _preview(value: Any, pick: int) -> str:
    """A short text from a captured JSON value: the first (``0``) or last (``-1``) text in it."""
    if not isinstance(value, str) or not value:
        return ""
    try:
        texts = list(_texts_in(json.loads(value)))
    except ValueError:
        texts = [value]
    if not texts:
        return ""
    text = " ".join(texts[pick].split())
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def _texts_in(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        if value.strip():
            yield value
    elif isinstance(value, Mapping):
        for key, child in value.items():
            if key not in ("role", "type", "id", "finish_reason", "name"):
                yield from _texts_in(child)
    elif isinstance(value, list):
        for child in value:
            yield from _texts_in(child)


def _label_parts(node: DataflowNode) -> list[str]:
    parts = [node.name if not node.model or node.model in node.name else f"{node.name} · "
             f"{node.model}"]  # fmt: skip
    if node.output_preview:
        parts.append(node.output_preview)
    return parts


# Mermaid reads "#name;" and "#123;" as entity codes inside a label, so a recorded "#" is one
# too (translate() replaces in a single pass, never re-reading its output); the rest end a
# quoted label, a node shape or an edge label, or start markdown or HTML inside one.
# https://mermaid.js.org/syntax/flowchart.html#entity-codes-to-escape-characters
_MERMAID_ENTITIES = {
    "#": "#35;",
    '"': "#quot;",
    "<": "#lt;",
    ">": "#gt;",
    "[": "#91;",
    "]": "#93;",
    "{": "#123;",
    "}": "#125;",
    "(": "#40;",
    ")": "#41;",
    "|": "#124;",
    "`": "#96;",
}
_MERMAID_TABLE = str.maketrans(_MERMAID_ENTITIES)


def _mermaid_escape(text: str) -> str:
    return printable(text).translate(_MERMAID_TABLE)


def _dot_escape(text: str) -> str:
    # Inside a double-quoted DOT string only backslash and quote are special; printable()
    # already turned newlines into the two characters "\n", which the backslash escape keeps
    # literal instead of letting Graphviz break the label.
    return printable(text).replace("\\", "\\\\").replace('"', '\\"')


def _score(value: Any) -> float:
    """A link's score as a finite float; 0.0 for what another SDK may send instead (text,
    arrays, NaN, infinities), so one odd link cannot break the graph of its whole run."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    score = float(value)
    return score if math.isfinite(score) else 0.0
