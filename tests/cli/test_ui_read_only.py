"""`spanflow ui --db` serves a run index for browsing: it never deletes or changes runs."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from spanflow_collector.ui.static import STATIC_DIR
from tests.environments import child_environment
from tests.ui.conftest import ready_process

RECORD = """
import spanflow
with spanflow.run("kept"):
    pass
"""


def _status(request: urllib.request.Request) -> int:
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        error.close()
        return error.code


@pytest.mark.skipif(
    not (STATIC_DIR / "index.html").is_file(), reason="the web UI is not built (make ui)"
)
def test_tokenless_ui_refuses_to_delete_runs(tmp_path: Path) -> None:
    """Without a token, a DELETE sent to `spanflow ui --db` (same origin or another loopback
    port's page) is refused with 405 and the run stays in the index; reads still work."""
    db = tmp_path / "index.db"
    subprocess.run(
        [sys.executable, "-c", RECORD],
        cwd=tmp_path,
        env=child_environment(SPANFLOW_DB=str(db)),
        check=True,
        timeout=60,
    )
    with sqlite3.connect(db) as connection:
        (run_id,) = connection.execute("SELECT id FROM runs").fetchone()
    command = [sys.executable, "-m", "spanflow.cli", "ui", "--db", str(db), "--port", "0"]
    with ready_process(command, child_environment(PYTHONUNBUFFERED="1"), "spanflow ui ready:") as (
        line,
        _,
    ):
        url = line.split("ready: ", 1)[1].split()[0].rstrip("/")
        run_url = f"{url}/api/v1/runs/{run_id}"
        for origin in (url, "http://localhost:3000"):
            delete = urllib.request.Request(run_url, method="DELETE", headers={"Origin": origin})
            assert _status(delete) == 405
        assert _status(urllib.request.Request(run_url)) == 200
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT count(*) FROM runs").fetchone() == (1,)
