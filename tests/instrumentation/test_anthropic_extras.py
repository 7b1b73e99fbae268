"""Anthropic beyond messages.create: beta messages, and the Bedrock/Vertex client classes."""

from __future__ import annotations

import json

from spanflow import attributes as attr
from spanflow.instrumentation.anthropic import provider_of
from spanflow.testing import FakeLLMServer, SpanCapture
from tests.instrumentation.helpers import anthropic_client, only_llm_span

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
