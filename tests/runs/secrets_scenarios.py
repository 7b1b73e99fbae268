"""Runs that plant secrets everywhere, for tests/runs/test_secrets.py; each in a fresh interpreter.

Usage: ``python secrets_scenarios.py <scenario> <index.db>``. Everything goes through the real
SDK into the embedded SQLite index at ``<index.db>``; LLM calls use the real ``openai`` client
against spanflow's fake LLM server on loopback.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any

import openai
from tests.planted_secrets import NAMED, ORDINARY, PLANTED, all_secret_text

import spanflow
from spanflow.testing import FakeLLMServer


@spanflow.step
def lookup(query: str, api_key: str, config: dict[str, Any]) -> dict[str, str]:
    """A traced tool whose arguments carry secrets."""
    return {"answer": query[:20]}


@spanflow.step
def failing_tool(note: str) -> None:
    """A traced tool that fails with a secret in its message."""
    raise ValueError(f"tool failed: {note}")


def _chat(client: openai.OpenAI, text: str) -> None:
    client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[
            {"role": "system", "content": f"Credentials for tools: {text}"},
            {"role": "user", "content": f"Please use these: {text}"},
        ],
    )


def planted(db_path: str) -> None:
    """Every shape in every user-supplied value: params, tags, outputs, errors, messages."""
    spanflow.configure(db_path=db_path)
    spanflow.instrument("openai")
    text = all_secret_text()
    with FakeLLMServer() as llm:
        client = openai.OpenAI(base_url=llm.openai_base_url, api_key=PLANTED[0].text)
        try:
            with spanflow.run(
                f"nightly {PLANTED[1].text}",
                tags=[planted.text for planted in PLANTED],
                params={"config": {"openai": {"api_key": "Pl4nt3dParamNestedKey"}}, "all": text},
                note=text,
                api_key="Pl4nt3dRunAttributeKey",
            ):
                for index, planted in enumerate(PLANTED):
                    spanflow.log_param(f"param_{index}", planted.text)
                    spanflow.log_output(f"output_{index}", {"nested": planted.text})
                    spanflow.tag(f"tag {planted.text}")
                spanflow.log_params(**NAMED, **ORDINARY)
                spanflow.log_outputs(**NAMED)
                spanflow.log_metric(f"loss {PLANTED[4].text}", 0.5)
                _chat(client, text)
                lookup(text, api_key="Pl4nt3dStepApiKey", config={"password": "Pl4nt3dStepPwd"})
                with contextlib.suppress(ValueError):
                    failing_tool(text)
                with spanflow.run("subrun", params={"token": "Pl4nt3dSubrunToken"}):
                    spanflow.log_param("creds", text)
                raise RuntimeError(f"run failed: {text}")
        except RuntimeError:
            pass
        client.close()
    spanflow.shutdown()


def redaction_off_for_one_run(db_path: str) -> None:
    """``run(redact=False)`` stores its values as given; a neighbour run is still redacted."""
    spanflow.configure(db_path=db_path)
    spanflow.instrument("openai")
    with FakeLLMServer() as llm:
        client = openai.OpenAI(base_url=llm.openai_base_url, api_key="sk-test-0000000000000000")
        with spanflow.run("brave", redact=False):
            spanflow.log_param("key", "sk-proj-Br4veOpenAIProjectKey0123456789abcdef")
            _chat(client, "ghp_Br4veGithubToken0123456789abcdefghijkl")
            with spanflow.run("brave-child"):
                spanflow.log_param("password", "Br4veChildPassword")
        with spanflow.run("careful"):
            spanflow.log_param("key", "sk-proj-C4refulOpenAIProjectKey0123456789abcd")
        client.close()
    spanflow.shutdown()


def redaction_off_for_the_process(db_path: str) -> None:
    """``configure(redact=False)`` turns redaction off for every run of the process."""
    spanflow.configure(db_path=db_path, redact=False)
    with spanflow.run("all-brave"):
        spanflow.log_param("api_key", "Pr0cessWideApiKey")
    spanflow.shutdown()


def extra_patterns(db_path: str) -> None:
    """Patterns from configure() apply; SPANFLOW_REDACT_PATTERNS applies when none are given."""
    spanflow.configure(db_path=db_path, redact_patterns=[r"ACME-[0-9]{8}"])
    with spanflow.run("configured"):
        spanflow.log_param("customer", "ACME-12345678")
        spanflow.log_param("employee", "EMP-7777-0001")  # only the environment's pattern
    spanflow.configure(db_path=db_path)  # back to SPANFLOW_REDACT_PATTERNS
    with spanflow.run("from-environment"):
        spanflow.log_param("employee", "EMP-7777-0002")
    try:
        spanflow.configure(db_path=db_path, redact_patterns=["(unclosed"])
    except spanflow.ConfigurationError as exc:
        print(f"refused: {exc}")
    spanflow.shutdown()


if __name__ == "__main__":
    {
        "planted": planted,
        "off-run": redaction_off_for_one_run,
        "off-process": redaction_off_for_the_process,
        "extra-patterns": extra_patterns,
    }[sys.argv[1]](sys.argv[2])
