"""Anthropic beyond messages.create: beta messages, parse, and the Bedrock/Vertex clients."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from spanflow import attributes as attr
from spanflow.instrumentation.anthropic import provider_of
from spanflow.testing import FakeLLMServer, SpanCapture
from spanflow.testing.fake_llm import RateLimited, Reply, Usage
from tests.instrumentation.helpers import anthropic_client, llm_spans, only_llm_span

MESSAGES = {
    "model": "claude-3-5-haiku-latest",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "Capital of France?"}],
}


def test_beta_messages_give_one_span(traced: SpanCapture, llm: FakeLLMServer) -> None:
    """client.beta.messages.create is one anthropic span with its output."""
    reply = anthropic_client(llm).beta.messages.create(**MESSAGES)
    assert reply.content[0].text
    span = only_llm_span(traced)
    assert span.attributes[attr.GEN_AI_PROVIDER_NAME] == "anthropic"
    assert json.loads(span.attributes[attr.GEN_AI_OUTPUT_MESSAGES])[0]["parts"][0]["type"] == "text"


def test_bedrock_and_vertex_clients_name_their_platform() -> None:
    """AnthropicBedrock spans say aws.bedrock, AnthropicVertex spans gcp.vertex_ai."""
    import anthropic

    bedrock = anthropic.AnthropicBedrock(
        aws_region="us-east-1", aws_access_key="fake-access", aws_secret_key="fake-secret"
    )
    vertex = anthropic.AnthropicVertex(
        region="us-east5", project_id="fake-project", access_token="fake-token"
    )
    try:
        assert provider_of(bedrock) == "aws.bedrock"
        assert provider_of(vertex) == "gcp.vertex_ai"
        assert provider_of(anthropic.Anthropic(api_key="sk-ant-test-000000000000000")) is None
    finally:
        bedrock.close()
        vertex.close()


def test_messages_parse_is_one_json_span_with_its_output(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """messages.parse (structured outputs) is one span, output type json, the JSON captured."""
    from pydantic import BaseModel

    class City(BaseModel):
        name: str
        population: int

    message = anthropic_client(llm).messages.parse(**MESSAGES, output_format=City)
    assert isinstance(message.parsed_output, City)
    span = only_llm_span(traced)
    assert span.attributes[attr.GEN_AI_OUTPUT_TYPE] == "json"
    output = json.loads(span.attributes[attr.GEN_AI_OUTPUT_MESSAGES])
    assert json.loads(output[0]["parts"][0]["content"]) == message.parsed_output.model_dump()


BEDROCK_MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"
VERTEX_MODEL = "claude-3-5-haiku@20241022"


def _bedrock(llm: FakeLLMServer, *, use_async: bool = False) -> Any:
    import anthropic

    client_class = anthropic.AsyncAnthropicBedrock if use_async else anthropic.AnthropicBedrock
    return client_class(
        base_url=llm.url,
        aws_region="us-east-1",
        aws_access_key="AKIAFAKEFAKEFAKEFAKE",
        aws_secret_key="fake-secret",
        max_retries=0,
    )


def _vertex(llm: FakeLLMServer, *, use_async: bool = False) -> Any:
    import anthropic

    client_class = anthropic.AsyncAnthropicVertex if use_async else anthropic.AnthropicVertex
    return client_class(
        base_url=f"{llm.url}/v1",
        region="us-east5",
        project_id="fake-project",
        access_token="fake-token",
        max_retries=0,
    )


CLOUDS = {
    "bedrock": (_bedrock, BEDROCK_MODEL, "aws.bedrock", "/model/"),
    "vertex": (_vertex, VERTEX_MODEL, "gcp.vertex_ai", "/publishers/anthropic/models/"),
}


@pytest.mark.parametrize("cloud", list(CLOUDS))
def test_cloud_clients_trace_create_stream_and_async_end_to_end(
    traced: SpanCapture, llm: FakeLLMServer, cloud: str
) -> None:
    """AnthropicBedrock / AnthropicVertex calls are spans named for their platform and model."""
    make, model, provider, path_part = CLOUDS[cloud]
    request = {**MESSAGES, "model": model}
    llm.add_replies(Reply("Paris.", usage=Usage(input_tokens=6, output_tokens=2)))
    with make(llm) as client:
        assert client.messages.create(**request).content[0].text == "Paris."
        with client.messages.stream(**request) as stream:
            streamed = "".join(stream.text_stream)

    async def main() -> str:
        async with make(llm, use_async=True) as client:
            events = await client.messages.create(**request, stream=True)
            return "".join([e.delta.text async for e in events if e.type == "content_block_delta"])

    assert asyncio.run(main()) == streamed == "Echo: Capital of France?"
    assert all(path_part in r.path for r in llm.requests)
    plain, helper, streamed_async = llm_spans(traced)
    for span in (plain, helper, streamed_async):
        assert span.name == f"chat {model}"
        assert span.attributes[attr.GEN_AI_PROVIDER_NAME] == provider
        assert span.attributes[attr.GEN_AI_REQUEST_MODEL] == model
        assert span.attributes[attr.SERVER_ADDRESS] == "127.0.0.1"
        assert span.attributes[attr.GEN_AI_RESPONSE_FINISH_REASONS] == ("end_turn",)
    assert plain.attributes[attr.GEN_AI_USAGE_INPUT_TOKENS] == 6
    assert helper.attributes[attr.STREAM] is True
    assert json.loads(streamed_async.attributes[attr.GEN_AI_OUTPUT_MESSAGES])[0]["parts"] == [
        {"type": "text", "content": "Echo: Capital of France?"}
    ]


@pytest.mark.parametrize("cloud", list(CLOUDS))
def test_cloud_client_errors_reach_the_caller_unchanged(
    traced: SpanCapture, llm: FakeLLMServer, cloud: str
) -> None:
    """A 429 from Bedrock or Vertex is anthropic's RateLimitError, recorded on the one span."""
    import anthropic

    make, model, _, _ = CLOUDS[cloud]
    llm.add_replies(RateLimited())
    with make(llm) as client, pytest.raises(anthropic.RateLimitError) as raised:
        client.messages.create(**{**MESSAGES, "model": model})
    span = only_llm_span(traced)
    assert span.status == "ERROR"
    assert span.attributes[attr.ERROR_TYPE] == "RateLimitError"
    assert raised.value.status_code == 429
