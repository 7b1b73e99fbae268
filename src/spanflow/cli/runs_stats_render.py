"""Plain-text views of paired comparisons and metric statistics for ``spanflow runs``.

Recorded strings go through ``printable``/``fit`` as in ``runs_render``.
"""

from __future__ import annotations

from datetime import datetime, timezone

from spanflow.cli.runs_render import Style, format_value, render_table
from spanflow.query.analysis.history import MetricStats
from spanflow.query.analysis.paired import METRIC_KIND_PASS_FAIL, PairedComparison
from spanflow.query.terminal_text import fit, printable

_KEY_WIDTH = 40
_MAX_FLIPS_SHOWN = 50
_TEST_LABELS = {
    "paired_t": "paired t",
    "wilcoxon_signed_rank": "Wilcoxon",
    "mcnemar_exact": "McNemar exact",
}


def _number(value: float | None, spec: str = "+.4g") -> str:
    return "-" if value is None else format(value, spec)


def _p_value(value: float | None) -> str:
    if value is None:
        return "-"
    return "<0.0001" if value < 0.0001 else f"{value:.4f}"


def paired_text(comparison: PairedComparison, *, style: Style) -> str:
    """Pairing facts, one row per metric (B - A with interval and tests), then the flips."""
    a, b = comparison.run_a, comparison.run_b
    lines = [
        f"A  {printable(a.id)}  {fit(a.name, 40)}",
        f"B  {printable(b.id)}  {fit(b.name, 40)}",
        f"{comparison.paired} samples paired by {printable(comparison.pair_by)}"
        + (f"; only in A: {len(comparison.only_in_a)}" if comparison.only_in_a else "")
        + (f"; only in B: {len(comparison.only_in_b)}" if comparison.only_in_b else "")
        + (f"; without the key: {comparison.unkeyed}" if comparison.unkeyed else "")
        + (
            f"; duplicate keys (newest kept): {len(comparison.duplicate_keys)}"
            if comparison.duplicate_keys
            else ""
        ),
    ]
    if comparison.metrics:
        level = f"{comparison.metrics[0].confidence:.0%}"
        headers = ["METRIC", "N", "MEAN A", "MEAN B", "B - A", f"{level} CI", "TEST", "P"]
        rows: list[list[str]] = []
        for metric in comparison.metrics:
            interval = (
                f"[{_number(metric.ci_low)}, {_number(metric.ci_high)}]"
                if metric.ci_low is not None
                else "-"
            )
            for index, test in enumerate(metric.tests):
                first = index == 0
                rows.append(
                    [
                        fit(metric.metric, _KEY_WIDTH) if first else "",
                        str(metric.pairs) if first else "",
                        _number(metric.mean_a, ".4g") if first else "",
                        _number(metric.mean_b, ".4g") if first else "",
                        _number(metric.mean_difference) if first else "",
                        interval if first else "",
                        _TEST_LABELS.get(test.name, printable(test.name)),
                        _p_value(test.p_value),
                    ]
                )
        lines += ["", render_table(headers, rows, right=(1, 2, 3, 4))]
    else:
        lines += ["", "no metric logged on both sides of a pair"]
    if comparison.flips:
        lines += ["", f"flipped samples ({len(comparison.flips)}):"]
        flip_rows = [
            [
                fit(flip.key, _KEY_WIDTH),
                fit(flip.what, _KEY_WIDTH),
                _flip_value(flip.value_a, flip.what, style),
                "->",
                _flip_value(flip.value_b, flip.what, style),
            ]
            for flip in comparison.flips[:_MAX_FLIPS_SHOWN]
        ]
        lines.append(render_table(["SAMPLE", "WHAT", "A", "", "B"], flip_rows))
        if len(comparison.flips) > _MAX_FLIPS_SHOWN:
            lines.append(f"... and {len(comparison.flips) - _MAX_FLIPS_SHOWN} more (see --json)")
    kinds = {metric.kind for metric in comparison.metrics}
    if METRIC_KIND_PASS_FAIL in kinds:
        lines += ["", style.dim("pass/fail metrics (all values 0 or 1) use McNemar's exact test")]
    return "\n".join(lines)


def _flip_value(value: object, what: str, style: Style) -> str:
    if what == "status" and isinstance(value, str):
        return style.status(value)
    return format_value(value if isinstance(value, str | int | float) else str(value), width=24)


def stats_text(stats: MetricStats) -> str:
    """Each run's value, oldest first, then a summary row per group."""
    if not stats.values:
        return f"no run has the metric {printable(stats.metric)}"
    grouped = stats.by is not None
    headers = ["STARTED", "RUN", "NAME", *(["GROUP"] if grouped else []), printable(stats.metric)]
    rows = [
        [
            _started(value.start_time_unix_nano),
            printable(value.run_id),
            fit(value.name, 32),
            *([fit(value.group or "-", 24)] if grouped else []),
            f"{value.value:.6g}" + ("*" if value.source != "run" else ""),
        ]
        for value in stats.values
    ]
    lines = [render_table(headers, rows, right=(len(headers) - 1,))]
    if any(value.source != "run" for value in stats.values):
        lines.append("* mean over the run's subruns")
    summary_headers = [
        fit(stats.by, 24) if stats.by else "",
        "N",
        "MEAN",
        "MEDIAN",
        "STDEV",
        "MIN",
        "MAX",
        "FIRST",
        "LAST",
    ]
    summary_rows = [
        [
            fit(group.group or "-", 24) if grouped else "all",
            str(group.count),
            f"{group.mean:.4g}",
            f"{group.median:.4g}",
            _number(group.stdev, ".4g"),
            f"{group.minimum:.4g}",
            f"{group.maximum:.4g}",
            f"{group.first:.4g}",
            f"{group.last:.4g}",
        ]
        for group in stats.groups
    ]
    lines += ["", render_table(summary_headers, summary_rows, right=tuple(range(1, 9)))]
    return "\n".join(lines)


def _started(unix_nano: int) -> str:
    moment = datetime.fromtimestamp(unix_nano / 1e9, tz=timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M")
