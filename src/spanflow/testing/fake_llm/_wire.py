"""Shared wire helpers: SSE events, deterministic ids and clock, text chunking, token counts."""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from spanflow.testing.fake_llm._replies import Reply, Usage, count_tokens
from spanflow.testing.fake_llm._request import FakeRequest

FAKE_EPOCH_S = 1_700_000_000  # fixed "created" clock so replies are reproducible


@dataclass(frozen=True)
class SseEvent:
    """One server-sent event: an optional ``event:`` name and a ``data:`` payload."""

    data: str
    event: str | None = None

    @classmethod
    def of_json(cls, payload: Any, *, event: str | None = None) -> SseEvent:
        """An event whose data is ``payload`` as compact JSON."""
        return cls(data=json.dumps(payload, separators=(",", ":")), event=event)

    def encode(self) -> bytes:
        """The event as it goes on the wire, blank-line terminated."""
        head = f"event: {self.event}\n" if self.event else ""
        return f"{head}data: {self.data}\n\n".encode()


class IdSource:
    """Deterministic ids per prefix (``chatcmpl-fake-0001``, ``call_fake_0001``...)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: defaultdict[str, itertools.count[int]] = defaultdict(
            lambda: itertools.count(1)
        )

    def next(self, prefix: str, *, separator: str = "_") -> str:
        """The next id with ``prefix``; ``separator`` joins prefix, ``fake`` and the number."""
        with self._lock:
            number = next(self._counters[prefix])
        return f"{prefix}{separator}fake{separator}{number:04d}"

    def created(self) -> int:
        """A reproducible creation timestamp (seconds)."""
        return FAKE_EPOCH_S


_CHUNK_PATTERN = re.compile(r"\s*\S+\s*|\s+")


def text_chunks(text: str) -> list[str]:
    """Split ``text`` into word-sized stream deltas that join back to exactly ``text``."""
    return _CHUNK_PATTERN.findall(text) if text else []


def argument_chunks(arguments: str) -> list[str]:
    """Split a tool call's JSON arguments into a few deltas, as real streams do."""
    if len(arguments) <= 4:
        return [arguments] if arguments else []
    step = max(1, len(arguments) // 3)
    return [arguments[i : i + step] for i in range(0, len(arguments), step)]


@dataclass(frozen=True)
class TokenCounts:
    """Resolved usage numbers for one reply."""

    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    cache_creation_input_tokens: int

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens


def token_counts(request: FakeRequest, reply: Reply) -> TokenCounts:
    """The reply's usage, counting words for any number the reply leaves unset."""
    usage = reply.usage or Usage()
    input_tokens = usage.input_tokens
    if input_tokens is None:
        input_tokens = sum(count_tokens(m.text) for m in request.messages) or 1
    output_tokens = usage.output_tokens
    if output_tokens is None:
        produced = reply.text + "".join(c.arguments_json for c in reply.tool_calls)
        output_tokens = count_tokens(produced)
    return TokenCounts(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cached_input_tokens=usage.cached_input_tokens,
        cache_creation_input_tokens=usage.cache_creation_input_tokens,
    )
