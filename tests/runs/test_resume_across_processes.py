"""Resuming a run in a new process keeps its name, project and tags.

Each side is a real Python process; the first writes into the embedded SQLite index.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.environments import child_environment

import spanflow
from spanflow import attributes as attr
from spanflow.testing import OTLPReceiver

FIRST = """
import spanflow
with spanflow.run("nightly-eval", project="evals", tags=["nightly"]) as run:
    print(run.id)
"""
RESUME = """
import sys
import spanflow
with spanflow.run(resume=sys.argv[1]) as run:
    print(run.name, run.project, ",".join(run.tags), run.segment)
"""


def _python(code: str, *args: str, environment: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_resume_in_a_new_process_keeps_name_project_and_tags(tmp_path: Path) -> None:
    """The new segment reads the run's facts from the index it writes to, and the index agrees."""
    environment = child_environment(SPANFLOW_DB=str(tmp_path / "index.db"))
    run_id = _python(FIRST, environment=environment)
    resumed = _python(RESUME, run_id, environment=environment)
    assert resumed == "nightly-eval evals nightly 1"
    with spanflow.Client(tmp_path / "index.db") as client:
        run = client.get_run(run_id)
    assert (run.name, run.project, run.tags) == ("nightly-eval", "evals", ("nightly",))
    assert (run.segment_count, run.status) == (2, attr.RunStatus.COMPLETED)


def test_a_resume_that_cannot_read_the_index_marks_its_project_as_assumed(
    tmp_path: Path,
) -> None:
    """Exporting where no run index answers, the segment claims no name nor project of its own."""
    run_id = _python(FIRST, environment=child_environment(SPANFLOW_DB=str(tmp_path / "i.db")))
    with OTLPReceiver() as receiver:
        environment = child_environment(SPANFLOW_ENDPOINT=receiver.endpoint)
        assert _python(RESUME, run_id, environment=environment) == "None default  1"
        root = receiver.wait_for_span(kind=attr.SpanKindValue.RUN, run_id=run_id)
        start = receiver.wait_for_record(kind=attr.RecordKindValue.START, run_id=run_id)
    assert root.attributes[attr.RUN_PROJECT_ASSUMED] is True
    assert attr.RUN_NAME not in root.attributes
    # The start record names no project, so the index keeps the one it has.
    assert attr.PROJECT not in start.fields and attr.RUN_NAME not in start.fields
