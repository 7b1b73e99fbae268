"""Plain-text views of runs for ``spanflow runs``: aligned tables, relative times, span trees.

Every recorded string (names, ids, tags, keys, values, error messages) goes through
``terminal_text.printable`` or ``fit`` before it joins a line, so nothing a span carries can
move the cursor, recolour the terminal or start a line of its own; spanflow's own colour codes
are added afterwards, by ``Style``, to text already made printable.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from spanflow import attributes as attr
from spanflow.client import RunComparison, RunDetail, RunSummary, SpanNode
from spanflow.query.records import AttributeValue, StatusCode
from spanflow.query.terminal_text import char_width, fit, printable

_STATUS_COLORS: dict[str, str] = {
    attr.RunStatus.COMPLETED: "32",  # green
    attr.RunStatus.FAILED: "31",  # red
    attr.RunStatus.RUNNING: "36",  # cyan
    attr.RunStatus.INTERRUPTED: "33",  # yellow
    attr.RunStatus.CANCELLED: "2",  # dim
}
_NAME_WIDTH = 36
_VALUE_WIDTH = 48
_LABEL_WIDTH = 120  # a span name or attribute in a tree line


@dataclass(frozen=True)
class Style:
    """Whether to colour output (only on a terminal, and never with ``NO_COLOR``).

    Both methods take recorded text and return it printable, then coloured: the only escape
    sequences in their result are the colour codes added here.
    """

    color: bool = False

    def status(self, status: str) -> str:
        """The status word, coloured by outcome."""
        code = _STATUS_COLORS.get(status)
        text = printable(status)
        return f"\x1b[{code}m{text}\x1b[0m" if self.color and code else text

    def dim(self, text: str) -> str:
        """Secondary text."""
        text = printable(text)
        return f"\x1b[2m{text}\x1b[0m" if self.color and text else text


# --- numbers and times ------------------------------------------------------------------------
def relative_time(unix_nano: int, *, now_ns: int) -> str:
    """``just now``, ``42s ago``, ``5m ago``, ``3h ago``, ``2d ago``; a date past 30 days."""
    seconds = (now_ns - unix_nano) / 1e9
    if seconds < 0:
        return "in the future"
    if seconds < 2:
        return "just now"
    for unit, size, limit in (
        ("s", 1, 60),
        ("m", 60, 3600),
        ("h", 3600, 86_400),
        ("d", 86_400, 2_592_000),
    ):
        if seconds < limit:
            return f"{int(seconds // size)}{unit} ago"
    return datetime.fromtimestamp(unix_nano / 1e9, tz=timezone.utc).strftime("%Y-%m-%d")


def duration(seconds: float | None) -> str:
    """``850ms``, ``12.3s``, ``4m05s``, ``2h03m``, ``3d04h``; ``-`` when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    if whole < 86_400:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    return f"{whole // 86_400}d{whole % 86_400 // 3600:02d}h"


def compact_count(count: int) -> str:
    """``950``, ``1.2k``, ``34k``, ``1.2M``."""
    for suffix, size in (("M", 1_000_000), ("k", 1_000)):
        if count >= size:
            scaled = count / size
            return f"{scaled:.1f}{suffix}" if scaled < 10 else f"{scaled:.0f}{suffix}"
    return str(count)


def run_duration(run: RunSummary, *, now_ns: int) -> str:
    """How long the run took, or has been running so far."""
    if run.end_time_unix_nano is None and run.status == attr.RunStatus.RUNNING:
        return duration((now_ns - run.start_time_unix_nano) / 1e9)
    return duration(run.duration_s)


def format_value(value: AttributeValue | None, *, width: int = _VALUE_WIDTH) -> str:
    """A param/metric/output value on one line (whitespace runs as one space), cut to ``width``."""
    if value is None:
        text = "-"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float):
        text = f"{value:.6g}"
    elif isinstance(value, tuple):
        text = json.dumps(list(value))
    else:
        text = " ".join(str(value).split())
    return fit(text, width)


# --- tables -----------------------------------------------------------------------------------
def _visible_width(cell: str) -> int:
    """Columns of a printable cell, not counting the colour codes ``Style`` put in it.

    One forward pass: a colour code is skipped whole, and an ``ESC`` without its ``m`` (which
    ``Style`` never writes) ends the scan rather than looping.
    """
    width = 0
    index = 0
    while index < len(cell):
        escape = cell.find("\x1b", index)
        stop = len(cell) if escape < 0 else escape
        width += sum(char_width(char) for char in cell[index:stop])
        if escape < 0:
            break
        end = cell.find("m", escape)
        if end < 0:
            break
        index = end + 1
    return width


