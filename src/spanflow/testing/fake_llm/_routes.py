"""The fake server's routes for providers beyond OpenAI and Anthropic, one ``Route`` each.

A route names its API, reads the conversation out of a request, renders a reply in the
provider's wire format (JSON, SSE or NDJSON) and shapes errors as the provider does, so the
provider's real client library can be pointed at the fake server.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from spanflow.testing.fake_llm import _anthropic, _bedrock, _cohere, _gemini, _ollama
from spanflow.testing.fake_llm._http import Answer, JsonAnswer, StreamAnswer
from spanflow.testing.fake_llm._replies import Reply
from spanflow.testing.fake_llm._request import (
    MESSAGES,
    FakeRequest,
    Message,
    anthropic_messages,
    chat_messages,
)
from spanflow.testing.fake_llm._wire import IdSource

OLLAMA_CHAT = "ollama.chat"
OLLAMA_GENERATE = "ollama.generate"
OLLAMA_EMBED = "ollama.embed"
COHERE_CHAT = "cohere.chat"
COHERE_EMBED = "cohere.embed"
GEMINI_GENERATE = "gemini.generate_content"
GEMINI_EMBED = "gemini.embed_content"
BEDROCK_CONVERSE = "bedrock.converse"
BEDROCK_INVOKE = "bedrock.invoke_model"

NDJSON = "application/x-ndjson"


@dataclass(frozen=True)
class Route:
    """One provider endpoint of the fake server."""

    api: str
    messages: Callable[[Mapping[str, Any]], list[Message]]
    render: Callable[[FakeRequest, Reply, IdSource], Answer] | None
    error: Callable[[int, str, str], Any]
    answer_unscripted: Callable[[FakeRequest], Answer] | None = None  # embeddings
    error_headers: Callable[[int], dict[str, str]] | None = None


@dataclass(frozen=True)
class Match:
    """A route matched by a request path, with what the path itself says."""

    route: Route
    path_model: str = ""
    path_stream: bool | None = None


def _ollama_error(status: int, message: str, kind: str) -> Any:
    return {"error": message}


def _ollama_chat(request: FakeRequest, reply: Reply, ids: IdSource) -> Answer:
    if request.stream:
        return StreamAnswer(
            _ollama.chat_lines(request, reply), content_type=NDJSON, broken=b'{"model":"tru\n'
        )
    return JsonAnswer(200, _ollama.chat_body(request, reply))


def _ollama_generate(request: FakeRequest, reply: Reply, ids: IdSource) -> Answer:
    if request.stream:
        return StreamAnswer(
            _ollama.generate_lines(request, reply), content_type=NDJSON, broken=b'{"model":"tru\n'
        )
    return JsonAnswer(200, _ollama.generate_body(request, reply))


def _no_messages(body: Mapping[str, Any]) -> list[Message]:
    return []


def _cohere_chat(request: FakeRequest, reply: Reply, ids: IdSource) -> Answer:
    if request.stream:
        return StreamAnswer(_cohere.chat_events(request, reply, ids))
    return JsonAnswer(200, _cohere.chat_body(request, reply, ids))


_EXACT = {
    "/v2/chat": Route(COHERE_CHAT, chat_messages, _cohere_chat, _cohere.error_body),
    "/v2/embed": Route(
        COHERE_EMBED,
        _no_messages,
        None,
        _cohere.error_body,
        answer_unscripted=lambda request: JsonAnswer(200, _cohere.embed_body(request)),
    ),
    "/api/chat": Route(OLLAMA_CHAT, _ollama.ollama_chat_messages, _ollama_chat, _ollama_error),
    "/api/generate": Route(
        OLLAMA_GENERATE, _ollama.generate_messages, _ollama_generate, _ollama_error
    ),
    "/api/embed": Route(
        OLLAMA_EMBED,
        _no_messages,
        None,
        _ollama_error,
        answer_unscripted=lambda request: JsonAnswer(200, _ollama.embed_body(request)),
    ),
}


def _gemini_generate(request: FakeRequest, reply: Reply, ids: IdSource) -> Answer:
    if request.stream:
        return StreamAnswer(_gemini.response_events(request, reply, ids))
    return JsonAnswer(200, _gemini.response_body(request, reply, ids))


_GEMINI_GENERATE = Route(
    GEMINI_GENERATE, _gemini.gemini_messages, _gemini_generate, _gemini.error_body
)
_GEMINI_EMBED = Route(
    GEMINI_EMBED,
    _no_messages,
    None,
    _gemini.error_body,
    answer_unscripted=lambda request: JsonAnswer(200, _gemini.embeddings_body(request)),
)


def _vertex_anthropic(request: FakeRequest, reply: Reply, ids: IdSource) -> Answer:
    if request.stream:
        return StreamAnswer(_anthropic.message_events(request, reply, ids))
    return JsonAnswer(200, _anthropic.message_body(request, reply, ids))


def _anthropic_error(status: int, message: str, kind: str) -> Any:
    return {"type": "error", "error": {"type": kind, "message": message}}


# Claude on Vertex AI: the Messages API body at ``.../publishers/anthropic/models/{m}:rawPredict``.
_VERTEX_ANTHROPIC = Route(MESSAGES, anthropic_messages, _vertex_anthropic, _anthropic_error)
_GEMINI_METHODS = {
    "generateContent": (_GEMINI_GENERATE, False),
    "streamGenerateContent": (_GEMINI_GENERATE, True),
    "batchEmbedContents": (_GEMINI_EMBED, None),
    "embedContent": (_GEMINI_EMBED, None),
    "rawPredict": (_VERTEX_ANTHROPIC, None),
    "streamRawPredict": (_VERTEX_ANTHROPIC, None),
}


def _gemini_match(found: re.Match[str]) -> Match | None:
    known = _GEMINI_METHODS.get(found.group("method"))
    if known is None:
        return None
    route, stream = known
    return Match(route, path_model=found.group("model"), path_stream=stream)


_BEDROCK_OPERATIONS = {
    "converse": Route(
        BEDROCK_CONVERSE,
        _bedrock.converse_messages,
        _bedrock.converse_answer,
        _bedrock.error_body,
        error_headers=_bedrock.error_headers,
    ),
    "invoke": Route(
        BEDROCK_INVOKE,
        _bedrock.invoke_messages,
        _bedrock.invoke_answer,
        _bedrock.error_body,
        error_headers=_bedrock.error_headers,
    ),
}


def _bedrock_match(found: re.Match[str]) -> Match | None:
    operation = found.group("operation")
    stream = operation.endswith("-stream")
    route = _BEDROCK_OPERATIONS[operation.split("-", 1)[0]]
    return Match(route, path_model=_bedrock.model_id(found.group("model")), path_stream=stream)


_PATTERNS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], Match | None]]] = [
    (re.compile(r"/v1[a-z0-9]*/(?:.*/)?models/(?P<model>[^/:]+):(?P<method>\w+)"), _gemini_match),
    (
        re.compile(
            r"/model/(?P<model>[^/]+)/(?P<operation>"
            r"converse|converse-stream|invoke|invoke-with-response-stream)"
        ),
        _bedrock_match,
    ),
]


def match(method: str, path: str) -> Match | None:
    """The provider route for a ``POST`` to ``path`` (no query string), if any."""
    if method != "POST":
        return None
    route = _EXACT.get(path)
    if route is not None:
        return Match(route)
    for pattern, make in _PATTERNS:
        found = pattern.fullmatch(path)
        routed = make(found) if found is not None else None
        if routed is not None:
            return routed
    return None
