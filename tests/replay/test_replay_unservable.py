"""Recordings that are not what the provider sent are never served: a secret redacted out of the
answer, a recording cut by the attribute value length limit, a call sent through aiohttp; and
a stream dropped unclosed records nothing to serve."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import spanflow
from spanflow import attributes
from spanflow.replaying import ReplayMiss
from spanflow.testing.fake_llm import FakeLLMServer, FakeRequest, Reply
from tests.environments import child_environment
from tests.planted_secrets import PLANTED
from tests.replay.agents import MODEL

OFFLINE = "http://127.0.0.1:9"
SECRET = PLANTED[0]
# google-genai's async client subclasses aiohttp's ClientSession, which aiohttp warns about.
AIOHTTP_WARNING = "ignore:Inheritance class AiohttpClientSession:DeprecationWarning"
GEMINI = "gemini-2.0-flash"


def _ask_twice(base: str, run: str) -> list[str]:
    """Two OpenAI chat calls in one run: "short" and "long" (the fake server decides answers)."""
    from openai import OpenAI

    answers = []
    with spanflow.run(run), OpenAI(base_url=f"{base}/v1", api_key="k", max_retries=0) as client:
        for prompt in ("short", "long"):
            reply = client.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": prompt}]
            )
            answers.append(reply.choices[0].message.content or "")
    return answers


def _llm_spans(index: Path, run_name: str) -> list[Any]:
    spanflow.force_flush()
    with spanflow.Client(index) as client:
        run = next(r for r in client.list_runs().runs if r.name == run_name)
        spans = [s for s in client.spans(run.id) if s.attributes.get(attributes.SPAN_KIND) == "llm"]
    return sorted(spans, key=lambda span: span.start_time_unix_nano)


def _run_id(index: Path, name: str) -> str:
    spanflow.force_flush()
    with spanflow.Client(index) as client:
        return next(run.id for run in client.list_runs().runs if run.name == name)


def test_an_answer_whose_secret_was_redacted_is_not_served(index: Path) -> None:
    """A recorded answer holding a secret is stored redacted, so replay sends that call live."""
    answers = [Reply(text="fine"), Reply(text=f"Use the key {SECRET.text} for that.")]
    with FakeLLMServer(answers) as llm:
        recorded = _ask_twice(llm.url, "secret")
    run_id = _run_id(index, "secret")

    with (
        pytest.raises(ReplayMiss, match="contained a secret, redacted"),
        spanflow.replay(run_id, miss="error"),
    ):
        _ask_twice(OFFLINE, "refused")

    with FakeLLMServer([Reply(text=f"Use the key {SECRET.text} for that.")]) as llm:
        with spanflow.replay(run_id, miss="live") as session:
            again = _ask_twice(llm.url, "secret-again")
        live_prompts = [request.last_user_text for request in llm.requests]

    assert again == recorded  # the real answer, from the provider, never the redacted copy
    assert live_prompts == ["long"]
    summary = session.summary()
    assert (summary.served, summary.live) == (1, 1)
    served, live = _llm_spans(index, "secret-again")
    assert served.attributes[attributes.REPLAY_SOURCE] == "served"
    assert live.attributes[attributes.REPLAY_SOURCE] == "live"
    assert "redacted" in live.attributes[attributes.REPLAY_MISS_REASON]
    assert (
        live.attributes[attributes.REPLAY_ORIGINAL_SPAN] == _llm_spans(index, "secret")[1].span_id
    )


def _long_answer(request: FakeRequest) -> Reply:
    if request.last_user_text == "short":
        return Reply(text="ok")
    # Hex digests do not compress: the recording stays far longer than the limit below.
    text = "".join(hashlib.sha256(str(n).encode()).hexdigest() for n in range(40))
    return Reply(text=text)


RECORD_TWICE = textwrap.dedent(
    """
    import os, sys
    sys.path.insert(0, os.environ["REPO_ROOT"])
    from tests.replay.test_replay_unservable import _ask_twice
    print("ANSWERS", _ask_twice(os.environ["LLM_URL"], "cut"))
    """
)


def test_a_recording_cut_by_the_attribute_length_limit_is_not_served(
    index: Path, tmp_path: Path
) -> None:
    """A run recorded under a small attribute value length limit re-executes the cut call."""
    script = tmp_path / "record.py"
    script.write_text(RECORD_TWICE)
    db = tmp_path / "limited.db"
    with FakeLLMServer(default=_long_answer) as llm:
        env = child_environment(
            SPANFLOW_DB=str(db),
            REPO_ROOT=str(Path(__file__).resolve().parents[2]),
            LLM_URL=llm.url,
            OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT="1500",
        )
        recorded = subprocess.run(
            [sys.executable, "-m", "spanflow.cli", "record", str(script)],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            cwd=tmp_path,
        )
    assert recorded.returncode == 0, recorded.stderr
    with spanflow.Client(db) as client:
        run_id = next(run.id for run in client.list_runs().runs if run.parent_id is None)

    with (
        pytest.raises(ReplayMiss, match="damaged, as when an attribute value length limit"),
        spanflow.replay(run_id, source=db, miss="error"),
    ):
        _ask_twice(OFFLINE, "refused")

    with FakeLLMServer(default=_long_answer) as llm:
        with spanflow.replay(run_id, source=db, miss="live") as session:
            again = _ask_twice(llm.url, "cut-again")
        live_prompts = [request.last_user_text for request in llm.requests]

    assert f"ANSWERS {again!r}" in recorded.stdout
    assert live_prompts == ["long"]
    assert (session.summary().served, session.summary().live) == (1, 1)
    _, live = _llm_spans(index, "cut-again")
    assert "unreadable" in live.attributes[attributes.REPLAY_MISS_REASON]


def _genai_sync_then_aiohttp(base: str, run: str) -> list[str]:
    """One sync call (httpx), then one ``client.aio`` call on its default transport, aiohttp."""
    from google import genai

    client = genai.Client(api_key="fake-gemini-key", http_options={"base_url": base})

    async def ask_async() -> str:
        try:
            reply = await client.aio.models.generate_content(model=GEMINI, contents="async")
            return reply.text or ""
        finally:
            await client.aio.aclose()

    with spanflow.run(run):
        try:
            first = client.models.generate_content(model=GEMINI, contents="sync").text or ""
        finally:
            client.close()
        return [first, asyncio.run(ask_async())]


@pytest.mark.filterwarnings(AIOHTTP_WARNING)
def test_google_genai_async_over_aiohttp_is_a_miss_that_names_the_cause(index: Path) -> None:
    """google-genai's default async transport (aiohttp) is never sent unnoticed in a replay."""
    with FakeLLMServer(default=lambda request: Reply(text=f"re: {request.last_user_text}")) as llm:
        recorded = _genai_sync_then_aiohttp(llm.url, "aio")
    _, unrecorded = _llm_spans(index, "aio")
    assert "aiohttp" in unrecorded.attributes[attributes.REPLAY_UNSUPPORTED]
    assert attributes.REPLAY_EXCHANGE not in unrecorded.attributes
    run_id = _run_id(index, "aio")

    with (
        pytest.raises(ReplayMiss, match=r"gcp\.gemini's client sent it through aiohttp"),
        spanflow.replay(run_id, miss="error"),
    ):
        _genai_sync_then_aiohttp(OFFLINE, "refused")

    with FakeLLMServer(default=lambda request: Reply(text=f"re: {request.last_user_text}")) as llm:
        with spanflow.replay(run_id, miss="live") as session:
            again = _genai_sync_then_aiohttp(llm.url, "aio-again")
        live_prompts = [request.last_user_text for request in llm.requests]

    assert again == recorded == ["re: sync", "re: async"]
    assert live_prompts == ["async"]
    assert (session.summary().served, session.summary().live) == (1, 1)
    served, live = _llm_spans(index, "aio-again")
    assert (
        served.attributes[attributes.REPLAY_SOURCE],
        live.attributes[attributes.REPLAY_SOURCE],
    ) == (
        "served",
        "live",
    )
    assert "httpx_async_client" in live.attributes[attributes.REPLAY_MISS_REASON]


