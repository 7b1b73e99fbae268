"""`spanflow ui` refuses bad local input with one line and a non-zero exit, before listening."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.environments import child_environment

UI_COMMAND = (sys.executable, "-m", "spanflow.cli", "ui")


def _ui(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*UI_COMMAND, *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        env=child_environment(),
        check=False,
    )


def test_missing_index_is_named_and_not_created(tmp_path: Path) -> None:
    """A --db path that does not exist exits 2 naming it, and no index file appears."""
    missing = tmp_path / "nowhere" / "index.db"
    done = _ui("--db", str(missing), "--port", "0")
    assert done.returncode == 2
    assert str(missing) in done.stderr and "no run index" in done.stderr
    assert not missing.exists()


def test_binding_beyond_loopback_without_a_token_is_refused(tmp_path: Path) -> None:
    """`--host 0.0.0.0` without a token exits 2 and says why."""
    db = tmp_path / "index.db"
    db.write_bytes(b"")
    done = _ui("--db", str(db), "--host", "0.0.0.0", "--port", "0")
    assert done.returncode == 2
    assert "without a token" in done.stderr


def test_url_must_be_http() -> None:
    """A --url that is not http(s) exits 2 and says what is expected."""
    done = _ui("--url", "ftp://example.invalid", "--port", "0")
    assert done.returncode == 2
    assert "http://" in done.stderr
