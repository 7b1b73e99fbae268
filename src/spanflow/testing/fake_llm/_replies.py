"""What the fake LLM answers: replies, tool calls, usage, injected faults, the script of turns."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spanflow.testing.fake_llm._request import FakeRequest


@dataclass(frozen=True)
class ToolCall:
    """A tool call the fake model makes.

    Args:
        name: The function (tool) name.
        arguments: The arguments, as a mapping (serialised to JSON) or a ready JSON string.
        id: The call id; a deterministic one (``call_fake_0001`` / ``toolu_fake_0001``) if omitted.
    """

    name: str
    arguments: Mapping[str, Any] | str = field(default_factory=dict)
    id: str | None = None

    @property
    def arguments_json(self) -> str:
        """The arguments as the JSON string OpenAI sends."""
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(dict(self.arguments), separators=(", ", ": "))

    @property
    def arguments_object(self) -> Any:
        """The arguments as the JSON object Anthropic sends."""
        if isinstance(self.arguments, str):
            return json.loads(self.arguments) if self.arguments.strip() else {}
        return dict(self.arguments)


@dataclass(frozen=True)
class Usage:
    """Token counts to report; ``None`` means "count the words" (deterministic, roughly right).

    Args:
        input_tokens: Prompt tokens.
        output_tokens: Completion tokens.
        cached_input_tokens: Prompt tokens served from cache (OpenAI ``cached_tokens``,
            Anthropic ``cache_read_input_tokens``).
        cache_creation_input_tokens: Anthropic ``cache_creation_input_tokens``.
    """

    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_input_tokens: int = 0
    cache_creation_input_tokens: int = 0


@dataclass(frozen=True)
class Reply:
    """One model turn: text and/or tool calls, with optional usage and stop reason.

    Args:
        text: The assistant text (may be empty when the turn only calls tools).
        tool_calls: Tool calls, in order.
        usage: Token counts; counted from the words of the request and reply if omitted.
        finish_reason: Overrides the stop reason; otherwise ``tool_calls``/``tool_use`` when
            there are tool calls and ``stop``/``end_turn`` when not. Write it in OpenAI chat
            terms (``stop``, ``length``, ``tool_calls``); it is translated per API.
        model: The model name in the response; the requested model if omitted.
    """

    text: str = ""
    tool_calls: Sequence[ToolCall] = ()
    usage: Usage | None = None
    finish_reason: str | None = None
    model: str | None = None


@dataclass(frozen=True)
class RateLimited:
    """Answer HTTP 429 with ``Retry-After`` (the real clients retry after that delay).

    Args:
        retry_after_s: Seconds sent in ``Retry-After`` (and ``retry-after-ms``).
        message: The error message in the body.
    """

    retry_after_s: float = 0.01
    message: str = "Rate limit reached for requests (fake)."


@dataclass(frozen=True)
class ServerError:
    """Answer with an HTTP error status (500 by default) and a provider-shaped error body.

    Args:
        status: The HTTP status code.
        message: The error message in the body.
    """

    status: int = 500
    message: str = "The server had an error while processing your request (fake)."


@dataclass(frozen=True)
class MalformedStream:
    """Stream ``after_events`` valid events, then a line that is not JSON, then end the stream.

    On a request without ``stream=true`` the body itself is cut-off JSON.
    """

    after_events: int = 2


@dataclass(frozen=True)
class Disconnect:
    """Stream ``after_events`` valid events, then close the connection without finishing.

    On a request without ``stream=true`` the connection closes before any response.
    """

    after_events: int = 2


Fault = RateLimited | ServerError | MalformedStream | Disconnect
"""A failure the fake server injects instead of (or in the middle of) a reply."""

Turn = Reply | str | RateLimited | ServerError | MalformedStream | Disconnect
"""What a script entry or a responder returns; a plain string is ``Reply(text=...)``."""

Responder = Callable[["FakeRequest"], Turn]
"""A function from the received request to the turn to answer with."""

FAULT_TYPES = (RateLimited, ServerError, MalformedStream, Disconnect)


def as_reply_or_fault(turn: Turn) -> Reply | Fault:
    """Normalise a turn: strings become replies; anything else unexpected is a TypeError."""
    if isinstance(turn, str):
        return Reply(text=turn)
    if isinstance(turn, (Reply, *FAULT_TYPES)):
        return turn
    raise TypeError(f"a fake LLM turn must be a Reply, str or fault, got {type(turn).__name__}")


class Script:
    """A thread-safe queue of canned turns consumed one per generation request."""

    def __init__(self, turns: Iterable[Turn] = ()) -> None:
        self._lock = threading.Lock()
        self._turns: deque[Reply | Fault] = deque(as_reply_or_fault(t) for t in turns)

    def extend(self, turns: Iterable[Turn]) -> None:
        """Append turns to the end of the script."""
        normalised = [as_reply_or_fault(t) for t in turns]
        with self._lock:
            self._turns.extend(normalised)

    def pop(self) -> Reply | Fault | None:
        """The next turn, or ``None`` when the script is used up."""
        with self._lock:
            return self._turns.popleft() if self._turns else None

    def __len__(self) -> int:
        with self._lock:
            return len(self._turns)

    def clear(self) -> None:
        """Drop every remaining turn."""
        with self._lock:
            self._turns.clear()


def count_tokens(text: str) -> int:
    """A deterministic stand-in for a tokenizer: words and punctuation runs, at least one."""
    return max(1, len(text.split()))
