"""`spanflow collector --retention-*`: old runs pruned at start and on a schedule, as a real
process over a SQLite index."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from spanflow.client import Client
from spanflow.query.analysis.retention import RetentionPolicy
from spanflow.query.store import RunQuery
from spanflow_collector.index import open_store
from tests.api.support import RunSpec, write_runs
from tests.collector.processes import collector_process
from tests.environments import child_environment

DEADLINE_S = 60.0


def _seed(db: Path) -> dict[str, str]:
    store = open_store(str(db))
    try:
        specs = write_runs(
            store,
            RunSpec("old-a", offset_s=-86_400 * 40, project="evals"),
            RunSpec("old-b", offset_s=-86_400 * 35, project="other"),
            RunSpec("recent", offset_s=0, project="evals"),
            RunSpec(
                "old-but-running",
                offset_s=-86_400 * 45,
                project="evals",
                duration_s=None,
                heartbeat_interval_s=86_400 * 365,
            ),
        )
        ids = {spec.name: spec.run_id for spec in specs}
        write_runs(
            store,
            RunSpec(
                "old-sample", offset_s=-86_400 * 40 + 1, project="evals", parent_id=ids["old-a"]
            ),
        )
        return ids
    finally:
        store.close()


def test_the_collector_prunes_runs_past_its_retention_policy(tmp_path: Path) -> None:
    """With --retention-older-than 30d, runs older than 30 days (with subruns) disappear."""
    db = tmp_path / "index.db"
    _seed(db)
    with collector_process(
        str(db), "--retention-older-than", "30d", "--retention-interval-s", "1"
    ) as collector:
        deadline = time.monotonic() + DEADLINE_S
        with Client(collector.http_url) as client:
            while True:
                names = {run.name for run in client.iter_runs()}
                if names == {"recent", "old-but-running"} or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
    assert names == {"recent", "old-but-running"}


def test_a_policy_per_project_keeps_the_newest_runs(tmp_path: Path) -> None:
    """keep_last=1 in project evals deletes its older finished runs and leaves other projects."""
    db = tmp_path / "index.db"
    _seed(db)
    store = open_store(str(db))
    try:
        deleted = RetentionPolicy(keep_last=1, projects=("evals",)).apply(store)
        remaining = {run.name for run in store.list_runs(RunQuery(limit=100)).runs}
    finally:
        store.close()
    assert deleted == 2  # old-a and its subrun
    assert remaining == {"recent", "old-but-running", "old-b"}


def test_bad_retention_options_are_refused_before_starting(tmp_path: Path) -> None:
    """An unreadable age or interval: exit 2 with one line naming the option."""
    for options, named in (
        (["--retention-older-than", "soon"], "--retention-older-than"),
        (["--retention-keep-last", "5", "--retention-interval-s", "0"], "--retention-interval-s"),
        (["--retention-project", "evals"], "--retention-project"),
    ):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "spanflow.cli",
                "collector",
                "--db",
                str(tmp_path / "x.db"),
                *options,
            ],
            env=child_environment(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2 and named in done.stderr, done.stderr
    assert not (tmp_path / "x.db").exists()
