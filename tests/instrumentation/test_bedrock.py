"""boto3's Bedrock Runtime client against the fake server: Converse, InvokeModel, their streams."""

from __future__ import annotations

import gc
import json
import re
import socket
import threading
from typing import Any

import pytest
import wrapt
from botocore.exceptions import ResponseStreamingError

import spanflow
from spanflow import attributes as attr
from spanflow.dataflow import set_dataflow
from spanflow.instrumentation import content
from spanflow.testing import FakeLLMServer, SpanCapture
from spanflow.testing.fake_llm import Disconnect, MalformedStream, Reply, ToolCall, Usage
from tests.instrumentation.helpers import bedrock_client, dataflow_links, llm_spans, only_llm_span

CLAUDE = "anthropic.claude-3-5-haiku-20241022-v1:0"
NOVA = "us.amazon.nova-lite-v1:0"
LLAMA = "meta.llama3-1-8b-instruct-v1:0"
QUESTION = [{"role": "user", "content": [{"text": "Capital of France?"}]}]
WEATHER_TOOL = {
    "toolSpec": {
        "name": "weather",
        "description": "Weather in a city",
        "inputSchema": {"json": {"type": "object", "properties": {"city": {"type": "string"}}}},
    }
}
# One invoke_model body per model family, and where the family puts the reply's text.
BODIES: dict[str, dict[str, Any]] = {
    CLAUDE: {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "Capital of France?"}],
    },
    NOVA: {
        "schemaVersion": "messages-v1",
        "messages": QUESTION,
        "inferenceConfig": {"max_new_tokens": 64},
    },
    LLAMA: {"prompt": "Capital of France?", "max_gen_len": 64},
}


def _reply_text(model: str, body: dict[str, Any]) -> str:
    if model == CLAUDE:
        return str(body["content"][0]["text"])
    if model == LLAMA:
        return str(body["generation"])
    return str(body["output"]["message"]["content"][0]["text"])


def _chunk_text(model: str, chunk: dict[str, Any]) -> str:
    if model == CLAUDE:
        return str(chunk.get("delta", {}).get("text", ""))
    if model == LLAMA:
        return str(chunk.get("generation", ""))
    return str(chunk.get("contentBlockDelta", {}).get("delta", {}).get("text", ""))


def _output_parts(span: Any) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = json.loads(span.attributes[attr.GEN_AI_OUTPUT_MESSAGES])[0][
        "parts"
    ]
    return parts


