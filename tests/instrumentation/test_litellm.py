"""LiteLLM: one span per completion, whether LiteLLM calls the provider itself or via openai."""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import pytest

from spanflow import attributes as attr
from spanflow.testing import FakeLLMServer, SpanCapture
from spanflow.testing.fake_llm import Reply, Usage
from tests.instrumentation.helpers import llm_spans, only_llm_span

# LiteLLM fetches its model price list from the internet unless told to use its bundled copy.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

QUESTION = [{"role": "user", "content": "Capital of France?"}]
# LiteLLM's stream types trip a pydantic warning of their own, unrelated to tracing.
pytestmark = pytest.mark.filterwarnings("ignore:Item .* on TypedDict class .*ReadOnly:UserWarning")


def _litellm() -> Any:
    import litellm

    return litellm


def test_async_streams_and_vllm_models_are_traced(traced: SpanCapture, llm: FakeLLMServer) -> None:
    """acompletion(stream=True) gives one span with the text; hosted_vllm/... is named vllm."""
    litellm = _litellm()
    llm.add_replies("four", Reply("one two three"))

    async def main() -> str:
        stream = await litellm.acompletion(
            model="openai/gpt-4o-mini",
            messages=QUESTION,
            api_base=llm.openai_base_url,
            api_key="sk-test-0000000000000000",
            stream=True,
        )
        return "".join([chunk.choices[0].delta.content or "" async for chunk in stream])

    litellm.completion(
        model="hosted_vllm/llama-3.1-8b",
        messages=QUESTION,
        api_base=llm.openai_base_url,
        api_key="none",
    )
    assert asyncio.run(main()) == "one two three"
    vllm, streamed = llm_spans(traced)
    assert streamed.attributes[attr.STREAM] is True
    assert json.loads(streamed.attributes[attr.GEN_AI_OUTPUT_MESSAGES])[0]["parts"] == [
        {"type": "text", "content": "one two three"}
    ]
    assert vllm.attributes[attr.GEN_AI_PROVIDER_NAME] == "vllm"
    assert vllm.name == "chat llama-3.1-8b"


def test_an_anthropic_model_through_litellm_gives_one_span(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """anthropic/... goes over LiteLLM's own HTTP code and still gives one anthropic span."""
    llm.add_replies(Reply("Paris.", usage=Usage(input_tokens=4, output_tokens=2)))
    reply = _litellm().completion(
        model="anthropic/claude-3-5-haiku-latest",
        messages=QUESTION,
        api_base=llm.anthropic_base_url,
        api_key="sk-ant-test-000000000000000",
        max_tokens=32,
    )
    assert reply.choices[0].message.content == "Paris."
    span = only_llm_span(traced)
    assert span.name == "chat claude-3-5-haiku-latest"
    assert span.attributes[attr.GEN_AI_PROVIDER_NAME] == "anthropic"
    assert span.attributes[attr.GEN_AI_REQUEST_MAX_TOKENS] == 32
    assert span.attributes[attr.GEN_AI_USAGE_INPUT_TOKENS] == 4
    assert json.loads(span.attributes[attr.GEN_AI_OUTPUT_MESSAGES])[0]["parts"] == [
        {"type": "text", "content": "Paris."}
    ]


def test_an_openai_model_through_litellm_is_not_traced_twice(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """LiteLLM calling the instrumented openai client gives one span, not two."""
    _litellm().completion(
        model="openai/gpt-4o-mini",
        messages=QUESTION,
        api_base=llm.openai_base_url,
        api_key="sk-test-0000000000000000",
    )
    assert len(llm.requests) == 1
    assert only_llm_span(traced).attributes[attr.GEN_AI_PROVIDER_NAME] == "openai"


# LiteLLM's Bedrock stream handler reads a pydantic attribute pydantic 2.11 deprecates.
@pytest.mark.filterwarnings("ignore:Accessing the 'model_:DeprecationWarning")
def test_a_bedrock_model_through_litellm_gives_one_span_per_call(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """bedrock/... (LiteLLM's own Converse client and stream decoder) is one aws.bedrock span."""
    model = "anthropic.claude-3-5-haiku-20241022-v1:0"
    options = {
        "messages": QUESTION,
        "aws_access_key_id": "AKIAFAKEFAKEFAKEFAKE",
        "aws_secret_access_key": "fake-secret",
        "aws_region_name": "us-east-1",
        "aws_bedrock_runtime_endpoint": llm.url,
        "num_retries": 0,
        "max_tokens": 32,
    }
    llm.add_replies(Reply("Paris."), Reply("Paris, France."))
    litellm = _litellm()
    assert (
        litellm.completion(model=f"bedrock/{model}", **options).choices[0].message.content
        == "Paris."
    )
    stream = litellm.completion(model=f"bedrock/{model}", stream=True, **options)
    assert "".join(chunk.choices[0].delta.content or "" for chunk in stream) == "Paris, France."
    assert [request.path.rsplit("/", 1)[-1] for request in llm.requests] == [
        "converse",
        "converse-stream",
    ]
    plain, streamed = llm_spans(traced)
    for span, text in ((plain, "Paris."), (streamed, "Paris, France.")):
        assert span.name == f"chat {model}"
        assert span.attributes[attr.GEN_AI_PROVIDER_NAME] == "aws.bedrock"
        assert json.loads(span.attributes[attr.GEN_AI_OUTPUT_MESSAGES])[0]["parts"] == [
            {"type": "text", "content": text}
        ]
