"""A fake OpenAI/Anthropic-compatible LLM server for offline tests of LLM applications.

Start it with ``with FakeLLMServer() as llm:`` and point the real ``openai``/``anthropic``
clients at ``llm.openai_base_url`` / ``llm.anthropic_base_url``. Replies are scripted
(``Reply``, ``ToolCall``, ``Usage``), computed by a function of the ``FakeRequest``, or a
deterministic echo; faults (``RateLimited``, ``ServerError``, ``MalformedStream``,
``Disconnect``) are injected the same way.
"""

from __future__ import annotations

from spanflow.testing.fake_llm._replies import (
    Disconnect,
    Fault,
    MalformedStream,
    RateLimited,
    Reply,
    Responder,
    ServerError,
    ToolCall,
    Turn,
    Usage,
)
from spanflow.testing.fake_llm._request import FakeRequest, Message
from spanflow.testing.fake_llm._server import FakeLLMServer

__all__ = [
    "Disconnect",
    "FakeLLMServer",
    "FakeRequest",
    "Fault",
    "MalformedStream",
    "Message",
    "RateLimited",
    "Reply",
    "Responder",
    "ServerError",
    "ToolCall",
    "Turn",
    "Usage",
]
