"""A secret pasted into a param name or an artifact path: redacted, no internal failure, and
nothing of it on stderr."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.environments import child_environment
from tests.planted_secrets import PLANTED, leaked

from spanflow.redaction import marker

KEY_SECRET = PLANTED[0]
PATH_SECRET = PLANTED[1]
SCRIPT = f"""
import json, spanflow
with spanflow.run("keys") as run:
    spanflow.log_params(**{{{KEY_SECRET.text!r}: 1, "lr": 0.1}})
    spanflow.log_artifact({f"/missing/{PATH_SECRET.text}/report.txt"!r})
    print(json.dumps(sorted(run.params)))
"""


def test_param_named_with_a_secret_is_kept_redacted_and_nothing_leaks_to_stderr(
    tmp_path: Path,
) -> None:
    """`log_params` with a key holding a key keeps both params on the handle (the secret key
    redacted), and the missing artifact's warning shows its path redacted."""
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=tmp_path,
        env=child_environment(SPANFLOW_DB=str(tmp_path / "index.db")),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == sorted([marker(KEY_SECRET.kind), "lr"])
    assert "failed inside spanflow" not in done.stderr
    assert "is not a readable file" in done.stderr
    assert leaked(done.stderr.encode(), [KEY_SECRET.needle, PATH_SECRET.needle]) == []