def test_converse_gives_one_span_with_semconv_attributes(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """converse is one aws.bedrock span with model, parameters, usage, reason and messages."""
    llm.add_replies(Reply("Paris.", usage=Usage(input_tokens=7, output_tokens=2)))
    reply = bedrock_client(llm.url).converse(
        modelId=CLAUDE,
        messages=QUESTION,
        system=[{"text": "Answer briefly."}],
        inferenceConfig={"maxTokens": 32, "temperature": 0.1, "stopSequences": ["END"]},
        toolConfig={"tools": [WEATHER_TOOL]},
    )
    assert reply["output"]["message"]["content"] == [{"text": "Paris."}]
    span = only_llm_span(traced)
    assert span.name == f"chat {CLAUDE}"
    assert span.attributes[attr.GEN_AI_PROVIDER_NAME] == "aws.bedrock"
    assert span.attributes[attr.GEN_AI_OPERATION_NAME] == "chat"
    assert span.attributes[attr.GEN_AI_REQUEST_MODEL] == CLAUDE
    assert span.attributes[attr.GEN_AI_REQUEST_MAX_TOKENS] == 32
    assert span.attributes[attr.GEN_AI_REQUEST_STOP_SEQUENCES] == ("END",)
    assert span.attributes[attr.GEN_AI_USAGE_INPUT_TOKENS] == 7
    assert span.attributes[attr.GEN_AI_USAGE_OUTPUT_TOKENS] == 2
    assert span.attributes[attr.GEN_AI_RESPONSE_FINISH_REASONS] == ("end_turn",)
    assert span.attributes[attr.SERVER_ADDRESS] == "127.0.0.1"
    assert json.loads(span.attributes[attr.GEN_AI_SYSTEM_INSTRUCTIONS]) == [
        {"type": "text", "content": "Answer briefly."}
    ]
    assert json.loads(span.attributes[attr.GEN_AI_TOOL_DEFINITIONS])[0]["name"] == "weather"
    assert json.loads(span.attributes[attr.GEN_AI_INPUT_MESSAGES]) == [
        {"role": "user", "parts": [{"type": "text", "content": "Capital of France?"}]}
    ]
    assert _output_parts(span) == [{"type": "text", "content": "Paris."}]


def test_converse_stream_reassembles_a_tool_call(traced: SpanCapture, llm: FakeLLMServer) -> None:
    """converse_stream read to its end gives one span with the tool call and usage."""
    call = ToolCall("weather", {"city": "Paris"}, id="tooluse_b1")
    llm.add_replies(Reply(tool_calls=[call], usage=Usage(input_tokens=9, output_tokens=4)))
    response = bedrock_client(llm.url).converse_stream(modelId=NOVA, messages=QUESTION)
    events = list(response["stream"])
    assert "messageStop" in events[-2] and "metadata" in events[-1]
    span = only_llm_span(traced)
    assert span.attributes[attr.STREAM] is True
    assert attr.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK in span.attributes
    assert span.attributes[attr.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_use",)
    assert span.attributes[attr.GEN_AI_USAGE_INPUT_TOKENS] == 9
    assert _output_parts(span) == [
        {"type": "tool_call", "id": "tooluse_b1", "name": "weather", "arguments": {"city": "Paris"}}
    ]


@pytest.mark.parametrize("model", [CLAUDE, NOVA, LLAMA])
def test_invoke_model_reads_each_family_and_leaves_the_body_readable(
    traced: SpanCapture, llm: FakeLLMServer, model: str
) -> None:
    """invoke_model's span has the family's messages and usage; the caller still reads the body."""
    llm.add_replies(Reply("Paris.", usage=Usage(input_tokens=5, output_tokens=2)))
    response = bedrock_client(llm.url).invoke_model(modelId=model, body=json.dumps(BODIES[model]))
    assert _reply_text(model, json.loads(response["body"].read())) == "Paris."
    span = only_llm_span(traced)
    operation = "text_completion" if model == LLAMA else "chat"
    assert span.name == f"{operation} {model}"
    assert span.attributes[attr.GEN_AI_PROVIDER_NAME] == "aws.bedrock"
    assert span.attributes[attr.GEN_AI_REQUEST_MAX_TOKENS] == 64
    assert span.attributes[attr.GEN_AI_USAGE_INPUT_TOKENS] == 5
    assert span.attributes[attr.GEN_AI_USAGE_OUTPUT_TOKENS] == 2
    assert json.loads(span.attributes[attr.GEN_AI_INPUT_MESSAGES])[0]["parts"] == [
        {"type": "text", "content": "Capital of France?"}
    ]
    assert _output_parts(span) == [{"type": "text", "content": "Paris."}]


@pytest.mark.parametrize("model", [CLAUDE, NOVA, LLAMA])
def test_invoke_model_stream_reassembles_each_family(
    traced: SpanCapture, llm: FakeLLMServer, model: str
) -> None:
    """invoke_model_with_response_stream's chunks, read to the end, give the reply and usage."""
    llm.add_replies(Reply("Paris is the capital.", usage=Usage(input_tokens=5, output_tokens=4)))
    response = bedrock_client(llm.url).invoke_model_with_response_stream(
        modelId=model, body=json.dumps(BODIES[model])
    )
    chunks = [json.loads(event["chunk"]["bytes"]) for event in response["body"]]
    assert "".join(_chunk_text(model, chunk) for chunk in chunks) == "Paris is the capital."
    span = only_llm_span(traced)
    assert span.attributes[attr.STREAM] is True
    assert span.attributes[attr.GEN_AI_USAGE_INPUT_TOKENS] == 5
    assert span.attributes[attr.GEN_AI_USAGE_OUTPUT_TOKENS] == 4
    assert _output_parts(span) == [{"type": "text", "content": "Paris is the capital."}]


def test_a_family_spanflow_does_not_read_still_gets_model_and_tokens(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """An invoke_model body of another vendor gives a span with Bedrock's token counts."""
    llm.add_replies(Reply("ok", usage=Usage(input_tokens=3, output_tokens=1)))
    client = bedrock_client(llm.url)
    model = "cohere.command-r-v1:0"
    client.invoke_model(modelId=model, body=json.dumps({"message": "hi"}))
    embedder = "amazon.titan-embed-text-v2:0"
    client.invoke_model(modelId=embedder, body=json.dumps({"inputText": "hi"}))
    chat, embeddings = llm_spans(traced)
    assert chat.name == f"chat {model}"
    assert chat.attributes[attr.GEN_AI_USAGE_INPUT_TOKENS] == 3
    assert chat.attributes[attr.GEN_AI_USAGE_OUTPUT_TOKENS] == 1
    assert attr.GEN_AI_OUTPUT_MESSAGES not in chat.attributes
    assert embeddings.name == f"embeddings {embedder}"
    assert attr.GEN_AI_OUTPUT_MESSAGES not in embeddings.attributes


# botocore leaves the socket of a stream dropped unread to the garbage collector, traced or not.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_closed_and_abandoned_streams_end_their_spans_once(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """A stream closed after one event, and one dropped unread, each end their span once."""
    llm.add_replies(Reply("alpha beta gamma delta"), Reply("epsilon zeta eta theta"))
    client = bedrock_client(llm.url)
    stream = client.converse_stream(modelId=CLAUDE, messages=QUESTION)["stream"]
    next(iter(stream))
    next(iter(stream))
    stream.close()
    body = BODIES[CLAUDE]
    dropped = client.invoke_model_with_response_stream(modelId=CLAUDE, body=json.dumps(body))
    next(iter(dropped["body"]))
    del dropped
    gc.collect()
    closed, abandoned = llm_spans(traced)
    assert closed.status == "UNSET"
    assert attr.STREAM_ABANDONED not in closed.attributes
    assert _output_parts(closed) == [{"type": "text", "content": "alpha "}]
    assert abandoned.attributes[attr.STREAM_ABANDONED] is True


@pytest.mark.parametrize("fault", [MalformedStream(after_events=3), Disconnect(after_events=3)])
def test_a_stream_broken_midway_fails_its_span_with_the_clients_error(
    traced: SpanCapture, llm: FakeLLMServer, fault: Any
) -> None:
    """A corrupt frame or a cut connection raises botocore's own error and fails the span."""
    llm.add_replies(fault)
    stream = bedrock_client(llm.url).converse_stream(modelId=CLAUDE, messages=QUESTION)["stream"]
    with pytest.raises(Exception) as raised:
        list(stream)
    span = only_llm_span(traced)
    assert span.status == "ERROR"
    assert span.attributes[attr.ERROR_TYPE] == type(raised.value).__qualname__
    assert [event.name for event in span.events] == ["exception"]
    assert _output_parts(span)[0]["content"].startswith("This stream")


def test_content_capture_off_keeps_messages_out(traced: SpanCapture, llm: FakeLLMServer) -> None:
    """With capture off a Bedrock span has usage and reasons but no message text."""
    content.set_content_capture(enabled=False)
    try:
        bedrock_client(llm.url).converse(modelId=CLAUDE, messages=QUESTION)
    finally:
        content.set_content_capture()
    span = only_llm_span(traced)
    assert span.attributes[attr.GEN_AI_RESPONSE_FINISH_REASONS] == ("end_turn",)
    assert attr.GEN_AI_INPUT_MESSAGES not in span.attributes
    assert attr.GEN_AI_OUTPUT_MESSAGES not in span.attributes


def test_tool_results_link_back_to_the_call_that_asked(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """A toolResult answering a toolUse links the second converse call to the first."""
    llm.add_replies(Reply(tool_calls=[ToolCall("weather", {"city": "Paris"}, id="tooluse_w1")]))
    client = bedrock_client(llm.url)
    set_dataflow(enabled=True, inline=True)
    try:
        with spanflow.run("bedrock-dataflow"):
            first = client.converse(modelId=CLAUDE, messages=QUESTION)
            asked = first["output"]["message"]
            answer = {"toolResult": {"toolUseId": "tooluse_w1", "content": [{"text": "22C"}]}}
            client.converse(
                modelId=CLAUDE,
                messages=[*QUESTION, asked, {"role": "user", "content": [answer]}],
            )
    finally:
        set_dataflow()
    producer, consumer = llm_spans(traced)
    assert producer.span_id in {link[0] for link in dataflow_links(consumer)}
    inputs = json.loads(consumer.attributes[attr.GEN_AI_INPUT_MESSAGES])
    assert inputs[2]["parts"] == [
        {"type": "tool_call_response", "id": "tooluse_w1", "response": ["22C"]}
    ]


def test_other_aws_calls_and_uninstrument_leave_boto3_alone(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """Only bedrock-runtime model calls are traced; uninstrument() restores _make_api_call."""
    from botocore.client import BaseClient

    client = bedrock_client(llm.url)
    assert isinstance(vars(BaseClient)["_make_api_call"], wrapt.FunctionWrapper)
    with pytest.raises(client.exceptions.ClientError):
        client.apply_guardrail(
            guardrailIdentifier="g", guardrailVersion="1", source="INPUT", content=[]
        )
    assert llm_spans(traced) == []
    spanflow.uninstrument("bedrock")
    assert not isinstance(vars(BaseClient)["_make_api_call"], wrapt.FunctionWrapper)
    client.converse(modelId=CLAUDE, messages=QUESTION)
    assert llm_spans(traced) == []


def test_an_undecodable_invoke_body_is_handed_back_byte_for_byte(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """A cut-off JSON body reaches the caller unchanged; the span ends without messages."""
    llm.add_replies(MalformedStream())
    response = bedrock_client(llm.url).invoke_model(modelId=CLAUDE, body=json.dumps(BODIES[CLAUDE]))
    assert response["body"].read() == b'{"id": "truncated", "candidates": [{"mess'
    span = only_llm_span(traced)
    assert span.status == "UNSET"
    assert attr.INTERNAL_ERROR not in span.attributes
    assert attr.GEN_AI_OUTPUT_MESSAGES not in span.attributes


def _serve_one_cut_body(listener: socket.socket) -> None:
    """Answer one request with a 200 whose body stops 90 bytes short of its Content-Length."""
    connection, _ = listener.accept()
    with connection:
        received = b""
        while b"\r\n\r\n" not in received:
            received += connection.recv(65536)
        head, _, body = received.partition(b"\r\n\r\n")
        found = re.search(rb"content-length: *(\d+)", head, re.I)
        length = int(found.group(1)) if found else 0
        while len(body) < length:
            body += connection.recv(65536)
        connection.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
            b'{"content": '
        )


def test_an_invoke_body_cut_midway_fails_the_span_and_the_callers_read(
    traced: SpanCapture,
) -> None:
    """When the body breaks off, the span fails and the caller's read raises that same error."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        server = threading.Thread(target=_serve_one_cut_body, args=(listener,), daemon=True)
        server.start()
        client = bedrock_client(f"http://127.0.0.1:{listener.getsockname()[1]}")
        response = client.invoke_model(modelId=CLAUDE, body=json.dumps(BODIES[CLAUDE]))
        server.join(10)
    with pytest.raises(ResponseStreamingError) as raised:
        response["body"].read()
    span = only_llm_span(traced)
    assert span.status == "ERROR"
    assert span.attributes[attr.ERROR_TYPE] == type(raised.value).__qualname__
    assert [event.name for event in span.events] == ["exception"]


def test_an_invoke_reply_quoted_by_a_converse_call_links_the_two(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """Text produced by invoke_model and pasted into a converse prompt links the calls by field."""
    produced = "The ferry to the island leaves from pier seven at half past six."
    llm.add_replies(Reply(produced), "Noted.")
    client = bedrock_client(llm.url)
    set_dataflow(enabled=True, inline=True)
    try:
        with spanflow.run("bedrock-quote"):
            client.invoke_model(modelId=CLAUDE, body=json.dumps(BODIES[CLAUDE]))
            quoted = [{"role": "user", "content": [{"text": f"Check: {produced}"}]}]
            client.converse(modelId=NOVA, messages=quoted)
    finally:
        set_dataflow()
    first, second = llm_spans(traced)
    assert dataflow_links(second) == [
        (first.span_id, ("messages[0].content[0].text",), "content[0].text")
    ]
