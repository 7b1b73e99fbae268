"""Bad local input to the real `spanflow` command: one line on stderr, an exit code, no traceback.

Exit 2 is a usage error (an option's value), exit 1 a problem found while running (the index,
the collector, the file named). Reading commands never create or change anything on disk.
"""

from __future__ import annotations

import http.server
import os
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.cli.cli_process import assert_one_line_error, spanflow_cli
from tests.environments import child_environment


@pytest.fixture(scope="module")
def index_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run index with one run, written by the SDK in a child process."""
    folder = tmp_path_factory.mktemp("index")
    path = folder / "index.db"
    script = "import spanflow\nwith spanflow.run('only'):\n    pass\n"
    subprocess.run(
        [sys.executable, "-c", script],
        cwd=folder,
        env=child_environment(SPANFLOW_DB=str(path)),
        check=True,
        timeout=60,
    )
    return path


def test_corrupt_index_file(tmp_path: Path) -> None:
    """A file that is not SQLite is named as unreadable, and left as it was."""
    path = tmp_path / "index.db"
    path.write_bytes(b"not a database " * 100)
    result = spanflow_cli("runs", "list", "--db", str(path), cwd=tmp_path)
    assert_one_line_error(result, 1, "cannot read the run index", "not a database")
    assert path.read_bytes() == b"not a database " * 100


def test_index_from_a_newer_spanflow(tmp_path: Path, index_path: Path) -> None:
    """An index with a newer schema version says to upgrade spanflow, and is not touched."""
    path = tmp_path / "newer.db"
    with sqlite3.connect(index_path) as source, sqlite3.connect(path) as copy:
        source.backup(copy)
        copy.execute("UPDATE schema_version SET version = 999")
    before = path.read_bytes()
    result = spanflow_cli("runs", "list", "--db", str(path), cwd=tmp_path)
    assert_one_line_error(result, 1, "schema version 999", "upgrade spanflow")
    assert path.read_bytes() == before


def test_a_sqlite_file_that_is_not_a_run_index(tmp_path: Path) -> None:
    """Another program's SQLite database is refused, not given spanflow's tables."""
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as other:
        other.execute("CREATE TABLE notes (text TEXT)")
    before = path.read_bytes()
    result = spanflow_cli("runs", "list", "--db", str(path), cwd=tmp_path)
    assert_one_line_error(result, 1, "not a spanflow run index")
    assert path.read_bytes() == before


def test_an_empty_file_stays_empty(tmp_path: Path) -> None:
    """A 0-byte file is refused by a reading command instead of turned into an index."""
    path = tmp_path / "empty.db"
    path.touch()
    result = spanflow_cli("runs", "list", "--db", str(path), cwd=tmp_path)
    assert_one_line_error(result, 1, "empty file")
    assert path.stat().st_size == 0


def test_a_missing_index_is_not_created(tmp_path: Path) -> None:
    """A path that does not exist is reported, and neither it nor its folder appears."""
    path = tmp_path / "nowhere" / "index.db"
    result = spanflow_cli("runs", "show", "01ABC", "--db", str(path), cwd=tmp_path)
    assert_one_line_error(result, 1, "no run index at")
    assert list(tmp_path.iterdir()) == []


def test_the_default_index_is_not_created_by_reading(tmp_path: Path) -> None:
    """`runs list` with nothing configured and no ./.spanflow/index.db creates nothing."""
    result = spanflow_cli("runs", "list", cwd=tmp_path)
    assert_one_line_error(result, 1, "no run index at", ".spanflow")
    assert list(tmp_path.iterdir()) == []


def test_a_directory_instead_of_a_file(tmp_path: Path) -> None:
    """A directory given as the index is named as not an index file."""
    result = spanflow_cli("runs", "list", "--db", str(tmp_path), cwd=tmp_path)
    assert_one_line_error(result, 1, "not a run index file")


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="file permissions do not stop root from reading",
)
def test_a_file_this_user_cannot_read(tmp_path: Path, index_path: Path) -> None:
    """An index without read permission is reported as such."""
    path = tmp_path / "secret.db"
    path.write_bytes(index_path.read_bytes())
    path.chmod(0)
    result = spanflow_cli("runs", "list", "--db", str(path), cwd=tmp_path)
    assert_one_line_error(result, 1, "permission denied")


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("--url", "ftp://x", ("--url", "not a collector URL")),
        ("--url", "127.0.0.1:4318", ("--url", "not a collector URL")),
        ("--db", "ftp://x", ("--db", "neither an index file path nor a postgresql://")),
    ],
)
def test_a_source_of_the_wrong_kind_is_a_usage_error(
    tmp_path: Path, option: str, value: str, words: tuple[str, ...]
) -> None:
    """`--url` takes only http(s) URLs and `--db` only paths or PostgreSQL URLs; nothing is made."""
    result = spanflow_cli("runs", "list", option, value, cwd=tmp_path)
    assert_one_line_error(result, 2, *words)
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_scheme_in_spanflow_db_creates_nothing(tmp_path: Path) -> None:
    """SPANFLOW_DB=ftp://x is reported, not taken as a relative path to create."""
    result = spanflow_cli(
        "runs", "list", cwd=tmp_path, env=child_environment(SPANFLOW_DB="ftp://x")
    )
    assert_one_line_error(result, 1, "ftp://x", "postgresql://")
    assert list(tmp_path.iterdir()) == []


