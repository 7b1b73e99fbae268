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

from spanflow.testing.fake_llm import _cohere, _gemini, _ollama
from spanflow.testing.fake_llm._http import Answer, JsonAnswer, StreamAnswer
from spanflow.testing.fake_llm._replies import Reply
from spanflow.testing.fake_llm._request import FakeRequest, Message, chat_messages
from spanflow.testing.fake_llm._wire import IdSource

OLLAMA_CHAT = "ollama.chat"
OLLAMA_GENERATE = "ollama.generate"
OLLAMA_EMBED = "ollama.embed"
COHERE_CHAT = "cohere.chat"
COHERE_EMBED = "cohere.embed"
GEMINI_GENERATE = "gemini.generate_content"
GEMINI_EMBED = "gemini.embed_content"

NDJSON = "application/x-ndjson"


@dataclass(frozen=True)
class Route:
    """One provider endpoint of the fake server."""

    api: str
    messages: Callable[[Mapping[str, Any]], list[Message]]
    render: Callable[[FakeRequest, Reply, IdSource], Answer] | None
    error: Callable[[int, str, str], Any]
    answer_unscripted: Callable[[FakeRequest], Answer] | None = None  # embeddings


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
_GEMINI_METHODS = {
    "generateContent": (_GEMINI_GENERATE, False),
    "streamGenerateContent": (_GEMINI_GENERATE, True),
    "batchEmbedContents": (_GEMINI_EMBED, None),
    "embedContent": (_GEMINI_EMBED, None),
}


def _gemini_match(found: re.Match[str]) -> Match | None:
    known = _GEMINI_METHODS.get(found.group("method"))
    if known is None:
        return None
    route, stream = known
    return Match(route, path_model=found.group("model"), path_stream=stream)


_PATTERNS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], Match | None]]] = [
    (re.compile(r"/v1[a-z0-9]*/(?:.*/)?models/(?P<model>[^/:]+):(?P<method>\w+)"), _gemini_match),
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
