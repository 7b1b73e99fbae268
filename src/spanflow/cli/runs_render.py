"""Plain-text views of runs for ``spanflow runs``: aligned tables, relative times, span trees."""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from spanflow import attributes as attr
from spanflow.client import RunComparison, RunDetail, RunSummary, SpanNode
from spanflow_collector.records import AttributeValue, StatusCode

_STATUS_COLORS = {
    attr.RunStatus.COMPLETED: "32",  # green
    attr.RunStatus.FAILED: "31",  # red
    attr.RunStatus.RUNNING: "36",  # cyan
    attr.RunStatus.INTERRUPTED: "33",  # yellow
    attr.RunStatus.CANCELLED: "2",  # dim
}
_NAME_WIDTH = 36
_VALUE_WIDTH = 48


@dataclass(frozen=True)
class Style:
    """Whether to colour output (only on a terminal, and never with ``NO_COLOR``)."""

    color: bool = False

    def status(self, status: str) -> str:
        """The status word, coloured by outcome."""
        code = _STATUS_COLORS.get(status)
        return f"\x1b[{code}m{status}\x1b[0m" if self.color and code else status

    def dim(self, text: str) -> str:
        """Secondary text."""
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
    """A param/metric/output value on one line, cut to ``width``."""
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
    return truncate(text, width)


def truncate(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, ending with an ellipsis when cut."""
    return text if len(text) <= width else text[: width - 1] + "…"


# --- tables -----------------------------------------------------------------------------------
def _visible_width(text: str) -> int:
    plain = text
    while "\x1b[" in plain:  # strip colour codes before measuring
        start = plain.index("\x1b[")
        end = plain.find("m", start)
        plain = plain[:start] + plain[end + 1 :]
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in plain)


def render_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], *, right: Sequence[int] = ()
) -> str:
    """Columns aligned with two spaces between; columns in ``right`` are right-aligned."""
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
            run.id,
            truncate(run.name, _NAME_WIDTH),
            run.project,
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
        ("id", run.id),
        ("name", run.name),
        ("project", run.project),
        ("status", style.status(run.status)),
        (
            "started",
            f"{started:%Y-%m-%d %H:%M:%S} UTC ({relative_time(run.start_time_unix_nano, now_ns=now_ns)})",  # noqa: E501
        ),
        ("duration", run_duration(run, now_ns=now_ns)),
    ]
    if run.parent_id:
        facts.append(("parent", run.parent_id))
    if run.tags:
        facts.append(("tags", ", ".join(run.tags)))
    if run.error_type or run.error_message:
        error = ": ".join(part for part in (run.error_type, run.error_message) if part)
        facts.append(("error", truncate(" ".join(error.split()), 120)))
    facts.append(
        (
            "llm calls",
            f"{run.llm_call_count}  tokens {compact_count(run.input_tokens)} in / "
            f"{compact_count(run.output_tokens)} out",
        )
    )
    facts.append(("spans", f"{run.span_count}  errors {run.error_count}"))
    if run.segment_count > 1:
        facts.append(("segments", str(run.segment_count)))
    width = max(len(key) for key, _ in facts)
    sections = ["\n".join(f"{key.ljust(width)}  {value}" for key, value in facts)]
    sections += _mapping_section("params", run.params)
    sections += _metrics_section(detail)
    sections += _mapping_section("outputs", run.outputs)
    if detail.children:
        sections.append(f"subruns ({len(detail.children)})\n" + _indent(list(detail.children)))
    return "\n\n".join(sections)


def _mapping_section(title: str, values: Mapping[str, AttributeValue]) -> list[str]:
    if not values:
        return []
    rows = [[key, format_value(values[key])] for key in sorted(values)]
    return [f"{title}\n" + _indent(render_table(["KEY", "VALUE"], rows).splitlines()[1:])]


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
        rows.append([name, format_value(last), f"{points} point{'s' if points != 1 else ''}"])
    return ["metrics\n" + _indent(render_table(["", "", ""], rows).splitlines()[1:])]


def _indent(lines: Sequence[str] | str) -> str:
    if isinstance(lines, str):
        lines = lines.splitlines()
    return "\n".join(f"  {line}" for line in lines)


# --- span tree --------------------------------------------------------------------------------
def span_tree_text(roots: Sequence[SpanNode], *, style: Style) -> str:
    """An indented tree: name, duration, model and tokens of LLM calls, errors marked."""
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
    parts = [span.name, duration((span.end_time_unix_nano - span.start_time_unix_nano) / 1e9)]
    kind = get(attr.SPAN_KIND)
    if kind == attr.SpanKindValue.LLM or attr.GEN_AI_OPERATION_NAME in span.attributes:
        tokens_in, tokens_out = (
            get(attr.GEN_AI_USAGE_INPUT_TOKENS),
            get(attr.GEN_AI_USAGE_OUTPUT_TOKENS),
        )
        if isinstance(tokens_in, int) or isinstance(tokens_out, int):
            parts.append(f"{tokens_in or 0}→{tokens_out or 0} tok")
    elif kind == attr.SpanKindValue.RUN:
        parts.append(f"run {get(attr.RUN_ID, '')}")
    text = "  ".join(str(part) for part in parts)
    if span.status_code == StatusCode.ERROR:
        reason = span.status_message or str(get(attr.ERROR_TYPE, "") or "error")
        text += "  " + style.status(attr.RunStatus.FAILED) + f": {truncate(reason, 60)}"
    return text


# --- comparison -------------------------------------------------------------------------------
def comparison_text(comparison: RunComparison, *, style: Style) -> str:
    """Each param, metric and output as a row, one column per run; ``≠`` marks differences."""
    headers = ["", "KEY", *(truncate(run.name, 24) for run in comparison.runs)]
    rows: list[list[str]] = [
        ["", "id", *(run.id for run in comparison.runs)],
        ["", "status", *(style.status(run.status) for run in comparison.runs)],
    ]
    for title, diffs in (
        ("param", comparison.params),
        ("metric", comparison.metrics),
        ("output", comparison.outputs),
    ):
        for diff in diffs:
            mark = "≠" if diff.differs else ""
            values = [format_value(v, width=24) for v in diff.values]
            rows.append([mark, f"{title} {diff.key}", *values])
    return render_table(headers, rows)