def test_postgresql_url_without_the_driver(tmp_path: Path) -> None:
    """A postgresql:// index without psycopg installed says which extra to install."""
    # psycopg is installed for the test suite; this process is the CLI with it made unimportable.
    code = (
        "import sys; sys.modules['psycopg'] = None\n"
        "from spanflow.cli import main\n"
        "sys.exit(main(['runs', 'list', '--db', 'postgresql://127.0.0.1:1/x']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=child_environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "pip install 'spanflow[postgres]'" in done.stderr.strip().splitlines()[-1]


def test_a_collector_that_is_not_listening(tmp_path: Path) -> None:
    """An unreachable collector URL is one line naming the URL."""
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    result = spanflow_cli("runs", "list", "--url", url, cwd=tmp_path)
    assert_one_line_error(result, 1, "cannot reach the collector", url)


class _Answer(http.server.BaseHTTPRequestHandler):
    """Answers every GET with the server's fixed status and body."""

    def do_GET(self) -> None:
        status, body = self.server.answer  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output clean."""


@contextmanager
def answering(status: int, body: bytes) -> Iterator[str]:
    """A loopback HTTP server answering ``status``/``body`` to everything; yields its URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    server.answer = (status, body)  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.mark.parametrize(
    ("status", "body", "words"),
    [
        (401, b'{"error": "unauthorized", "message": "bad token"}', ("401", "--token")),
        (500, b"<html>\x1b[2J internal error</html>", ("500", "\\x1b[2J")),
        (200, b'{"unexpected": true}', ("not a spanflow API response",)),
    ],
)
def test_a_collector_answering_badly(
    tmp_path: Path, status: int, body: bytes, words: tuple[str, ...]
) -> None:
    """401, 500 and a JSON answer of the wrong shape are one line each, control codes escaped."""
    with answering(status, body) as url:
        for command in (["list"], ["show", "01ABC"], ["tree", "01ABC"]):
            result = spanflow_cli("runs", *command, "--url", url, cwd=tmp_path)
            assert_one_line_error(result, 1, *words)
            assert "\x1b" not in result.err


@pytest.mark.parametrize(
    ("arguments", "code", "words"),
    [
        (["show", "no-such-run"], 1, ("no run with id 'no-such-run'",)),
        (["tree", "x\x1b[2J"], 1, ("no run with id", "\\x1b[2J")),
        (["list", "--param", "lr>>x"], 2, ("--param", "two operators")),
        (["list", "--since", "last tuesday"], 2, ("--since", "neither ISO 8601 nor unix seconds")),
        (["list", "--limit", "0"], 2, ("--limit", "between 1 and 500")),
        (["list", "--status", "bogus"], 2, ("--status", "unknown status")),
        (["list", "--cursor", "zzz"], 2, ("--cursor", "invalid cursor")),
        (["compare", "only-one"], 2, ("compare 2 to 20 runs",)),
    ],
)
def test_bad_run_ids_and_filters(
    tmp_path: Path, index_path: Path, arguments: list[str], code: int, words: tuple[str, ...]
) -> None:
    """Unknown run ids exit 1 and filters the index cannot read exit 2, each in one line."""
    result = spanflow_cli("runs", *arguments, "--db", str(index_path), cwd=tmp_path)
    assert_one_line_error(result, code, *words)
    assert "\x1b" not in result.err


@pytest.mark.parametrize(
    ("arguments", "code", "words"),
    [
        (["--port", "99999"], 2, ("--port", "99999 is not a port")),
        (["--port", "http"], 2, ("--port", "not a port number")),
        (["--replies", "missing.json"], 2, ("cannot read --replies", "missing.json")),
        (["--replies", "."], 2, ("cannot read --replies",)),
        (["--host", "203.0.113.9"], 1, ("cannot listen on 203.0.113.9",)),
    ],
)
def test_fake_llm_options(
    tmp_path: Path, arguments: list[str], code: int, words: tuple[str, ...]
) -> None:
    """`spanflow fake-llm` refuses a bad port, an unreadable replies file or an unbindable host."""
    result = spanflow_cli("fake-llm", *arguments, cwd=tmp_path)
    assert_one_line_error(result, code, *words)


def test_fake_llm_replies_that_are_not_json(tmp_path: Path) -> None:
    """A replies file that is not JSON is named with the parser's reason."""
    (tmp_path / "replies.json").write_text("hello", encoding="utf-8")
    result = spanflow_cli("fake-llm", "--replies", "replies.json", cwd=tmp_path)
    assert_one_line_error(result, 2, "replies.json is not JSON")
