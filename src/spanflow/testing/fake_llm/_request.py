"""The fake server's view of a received request: raw HTTP facts plus a provider-neutral digest."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

CHAT_COMPLETIONS = "chat.completions"
RESPONSES = "responses"
MESSAGES = "messages"
EMBEDDINGS = "embeddings"


@dataclass(frozen=True)
class Message:
    """One conversation entry reduced to its role and text (tool results have role ``tool``)."""

    role: str
    text: str


@dataclass(frozen=True)
class FakeRequest:
    """A request the fake LLM server received.

    Attributes:
        method: HTTP method.
        path: Request path, e.g. ``/v1/chat/completions``.
        headers: Request headers with lower-case names.
        body: The decoded JSON body (``{}`` when there was none or it was not JSON).
        api: ``chat.completions``, ``responses``, ``messages``, ``embeddings`` or ``""``.
        messages: The conversation as (role, text) entries, oldest first; for the Responses API
            this includes the turns chained through ``previous_response_id``.
        peer: The client's ``host:port``; equal for requests sent over one kept-alive
            connection.
        path_model: The model named by the path (Gemini's ``models/{model}:generateContent``).
        path_stream: Whether the path asks for a stream (Gemini's ``:streamGenerateContent``);
            None when the body's ``stream`` says.
    """

    method: str
    path: str
    headers: Mapping[str, str]
    body: Mapping[str, Any]
    api: str = ""
    messages: Sequence[Message] = field(default_factory=tuple)
    peer: str = ""
    path_model: str = ""
    path_stream: bool | None = None

    @property
    def model(self) -> str:
        """The requested model name (``""`` if absent)."""
        model = self.body.get("model", self.path_model)
        return model if isinstance(model, str) else str(model)

    @property
    def stream(self) -> bool:
        """Whether the client asked for a streamed (SSE or NDJSON) response."""
        if self.path_stream is not None:
            return self.path_stream
        return bool(self.body.get("stream"))

    @property
    def last_user_text(self) -> str:
        """Text of the newest user message (``""`` if there is none)."""
        for message in reversed(self.messages):
            if message.role == "user":
                return message.text
        return ""

    @property
    def tool_names(self) -> tuple[str, ...]:
        """Names of the tools (functions) offered to the model."""
        names: list[str] = []
        for tool in self.body.get("tools") or ():
            if isinstance(tool, Mapping):
                function = tool.get("function")
                name = function.get("name") if isinstance(function, Mapping) else tool.get("name")
                if isinstance(name, str):
                    names.append(name)
        return tuple(names)

    @property
    def json_schema(self) -> Mapping[str, Any] | None:
        """The JSON schema of a requested structured output, if any."""
        return _structured_output(self.body)[1]

    @property
    def wants_json(self) -> bool:
        """Whether the client asked for JSON output (``json_object`` or a JSON schema)."""
        return _structured_output(self.body)[0]


def _structured_output(body: Mapping[str, Any]) -> tuple[bool, Mapping[str, Any] | None]:
    """(wants JSON, schema) from chat ``response_format``, Responses ``text.format`` or
    Anthropic ``output_config.format``."""
    candidates: list[Any] = [body.get("response_format")]
    text = body.get("text")
    if isinstance(text, Mapping):
        candidates.append(text.get("format"))
    output_config = body.get("output_config")
    if isinstance(output_config, Mapping):
        candidates.append(output_config.get("format"))
    candidates.append(body.get("output_format"))
    for spec in candidates:
        if not isinstance(spec, Mapping):
            continue
        kind = spec.get("type")
        if kind == "json_object":
            return True, None
        if kind == "json_schema":
            nested = spec.get("json_schema")
            holder = nested if isinstance(nested, Mapping) else spec
            schema = holder.get("schema")
            return True, schema if isinstance(schema, Mapping) else None
    return False, None


def content_text(content: Any) -> str:
    """Concatenate the text inside any provider's message content (string or list of parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Mapping):
        for key in ("text", "output", "content"):
            if key in content:
                return content_text(content[key])
        return ""
    if isinstance(content, Sequence):
        return "".join(content_text(part) for part in content)
    return str(content)


def chat_messages(body: Mapping[str, Any]) -> list[Message]:
    """Conversation of a chat completions request."""
    messages: list[Message] = []
    for entry in body.get("messages") or ():
        if not isinstance(entry, Mapping):
            continue
        role = str(entry.get("role", "user"))
        text = content_text(entry.get("content"))
        if role == "assistant" and not text and entry.get("tool_calls"):
            text = json.dumps(entry["tool_calls"])
        messages.append(Message(role=role, text=text))
    return messages


def responses_input_messages(body: Mapping[str, Any]) -> list[Message]:
    """Conversation items of one Responses API request (``instructions`` and ``input``)."""
    messages: list[Message] = []
    instructions = body.get("instructions")
    if isinstance(instructions, str) and instructions:
        messages.append(Message(role="system", text=instructions))
    items = body.get("input")
    if isinstance(items, str):
        return [*messages, Message(role="user", text=items)]
    for item in items or ():
        if isinstance(item, Mapping):
            messages.append(responses_item_message(item))
    return messages


def responses_item_message(item: Mapping[str, Any]) -> Message:
    """One Responses API input or output item as a conversation entry."""
    kind = item.get("type", "message")
    if kind == "function_call_output":
        return Message(role="tool", text=content_text(item.get("output")))
    if kind == "function_call":
        return Message(role="assistant", text=f"{item.get('name')}({item.get('arguments')})")
    return Message(role=str(item.get("role", "user")), text=content_text(item.get("content")))


def anthropic_messages(body: Mapping[str, Any]) -> list[Message]:
    """Conversation of an Anthropic Messages request; ``tool_result`` blocks become tool turns."""
    messages: list[Message] = []
    system = body.get("system")
    if system:
        messages.append(Message(role="system", text=content_text(system)))
    for entry in body.get("messages") or ():
        if not isinstance(entry, Mapping):
            continue
        role = str(entry.get("role", "user"))
        content = entry.get("content")
        if isinstance(content, list):
            results = [
                b for b in content if isinstance(b, Mapping) and b.get("type") == "tool_result"
            ]
            others = [b for b in content if b not in results]
            messages.extend(
                Message(role="tool", text=content_text(b.get("content"))) for b in results
            )
            if others or not results:
                messages.append(Message(role=role, text=_anthropic_blocks_text(others)))
        else:
            messages.append(Message(role=role, text=content_text(content)))
    return messages


def _anthropic_blocks_text(blocks: Sequence[Any]) -> str:
    parts: list[str] = []
    for block in blocks:
        if isinstance(block, Mapping) and block.get("type") == "tool_use":
            parts.append(f"{block.get('name')}({json.dumps(block.get('input'))})")
        else:
            parts.append(content_text(block))
    return "".join(parts)
