"""Running the real ``spanflow`` command as a process, as a user's shell does."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.environments import child_environment

SPANFLOW = Path(sys.executable).with_name("spanflow")
TIMEOUT_S = 60  # generous: a hang is what these tests catch, not slowness


def spanflow_command() -> list[str]:
    """The installed ``spanflow`` script beside this Python (``-m spanflow.cli`` without one)."""
    return [str(SPANFLOW)] if SPANFLOW.exists() else [sys.executable, "-m", "spanflow.cli"]


@dataclass(frozen=True)
class Result:
    """What one `spanflow` process did."""

    code: int
    out: str
    err: str


def spanflow_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, stdin: str | None = None
) -> Result:
    """Run the installed `spanflow` script to completion (bounded by ``TIMEOUT_S``)."""
    done = subprocess.run(
        [*spanflow_command(), *args],
        cwd=cwd,
        env=env or child_environment(),
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="surrogateescape",
        timeout=TIMEOUT_S,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def assert_one_line_error(result: Result, code: int, *words: str) -> None:
    """Exit ``code``, and stderr's last line says what is wrong (argparse adds its usage above)."""
    assert result.code == code, result
    assert "Traceback" not in result.err, result.err
    message = result.err.strip().splitlines()[-1]
    for word in words:
        assert word in message, message
