"""Every instrumented provider replays offline, plain and streamed, sync and async; a changed
input re-executes only the calls that depend on it."""

from __future__ import annotations

from pathlib import Path

import pytest

import spanflow
from spanflow import attributes
from spanflow.testing.fake_llm import FakeLLMServer, FakeRequest, Reply
from tests.replay.providers import PROVIDERS, Provider, four_calls

OFFLINE = "http://127.0.0.1:9"  # discard port: a request that got out would fail to connect
pytestmark = [
    # LiteLLM's stream types trip a pydantic warning of their own, unrelated to replay.
    pytest.mark.filterwarnings("ignore:Item .* on TypedDict class .*ReadOnly:UserWarning"),
]


def _echo(request: FakeRequest) -> Reply:
    return Reply(text=f"re: {request.last_user_text}")


def _run_id(index: Path, name: str) -> str:
    spanflow.force_flush()
    with spanflow.Client(index) as client:
        return next(run.id for run in client.list_runs().runs if run.name == name)


def _sources(index: Path, run_id: str) -> list[tuple[str, str | None]]:
    """(replay source, miss reason) of each LLM call of ``run_id``, in start order."""
    spanflow.force_flush()
    with spanflow.Client(index) as client:
        spans = [s for s in client.spans(run_id) if s.attributes.get(attributes.SPAN_KIND) == "llm"]
    spans.sort(key=lambda span: span.start_time_unix_nano)
    return [
        (
            str(s.attributes.get(attributes.REPLAY_SOURCE)),
            s.attributes.get(attributes.REPLAY_MISS_REASON),
        )
        for s in spans
    ]


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda provider: provider.name)
def test_a_recorded_run_replays_offline_and_a_changed_input_reruns_only_its_dependants(
    index: Path, provider: Provider
) -> None:
    """All four calls replay with the server gone; changing call 2's input sends 2 and 4 live."""
    with FakeLLMServer(default=_echo) as llm:
        recorded = four_calls(provider, llm.url, run=f"{provider.name}-recorded")
        recorded_requests = len(llm.requests)
    run_id = _run_id(index, f"{provider.name}-recorded")

    with spanflow.replay(run_id, miss="error") as session:
        replayed = four_calls(provider, OFFLINE, run=f"{provider.name}-replayed")

    assert recorded_requests == 4
    assert recorded[0] == "re: Plan a trip to Oslo."
    assert replayed == recorded
    summary = session.summary()
    assert (summary.served, summary.edited, summary.live) == (4, 0, 0)
    replay_id = _run_id(index, f"{provider.name}-replayed")
    assert [source for source, _ in _sources(index, replay_id)] == ["served"] * 4

    with FakeLLMServer(default=_echo) as llm:
        with spanflow.replay(run_id, miss="live") as session:
            changed = four_calls(provider, llm.url, angle="Rethink", run=f"{provider.name}-changed")
        live_prompts = [request.last_user_text for request in llm.requests]

    assert [changed[0], changed[2]] == [recorded[0], recorded[2]]
    assert changed[1] == f"re: Rethink: {recorded[0]}"
    assert changed[3] == f"re: Summarise: {changed[1]}" != recorded[3]
    assert live_prompts == [f"Rethink: {recorded[0]}", f"Summarise: {changed[1]}"]
    sources = _sources(index, _run_id(index, f"{provider.name}-changed"))
    assert [source for source, _ in sources] == ["served", "live", "served", "live"]
    assert "never recorded" in str(sources[1][1])


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda provider: provider.name)
def test_an_edited_streamed_answer_reruns_only_the_call_that_reads_it(
    index: Path, provider: Provider
) -> None:
    """Editing call 2 (streamed) serves the new text as a stream; only call 4 goes live."""
    with FakeLLMServer(default=_echo) as llm:
        recorded = four_calls(provider, llm.url, run=f"{provider.name}-original")
    run_id = _run_id(index, f"{provider.name}-original")

    with FakeLLMServer(default=_echo) as llm:
        with spanflow.replay(run_id, edits={2: "Take the night train."}) as session:
            edited = four_calls(provider, llm.url, run=f"{provider.name}-edited")
        live_prompts = [request.last_user_text for request in llm.requests]

    assert edited == [
        recorded[0],
        "Take the night train.",
        recorded[2],
        "re: Summarise: Take the night train.",
    ]
    assert live_prompts == ["Summarise: Take the night train."]
    summary = session.summary()
    assert (summary.served, summary.edited, summary.live) == (2, 1, 1)
    sources = _sources(index, _run_id(index, f"{provider.name}-edited"))
    assert [source for source, _ in sources] == ["served", "edited", "served", "live"]


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda provider: provider.name)
def test_an_edited_plain_answer_reruns_every_call_downstream(
    index: Path, provider: Provider
) -> None:
    """Editing call 1 (plain) sends calls 2 and 3, which read it, and call 4 live."""
    with FakeLLMServer(default=_echo) as llm:
        four_calls(provider, llm.url, run=f"{provider.name}-plain")
    run_id = _run_id(index, f"{provider.name}-plain")

    with (
        FakeLLMServer(default=_echo) as llm,
        spanflow.replay(run_id, edits={1: "Go to Bergen."}) as session,
    ):
        edited = four_calls(provider, llm.url, run=f"{provider.name}-plain-edited")

    assert edited == [
        "Go to Bergen.",
        "re: Answer: Go to Bergen.",
        "re: Check: Go to Bergen.",
        "re: Summarise: re: Answer: Go to Bergen.",
    ]
    summary = session.summary()
    assert (summary.served, summary.edited, summary.live) == (0, 1, 3)
