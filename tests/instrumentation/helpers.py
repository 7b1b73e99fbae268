"""Helpers shared by the instrumentation tests: clients on the fake server, span lookups."""

from __future__ import annotations

from typing import Any, TypeVar

from spanflow import attributes
from spanflow.testing import FakeLLMServer, SpanCapture, SpanRecord

_Client = TypeVar("_Client")
_open_sync_clients: list[Any] = []


def _remember(client: _Client) -> _Client:
    _open_sync_clients.append(client)
    return client


def close_clients() -> None:
    """Close the sync clients the helpers made, so no socket is left to the garbage collector."""
    while _open_sync_clients:
        _open_sync_clients.pop().close()


def openai_client(llm: FakeLLMServer, **options: Any) -> Any:
    import openai

    return _remember(
        openai.OpenAI(base_url=llm.openai_base_url, api_key="sk-test-0000000000000000", **options)
    )


def async_openai_client(llm: FakeLLMServer, **options: Any) -> Any:
    import openai

    return openai.AsyncOpenAI(
        base_url=llm.openai_base_url, api_key="sk-test-0000000000000000", **options
    )


def anthropic_client(llm: FakeLLMServer, **options: Any) -> Any:
    import anthropic

    return _remember(
        anthropic.Anthropic(
            base_url=llm.anthropic_base_url, api_key="sk-ant-test-000000000000000", **options
        )
    )


def async_anthropic_client(llm: FakeLLMServer, **options: Any) -> Any:
    import anthropic

    return anthropic.AsyncAnthropic(
        base_url=llm.anthropic_base_url, api_key="sk-ant-test-000000000000000", **options
    )


def llm_spans(capture: SpanCapture) -> list[SpanRecord]:
    """The LLM call spans ended so far."""
    return [
        span
        for span in capture.spans()
        if span.attributes.get(attributes.SPAN_KIND) == attributes.SpanKindValue.LLM
    ]


def only_llm_span(capture: SpanCapture) -> SpanRecord:
    """The one LLM call span (fails when there are zero or several)."""
    spans = llm_spans(capture)
    assert len(spans) == 1, [span.name for span in spans]
    return spans[0]


def ollama_client(llm: FakeLLMServer, *, use_async: bool = False) -> Any:
    """An ``ollama`` client (sync or async) on the fake server."""
    import ollama

    if use_async:
        return ollama.AsyncClient(host=llm.url)
    return _remember(ollama.Client(host=llm.url))


def dataflow_links(span: SpanRecord) -> list[tuple[str, tuple[str, ...], str]]:
    """A span's dataflow links as (producer span id, consumer fields, producer field)."""
    return [
        (
            link.span_id,
            tuple(link.attributes.get(attributes.LINK_INPUT_FIELDS, ())),
            str(link.attributes.get(attributes.LINK_OUTPUT_FIELD, "")),
        )
        for link in span.links
        if attributes.LINK_OUTPUT_FIELD in link.attributes
    ]


def genai_client(llm: FakeLLMServer, **options: Any) -> Any:
    """A ``google-genai`` client for the Gemini Developer API on the fake server."""
    from google import genai

    options.setdefault("http_options", {"base_url": llm.url})
    client = genai.Client(api_key="fake-gemini-key", **options)
    return _remember(client)


def mistral_client(llm: FakeLLMServer) -> Any:
    """A ``mistralai`` client on the fake server (which speaks Mistral's chat API)."""
    from mistralai.client import Mistral

    return Mistral(api_key="fake-mistral-key", server_url=llm.url)


def cohere_client(llm: FakeLLMServer, *, use_async: bool = False) -> Any:
    """A ``cohere`` v2 client (sync or async) on the fake server."""
    import cohere

    if use_async:  # close it with `async with`
        return cohere.AsyncClientV2(api_key="fake-cohere-key", base_url=llm.url)
    client = cohere.ClientV2(api_key="fake-cohere-key", base_url=llm.url)
    _open_sync_clients.append(client._client_wrapper.httpx_client.httpx_client)
    return client


def bedrock_client(endpoint_url: str, **config: Any) -> Any:
    """A boto3 ``bedrock-runtime`` client on ``endpoint_url`` with dummy credentials, no retries."""
    import boto3
    from botocore.config import Config

    config.setdefault("retries", {"total_max_attempts": 1})
    return _remember(
        boto3.client(
            "bedrock-runtime",
            region_name="us-east-1",
            endpoint_url=endpoint_url,
            aws_access_key_id="AKIAFAKEFAKEFAKEFAKE",
            aws_secret_access_key="fake-secret",
            config=Config(**config),
        )
    )
