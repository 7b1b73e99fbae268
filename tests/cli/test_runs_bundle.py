"""`spanflow runs export` / `runs import`: runs moved between a SQLite index, a PostgreSQL
collector and another SQLite index, with ids, status, links and metrics kept."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from spanflow import attributes as attr
from spanflow.cli import main
from spanflow.client import Client
from spanflow_collector.index import open_store
from tests.api.support import LlmCall, RunSpec, write_runs
from tests.collector.processes import collector_process
from tests.environments import child_environment

SCENARIOS = Path(__file__).parent.parent / "runs" / "run_management_scenarios.py"


def _seed(db: Path) -> list[str]:
    """Three top-level runs with subruns: one from the real SDK, two with dataflow links."""
    done = subprocess.run(
        [sys.executable, str(SCENARIOS), "evaluation", "eval-sdk", "small", "0.1"],
        env=child_environment(SPANFLOW_DB=str(db)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    store = open_store(str(db))
    try:
        first = LlmCall(output_text="the plan")
        linked, failed = write_runs(
            store,
            RunSpec(
                "agent-linked",
                offset_s=10,
                project="evals",
                params={"lr": 0.1},
                metric_points=[("loss", 0.5, 0), ("loss", 0.25, 1)],
                calls=[first, LlmCall(consumes=first.span_id)],
            ),
            RunSpec(
                "agent-failed",
                offset_s=20,
                project="evals",
                status=attr.RunStatus.FAILED,
                error=("ValueError", "bad sample"),
            ),
        )
        write_runs(
            store,
            RunSpec("linked-sample", offset_s=11, project="evals", parent_id=linked.run_id),
            RunSpec("failed-sample", offset_s=21, project="evals", parent_id=failed.run_id),
        )
    finally:
        store.close()
    return [done.stdout.strip(), linked.run_id, failed.run_id]


class Cli:
    """The `spanflow` command, run in this process; each call returns its standard output."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys

    def __call__(self, *args: str) -> str:
        code = main(list(args))
        captured = self._capsys.readouterr()
        assert code == 0, captured.err
        return captured.out

    def views(self, where: list[str], run_ids: list[str]) -> dict[str, str]:
        """What a user reads about each run and its subruns: show (JSON), tree and graph."""
        views: dict[str, str] = {}
        with Client(where[1]) as client:
            every = list(run_ids) + [c.id for run_id in run_ids for c in client.children(run_id)]
        for run_id in every:
            views[f"show {run_id}"] = self("runs", "show", run_id, "--json", *where)
            views[f"tree {run_id}"] = self("runs", "tree", run_id, *where)
            views[f"graph {run_id}"] = self("runs", "graph", run_id, *where)
        return views


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    """`spanflow` in this process."""
    return Cli(capsys)


@pytest.fixture
def postgres_collector(postgres_url: str) -> Iterator[str]:
    """A collector process over a fresh PostgreSQL schema; yields its URL."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex}"
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in postgres_url else "?"
    try:
        with collector_process(f"{postgres_url}{separator}options=-csearch_path%3D{schema}") as c:
            yield c.http_url
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.mark.postgres
def test_sqlite_to_postgres_collector_round_trip_prints_the_same_twice(
    tmp_path: Path, postgres_collector: str, cli: Cli
) -> None:
    """Export 3 runs with subruns from SQLite, import through a PostgreSQL collector: show,
    tree and graph print the same; a second import changes nothing."""
    db = tmp_path / "index.db"
    run_ids = _seed(db)
    bundle = tmp_path / "runs.jsonl.gz"
    out = cli("runs", "export", *run_ids, "-o", str(bundle), "--db", str(db))
    assert "exported 13 runs" in out  # 3 parents, 8 + 1 + 1 subruns
    before = cli.views(["--db", str(db)], run_ids)

    assert "imported" in cli("runs", "import", str(bundle), "--url", postgres_collector)
    after = cli.views(["--url", postgres_collector], run_ids)
    assert after == before
    with Client(postgres_collector) as client:
        listed = [run.id for run in client.iter_runs()]
        points = client.metric_history(run_ids[1])

    cli("runs", "import", str(bundle), "--url", postgres_collector)
    assert cli.views(["--url", postgres_collector], run_ids) == before
    with Client(postgres_collector) as client:
        assert [run.id for run in client.iter_runs()] == listed
        assert client.metric_history(run_ids[1]) == points


def test_sqlite_to_sqlite_keeps_ids_status_links_and_metrics(tmp_path: Path, cli: Cli) -> None:
    """A project exported with --project and imported with --db reads back the same runs."""
    source, target = tmp_path / "a.db", tmp_path / "b.db"
    run_ids = _seed(source)
    bundle = tmp_path / "evals.jsonl"
    cli("runs", "export", "-p", "evals", "-o", str(bundle), "--db", str(source))
    header = json.loads(bundle.read_text().splitlines()[0])
    assert header["format"] == "spanflow.bundle" and header["version"] == 1
    cli("runs", "import", str(bundle), "--db", str(target))
    assert cli.views(["--db", str(target)], run_ids) == cli.views(["--db", str(source)], run_ids)
    with Client(target) as client:
        failed = client.get_run(run_ids[2])
        assert failed.status == "failed" and failed.error_message == "bad sample"
        graph = client.graph(run_ids[1])
        assert len(graph.edges) == 1


def test_import_of_a_file_that_is_not_a_bundle_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A JSON file that is not a bundle: exit 1 and one line naming it; the index is unchanged."""
    not_bundle = tmp_path / "runs.json"
    not_bundle.write_text('{"runs": []}\n')
    target = tmp_path / "b.db"
    open_store(str(target)).close()
    code = main(["runs", "import", str(not_bundle), "--db", str(target)])
    err = capsys.readouterr().err
    assert code == 1 and "is not a spanflow bundle" in err
    with Client(target) as client:
        assert list(client.iter_runs()) == []
