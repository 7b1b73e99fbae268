"""The ``spanflow_cassette`` fixture in a user's own test suite: a recorded run as a cassette."""

from __future__ import annotations

from pathlib import Path

import pytest

import spanflow
from spanflow.testing.fake_llm import FakeLLMServer, Reply
from tests.replay.agents import MODEL

pytest_plugins = ["pytester"]

USER_TESTS = """
from openai import OpenAI

RUN_ID = {run_id!r}
INDEX = {index!r}
OFFLINE = "http://127.0.0.1:9/v1"


def ask(question):
    with OpenAI(base_url=OFFLINE, api_key="k", max_retries=0) as client:
        reply = client.chat.completions.create(
            model={model!r}, messages=[{{"role": "user", "content": question}}]
        )
    return reply.choices[0].message.content


def test_recorded_answer_comes_back_offline(spanflow_cassette):
    spanflow_cassette(RUN_ID, source=INDEX)
    assert ask("What is 2+2?") == "Four."


def test_unrecorded_request_fails_clearly(spanflow_cassette):
    spanflow_cassette(RUN_ID, source=INDEX)
    ask("What is 3+3?")
"""


@pytest.fixture
def recorded_run(index: Path) -> str:
    """A one-call run in ``index``, recorded before ``pytester`` snapshots ``sys.modules``.

    pytester drops the modules a test imports first; a client library half-imported that way
    would leave later tests with mismatched exception classes.
    """
    from openai import OpenAI

    with (
        FakeLLMServer([Reply(text="Four.")]) as llm,
        spanflow.run("cassette") as run,
        OpenAI(base_url=llm.openai_base_url, api_key="k", max_retries=0) as client,
    ):
        client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "What is 2+2?"}]
        )
    spanflow.force_flush()
    return run.id


def test_cassette_serves_a_recorded_run_in_a_users_suite(
    recorded_run: str, index: Path, pytester: pytest.Pytester
) -> None:
    """A user's test gets the recorded answer offline; a new request fails naming the cause."""
    pytester.makepyfile(
        test_user=USER_TESTS.format(run_id=recorded_run, index=str(index), model=MODEL)
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")

    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*ReplayMiss*never recorded*"])
