"""Run management as a user meets it in real processes writing the embedded index: imperative
runs left open, two evaluations compared with paired statistics, a metric's history."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.environments import child_environment

from spanflow.client import Client

SCENARIOS = Path(__file__).with_name("run_management_scenarios.py")


def _script(db: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(SCENARIOS), *args],
        env=child_environment(SPANFLOW_DB=str(db)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _cli(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "spanflow.cli", *args],
        env=child_environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_an_imperative_run_never_finished_is_interrupted_with_its_metrics(tmp_path: Path) -> None:
    """`start_run` without `finish()`: the index shows the run interrupted, its metrics kept."""
    db = tmp_path / "index.db"
    run_id = _script(db, "unfinished")
    with Client(db) as client:
        run = client.get_run(run_id)
    assert run.status == "interrupted" and run.metrics == {"loss": 0.5}


def test_two_evaluations_compare_with_paired_statistics_and_show_in_history(
    tmp_path: Path,
) -> None:
    """Run an evaluation twice with different params: compare pairs the samples, stats follows."""
    db = tmp_path / "index.db"
    first = _script(db, "evaluation", "eval-1", "small", "0.0")
    second = _script(db, "evaluation", "eval-2", "big", "0.3")

    paired = json.loads(_cli("runs", "compare", first, second, "--json", "--db", str(db)))["paired"]
    assert paired["paired"] == 8
    score = next(metric for metric in paired["metrics"] if metric["metric"] == "score")
    # Every sample gains 0.3 except those capped at 1.0.
    assert score["mean_difference"] > 0.2 and score["ci_low"] > 0
    flips = {flip["key"] for flip in paired["flips"] if flip["what"] == "correct"}
    assert flips == {"sample-2", "sample-3", "sample-4"}
    text = _cli("runs", "compare", first, second, "--db", str(db))
    assert "8 samples paired by name" in text and "McNemar exact" in text

    stats = json.loads(
        _cli(
            "runs",
            "stats",
            "-p",
            "evals",
            "-m",
            "accuracy",
            "--by",
            "model",
            "--json",
            "--db",
            str(db),
        )
    )
    assert [value["run_id"] for value in stats["values"]] == [first, second]
    assert {group["group"]: group["mean"] for group in stats["groups"]} == {
        "big": 6 / 8,
        "small": 3 / 8,
    }
