"""Run management as a user meets it in real processes writing the embedded index: imperative
runs left open, two evaluations compared with paired statistics, a metric's history."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.collector.processes import collector_process
from tests.environments import child_environment

from spanflow.client import Client
from spanflow_collector.index import open_store

SCENARIOS = Path(__file__).with_name("run_management_scenarios.py")


def _script(db: Path, *args: str, where: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, str(SCENARIOS), *args],
        env=child_environment(**(where or {"SPANFLOW_DB": str(db)})),
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


@pytest.fixture(
    params=[
        "embedded",
        "sqlite-collector",
        pytest.param("postgres-collector", marks=pytest.mark.postgres),
    ]
)
def destination(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Where the scripts write: the embedded index, or a collector over SQLite or PostgreSQL."""
    if request.param == "embedded":
        yield {"SPANFLOW_DB": str(tmp_path / "index.db")}
        return
    if request.param == "sqlite-collector":
        db = str(tmp_path / "collector.db")
    else:
        import psycopg

        url: str = request.getfixturevalue("postgres_url")
        schema = f"t_{uuid.uuid4().hex}"
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(f"CREATE SCHEMA {schema}")
        separator = "&" if "?" in url else "?"
        db = f"{url}{separator}options=-csearch_path%3D{schema}"
    with collector_process(db) as collector:
        yield {"SPANFLOW_ENDPOINT": collector.http_url}


def _open(
    destination: dict[str, str], how: str, run_id: str, choice: str = "-"
) -> dict[str, object]:
    answer: dict[str, object] = json.loads(
        _script(Path(), "open", how, run_id, choice, where=destination)
    )
    return answer


def test_reusing_an_id_fails_by_default_from_another_process(destination: dict[str, str]) -> None:
    """A second `run(id=X)` in a new process raises RunExistsError instead of merging."""
    first = _open(destination, "first", "nightly-2024-05-01")
    assert first["id"] == "nightly-2024-05-01" and first["segment"] == 0
    again = _open(destination, "again", "nightly-2024-05-01")
    assert again["error"] == "RunExistsError" and "if_exists='resume'" in str(again["message"])
    explicit = _open(destination, "again", "nightly-2024-05-01", "error")
    assert explicit["error"] == "RunExistsError"


def test_if_exists_resume_keeps_name_project_and_tags_from_another_process(
    destination: dict[str, str],
) -> None:
    """`if_exists="resume"` opens segment 1 of the run, with the name, project and tags it had."""
    _open(destination, "first", "nightly-7")
    resumed = _open(destination, "again", "nightly-7", "resume")
    assert resumed == {
        "id": "nightly-7",
        "segment": 1,
        "name": "nightly",
        "project": "evals",
        "tags": ["gpu", "rerun"],
    }
    fresh = _open(destination, "again", "not-there-yet", "resume")
    assert fresh["id"] == "not-there-yet" and fresh["segment"] == 0


def test_if_exists_new_starts_a_fresh_run_that_names_the_old_one(
    destination: dict[str, str], tmp_path: Path
) -> None:
    """`if_exists="new"` leaves the old run alone and opens a new id with `rerun_of` set."""
    _open(destination, "first", "nightly-8")
    fresh = _open(destination, "again", "nightly-8", "new")
    assert fresh["id"] != "nightly-8" and fresh["segment"] == 0
    location = destination.get("SPANFLOW_DB") or destination["SPANFLOW_ENDPOINT"]
    with Client(location) as client:
        assert client.get_run(str(fresh["id"])).attributes == {"rerun_of": "nightly-8"}
        assert client.get_run("nightly-8").segment_count == 1


def test_resuming_an_unknown_id_raises(destination: dict[str, str]) -> None:
    """`run(resume="typo")` raises RunNotFoundError instead of creating a new run."""
    answer = _open(destination, "resume", "typo-in-the-id")
    assert answer["error"] == "RunNotFoundError" and "typo-in-the-id" in str(answer["message"])


def test_free_attributes_are_shown_compared_and_filterable(tmp_path: Path) -> None:
    """`run(..., dataset=...)`: `runs list --attr`, `runs show` and `runs compare` all use it;
    compare also lines up inputs and artifacts."""
    db = tmp_path / "index.db"
    _script(db, "attrs", str(tmp_path))
    listed = json.loads(_cli("runs", "list", "--attr", "dataset=gsm8k", "--json", "--db", str(db)))
    assert [run["name"] for run in listed["runs"]] == ["on-gsm8k"]
    both = json.loads(_cli("runs", "list", "--attr", "shots>=3", "--json", "--db", str(db)))
    assert len(both["runs"]) == 2
    shown = _cli("runs", "show", listed["runs"][0]["id"], "--db", str(db))
    assert "attributes" in shown and "dataset" in shown and "gsm8k" in shown
    assert "first gsm8k question" in shown  # the logged input
    ids = [run["id"] for run in both["runs"]]
    compared = _cli("runs", "compare", *ids, "--db", str(db))
    assert "attribute dataset" in compared and "input question" in compared
    artifact_row = next(line for line in compared.splitlines() if "artifact report.txt" in line)
    assert artifact_row.startswith("≠")  # different content, different sha256
    as_json = json.loads(_cli("runs", "compare", *ids, "--json", "--db", str(db)))
    (artifact,) = as_json["artifacts"]
    assert artifact["key"] == "report.txt" and artifact["differs"]


def test_an_index_from_before_attribute_filters_is_backfilled_on_upgrade(tmp_path: Path) -> None:
    """A schema-2 index (no attribute rows) upgrades to 3 and `--attr` then finds its runs."""
    db = tmp_path / "index.db"
    _script(db, "attrs", str(tmp_path))
    with sqlite3.connect(db) as connection:  # make it look like the index before version 3
        connection.execute("DELETE FROM run_values WHERE kind = 'attr'")
        connection.execute("DROP TABLE artifact_contents")  # schema 4
        connection.execute("DROP TABLE run_artifact_contents")
        connection.execute("DROP TABLE run_held_records")  # schema 5
        connection.execute("DROP TABLE trace_blobs")  # schemas 6-7
        connection.execute(
            "CREATE TABLE span_blobs (trace_id TEXT NOT NULL, span_id TEXT NOT NULL, "
            "hash TEXT NOT NULL, PRIMARY KEY (trace_id, span_id, hash))"
        )
        connection.execute("DROP INDEX spans_by_run")  # schema 8
        connection.execute("CREATE INDEX spans_by_run ON spans (run_id, start_ns)")
        connection.execute("DROP TABLE run_totals")  # schema 9
        connection.execute("DROP TABLE run_traces")
        connection.execute("DROP INDEX spans_level")
        connection.execute("DROP INDEX spans_foreign_roots")
        connection.execute("DROP INDEX spans_level_by_trace")  # schema 10
        connection.execute("DROP INDEX spans_roots_by_trace")
        connection.execute("DROP INDEX spans_unowned_by_trace")
        connection.execute("UPDATE schema_version SET version = 2")
    refused = subprocess.run(
        [sys.executable, "-m", "spanflow.cli", "runs", "list", "--db", str(db)],
        env=child_environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 1 and "schema version 2" in refused.stderr  # read-only: no upgrade
    open_store(str(db)).close()  # what the SDK or a collector does when it opens the index
    listed = json.loads(_cli("runs", "list", "--attr", "dataset=math", "--json", "--db", str(db)))
    assert [run["name"] for run in listed["runs"]] == ["on-math"]
