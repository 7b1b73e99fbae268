"""LLM message content the SDK redacted is written into the embedded index without a second
scan only when that scan could find nothing more: secrets stay out of the index file with the
built-in rules, with the SDK's extra patterns, and with a pattern only the index has."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.environments import child_environment
from tests.planted_secrets import index_bytes
from tests.runs.embedded_content_scenarios import CUSTOMER_ID, EMPLOYEE_ID, OPENAI_KEY

from spanflow import attributes as attr
from spanflow.query.store import RunQuery
from spanflow.redaction import CUSTOM_KIND, marker
from spanflow_collector.index.sqlite import SqliteRunIndexStore

SCENARIOS = Path(__file__).with_name("embedded_content_scenarios.py")
REPOSITORY = Path(__file__).parents[2]


def _input_messages(scenario: str, db: Path) -> str:
    """Run ``scenario`` into ``db``; the stored ``gen_ai.input.messages`` of its LLM call."""
    done = subprocess.run(
        [sys.executable, str(SCENARIOS), scenario, str(db)],
        env=child_environment(PYTHONPATH=str(REPOSITORY)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    store = SqliteRunIndexStore(str(db))
    try:
        (run,) = store.list_runs(RunQuery(limit=10)).runs
        messages = [
            span.attributes[attr.GEN_AI_INPUT_MESSAGES]
            for span in store.get_spans(run.id)
            if attr.GEN_AI_INPUT_MESSAGES in span.attributes
        ]
    finally:
        store.close()
    assert len(messages) == 1
    assert isinstance(messages[0], str)
    return messages[0]


def test_builtin_rules_redact_llm_content_in_the_embedded_index(tmp_path: Path) -> None:
    """With default settings an API key in a chat message is stored as its marker only."""
    db = tmp_path / "index.db"
    messages = _input_messages("default-rules", db)
    assert marker("openai-key") in messages
    assert OPENAI_KEY.encode() not in index_bytes(db)
    assert CUSTOMER_ID in messages and EMPLOYEE_ID in messages  # no rule for these


def test_sdk_patterns_redact_llm_content_in_the_embedded_index(tmp_path: Path) -> None:
    """A pattern given to configure() redacts message content before it reaches the index."""
    db = tmp_path / "index.db"
    messages = _input_messages("sdk-patterns", db)
    assert marker("openai-key") in messages and marker(CUSTOM_KIND) in messages
    raw = index_bytes(db)
    assert OPENAI_KEY.encode() not in raw and CUSTOMER_ID.encode() not in raw


def test_a_pattern_only_the_index_has_is_still_applied(tmp_path: Path) -> None:
    """Content the SDK redacted is scanned again when the index has a rule the SDK lacked."""
    db = tmp_path / "index.db"
    messages = _input_messages("store-pattern", db)
    assert marker("openai-key") in messages and marker(CUSTOM_KIND) in messages
    raw = index_bytes(db)
    assert OPENAI_KEY.encode() not in raw and EMPLOYEE_ID.encode() not in raw
