"""The fake server's Bedrock Runtime endpoints, read by botocore's own parsers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.eventstream import ChecksumMismatch, EventStreamBuffer

from spanflow.testing.fake_llm import FakeLLMServer, RateLimited, Reply, ServerError, ToolCall
from spanflow.testing.fake_llm._eventstream import EventFrame

CLAUDE = "anthropic.claude-3-5-haiku-20241022-v1:0"
USER = [{"role": "user", "content": [{"text": "Capital of France?"}]}]


@pytest.fixture
def bedrock(llm: FakeLLMServer) -> Iterator[Any]:
    client = boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=llm.url,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"total_max_attempts": 1}),
    )
    yield client
    client.close()


def test_event_frames_pass_botocores_crc_checks() -> None:
    """An encoded frame decodes with botocore's buffer; a spoiled one fails its checksum."""
    frame = EventFrame.event("chunk", {"bytes": "e30="})
    buffer = EventStreamBuffer()
    buffer.add_data(frame.encode() + frame.encode())
    messages = list(buffer)
    assert len(messages) == 2
    assert messages[0].headers == {
        ":event-type": "chunk",
        ":content-type": "application/json",
        ":message-type": "event",
    }
    assert json.loads(messages[0].payload) == {"bytes": "e30="}
    spoiled = EventStreamBuffer()
    spoiled.add_data(frame.spoiled().encode())
    with pytest.raises(ChecksumMismatch):
        list(spoiled)


def test_converse_reads_the_conversation_and_answers_tool_calls(
    llm: FakeLLMServer, bedrock: Any
) -> None:
    """converse sees system, user and tool-result turns, and answers toolUse blocks."""
    llm.add_replies(Reply(tool_calls=[ToolCall("weather", {"city": "Paris"}, id="tu_1")]))
    history = [
        *USER,
        {
            "role": "assistant",
            "content": [{"toolUse": {"toolUseId": "t0", "name": "w", "input": {}}}],
        },
        {
            "role": "user",
            "content": [{"toolResult": {"toolUseId": "t0", "content": [{"text": "22C"}]}}],
        },
    ]
    reply = bedrock.converse(modelId=CLAUDE, messages=history, system=[{"text": "Be brief."}])
    assert reply["stopReason"] == "tool_use"
    assert reply["output"]["message"]["content"] == [
        {"toolUse": {"toolUseId": "tu_1", "name": "weather", "input": {"city": "Paris"}}}
    ]
    request = llm.last_request
    assert request.model == CLAUDE
    assert [m.role for m in request.messages] == ["system", "user", "assistant", "tool"]
    assert request.messages[-1].text == "22C"


def test_streams_are_event_frames_in_order(llm: FakeLLMServer, bedrock: Any) -> None:
    """converse_stream and invoke_model_with_response_stream arrive as parsed events."""
    llm.add_replies(Reply("one two"), Reply("three four"))
    events = list(bedrock.converse_stream(modelId=CLAUDE, messages=USER)["stream"])
    assert [next(iter(e)) for e in events] == [
        "messageStart",
        "contentBlockDelta",
        "contentBlockDelta",
        "contentBlockStop",
        "messageStop",
        "metadata",
    ]
    body = json.dumps({"prompt": "hi", "max_gen_len": 9})
    stream = bedrock.invoke_model_with_response_stream(modelId="meta.llama3-8b", body=body)
    chunks = [json.loads(e["chunk"]["bytes"]) for e in stream["body"]]
    assert "".join(c["generation"] for c in chunks) == "three four"
    assert chunks[-1]["amazon-bedrock-invocationMetrics"]["outputTokenCount"] == 2


@pytest.mark.parametrize(
    ("fault", "name"),
    [(RateLimited(), "ThrottlingException"), (ServerError(), "InternalServerException")],
)
def test_faults_are_botocores_modeled_exceptions(
    llm: FakeLLMServer, bedrock: Any, fault: Any, name: str
) -> None:
    """A 429 is ThrottlingException and a 500 InternalServerException, as Bedrock names them."""
    llm.add_replies(fault)
    with pytest.raises(getattr(bedrock.exceptions, name)):
        bedrock.converse(modelId=CLAUDE, messages=USER)
