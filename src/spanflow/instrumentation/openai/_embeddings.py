"""OpenAI embeddings: request and response attributes and the input texts for dataflow."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spanflow import attributes as attr
from spanflow.dataflow.records import CallInputs, CallOutputs, TextField
from spanflow.instrumentation._facts import (
    Attributes,
    ReadOptions,
    RequestFacts,
    ResponseFacts,
    field_of,
    span_name,
)


class EmbeddingsAdapter:
    """``POST /embeddings``."""

    provider = "openai"
    operation = "embeddings"

    def read_request(self, body: Mapping[str, Any], options: ReadOptions) -> RequestFacts:
        model = body.get("model")
        found: Attributes = {}
        if isinstance(model, str):
            found[attr.GEN_AI_REQUEST_MODEL] = model
        encoding = body.get("encoding_format")
        if isinstance(encoding, str):
            found[attr.GEN_AI_REQUEST_ENCODING_FORMATS] = [encoding]
        dimensions = body.get("dimensions")
        if isinstance(dimensions, int):
            found[attr.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] = dimensions
        inputs = _inputs(body.get("input")) if options.dataflow else None
        return RequestFacts(span_name(self.operation, model), found, inputs)

    def read_response(self, response: Any, options: ReadOptions) -> ResponseFacts:
        found: Attributes = {}
        model = field_of(response, "model")
        if isinstance(model, str):
            found[attr.GEN_AI_RESPONSE_MODEL] = model
        tokens = field_of(field_of(response, "usage"), "prompt_tokens")
        if isinstance(tokens, int):
            found[attr.GEN_AI_USAGE_INPUT_TOKENS] = tokens
        data = field_of(response, "data") or []
        vector = field_of(data[0], "embedding") if data else None
        if isinstance(vector, list):
            found[attr.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] = len(vector)
        outputs = CallOutputs(fields=()) if options.dataflow else None
        return ResponseFacts(found, outputs)

    def new_accumulator(self) -> _NoStream:
        return _NoStream()


def _inputs(value: Any) -> CallInputs:
    if isinstance(value, str):
        return CallInputs(fields=(TextField("input", value, "user"),) if value else ())
    fields = tuple(
        TextField(f"input[{i}]", text, "user")
        for i, text in enumerate(value if isinstance(value, list) else ())
        if isinstance(text, str) and text
    )
    return CallInputs(fields=fields)


class _NoStream:
    """Embeddings never stream; an accumulator for the protocol's sake."""

    def add(self, event: Any) -> None:
        return None

    def response(self) -> Any:
        return None
