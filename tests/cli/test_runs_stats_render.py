"""The paired-comparison and metric-history views print hostile recorded strings safely."""

from __future__ import annotations

import pytest

from spanflow.cli.runs_render import Style
from spanflow.cli.runs_stats_render import paired_text, stats_text
from spanflow.query.analysis.history import RunValue, summarize
from spanflow.query.analysis.paired import compare_paired
from spanflow.query.store import RunSummary
from tests.cli.hostile_text import TRICKY_PIECES, unsafe_characters

HOSTILE = "".join(TRICKY_PIECES)


def _run(run_id: str, name: str, status: str = "completed", **metrics: float) -> RunSummary:
    return RunSummary(
        id=run_id,
        project="evals",
        name=name,
        status=status,
        start_time_unix_nano=1_700_000_000_000_000_000,
        end_time_unix_nano=1_700_000_001_000_000_000,
        parent_id=None,
        metrics=metrics,
        params={"model": HOSTILE},
    )


@pytest.mark.parametrize("color", [False, True])
def test_paired_view_keeps_hostile_names_metrics_and_keys_on_their_lines(color: bool) -> None:
    """Sample keys, metric names and run names full of escapes print as visible text."""
    metric = f"score{HOSTILE}"
    children_a = [_run(f"a{i}", f"{HOSTILE}{i}", **{metric: 0.1 * i}) for i in range(4)]
    children_b = [
        _run(f"b{i}", f"{HOSTILE}{i}", "failed" if i == 2 else "completed", **{metric: 0.2 * i})
        for i in range(4)
    ]
    comparison = compare_paired(_run("A", HOSTILE), children_a, _run("B", HOSTILE), children_b)
    text = paired_text(comparison, style=Style(color=color))
    assert unsafe_characters(text, colour=color) == []
    assert "4 samples paired by name" in text and "flipped samples (1)" in text


def test_stats_view_keeps_hostile_names_and_groups_on_their_lines() -> None:
    """Run names and group values full of escapes print as visible text."""
    values = [
        RunValue(
            f"r{i}", f"{HOSTILE}{i}", 1_700_000_000_000_000_000 + i, 0.5 + i / 10, HOSTILE, "run"
        )
        for i in range(3)
    ]
    text = stats_text(summarize(f"m{HOSTILE}", "model", values))
    assert unsafe_characters(text) == []
    assert len(text.splitlines()) == 1 + 3 + 1 + 1 + 1  # header, rows, blank, header, group