def render_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], *, right: Sequence[int] = ()
) -> str:
    """Columns aligned with two spaces between; columns in ``right`` are right-aligned.

    Cells must be printable already (``printable``/``fit``/``Style``): the table only measures.
    """
    widths = [
        max([_visible_width(h), *(_visible_width(row[i]) for row in rows)])
        for i, h in enumerate(headers)
    ]
    lines = []
    for row in [list(headers), *rows]:
        cells = []
        for i, cell in enumerate(row):
            pad = " " * (widths[i] - _visible_width(cell))
            cells.append(pad + cell if i in right else cell + pad)
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def runs_table(runs: Sequence[RunSummary], *, now_ns: int, style: Style) -> str:
    """The ``spanflow runs list`` table."""
    headers = ["ID", "NAME", "PROJECT", "STATUS", "STARTED", "DURATION", "CALLS", "TOKENS"]
    rows = [
        [
            printable(run.id),
            fit(run.name, _NAME_WIDTH),
            fit(run.project, _NAME_WIDTH),
            style.status(run.status),
            relative_time(run.start_time_unix_nano, now_ns=now_ns),
            run_duration(run, now_ns=now_ns),
            str(run.llm_call_count),
            compact_count(run.input_tokens + run.output_tokens),
        ]
        for run in runs
    ]
    return render_table(headers, rows, right=(5, 6, 7))


# --- one run ----------------------------------------------------------------------------------
def run_detail_text(detail: RunDetail, *, now_ns: int, style: Style) -> str:
    """The ``spanflow runs show`` view: facts, then params, metrics, outputs and subruns."""
    run = detail.run
    started = datetime.fromtimestamp(run.start_time_unix_nano / 1e9, tz=timezone.utc)
    facts: list[tuple[str, str]] = [
        ("id", printable(run.id)),
        ("name", printable(run.name)),
        ("project", printable(run.project)),
        ("status", style.status(run.status)),
        (
            "started",
            f"{started:%Y-%m-%d %H:%M:%S} UTC ({relative_time(run.start_time_unix_nano, now_ns=now_ns)})",  # noqa: E501
        ),
        ("duration", run_duration(run, now_ns=now_ns)),
    ]
    if run.parent_id:
        facts.append(("parent", printable(run.parent_id)))
    if run.tags:
        facts.append(("tags", ", ".join(printable(tag) for tag in run.tags)))
    if run.error_type or run.error_message:
        error = ": ".join(part for part in (run.error_type, run.error_message) if part)
        facts.append(("error", fit(" ".join(error.split()), 120)))
    facts.append(
        (
            "llm calls",
            f"{run.llm_call_count}  tokens {compact_count(run.input_tokens)} in / "
            f"{compact_count(run.output_tokens)} out",
        )
    )
    facts.append(("spans", f"{run.span_count}  errors {run.error_count}"))
    if dropped := run.attributes.get(attr.RUN_DROPPED_SPANS):
        facts.append(("gap", f"{dropped} spans lost before reaching the index (incomplete run)"))
    if internal := run.attributes.get(attr.RUN_INTERNAL_ERRORS):
        facts.append(
            ("internal", f"{internal} failures inside spanflow while recording (see its log)")
        )
    if run.segment_count > 1:
        facts.append(("segments", str(run.segment_count)))
    if run.truncated:
        cut = format_value(", ".join(run.truncated))
        facts.append(("truncated", f"{cut} (limits: see docs/runs.md)"))
    width = max(len(key) for key, _ in facts)
    sections = ["\n".join(f"{key.ljust(width)}  {value}" for key, value in facts)]
    sections += _mapping_section("params", run.params)
    sections += _metrics_section(detail)
    sections += _mapping_section("inputs", run.inputs)
    sections += _mapping_section("outputs", run.outputs)
    sections += _mapping_section("attributes", run.attributes)
    sections += _artifacts_section(run.artifacts)
    if detail.children:
        children = [printable(child) for child in detail.children]
        sections.append(f"subruns ({len(children)})\n" + _indent(children))
    return "\n\n".join(sections)


def _mapping_section(title: str, values: Mapping[str, AttributeValue]) -> list[str]:
    if not values:
        return []
    rows = [[fit(key, _NAME_WIDTH), format_value(values[key])] for key in sorted(values)]
    return [f"{title}\n" + _indent(render_table(["KEY", "VALUE"], rows).splitlines()[1:])]


