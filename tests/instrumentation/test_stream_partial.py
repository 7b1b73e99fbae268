"""A stream's span ends with what arrived, however the stream stops; chunk fields are read alike
from the SDK's models and from plain dicts."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
from typing import Any

import pytest

from spanflow import attributes as attr
from spanflow.instrumentation.openai._chat import ChatChunkAccumulator
from spanflow.testing import FakeLLMServer, SpanCapture
from spanflow.testing.fake_llm import Disconnect, Reply
from tests.instrumentation.helpers import async_openai_client, only_llm_span, openai_client

TEXT = "one two three four five six seven eight"
MESSAGES = [{"role": "user", "content": "Count."}]


def _open(llm: FakeLLMServer, turn: Any = None) -> Any:
    llm.add_replies(turn if turn is not None else Reply(TEXT))
    return openai_client(llm).chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    )


def _read(stream: Any, events: int) -> str:
    """The text of the first ``events`` events, read one by one."""
    text = ""
    for _ in range(events):
        chunk = next(stream)
        text += "".join(choice.delta.content or "" for choice in chunk.choices)
    return text


def _output_text(traced: SpanCapture) -> str:
    output = json.loads(only_llm_span(traced).attributes[attr.GEN_AI_OUTPUT_MESSAGES])
    return "".join(part["content"] for part in output[0]["parts"])


def test_a_stream_closed_midway_ends_its_span_with_the_text_read(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    stream = _open(llm)
    read = _read(stream, 4)
    stream.close()
    assert read and _output_text(traced) == read
    assert only_llm_span(traced).status == "UNSET"


def test_a_stream_abandoned_midway_ends_its_span_with_the_text_read(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    stream = _open(llm)
    read = _read(stream, 3)
    del stream
    gc.collect()
    span = only_llm_span(traced)
    assert span.attributes[attr.STREAM_ABANDONED] is True
    assert read and _output_text(traced) == read


def test_a_stream_cut_midway_fails_its_span_with_the_text_that_arrived(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    stream = _open(llm, Disconnect(after_events=3))
    read = ""
    with pytest.raises(Exception):  # noqa: B017 (the client's own error, whatever it is)
        for chunk in stream:
            read += "".join(choice.delta.content or "" for choice in chunk.choices)
    span = only_llm_span(traced)
    assert span.status == "ERROR"
    assert read and _output_text(traced) == read


def test_an_async_stream_closed_midway_ends_its_span_with_the_text_read(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    async def read_some() -> str:
        llm.add_replies(Reply(TEXT))
        stream = await async_openai_client(llm).chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True
        )
        text = ""
        for _ in range(4):
            chunk = await stream.__anext__()
            text += "".join(choice.delta.content or "" for choice in chunk.choices)
        await stream.close()
        return text

    read = asyncio.run(read_some())
    assert read and _output_text(traced) == read


def test_events_read_after_the_span_ended_change_nothing(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """The span's response is what arrived before it ended, even if the stream is read on."""
    stream = _open(llm)
    read = _read(stream, 3)
    stream.response.close()  # as the ``.stream()`` helpers do: the span ends here
    ended = only_llm_span(traced).attributes[attr.GEN_AI_OUTPUT_MESSAGES]
    assert read and _output_text(traced) == read
    with contextlib.suppress(Exception):  # what reading a closed response does is the client's
        _read(stream, 2)
    assert only_llm_span(traced).attributes[attr.GEN_AI_OUTPUT_MESSAGES] == ended


def test_a_chunk_spanflow_cannot_read_leaves_the_stream_whole_and_ends_the_span(
    traced: SpanCapture,
    llm: FakeLLMServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An accumulator failing on an event is reported once; the user still gets every event,
    and the span still ends once the stream does."""
    calls = {"n": 0}
    original = ChatChunkAccumulator.add

    def failing_on_the_third(self: ChatChunkAccumulator, event: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("unreadable chunk")
        original(self, event)

    monkeypatch.setattr(ChatChunkAccumulator, "add", failing_on_the_third)
    with caplog.at_level(logging.WARNING):
        chunks = list(_open(llm))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == TEXT
    assert calls["n"] == 3  # not followed after the failure
    span = only_llm_span(traced)
    assert span.status == "UNSET"
    assert attr.GEN_AI_OUTPUT_MESSAGES not in span.attributes
    assert len([r for r in caplog.records if "internal error" in r.getMessage()]) == 1


def _chunk(content: str | None, finish: str | None = None, **extra: Any) -> dict[str, Any]:
    delta = {} if content is None else {"content": content}
    return {
        "id": "chatcmpl-1",
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **extra,
    }


def test_chunk_models_and_plain_dicts_reassemble_alike() -> None:
    """The SDK's chunk models, plain dicts and a mix of both make the same response."""
    from openai.types.chat import ChatCompletionChunk

    chunks = [
        _chunk(None),
        _chunk("Hello"),
        _chunk(", world"),
        {
            **_chunk(None, "tool_calls"),
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {"index": 0, "id": "c1", "function": {"name": "f", "arguments": "{}"}}
                        ]
                    },
                    "finish_reason": "tool_calls",
                }
            ],
        },
        {
            **_chunk(None),
            "choices": [],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
        },
    ]
    models = [
        ChatCompletionChunk.model_validate({**c, "object": "chat.completion.chunk", "created": 0})
        for c in chunks
    ]
    responses = []
    for events in (
        chunks,
        models,
        [m if i % 2 else c for i, (c, m) in enumerate(zip(chunks, models, strict=True))],
    ):
        accumulator = ChatChunkAccumulator()
        for event in events:
            accumulator.add(event)
        response = accumulator.response()
        usage = response.pop("usage")
        responses.append(response)
        assert (getattr(usage, "prompt_tokens", None) or usage["prompt_tokens"]) == 3
    assert responses[0] == responses[1] == responses[2]
    assert responses[0]["choices"] == [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Hello, world",
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                ],
            },
            "finish_reason": "tool_calls",
        }
    ]
