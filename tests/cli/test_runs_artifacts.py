"""`spanflow runs artifacts` / `runs download`, and artifacts carried by `runs export`/`import`
from SQLite into a PostgreSQL collector."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from spanflow.client import Client
from tests.cli.cli_process import spanflow_cli, spanflow_command
from tests.collector.processes import collector_process
from tests.environments import child_environment

SCRIPT = """
import spanflow
with spanflow.run("artifacts-cli") as run:
    spanflow.log_artifact(b"a,b\\n1,2\\n", name="table.csv")
    spanflow.log_artifact(b"\\x00\\x1b[2J\\xff binary", name="../../.bashrc")
    spanflow.log_artifact(b"q" * 5000, name="large.bin")
    with spanflow.run("sample") as sample:
        spanflow.log_artifact(b"sample output", name="out.txt")
print(run.id, sample.id)
"""


def _log(tmp_path: Path) -> tuple[str, str]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=tmp_path,
        env=child_environment(
            SPANFLOW_DB=str(tmp_path / "index.db"), SPANFLOW_MAX_ARTIFACT_BYTES="1000"
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    run_id, sample_id = done.stdout.split()
    return run_id, sample_id


def test_artifacts_lists_sizes_and_what_is_stored(tmp_path: Path) -> None:
    """The table names each artifact with its size and whether the index holds its content;
    `--json` gives the same facts exactly."""
    run_id, _ = _log(tmp_path)
    db = str(tmp_path / "index.db")
    table = spanflow_cli("runs", "artifacts", run_id, "--db", db, cwd=tmp_path)
    assert table.code == 0, table.err
    lines = table.out.splitlines()
    assert lines[0].split() == ["NAME", "BYTES", "CONTENT", "MEDIA", "TYPE", "PATH"]
    assert any(line.split()[:3] == ["large.bin", "5000", "reference"] for line in lines)
    assert any(line.split()[:3] == ["table.csv", "8", "stored"] for line in lines)
    as_json = spanflow_cli("runs", "artifacts", run_id, "--db", db, "--json", cwd=tmp_path)
    assert '"name": "../../.bashrc"' in as_json.out


def test_download_writes_a_file_with_a_safe_name_and_never_overwrites(tmp_path: Path) -> None:
    """A hostile name is saved as a plain file in the current folder; an existing file is kept
    unless --force; a reference-only artifact is a clear error and writes nothing."""
    run_id, _ = _log(tmp_path)
    db = str(tmp_path / "index.db")
    work = tmp_path / "work"
    work.mkdir()
    saved = spanflow_cli("runs", "download", run_id, "../../.bashrc", "--db", db, cwd=work)
    assert saved.code == 0, saved.err
    assert (work / "bashrc").read_bytes() == b"\x00\x1b[2J\xff binary"
    assert not any(path.name.endswith("bashrc") for path in tmp_path.iterdir())
    assert [path.name for path in work.iterdir()] == ["bashrc"]
    again = spanflow_cli("runs", "download", run_id, "../../.bashrc", "--db", db, cwd=work)
    assert again.code == 1 and "exists; pass --force" in again.err
    into = spanflow_cli(
        "runs", "download", run_id, "table.csv", "--db", db, "-o", str(work), cwd=tmp_path
    )
    assert into.code == 0 and (work / "table.csv").read_bytes() == b"a,b\n1,2\n"
    reference = spanflow_cli("runs", "download", run_id, "large.bin", "--db", db, cwd=work)
    assert reference.code == 1 and "reference only" in reference.err
    assert not (work / "large.bin").exists()


def test_download_into_a_folder_named_with_a_trailing_slash_makes_it(tmp_path: Path) -> None:
    """`-o out/` (as docs/artifacts.md shows) saves into the folder out, made when missing,
    under the artifact's safe file name."""
    run_id, _ = _log(tmp_path)
    db = str(tmp_path / "index.db")
    done = spanflow_cli(
        "runs", "download", run_id, "table.csv", "--db", db, "-o", "out/", cwd=tmp_path
    )
    assert done.code == 0, done.err
    assert (tmp_path / "out" / "table.csv").read_bytes() == b"a,b\n1,2\n"


def test_download_to_standard_output_only_into_a_pipe(tmp_path: Path) -> None:
    """`-o -` writes the raw bytes into a pipe, exactly."""
    run_id, _ = _log(tmp_path)
    done = subprocess.run(
        [
            *spanflow_command(),
            "runs",
            "download",
            run_id,
            "../../.bashrc",
            "--db",
            str(tmp_path / "index.db"),
            "-o",
            "-",
        ],
        env=child_environment(),
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"\x00\x1b[2J\xff binary"


def test_download_refuses_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With standard output a terminal, `-o -` is refused: raw bytes never reach a screen."""
    from spanflow.cli import main

    run_id, _ = _log(tmp_path)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    code = main(
        ["runs", "download", run_id, "table.csv", "--db", str(tmp_path / "index.db"), "-o", "-"]
    )
    assert code == 2
    assert "standard output is a terminal" in capsys.readouterr().err


@pytest.mark.postgres
def test_bundles_carry_artifact_content_into_a_postgres_collector(
    tmp_path: Path, postgres_url: str
) -> None:
    """Exported from SQLite and imported twice through a PostgreSQL collector, the run and its
    subrun keep their artifacts: stored content byte for byte, the reference as a reference."""
    run_id, sample_id = _log(tmp_path)
    bundle = tmp_path / "runs.jsonl.gz"
    exported = spanflow_cli(
        "runs",
        "export",
        run_id,
        "--db",
        str(tmp_path / "index.db"),
        "-o",
        str(bundle),
        cwd=tmp_path,
    )
    assert exported.code == 0, exported.err
    import psycopg

    schema = "artifact_bundle"
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        connection.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in postgres_url else "?"
    location = f"{postgres_url}{separator}options=-csearch_path%3D{schema}"
    try:
        with collector_process(location) as collector:
            for _ in range(2):
                imported = spanflow_cli(
                    "runs", "import", str(bundle), "--url", collector.http_url, cwd=tmp_path
                )
                assert imported.code == 0, imported.err
            with Client(collector.http_url) as client:
                listed = {a.name: a for a in client.artifacts(run_id)}
                assert client.artifact_bytes(run_id, "table.csv") == b"a,b\n1,2\n"
                assert client.artifact_bytes(run_id, "../../.bashrc") == b"\x00\x1b[2J\xff binary"
                assert client.artifact_bytes(sample_id, "out.txt") == b"sample output"
        assert listed["large.bin"].stored is False and listed["large.bin"].size == 5000
        with psycopg.connect(location, autocommit=True) as connection:
            (count,) = connection.execute("SELECT COUNT(*) FROM artifact_contents").fetchone() or (
                0,
            )
        assert count == 3  # imported twice, stored once
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
