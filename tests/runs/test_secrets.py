"""Secrets planted in every user-supplied value never reach the run index on disk.

Each scenario runs the real SDK in a fresh interpreter (``secrets_scenarios.py``) exporting
into an embedded SQLite index; the test then reads the raw bytes of the database file and its
WAL, the way an attacker with the file would.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from tests.environments import child_environment
from tests.planted_secrets import NAMED, ORDINARY, PLANTED, index_bytes, leaked

from spanflow.query.store import RunQuery, RunSummary
from spanflow.redaction import marker
from spanflow_collector.index.sqlite import SqliteRunIndexStore

SCENARIOS = Path(__file__).with_name("secrets_scenarios.py")
REPOSITORY = Path(__file__).parents[2]


def _scenario(name: str, db: Path, **variables: str) -> str:
    done = subprocess.run(
        [sys.executable, str(SCENARIOS), name, str(db)],
        env=child_environment(PYTHONPATH=str(REPOSITORY), **variables),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _runs(db: Path) -> dict[str, RunSummary]:
    store = SqliteRunIndexStore(str(db))
    try:
        return {run.name: run for run in store.list_runs(RunQuery(limit=100)).runs}
    finally:
        store.close()


@pytest.fixture(scope="module")
def planted_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index written by a run that planted every secret shape everywhere."""
    db = tmp_path_factory.mktemp("planted") / "index.db"
    _scenario("planted", db)
    return db


def test_no_planted_secret_is_anywhere_in_the_index_file(planted_index: Path) -> None:
    """Params, tags, outputs, names, errors, LLM messages and step arguments: none on disk."""
    raw = index_bytes(planted_index)
    needles = [planted.needle for planted in PLANTED] + list(NAMED.values())
    needles += ["Pl4nt3dParamNestedKey", "Pl4nt3dRunAttributeKey", "Pl4nt3dStepApiKey"]
    needles += ["Pl4nt3dStepPwd", "Pl4nt3dSubrunToken"]
    assert leaked(raw, needles) == []
    for kind in {planted.kind for planted in PLANTED}:
        assert marker(kind).encode() in raw, kind


def test_the_redacted_run_is_still_complete(planted_index: Path) -> None:
    """The failed run, its subrun, its LLM call and steps are all there, redacted."""
    runs = _runs(planted_index)
    run = runs["nightly [REDACTED:openai-key]"]
    assert run.status == "failed"
    assert run.error_message is not None and run.error_message.startswith("run failed: ")
    assert marker("openai-key") in run.error_message
    assert run.params["config"] == '{"openai": {"api_key": "[REDACTED:secret]"}}'
    assert run.params["api_key"] == "[REDACTED:secret]"
    assert run.attributes["api_key"] == "[REDACTED:secret]"
    assert "loss [REDACTED:aws-access-key-id]" in run.metrics
    assert f"tag {marker('github-token')}" in run.tags
    assert run.llm_call_count == 1
    assert runs["subrun"].params["token"] == "[REDACTED:secret]"


def test_ordinary_values_are_stored_exactly(planted_index: Path) -> None:
    """Token counts, UUIDs, SHAs, ULIDs, hashes and prose are not mistaken for secrets."""
    params = _runs(planted_index)["nightly [REDACTED:openai-key]"].params
    for key, value in ORDINARY.items():
        assert params[key] == value, key


def test_redaction_can_be_turned_off_for_one_run(tmp_path: Path) -> None:
    """run(redact=False) keeps its own (and its subruns') values; other runs stay redacted."""
    db = tmp_path / "index.db"
    _scenario("off-run", db)
    raw = index_bytes(db)
    assert b"sk-proj-Br4veOpenAIProjectKey0123456789abcdef" in raw
    assert b"ghp_Br4veGithubToken0123456789abcdefghijkl" in raw  # its LLM messages too
    assert b"Br4veChildPassword" in raw
    assert b"C4refulOpenAIProjectKey" not in raw
    runs = _runs(db)
    assert runs["brave"].params["key"] == "sk-proj-Br4veOpenAIProjectKey0123456789abcdef"
    assert runs["careful"].params["key"] == marker("openai-key")


def test_redaction_can_be_turned_off_for_the_process(tmp_path: Path) -> None:
    """configure(redact=False) stores values as given, the embedded index included."""
    db = tmp_path / "index.db"
    _scenario("off-process", db)
    assert _runs(db)["all-brave"].params["api_key"] == "Pr0cessWideApiKey"


def test_redaction_is_turned_off_by_the_environment(tmp_path: Path) -> None:
    """SPANFLOW_REDACT=false is the same switch as configure(redact=False)."""
    db = tmp_path / "index.db"
    _scenario("off-run", db, SPANFLOW_REDACT="false")
    assert _runs(db)["careful"].params["key"] == "sk-proj-C4refulOpenAIProjectKey0123456789abcd"


def test_extra_patterns_from_configure_and_environment(tmp_path: Path) -> None:
    """configure(redact_patterns=) and SPANFLOW_REDACT_PATTERNS (one per line) add rules."""
    db = tmp_path / "index.db"
    out = _scenario(
        "extra-patterns", db, SPANFLOW_REDACT_PATTERNS="EMP-[0-9]{4}-[0-9]{4}\nNEVER-MATCHES"
    )
    runs = _runs(db)
    assert runs["configured"].params["customer"] == marker("custom")
    assert runs["configured"].params["employee"] == "EMP-7777-0001"  # configure() replaced env
    assert runs["from-environment"].params["employee"] == marker("custom")
    assert b"ACME-12345678" not in index_bytes(db)
    assert "refused: redact pattern '(unclosed' is not a regular expression" in out
