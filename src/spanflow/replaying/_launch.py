"""How to start a run again: command, directory, interpreter, git state and allowed variables.

Recorded as the run attribute ``launch`` (JSON) by ``spanflow record``, and by any run when
``SPANFLOW_RECORD_LAUNCH`` is on. Only the variables in ``LAUNCH_ENVIRONMENT`` are kept, and
their values pass through secret redaction: credentials are never part of a launch record.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

from spanflow import environment
from spanflow._internal import redact as redaction
from spanflow._internal import settings
from spanflow.redaction import MARKER_PREFIX

LAUNCH_ENVIRONMENT = (
    environment.SPANFLOW_PROJECT,
    environment.SPANFLOW_DB,
    environment.SPANFLOW_ENDPOINT,
    environment.SPANFLOW_EXPORTERS,
    environment.SPANFLOW_CAPTURE_CONTENT,
    environment.SPANFLOW_DATAFLOW,
    environment.OTEL_SERVICE_NAME,
    "OPENAI_BASE_URL",
    "ANTHROPIC_BASE_URL",
    "PYTHONHASHSEED",
    "PYTHONPATH",
)
"""The environment variables a launch record keeps (documented in docs/replay.md)."""

_GIT_TIMEOUT_S = 5.0


def launch_wanted() -> bool:
    """Whether every run records its launch (``SPANFLOW_RECORD_LAUNCH``; default off)."""
    return settings.current().record_launch


def launch_record(argv: Sequence[str] | None = None) -> str:
    """The launch record of this process as JSON; ``argv`` defaults to the interpreter's own."""
    command = list(argv) if argv is not None else list(getattr(sys, "orig_argv", sys.argv))
    cwd = os.getcwd()
    record: dict[str, Any] = {
        "argv": [redaction.text(part) for part in command],
        "cwd": cwd,
        "python": sys.executable,
        "python_version": sys.version.split()[0],
        "env": {
            name: redaction.text(os.environ[name])
            for name in LAUNCH_ENVIRONMENT
            if name in os.environ
        },
    }
    commit, dirty = git_state(cwd)
    if commit is not None:
        record["git_commit"] = commit
        record["git_dirty"] = dirty
    return json.dumps(record, sort_keys=True)


def git_state(cwd: str) -> tuple[str | None, bool]:
    """(HEAD commit, whether tracked files differ from it); (None, False) outside a git tree."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
        )
        if head.returncode != 0:
            return None, False
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None, False
    return head.stdout.strip(), bool(status.stdout.strip())


def parse_launch(text: Any) -> dict[str, Any] | None:
    """A launch record read back from a run's attributes; None when absent or unreadable."""
    if not isinstance(text, str):
        return None
    try:
        record = json.loads(text)
    except ValueError:
        return None
    if not isinstance(record, dict) or not isinstance(record.get("argv"), list):
        return None
    return record


def recorded_environment(launch: dict[str, Any] | None) -> dict[str, str]:
    """The allow-listed variables a launch record kept, minus any a redaction marker replaced.

    ``spanflow replay`` starts the program with these under the caller's own environment, so a
    variable the caller sets wins and a redacted value is never passed on as if it were real.
    """
    recorded = launch.get("env") if launch is not None else None
    if not isinstance(recorded, dict):
        return {}
    return {
        name: value
        for name, value in recorded.items()
        if name in LAUNCH_ENVIRONMENT and isinstance(value, str) and MARKER_PREFIX not in value
    }
