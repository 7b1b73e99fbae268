"""Replay across providers and shapes: Anthropic tool use, edited streams, async, subruns."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import spanflow
from spanflow import attributes
from spanflow.testing.fake_llm import FakeLLMServer, Reply, ToolCall
from tests.replay.agents import MODEL, anthropic_agent

OFFLINE_OPENAI = "http://127.0.0.1:9/v1"
OFFLINE_ANTHROPIC = "http://127.0.0.1:9"


def _run_id(index: Path, name: str) -> str:
    spanflow.force_flush()
    with spanflow.Client(index) as client:
        return next(run.id for run in client.list_runs().runs if run.name == name)


def test_anthropic_tool_agent_replays_offline_and_edits_a_stream(index: Path) -> None:
    """An Anthropic agent (tool use, a stream) replays offline; an edited stream is a stream."""
    turns = [
        Reply(tool_calls=[ToolCall("weather", {"city": "Oslo"})]),
        Reply(text="It is sunny in Oslo."),
        Reply(text="Sunny."),
    ]
    with FakeLLMServer(turns) as llm:
        answers = anthropic_agent(llm.anthropic_base_url, "Weather in Oslo?", name="claude")
    run_id = _run_id(index, "claude")

    with spanflow.replay(run_id, miss="error") as session:
        assert anthropic_agent(OFFLINE_ANTHROPIC, "Weather in Oslo?", name="again") == answers
    assert session.summary().served == 3

    with FakeLLMServer([Reply(text="Live.")]) as llm:
        with spanflow.replay(run_id, edits={2: "Snow in Oslo."}) as session:
            edited = anthropic_agent(llm.anthropic_base_url, "Weather in Oslo?", name="edit")
        assert "Snow in Oslo." in str(llm.requests[0].body)
    assert edited == ["", "Snow in Oslo.", "Live."]


def test_edited_openai_stream_and_async_calls(index: Path) -> None:
    """An edited OpenAI stream arrives as chunks with the new text; async calls are served."""
    from openai import AsyncOpenAI, OpenAI

    def calls(base: str) -> tuple[str, str]:
        with spanflow.run("mixed"), OpenAI(base_url=base, api_key="k", max_retries=0) as client:
            stream = client.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": "a"}], stream=True
            )
            streamed = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)

            async def async_call() -> str:
                async with AsyncOpenAI(base_url=base, api_key="k", max_retries=0) as aclient:
                    reply = await aclient.chat.completions.create(
                        model=MODEL, messages=[{"role": "user", "content": "b"}]
                    )
                    return reply.choices[0].message.content or ""

            return streamed, asyncio.run(async_call())

    with FakeLLMServer([Reply(text="first answer"), Reply(text="second answer")]) as llm:
        assert calls(llm.openai_base_url) == ("first answer", "second answer")
    run_id = _run_id(index, "mixed")

    with spanflow.replay(run_id, edits={1: "edited answer"}, miss="error") as session:
        assert calls(OFFLINE_OPENAI) == ("edited answer", "second answer")
    summary = session.summary()
    assert (summary.served, summary.edited, summary.live) == (1, 1, 0)


def test_subruns_in_threads_match_by_request_not_by_timing(index: Path) -> None:
    """Subruns asking different questions from a thread pool each get their own answers."""
    from openai import OpenAI

    questions = [f"question {n}" for n in range(6)]

    def evaluate(base: str) -> dict[str, Any]:
        def sample(question: str) -> str:
            with (
                spanflow.run(f"sample {question}"),
                OpenAI(base_url=base, api_key="k", max_retries=0) as client,
            ):
                reply = client.chat.completions.create(
                    model=MODEL, messages=[{"role": "user", "content": question}]
                )
                return reply.choices[0].message.content or ""

        with spanflow.run("evaluation"), ThreadPoolExecutor(3) as pool:
            return dict(zip(questions, pool.map(sample, questions), strict=True))

    with FakeLLMServer(
        default=lambda request: Reply(text=f"echo {request.messages[-1].text}")
    ) as llm:
        recorded = evaluate(llm.openai_base_url)
    run_id = _run_id(index, "evaluation")

    with spanflow.replay(run_id, miss="error") as session:
        replayed = evaluate(OFFLINE_OPENAI)

    assert replayed == recorded
    assert recorded["question 3"] == "echo question 3"
    assert session.summary().served == len(questions)
    spanflow.force_flush()
    with spanflow.Client(index) as client:
        subruns = [r for r in client.list_runs().runs if r.name.startswith("sample")]
        sources = {
            s.attributes.get(attributes.REPLAY_SOURCE)
            for r in subruns
            for s in client.spans(r.id)
            if s.attributes.get(attributes.SPAN_KIND) == "llm"
        }
    assert sources == {None, "served"}  # the recording has none, the replay's are all served


def test_openai_responses_call_is_served_and_edited(index: Path) -> None:
    """A Responses API call replays offline, and an edit changes its output_text."""
    from openai import OpenAI

    def ask(base: str) -> str:
        with spanflow.run("responses"), OpenAI(base_url=base, api_key="k", max_retries=0) as c:
            return c.responses.create(model=MODEL, input="Capital of France?").output_text

    with FakeLLMServer([Reply(text="Paris.")]) as llm:
        assert ask(llm.openai_base_url) == "Paris."
    run_id = _run_id(index, "responses")

    with spanflow.replay(run_id, miss="error"):
        assert ask(OFFLINE_OPENAI) == "Paris."
    with spanflow.replay(run_id, edits={1: "Lyon."}, miss="error"):
        assert ask(OFFLINE_OPENAI) == "Lyon."