def _first_words(base: str, run: str, *, words: int | None) -> str:
    """Stream an answer and read ``words`` content chunks of it (None: all of it)."""
    from openai import OpenAI

    with spanflow.run(run), OpenAI(base_url=f"{base}/v1", api_key="k", max_retries=0) as client:
        stream = client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "count"}], stream=True
        )
        pieces: list[str] = []
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                pieces.append(chunk.choices[0].delta.content)
            if words is not None and len(pieces) == words:
                stream.close()
                break
        return "".join(pieces)


def test_a_stream_read_only_in_part_replays_that_part_and_no_invented_end(index: Path) -> None:
    """A stream the program stopped reading replays as far as it was read, then fails."""
    from openai import APIConnectionError

    text = " ".join(f"word{n}" for n in range(400))
    with FakeLLMServer([Reply(text=text)]) as llm:
        recorded = _first_words(llm.url, "partial", words=2)
    run_id = _run_id(index, "partial")

    with spanflow.replay(run_id, miss="error"):
        again = _first_words(OFFLINE, "partial-again", words=2)
    with (
        pytest.raises(APIConnectionError) as cut_off,  # as the connection had dropped there
        spanflow.replay(run_id, miss="error"),
    ):
        _first_words(OFFLINE, "partial-further", words=None)

    assert "recording of this stream ends here" in str(cut_off.value.__cause__)
    assert again == recorded
    assert recorded.startswith("word0")


def _ask_then_drop_a_stream(base: str, run: str) -> None:
    """One plain call, then a streamed one whose stream is dropped unclosed after one chunk."""
    from openai import OpenAI

    with spanflow.run(run), OpenAI(base_url=f"{base}/v1", api_key="k", max_retries=0) as client:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
        stream = client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "count"}], stream=True
        )
        next(stream)
        del stream
        gc.collect()


def test_a_stream_dropped_unclosed_is_a_miss_that_says_nothing_was_recorded(index: Path) -> None:
    """A stream the program dropped unclosed records nothing, so its replay is a named miss."""
    with FakeLLMServer([Reply(text="hello"), Reply(text="one two three four")]) as llm:
        _ask_then_drop_a_stream(llm.url, "dropped")
    run_id = _run_id(index, "dropped")
    plain, dropped = _llm_spans(index, "dropped")
    assert attributes.REPLAY_EXCHANGE in plain.attributes
    assert dropped.attributes[attributes.STREAM_ABANDONED] is True
    assert attributes.REPLAY_EXCHANGE not in dropped.attributes

    with (
        pytest.raises(ReplayMiss, match="no response was recorded for it"),
        spanflow.replay(run_id, miss="error"),
    ):
        _ask_then_drop_a_stream(OFFLINE, "dropped-again")
