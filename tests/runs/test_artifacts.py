"""`log_artifact` into the embedded index: stored content, references, hostile names, edges."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

import spanflow
from spanflow import environment as env
from spanflow.client import ArtifactNotFoundError, Client
from spanflow.query.artifacts import content_disposition, download_filename


@pytest.fixture
def embedded_db(tmp_path: Path) -> Iterator[Path]:
    """spanflow configured to write into a fresh embedded index for one test."""
    path = tmp_path / "index.db"
    spanflow.configure(exporters=["embedded"], db_path=path)
    try:
        yield path
    finally:
        spanflow.force_flush()
        spanflow.configure(exporters=["none"])


def _stored_contents(db: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT sha256, size FROM artifact_contents ORDER BY sha256")
        return [(sha256, size) for sha256, size in rows]


def test_bytes_and_a_file_are_stored_and_read_back_exactly(
    embedded_db: Path, tmp_path: Path
) -> None:
    """Small bytes and a small file land in the index; the client lists them and returns the
    same bytes, with the file's path and a media type from the name."""
    report = tmp_path / "report.json"
    report.write_bytes(b'{"ok": true}\n')
    binary = bytes(range(256)) * 4
    with spanflow.run("artifacts") as run:
        spanflow.log_artifact(report)
        run.log_artifact(binary, name="weights.bin")
    spanflow.force_flush()
    with Client(embedded_db) as client:
        listed = {artifact.name: artifact for artifact in client.artifacts(run.id)}
        assert client.artifact_bytes(run.id, "report.json") == b'{"ok": true}\n'
        assert client.artifact_bytes(run.id, "weights.bin") == binary
    assert listed["report.json"].path == str(report.resolve())
    assert listed["report.json"].media_type == "application/json"
    assert listed["report.json"].stored is True
    assert listed["weights.bin"].size == 1024 and listed["weights.bin"].path is None
    assert listed["weights.bin"].sha256 == hashlib.sha256(binary).hexdigest()


