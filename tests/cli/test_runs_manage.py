"""`spanflow runs compare` with paired statistics, `runs stats` and `runs prune`, as a user runs
them against a collector URL and a run index (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path

import pytest

from spanflow import attributes as attr
from spanflow.cli import main
from spanflow.client import Client
from spanflow.query.analysis.statistics import mcnemar_exact_p, paired_t
from spanflow.query.store import RunIndexStore
from spanflow_collector.index import open_store
from tests.api.support import LlmCall, RunSpec, write_runs

pytest.importorskip("spanflow_collector.index", reason="needs the run index stores")

SAMPLES = 12
# Sample i scores SCORE_A[i] in run A and SCORE_B[i] in run B; "correct" is score >= 0.5.
SCORE_A = [0.2, 0.4, 0.5, 0.3, 0.6, 0.45, 0.7, 0.1, 0.55, 0.35, 0.8, 0.4]
SCORE_B = [0.5, 0.6, 0.7, 0.6, 0.65, 0.7, 0.75, 0.3, 0.6, 0.55, 0.9, 0.45]


def _evaluation(
    store: RunIndexStore, name: str, offset_s: float, model: str, scores: list[float]
) -> str:
    (parent,) = write_runs(
        store,
        RunSpec(
            name,
            offset_s=offset_s,
            project="evals",
            params={"model": model},
            metric_points=[("accuracy", sum(s >= 0.5 for s in scores) / len(scores), None)],
        ),
    )
    write_runs(
        store,
        *(
            RunSpec(
                f"sample-{index:02d}",
                offset_s=offset_s + 1 + index / 100,
                project="evals",
                parent_id=parent.run_id,
                params={"row": index},
                metric_points=[("score", score, None), ("correct", float(score >= 0.5), None)],
            )
            for index, score in enumerate(scores)
        ),
    )
    return parent.run_id


@pytest.fixture(params=["url", "db"])
def source(request: pytest.FixtureRequest, index_location: str, store: RunIndexStore) -> list[str]:
    """The CLI options that point at the test's index: a collector URL or the index itself."""
    if request.param == "url":
        return ["--url", request.getfixturevalue("api_url")]
    return ["--db", index_location]


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of one `spanflow` invocation."""
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_compare_pairs_subruns_and_reports_intervals_tests_and_flips(
    capsys: pytest.CaptureFixture[str], source: list[str], store: RunIndexStore
) -> None:
    """Two evaluations: per-metric B - A with a 95% interval, paired t, Wilcoxon, McNemar, flips."""
    run_a = _evaluation(store, "eval-small", 10, "small", SCORE_A)
    run_b = _evaluation(store, "eval-big", 100, "big", SCORE_B)

    code, out, err = run_cli(capsys, "runs", "compare", run_a, run_b, "--json", *source)
    assert code == 0, err
    paired = json.loads(out)["paired"]
    assert paired["paired"] == SAMPLES and paired["only_in_a"] == paired["only_in_b"] == []
    by_metric = {metric["metric"]: metric for metric in paired["metrics"]}
    assert set(by_metric) == {"score", "correct"}

    score = by_metric["score"]
    expected = paired_t([b - a for a, b in zip(SCORE_A, SCORE_B, strict=True)])
    assert score["kind"] == "score" and score["pairs"] == SAMPLES
    assert score["mean_difference"] == pytest.approx(expected.mean)
    assert score["ci_low"] == pytest.approx(expected.ci_low)
    assert 0 < score["ci_low"] < score["ci_high"]  # B is better, and the interval says so
    tests = {test["name"]: test["p_value"] for test in score["tests"]}
    assert tests["paired_t"] == pytest.approx(expected.p_value) and tests["paired_t"] < 0.001
    assert tests["wilcoxon_signed_rank"] < 0.01

    correct = by_metric["correct"]
    assert correct["kind"] == "pass_fail"
    went_up = [i for i in range(SAMPLES) if SCORE_A[i] < 0.5 <= SCORE_B[i]]
    went_down = [i for i in range(SAMPLES) if SCORE_B[i] < 0.5 <= SCORE_A[i]]
    (mcnemar,) = correct["tests"]
    assert mcnemar["name"] == "mcnemar_exact"
    assert mcnemar["p_value"] == pytest.approx(mcnemar_exact_p(len(went_down), len(went_up)))
    flipped = sorted(flip["key"] for flip in paired["flips"] if flip["what"] == "correct")
    assert flipped == sorted(f"sample-{i:02d}" for i in went_up + went_down)

    code, text, _ = run_cli(capsys, "runs", "compare", run_a, run_b, *source)
    assert code == 0
    assert f"{SAMPLES} samples paired by name" in text
    assert "paired t" in text and "Wilcoxon" in text and "McNemar exact" in text
    assert "flipped samples" in text and "sample-00" in text


def test_compare_pairs_by_a_param_and_lists_samples_only_one_side_has(
    capsys: pytest.CaptureFixture[str], source: list[str], store: RunIndexStore
) -> None:
    """`--pair-by param:row` pairs on the dataset row; unmatched rows are named, not paired."""
    run_a = _evaluation(store, "eval-a", 10, "small", SCORE_A)
    run_b = _evaluation(store, "eval-b", 100, "big", SCORE_B[:10])

    code, out, err = run_cli(
        capsys, "runs", "compare", run_a, run_b, "--pair-by", "param:row", "--json", *source
    )
    assert code == 0, err
    paired = json.loads(out)["paired"]
    assert paired["pair_by"] == "param:row" and paired["paired"] == 10
    assert paired["only_in_a"] == ["10", "11"]

    code, _, err = run_cli(capsys, "runs", "compare", run_a, run_b, "--pair-by", "row", *source)
    assert code == 2 and "--pair-by" in err and "param:KEY" in err


def test_compare_of_runs_without_subruns_stays_side_by_side(
    capsys: pytest.CaptureFixture[str], source: list[str], store: RunIndexStore
) -> None:
    """Runs without subruns compare as before: no paired section in text or JSON."""
    first, second = write_runs(
        store,
        RunSpec("plain-1", offset_s=1, params={"lr": 0.1}),
        RunSpec("plain-2", offset_s=2, params={"lr": 0.2}),
    )
    code, out, _ = run_cli(
        capsys, "runs", "compare", first.run_id, second.run_id, "--json", *source
    )
    assert code == 0 and "paired" not in json.loads(out)
    code, text, _ = run_cli(capsys, "runs", "compare", first.run_id, second.run_id, *source)
    assert code == 0 and "samples paired" not in text and "param lr" in text


def test_stats_follows_a_metric_over_runs_grouped_by_a_param(
    capsys: pytest.CaptureFixture[str], source: list[str], store: RunIndexStore
) -> None:
    """`runs stats -m accuracy --by model`: values oldest first, mean/median/stdev per model."""
    accuracies = {"small": [0.5, 0.6, 0.7], "big": [0.8, 0.9]}
    offset = 0
    for model, values in accuracies.items():
        for value in values:
            offset += 10
            write_runs(
                store,
                RunSpec(
                    f"eval-{model}-{offset}",
                    offset_s=offset,
                    project="evals",
                    params={"model": model},
                    metric_points=[("accuracy", value, None)],
                ),
            )
    write_runs(
        store,
        RunSpec("elsewhere", offset_s=5, project="other", metric_points=[("accuracy", 0.1, None)]),
    )

    code, out, err = run_cli(
        capsys, "runs", "stats", "-p", "evals", "-m", "accuracy", "--by", "model", "--json", *source
    )
    assert code == 0, err
    stats = json.loads(out)
    assert [value["value"] for value in stats["values"]] == [0.5, 0.6, 0.7, 0.8, 0.9]
    groups = {group["group"]: group for group in stats["groups"]}
    assert groups["small"]["count"] == 3 and groups["small"]["median"] == pytest.approx(0.6)
    assert groups["small"]["stdev"] == pytest.approx(0.1)
    assert groups["big"]["mean"] == pytest.approx(0.85) and groups["big"]["last"] == 0.9

    code, out, _ = run_cli(
        capsys, "runs", "stats", "-p", "evals", "-m", "accuracy", "--last", "2", "--json", *source
    )
    assert [value["value"] for value in json.loads(out)["values"]] == [0.8, 0.9]

    code, text, _ = run_cli(capsys, "runs", "stats", "-p", "evals", "-m", "accuracy", *source)
    assert code == 0 and "MEDIAN" in text and "eval-big-50" in text
    code, text, _ = run_cli(capsys, "runs", "stats", "-p", "evals", "-m", "nothing", *source)
    assert code == 0 and "no run has the metric nothing" in text


def test_stats_of_an_evaluation_without_its_own_metric_uses_its_subruns_mean(
    capsys: pytest.CaptureFixture[str], source: list[str], store: RunIndexStore
) -> None:
    """A parent run that only its samples scored counts with the mean of their scores."""
    _evaluation(store, "eval-small", 10, "small", SCORE_A)
    code, out, _ = run_cli(capsys, "runs", "stats", "-p", "evals", "-m", "score", "--json", *source)
    assert code == 0
    (value,) = json.loads(out)["values"]
    assert value["source"] == "subruns_mean"
    assert value["value"] == pytest.approx(math.fsum(SCORE_A) / SAMPLES)


def _retention_runs(store: RunIndexStore) -> dict[str, str]:
    specs = write_runs(
        store,
        RunSpec("ancient-ok", offset_s=-86_400 * 40, project="evals"),
        RunSpec(
            "ancient-failed",
            offset_s=-86_400 * 35,
            project="evals",
            status=attr.RunStatus.FAILED,
            error=("ValueError", "boom"),
        ),
        RunSpec("ancient-other", offset_s=-86_400 * 50, project="other"),
        RunSpec("recent-ok", offset_s=0, project="evals"),
        RunSpec(
            "open-run",
            offset_s=-86_400 * 45,
            project="evals",
            duration_s=None,
            heartbeat_interval_s=86_400 * 365,  # still beating: running, however old
        ),
    )
    ids = {spec.name: spec.run_id for spec in specs}
    write_runs(
        store,
        RunSpec(
            "ancient-sample",
            offset_s=-86_400 * 40 + 1,
            project="evals",
            parent_id=ids["ancient-ok"],
        ),
    )
    return ids


def test_prune_deletes_old_runs_with_their_subruns_and_keeps_running_ones(
    capsys: pytest.CaptureFixture[str], source: list[str], store: RunIndexStore, index_location: str
) -> None:
    """`--older-than 30d --project evals`: a dry run lists, the real one deletes, open runs stay."""
    ids = _retention_runs(store)

    code, out, err = run_cli(
        capsys, "runs", "prune", "--older-than", "30d", "-p", "evals", "--dry-run", *source
    )
    assert code == 0, err
    assert "ancient-ok" in out and "ancient-failed" in out
    assert "recent-ok" not in out and "open-run" not in out and "ancient-other" not in out
    with Client(index_location) as client:
        assert len(list(client.iter_runs())) == 6  # nothing deleted by a dry run

    code, out, err = run_cli(
        capsys, "runs", "prune", "--older-than", "30d", "-p", "evals", "-y", *source
    )
    assert code == 0, err
    assert "deleted 2 runs (3 with subruns)" in out
    with Client(index_location) as client:
        left = {run.name for run in client.iter_runs()}
    assert left == {"ancient-other", "recent-ok", "open-run"}
    assert ids["open-run"]  # still there: a running run is never pruned


def test_prune_by_status_and_keep_last(
    capsys: pytest.CaptureFixture[str], source: list[str], store: RunIndexStore, index_location: str
) -> None:
    """`--status failed` prunes only failed runs; `--keep-last 1` keeps the newest, however old."""
    _retention_runs(store)
    code, out, _ = run_cli(
        capsys, "runs", "prune", "--older-than", "1d", "--status", "failed", "-y", *source
    )
    assert code == 0 and "deleted 1 runs" in out
    code, out, _ = run_cli(
        capsys, "runs", "prune", "--keep-last", "1", "-p", "evals", "-y", *source
    )
    assert code == 0
    with Client(index_location) as client:
        left = {run.name for run in client.iter_runs(top_level=True)}
    assert left == {"recent-ok", "open-run", "ancient-other"}


def test_prune_without_a_policy_or_with_a_bad_age_is_refused(
    capsys: pytest.CaptureFixture[str], source: list[str], store: RunIndexStore
) -> None:
    """No --older-than/--keep-last, a bad age, or pruning `running` runs: exit 2 and one line."""
    _retention_runs(store)
    code, _, err = run_cli(capsys, "runs", "prune", *source)
    assert code == 2 and "--older-than" in err
    code, _, err = run_cli(capsys, "runs", "prune", "--older-than", "soon", *source)
    assert code == 2 and "30d" in err
    code, _, err = run_cli(capsys, "runs", "prune", "--keep-last", "0", "-s", "running", *source)
    assert code == 2 and "--status" in err


def test_prune_reclaims_content_nobody_references_and_sqlite_reuses_the_space(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Pruned LLM calls' content blobs go; the freed SQLite pages are reused by the next runs."""
    db = tmp_path / "index.db"
    store = open_store(str(db))
    try:
        big = "x" * 20_000
        write_runs(
            store,
            *(
                RunSpec(f"old-{i}", offset_s=-86_400 * 40, calls=[LlmCall(output_text=f"{big}{i}")])
                for i in range(5)
            ),
        )
    finally:
        store.close()
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT COUNT(*) FROM blobs").fetchone()[0] >= 5
        pages_before = connection.execute("PRAGMA page_count").fetchone()[0]

    code, _, err = run_cli(capsys, "runs", "prune", "--older-than", "30d", "-y", "--db", str(db))
    assert code == 0, err
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT COUNT(*) FROM blobs").fetchone()[0] == 0
        assert connection.execute("PRAGMA freelist_count").fetchone()[0] > 0

    store = open_store(str(db))
    try:
        write_runs(
            store,
            *(RunSpec(f"new-{i}", calls=[LlmCall(output_text=f"{big}{i}")]) for i in range(5)),
        )
    finally:
        store.close()
    with sqlite3.connect(db) as connection:
        # The new content went into the freed pages: the file did not grow by its size again.
        assert connection.execute("PRAGMA page_count").fetchone()[0] <= pages_before + 8
