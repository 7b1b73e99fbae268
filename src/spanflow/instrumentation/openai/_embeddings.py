"""OpenAI embeddings: the neutral description of requests and responses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spanflow import attributes as attr
from spanflow.instrumentation import _description as d
from spanflow.instrumentation._description import CallRequest, CallResponse
from spanflow.instrumentation._facts import Attributes, field_of


class EmbeddingsAdapter:
    """``POST /embeddings``."""

    provider = "openai"
    operation = "embeddings"

    def read_request(self, body: Mapping[str, Any], with_messages: bool) -> CallRequest:
        found: Attributes = {}
        encoding = body.get("encoding_format")
        if isinstance(encoding, str):
            found[attr.GEN_AI_REQUEST_ENCODING_FORMATS] = [encoding]
        dimensions = body.get("dimensions")
        if isinstance(dimensions, int):
            found[attr.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] = dimensions
        inputs = embedded_texts(body.get("input"), "input") if with_messages else ()
        return CallRequest(body.get("model"), found, inputs_only=inputs)

    def read_response(self, response: Any, with_messages: bool) -> CallResponse:
        data = field_of(response, "data") or []
        tokens = d.int_or_none(field_of(field_of(response, "usage"), "prompt_tokens"))
        return CallResponse(
            model=field_of(response, "model"),
            usage=d.TokenUsage(input_tokens=tokens) if tokens is not None else None,
            attributes=dimension_count(field_of(data[0], "embedding") if data else None),
        )

    def new_accumulator(self) -> _NoStream:
        return _NoStream()


def embedded_texts(value: Any, path: str) -> tuple[d.Part, ...]:
    """The texts of an embeddings input (one string or a list), at ``path`` / ``path[i]``."""
    if isinstance(value, str):
        return (d.text(value, path),)
    items = value if isinstance(value, list) else ()
    return tuple(
        d.text(text, f"{path}[{i}]") for i, text in enumerate(items) if isinstance(text, str)
    )


def dimension_count(vector: Any) -> Attributes:
    """``gen_ai.embeddings.dimension.count`` of the first vector, when there is one."""
    if isinstance(vector, list):
        return {attr.GEN_AI_EMBEDDINGS_DIMENSION_COUNT: len(vector)}
    return {}


class _NoStream:
    """Embeddings never stream; an accumulator for the protocol's sake."""

    def add(self, event: Any) -> None:
        return None

    def response(self) -> Any:
        return None