def _artifacts_section(artifacts: Mapping[str, Mapping[str, Any]]) -> list[str]:
    if not artifacts:
        return []
    rows = [
        [
            format_value(name),
            format_value(artifacts[name].get("path")),
            format_value(artifacts[name].get("size")),
            "stored" if artifacts[name].get("stored") is True else "reference",
        ]
        for name in sorted(artifacts)
    ]
    table = render_table(["NAME", "PATH", "BYTES", "CONTENT"], rows)
    return ["artifacts\n" + _indent(table.splitlines()[1:])]


def _metrics_section(detail: RunDetail) -> list[str]:
    names = sorted(set(detail.run.metrics) | {p.name for p in detail.metric_history})
    if not names:
        return []
    counts: dict[str, int] = {}
    for point in detail.metric_history:
        counts[point.name] = counts.get(point.name, 0) + 1
    rows = []
    for name in names:
        last = detail.run.metrics.get(name)
        if last is None:
            last = next(p.value for p in reversed(detail.metric_history) if p.name == name)
        points = counts.get(name, 0)
        count = f"{points} point{'s' if points != 1 else ''}"
        rows.append([fit(name, _NAME_WIDTH), format_value(last), count])
    return ["metrics\n" + _indent(render_table(["", "", ""], rows).splitlines()[1:])]


def _indent(lines: Sequence[str]) -> str:
    return "\n".join(f"  {line}" for line in lines)


# --- span tree --------------------------------------------------------------------------------
def span_tree_text(roots: Sequence[SpanNode], *, style: Style) -> str:
    """An indented tree: name, duration, model and tokens of LLM calls, errors marked.

    Each span is exactly one line: its label is printable, so only the tree draws lines.
    """
    lines: list[str] = []

    def visit(node: SpanNode, prefix: str, last: bool, top: bool) -> None:
        branch = "" if top else ("└─ " if last else "├─ ")
        lines.append(prefix + branch + _span_label(node, style))
        below = prefix if top else prefix + ("   " if last else "│  ")
        for i, child in enumerate(node.children):
            visit(child, below, i == len(node.children) - 1, False)

    for root in roots:
        visit(root, "", True, True)
    return "\n".join(lines)


def _span_label(node: SpanNode, style: Style) -> str:
    span = node.span
    get = span.attributes.get
    parts = [
        fit(span.name, _LABEL_WIDTH),
        duration((span.end_time_unix_nano - span.start_time_unix_nano) / 1e9),
    ]
    kind = get(attr.SPAN_KIND)
    if kind == attr.SpanKindValue.LLM or attr.GEN_AI_OPERATION_NAME in span.attributes:
        tokens_in, tokens_out = (
            get(attr.GEN_AI_USAGE_INPUT_TOKENS),
            get(attr.GEN_AI_USAGE_OUTPUT_TOKENS),
        )
        if isinstance(tokens_in, int) or isinstance(tokens_out, int):
            parts.append(fit(f"{tokens_in or 0}→{tokens_out or 0} tok", _LABEL_WIDTH))
    elif kind == attr.SpanKindValue.RUN:
        parts.append(fit(f"run {get(attr.RUN_ID, '')}", _LABEL_WIDTH))
    text = "  ".join(parts)
    if span.status_code == StatusCode.ERROR:
        reason = span.status_message or str(get(attr.ERROR_TYPE, "") or "error")
        text += "  " + style.status(attr.RunStatus.FAILED) + f": {fit(reason, 60)}"
    return text


# --- comparison -------------------------------------------------------------------------------
def comparison_text(comparison: RunComparison, *, style: Style) -> str:
    """Each param, metric and output as a row, one column per run; ``≠`` marks differences."""
    headers = ["", "KEY", *(fit(run.name, 24) for run in comparison.runs)]
    rows: list[list[str]] = [
        ["", "id", *(printable(run.id) for run in comparison.runs)],
        ["", "status", *(style.status(run.status) for run in comparison.runs)],
    ]
    for title, diffs in (
        ("param", comparison.params),
        ("metric", comparison.metrics),
        ("output", comparison.outputs),
        ("input", comparison.inputs),
        ("attribute", comparison.attributes),
        ("artifact", comparison.artifacts),
    ):
        for diff in diffs:
            mark = "≠" if diff.differs else ""
            values = [format_value(v, width=24) for v in diff.values]
            rows.append([mark, fit(f"{title} {diff.key}", _NAME_WIDTH), *values])
    return render_table(headers, rows)
