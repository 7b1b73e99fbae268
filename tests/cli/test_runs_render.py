"""The text `spanflow runs` prints: relative times, durations, counts, aligned tables, trees."""

from __future__ import annotations

import pytest

from spanflow.cli import runs_render as render
from spanflow.query.store import RunSummary
from spanflow.query.views import build_span_tree
from tests.api.support import LlmCall, RunSpec, run_spans

NOW_NS = 1_780_000_000 * 10**9


@pytest.mark.parametrize(
    ("seconds_ago", "text"),
    [
        (0.5, "just now"),
        (42, "42s ago"),
        (5 * 60 + 59, "5m ago"),
        (3 * 3600 + 1, "3h ago"),
        (2 * 86_400, "2d ago"),
        (40 * 86_400, "2026-04-18"),
        (-5, "in the future"),
    ],
)
def test_relative_times(seconds_ago: float, text: str) -> None:
    """Start times read as how long ago, and as a date once older than a month."""
    assert render.relative_time(NOW_NS - round(seconds_ago * 1e9), now_ns=NOW_NS) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "-"),
        (0.85, "850ms"),
        (12.34, "12.3s"),
        (245, "4m05s"),
        (2 * 3600 + 180, "2h03m"),
        (3 * 86_400 + 4 * 3600, "3d04h"),
    ],
)
def test_durations(seconds: float | None, text: str) -> None:
    """Durations use the largest sensible units."""
    assert render.duration(seconds) == text


@pytest.mark.parametrize(
    ("count", "text"), [(950, "950"), (1234, "1.2k"), (34_000, "34k"), (1_200_000, "1.2M")]
)
def test_token_counts_are_compact(count: int, text: str) -> None:
    """Large token totals shorten to k and M."""
    assert render.compact_count(count) == text


def test_table_columns_line_up_including_coloured_cells() -> None:
    """Every row starts each column at the same offset, colour codes notwithstanding."""
    style = render.Style(color=True)
    table = render.render_table(
        ["A", "BB", "N"],
        [["x", style.status("failed"), "5"], ["long text", "ok", "123"]],
        right=(2,),
    )
    lines = [line.replace("\x1b[31m", "").replace("\x1b[0m", "") for line in table.splitlines()]
    assert lines == ["A          BB        N", "x          failed    5", "long text  ok      123"]


def test_runs_table_shows_status_relative_start_duration_calls_and_tokens() -> None:
    """The run list row carries what a user scans for."""
    run = RunSummary(
        id="01JRUN",
        project="evals",
        name="eval-7",
        status="failed",
        start_time_unix_nano=NOW_NS - 3 * 60 * 10**9,
        end_time_unix_nano=NOW_NS - 60 * 10**9,
        parent_id=None,
        llm_call_count=3,
        input_tokens=1000,
        output_tokens=500,
    )
    header, row = render.runs_table([run], now_ns=NOW_NS, style=render.Style()).splitlines()
    assert header.split() == [
        "ID",
        "NAME",
        "PROJECT",
        "STATUS",
        "STARTED",
        "DURATION",
        "CALLS",
        "TOKENS",
    ]
    assert row.split() == ["01JRUN", "eval-7", "evals", "failed", "3m", "ago", "2m00s", "3", "1.5k"]


def test_span_tree_draws_branches_with_tokens_and_errors() -> None:
    """LLM calls hang under the run root with their token counts; a failed call says why."""
    spans = run_spans(
        RunSpec(
            "eval-7",
            run_id="01JT",
            calls=[LlmCall(input_tokens=12, output_tokens=3), LlmCall(failed=True)],
        )
    )
    text = render.span_tree_text(build_span_tree(spans), style=render.Style())
    lines = text.splitlines()
    assert lines[0].startswith("eval-7  2.0s  run 01JT")
    assert lines[1].startswith("├─ chat gpt-4o-mini  5ms  12→3 tok")
    assert lines[2].startswith("└─ chat gpt-4o-mini  5ms")
    assert lines[2].endswith("failed: rate limited")
    assert "run.start" not in text