def test_content_above_the_limit_is_a_reference_and_the_run_says_so(
    embedded_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above SPANFLOW_MAX_ARTIFACT_BYTES only name, size, sha256, media type and path are
    kept; asking for the bytes says it is a reference and where the file was."""
    monkeypatch.setenv(env.SPANFLOW_MAX_ARTIFACT_BYTES, "100")
    spanflow.configure(exporters=["embedded"], db_path=embedded_db)  # a setting: read here
    large = tmp_path / "large.csv"
    large.write_bytes(b"x," * 1000)
    with spanflow.run("large") as run:
        spanflow.log_artifact(large)
        spanflow.log_artifact(b"y" * 100, name="at-limit.txt")
    spanflow.force_flush()
    with Client(embedded_db) as client:
        listed = {artifact.name: artifact for artifact in client.artifacts(run.id)}
        with pytest.raises(ArtifactNotFoundError, match=r"reference only.*large\.csv"):
            client.artifact_bytes(run.id, "large.csv")
        assert client.artifact_bytes(run.id, "at-limit.txt") == b"y" * 100
    reference = listed["large.csv"]
    assert (reference.stored, reference.size, reference.media_type) == (False, 2000, "text/csv")
    assert reference.sha256 == hashlib.sha256(b"x," * 1000).hexdigest()
    assert _stored_contents(embedded_db) == [(hashlib.sha256(b"y" * 100).hexdigest(), 100)]


@pytest.mark.parametrize(
    ("setting", "expected_stored"), [("0", False), ("8388608", True), ("999999999999", True)]
)
def test_the_size_setting_is_checked(
    embedded_db: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    setting: str,
    expected_stored: bool,
) -> None:
    """0 stores no content; up to 8 MiB is taken as given; a setting above 8 MiB is capped at
    8 MiB (one OTLP request) with a message naming the cap."""
    monkeypatch.setenv(env.SPANFLOW_MAX_ARTIFACT_BYTES, setting)
    spanflow.configure(exporters=["embedded"], db_path=embedded_db)
    with spanflow.run("setting") as run:
        spanflow.log_artifact(b"abc", name="tiny.txt")
    spanflow.force_flush()
    with Client(embedded_db) as client:
        (artifact,) = client.artifacts(run.id)
    assert artifact.stored is expected_stored
    capped = f"{env.SPANFLOW_MAX_ARTIFACT_BYTES}=999999999999 is above {8 * 1024 * 1024}"
    assert (capped in caplog.text) is (setting == "999999999999")


@pytest.mark.parametrize("setting", ["not-a-number", "-1", "1.5"])
def test_a_size_setting_that_is_no_byte_count_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: str
) -> None:
    """Like every setting, a value that is not a whole number of bytes makes configure() fail,
    naming the variable and what it accepts, and changes nothing."""
    monkeypatch.setenv(env.SPANFLOW_MAX_ARTIFACT_BYTES, setting)
    with pytest.raises(spanflow.ConfigurationError) as raised:
        spanflow.configure(exporters=["embedded"], db_path=tmp_path / "index.db")
    assert str(raised.value) == (
        f"{env.SPANFLOW_MAX_ARTIFACT_BYTES}={setting!r}: must be a whole number, 0 or more"
    )


def test_identical_content_is_stored_once_and_reclaimed_with_its_last_run(
    embedded_db: Path,
) -> None:
    """Two runs logging the same bytes share one stored copy; deleting one run keeps it for
    the other, deleting both removes it."""
    with spanflow.run("first") as first:
        spanflow.log_artifact(b"shared model card", name="card.md")
    with spanflow.run("second") as second:
        spanflow.log_artifact(b"shared model card", name="README.md")
    spanflow.force_flush()
    assert len(_stored_contents(embedded_db)) == 1
    with Client(embedded_db) as client:
        client.delete(first.id)
        assert client.artifact_bytes(second.id, "README.md") == b"shared model card"
        assert len(_stored_contents(embedded_db)) == 1
        client.delete(second.id)
    assert _stored_contents(embedded_db) == []


def test_a_run_cannot_read_content_only_another_run_logged(embedded_db: Path) -> None:
    """Content is served per run: a run without that artifact name gets a clear not-found."""
    with spanflow.run("owner"):
        spanflow.log_artifact(b"private", name="secret.txt")
    with spanflow.run("other") as other:
        pass
    spanflow.force_flush()
    with Client(embedded_db) as client, pytest.raises(ArtifactNotFoundError, match="no artifact"):
        client.artifact_bytes(other.id, "secret.txt")


def test_an_empty_artifact_is_stored_with_size_zero(embedded_db: Path, tmp_path: Path) -> None:
    """An empty file and empty bytes are artifacts like any other: size 0, content b""."""
    empty = tmp_path / "empty.log"
    empty.touch()
    with spanflow.run("empty") as run:
        spanflow.log_artifact(empty)
        spanflow.log_artifact(b"", name="nothing.bin")
    spanflow.force_flush()
    with Client(embedded_db) as client:
        sizes = {
            artifact.name: (artifact.size, artifact.stored) for artifact in client.artifacts(run.id)
        }
        assert client.artifact_bytes(run.id, "empty.log") == b""
        assert client.artifact_bytes(run.id, "nothing.bin") == b""
    assert sizes == {"empty.log": (0, True), "nothing.bin": (0, True)}


def test_a_name_logged_twice_in_a_run_keeps_the_last(embedded_db: Path) -> None:
    """Logging the same name again replaces it (as files at one path would): one artifact,
    the later content."""
    with spanflow.run("twice") as run:
        spanflow.log_artifact(b"draft", name="summary.txt")
        spanflow.log_artifact(b"final", name="summary.txt")
    spanflow.force_flush()
    with Client(embedded_db) as client:
        assert [artifact.name for artifact in client.artifacts(run.id)] == ["summary.txt"]
        assert client.artifact_bytes(run.id, "summary.txt") == b"final"


HOSTILE_NAMES = {
    "../../etc/passwd": "../../etc/passwd",
    "red\x1b[31mtext\x07": "red\ufffd[31mtext\ufffd",
    "<img src=x onerror=alert(1)>.html": "<img src=x onerror=alert(1)>.html",
    "n" * 5000: "n" * 255,
}


def test_hostile_names_are_kept_as_text_and_downloads_get_safe_file_names(
    embedded_db: Path,
) -> None:
    """Traversal, terminal controls, markup and very long names are stored as text (controls
    replaced, cut at 255 characters) and each downloads under a plain file name."""
    with spanflow.run("hostile") as run:
        for index, name in enumerate(HOSTILE_NAMES):
            spanflow.log_artifact(f"content {index}".encode(), name=name)
    spanflow.force_flush()
    with Client(embedded_db) as client:
        names = sorted(artifact.name for artifact in client.artifacts(run.id))
        assert names == sorted(HOSTILE_NAMES.values())
        for index, stored_name in enumerate(HOSTILE_NAMES.values()):
            assert client.artifact_bytes(run.id, stored_name) == f"content {index}".encode()
    assert download_filename("../../etc/passwd") == "passwd"
    assert download_filename("..\\..\\boot.ini") == "boot.ini"
    assert (
        download_filename("<img src=x onerror=alert(1)>.html") == "_img src_x onerror_alert_1_.html"
    )
    assert download_filename("..") == "artifact"
    assert len(download_filename("n" * 255)) == 120
    header = content_disposition('red\ufffd"; x=\r\n.txt')
    assert "\r" not in header and "\n" not in header
    assert header.startswith('attachment; filename="red_')


def test_a_missing_file_warns_and_the_run_goes_on(embedded_db: Path, tmp_path: Path) -> None:
    """A path that is not a file (missing, a directory, not a path at all) is a warning naming
    it; the run keeps logging and completes."""
    with spanflow.run("missing") as run:
        with pytest.warns(spanflow.SpanflowWarning, match=r"nope\.bin.*not a readable file"):
            spanflow.log_artifact(tmp_path / "nope.bin")
        with pytest.warns(spanflow.SpanflowWarning, match=r"a directory"):
            spanflow.log_artifact(tmp_path)
        with pytest.warns(spanflow.SpanflowWarning, match=r"file path or bytes, not int"):
            spanflow.log_artifact(42)  # type: ignore[arg-type]
        spanflow.log_artifact(b"still works", name="after.txt")
    spanflow.force_flush()
    with Client(embedded_db) as client:
        found = client.get_run(run.id)
        assert found.status == "completed"
        assert [artifact.name for artifact in client.artifacts(run.id)] == ["after.txt"]


def test_names_are_redacted_and_content_is_stored_exactly(embedded_db: Path) -> None:
    """A key pasted into an artifact's name is redacted; the content is user data, not scanned:
    it is stored byte for byte (docs/artifacts.md, "what is and is not scanned")."""
    from tests.planted_secrets import PLANTED

    secret = PLANTED[0]
    content = f"config with {secret.text}\n".encode()
    with spanflow.run("redacted-name") as run:
        spanflow.log_artifact(content, name=f"notes for {secret.text}.txt")
    spanflow.force_flush()
    with Client(embedded_db) as client:
        (artifact,) = client.artifacts(run.id)
        assert secret.needle not in artifact.name
        assert f"[REDACTED:{secret.kind}]" in artifact.name
        assert client.artifact_bytes(run.id, artifact.name) == content
