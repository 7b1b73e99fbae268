"""What a replay changed, call by call: ``runs compare`` and the marks on the dataflow graph.

A replayed call is matched to the original call it was answered from (``served``/``edited``
calls carry its span id); a ``live`` call is compared with the original call at the same
position. A call is *changed* when its recorded output messages differ from the original's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from spanflow import attributes
from spanflow.query.terminal_text import printable

_MERMAID_STYLES = {
    "edited": "fill:#fde68a,stroke:#b45309",
    "changed": "fill:#fecaca,stroke:#b91c1c",
}
_DOT_COLOURS = {"edited": "#fde68a", "changed": "#fecaca"}


@dataclass(frozen=True)
class CallChange:
    """One LLM call of a replay next to the original call it stands for."""

    position: int
    span_id: str
    source: str  # served | edited | live | "" (not a replayed call)
    original_span_id: str | None
    changed: bool

    @property
    def mark(self) -> str | None:
        """``edited``, ``changed`` or None: how the graph highlights the call."""
        if self.source == attributes.ReplaySourceValue.EDITED:
            return "edited"
        return "changed" if self.changed else None


def replay_of(run: Any) -> str | None:
    """The original run id of a replay run (from its run attributes), else None."""
    value = getattr(run, "attributes", {}).get(attributes.REPLAY_OF_RUN_ATTRIBUTE)
    return value if isinstance(value, str) else None


def call_changes(client: Any, original_id: str, replay_id: str) -> list[CallChange]:
    """Each LLM call of ``replay_id`` (subruns included) against ``original_id``'s calls."""
    original = _llm_spans(client, original_id)
    replayed = _llm_spans(client, replay_id)
    original_by_id = {span.span_id: span for span in original}
    changes: list[CallChange] = []
    for position, span in enumerate(replayed, start=1):
        source = str(span.attributes.get(attributes.REPLAY_SOURCE, ""))
        original_id_of = span.attributes.get(attributes.REPLAY_ORIGINAL_SPAN)
        counterpart = (
            original_by_id.get(original_id_of) if isinstance(original_id_of, str) else None
        )
        if counterpart is None and position <= len(original):
            counterpart = original[position - 1]
        changed = counterpart is None or _output(span) != _output(counterpart)
        changes.append(
            CallChange(
                position=position,
                span_id=span.span_id,
                source=source,
                original_span_id=counterpart.span_id if counterpart is not None else None,
                changed=changed,
            )
        )
    return changes


def changes_text(changes: list[CallChange]) -> str:
    """The per-call table ``runs compare`` prints under the run comparison."""
    lines = ["LLM calls (replay vs original):"]
    for change in changes:
        state = "output changed" if change.changed else "same output"
        original = change.original_span_id or "-"
        lines.append(
            f"  {change.position:>3}  {printable(change.span_id)}  {change.source or '-':<7}  "
            f"{state}  (original {printable(original)})"
        )
    changed = sum(1 for change in changes if change.changed)
    lines.append(f"  {changed} of {len(changes)} call output(s) changed")
    return "\n".join(lines)


def mark_mermaid(text: str, graph: Any, changes: list[CallChange]) -> str:
    """``text`` (the graph's Mermaid) with edited and changed nodes styled."""
    names = {node.span_id: f"n{index}" for index, node in enumerate(graph.nodes)}
    lines = [text.rstrip("\n")]
    marked = [(names[c.span_id], c.mark) for c in changes if c.mark and c.span_id in names]
    if not marked:
        return text
    for mark, style in _MERMAID_STYLES.items():
        lines.append(f"  classDef {mark} {style}")
    for name, mark in marked:
        lines.append(f"  class {name} {mark}")
    return "\n".join(lines) + "\n"


def mark_dot(text: str, changes: list[CallChange]) -> str:
    """``text`` (the graph's DOT) with edited and changed nodes filled."""
    marked = [(c.span_id, c.mark) for c in changes if c.mark]
    if not marked:
        return text
    body = text.rstrip().removesuffix("}")
    extra = [
        f'  "{span_id}" [style=filled, fillcolor="{_DOT_COLOURS[mark]}"];'
        for span_id, mark in marked
        if mark is not None and span_id.isalnum()
    ]
    return body + "\n".join(extra) + "\n}\n"


def _llm_spans(client: Any, run_id: str) -> list[Any]:
    spans: list[Any] = []
    pending, seen = [run_id], set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        spans.extend(client.spans(current))
        pending.extend(child.id for child in client.children(current))
    llm = [
        s for s in spans if s.attributes.get(attributes.SPAN_KIND) == attributes.SpanKindValue.LLM
    ]
    return sorted(llm, key=lambda span: (span.start_time_unix_nano, span.span_id))


def _output(span: Any) -> Any:
    text = span.attributes.get(attributes.GEN_AI_OUTPUT_MESSAGES)
    if not isinstance(text, str):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text
