"""LLM calls whose messages hold secrets, exported into the embedded index; each in a fresh
interpreter, for tests/runs/test_embedded_content_redaction.py.

Usage: ``python embedded_content_scenarios.py <scenario> <index.db>``. The real ``openai``
client talks to spanflow's fake LLM server on loopback; the SDK writes into the embedded SQLite
index at ``<index.db>`` in the same process.
"""

from __future__ import annotations

import sys

import openai

import spanflow
from spanflow.testing import FakeLLMServer
from spanflow_collector import redact as store_redaction

OPENAI_KEY = "sk-proj-EmB3ddedOpenAIProjectKey0123456789abcdefXYZ"
CUSTOMER_ID = "ACME-87654321"
EMPLOYEE_ID = "ZETA-123456"
# Message texts longer than the redactor's short-text cache, as chat histories are.
_FILLER = "Summarise the incident report and list every follow-up with its owner. " * 6


def _chat_with_secrets(db_path: str) -> None:
    spanflow.instrument("openai")
    with FakeLLMServer() as llm:
        client = openai.OpenAI(base_url=llm.openai_base_url, api_key="sk-test-0000000000000000")
        with spanflow.run("chat"):
            client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[
                    {"role": "system", "content": f"{_FILLER} Tool key: {OPENAI_KEY}"},
                    {"role": "user", "content": f"{_FILLER} Customer {CUSTOMER_ID}"},
                    {"role": "user", "content": f"{_FILLER} Employee {EMPLOYEE_ID}"},
                ],
            )
        client.close()
    spanflow.shutdown()


def default_rules(db_path: str) -> None:
    """The SDK and the index redact with the built-in rules only."""
    spanflow.configure(db_path=db_path)
    _chat_with_secrets(db_path)


def sdk_patterns(db_path: str) -> None:
    """The SDK has extra patterns (configure); the index has the built-in rules only."""
    spanflow.configure(db_path=db_path, redact_patterns=[r"ACME-[0-9]{8}"])
    _chat_with_secrets(db_path)


def store_pattern(db_path: str) -> None:
    """The index in this process has a pattern of its own the SDK was not given."""
    store_redaction.set_extra_patterns([r"ZETA-[0-9]{6}"])
    spanflow.configure(db_path=db_path)
    _chat_with_secrets(db_path)


if __name__ == "__main__":
    {
        "default-rules": default_rules,
        "sdk-patterns": sdk_patterns,
        "store-pattern": store_pattern,
    }[sys.argv[1]](sys.argv[2])
