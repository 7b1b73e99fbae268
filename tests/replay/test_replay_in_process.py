"""``spanflow.replay(...)``: runs answered from the index, with edits, params, streams, errors."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

import spanflow
from spanflow import attributes
from spanflow.replaying import ReplayError, ReplayMiss, set_recording
from spanflow.testing.fake_llm import FakeLLMServer, Reply, ServerError, ToolCall
from tests.replay.agents import MODEL, openai_agent

UNREACHABLE = "http://127.0.0.1:9/v1"  # discard port: any real request fails to connect
TURNS = (
    Reply(tool_calls=[ToolCall("weather", {"city": "Paris"})]),
    Reply(text="It is sunny in Paris."),
    Reply(text="Sunny."),
)


def _latest_run(index: Path, name: str | None = None) -> Any:
    spanflow.force_flush()
    with spanflow.Client(index) as client:
        runs = [r for r in client.list_runs().runs if name is None or r.name == name]
        return runs[0]


def _llm_spans(index: Path, run_id: str) -> list[Any]:
    with spanflow.Client(index) as client:
        spans = client.spans(run_id)
    llm = [s for s in spans if s.attributes.get(attributes.SPAN_KIND) == "llm"]
    return sorted(llm, key=lambda s: s.start_time_unix_nano)


def _record_agent(index: Path) -> tuple[str, list[str]]:
    with FakeLLMServer(TURNS) as llm:
        answers = openai_agent(llm.openai_base_url, "Weather in Paris?", name="original")
    return _latest_run(index, "original").id, answers


def test_replay_answers_every_call_from_the_index_with_the_server_gone(index: Path) -> None:
    """A recorded tool-using agent replays with identical outputs after its server stopped."""
    run_id, answers = _record_agent(index)

    with spanflow.replay(run_id, miss="error") as session:
        again = openai_agent(UNREACHABLE, "Weather in Paris?", name="replayed")

    assert again == answers
    summary = session.summary()
    assert (summary.served, summary.edited, summary.live) == (3, 0, 0)
    assert summary.saved_tokens > 0
    replayed = _latest_run(index, "replayed")
    assert replayed.attributes[attributes.REPLAY_OF_RUN_ATTRIBUTE] == run_id
    sources = [s.attributes[attributes.REPLAY_SOURCE] for s in _llm_spans(index, replayed.id)]
    assert sources == ["served"] * 3


def test_edit_serves_the_edited_answer_and_later_calls_go_live(index: Path) -> None:
    """Editing call 2 sends call 3 to the provider with the edited text in its input."""
    run_id, _ = _record_agent(index)

    with FakeLLMServer([Reply(text="Live summary.")]) as llm:
        with spanflow.replay(run_id, edits={2: "It is raining in Paris."}) as session:
            again = openai_agent(llm.openai_base_url, "Weather in Paris?", name="edited")
        live_requests = llm.requests

    assert again == ["", "It is raining in Paris.", "Live summary."]
    assert len(live_requests) == 1
    assert "It is raining in Paris." in str(live_requests[0].body)
    summary = session.summary()
    assert (summary.served, summary.edited, summary.live) == (1, 1, 1)
    edited_run = _latest_run(index, "edited")
    sources = [s.attributes[attributes.REPLAY_SOURCE] for s in _llm_spans(index, edited_run.id)]
    assert sources == ["served", "edited", "live"]


def test_param_override_reaches_run_params(index: Path) -> None:
    """`params={"model": ...}` shows in r.params, so the changed request goes live."""
    run_id, _ = _record_agent(index)

    with FakeLLMServer([Reply(text="a"), Reply(text="b"), Reply(text="c")]) as llm:
        with spanflow.replay(run_id, params={"model": "other-model"}) as session:
            openai_agent(llm.openai_base_url, "Weather in Paris?", name="params")
        models = {request.body["model"] for request in llm.requests}

    assert models == {"other-model"}
    assert session.summary().live == 3
    assert _latest_run(index, "params").params["model"] == "other-model"


def test_miss_error_fails_clearly_on_an_unrecorded_request(index: Path) -> None:
    """With miss='error' a request the run never made raises ReplayMiss, not a retry."""
    run_id, _ = _record_agent(index)

    with pytest.raises(ReplayMiss, match="never recorded"), spanflow.replay(run_id, miss="error"):
        openai_agent(UNREACHABLE, "A different question", name="miss")


def test_streams_replay_as_streams_sync_and_async(index: Path) -> None:
    """OpenAI and Anthropic streams (sync and async) replay chunk for chunk."""
    from anthropic import AsyncAnthropic
    from openai import OpenAI

    def run_calls(base: str, anthropic_base: str) -> list[Any]:
        openai_client = OpenAI(base_url=base, api_key="k", max_retries=0)
        anthropic_client = AsyncAnthropic(base_url=anthropic_base, api_key="k", max_retries=0)
        with spanflow.run("streams"):
            stream = openai_client.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": "hi"}], stream=True
            )
            openai_deltas = [c.choices[0].delta.content for c in stream if c.choices]
            openai_client.close()

            async def anthropic_events() -> list[str]:
                async with (
                    anthropic_client,
                    anthropic_client.messages.stream(
                        model=MODEL, max_tokens=50, messages=[{"role": "user", "content": "hey"}]
                    ) as events,
                ):
                    return [text async for text in events.text_stream]

            anthropic_texts = asyncio.run(anthropic_events())
        return [openai_deltas, anthropic_texts]

    with FakeLLMServer([Reply(text="one two three"), Reply(text="four five")]) as llm:
        recorded = run_calls(llm.openai_base_url, llm.anthropic_base_url)
    run_id = _latest_run(index, "streams").id

    with spanflow.replay(run_id, miss="error") as session:
        replayed = run_calls(UNREACHABLE, "http://127.0.0.1:9")

    assert replayed == recorded
    assert "".join(d or "" for d in recorded[0]) == "one two three"
    assert session.summary().served == 2


def test_a_call_recorded_as_an_error_replays_the_same_error(index: Path) -> None:
    """A 500 the provider answered is answered again, raising the same client error."""
    from openai import InternalServerError, OpenAI

    def call(base: str) -> None:
        with spanflow.run("failing"), OpenAI(base_url=base, api_key="k", max_retries=0) as client:
            client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])

    with FakeLLMServer([ServerError()]) as llm, pytest.raises(InternalServerError):
        call(llm.openai_base_url)
    run_id = _latest_run(index, "failing").id

    with spanflow.replay(run_id, miss="error"), pytest.raises(InternalServerError):
        call(UNREACHABLE)


def test_run_recorded_without_responses_gives_a_clear_message(index: Path) -> None:
    """A run whose calls kept no responses (recording off, older spanflow) cannot be replayed."""
    spanflow.configure(exporters=["embedded"], db_path=index, record_responses=False)
    try:
        run_id, _ = _record_agent(index)
    finally:
        set_recording(None)

    with pytest.raises(ReplayError, match="no recorded responses"), spanflow.replay(run_id):
        pass


def test_replaying_a_replay_serves_the_same_answers(index: Path) -> None:
    """A replay records what it served, so it can be replayed in turn."""
    run_id, answers = _record_agent(index)
    with spanflow.replay(run_id, miss="error"):
        openai_agent(UNREACHABLE, "Weather in Paris?", name="first-replay")
    first_replay = _latest_run(index, "first-replay").id

    with spanflow.replay(first_replay, miss="error") as session:
        again = openai_agent(UNREACHABLE, "Weather in Paris?", name="second-replay")

    assert again == answers
    assert session.summary().served == 3


def test_replay_reads_an_exported_bundle(index: Path, tmp_path: Path) -> None:
    """A run exported with `spanflow runs export` replays from the bundle file alone."""
    run_id, answers = _record_agent(index)
    bundle = tmp_path / "runs.jsonl.gz"
    with spanflow.Client(index) as client:
        client.export(bundle, run_id)
    index.unlink()

    with spanflow.replay(run_id, source=bundle, miss="error") as session:
        again = openai_agent(UNREACHABLE, "Weather in Paris?", name="from-bundle")

    assert again == answers
    assert session.summary().served == 3
