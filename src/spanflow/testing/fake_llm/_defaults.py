"""The fake model's default behaviour: echo the last message, or fill a requested JSON schema."""

from __future__ import annotations

import hashlib
import json
import math
import struct
from collections.abc import Mapping, Sequence
from typing import Any

from spanflow.testing.fake_llm._replies import Reply
from spanflow.testing.fake_llm._request import FakeRequest

_MAX_DEPTH = 8


def default_reply(request: FakeRequest) -> Reply:
    """Deterministic reply: ``Echo: <last message>``, or a schema-valid JSON document."""
    if request.wants_json:
        schema = request.json_schema
        document = (
            instance_of_schema(schema, schema) if schema is not None else {"echo": _last(request)}
        )
        return Reply(text=json.dumps(document))
    return Reply(text=f"Echo: {_last(request)}")


def _last(request: FakeRequest) -> str:
    """The newest user or tool message: what a model would be answering."""
    for message in reversed(request.messages):
        if message.role in ("user", "tool"):
            return message.text
    return ""


def instance_of_schema(schema: Any, root: Mapping[str, Any], depth: int = 0) -> Any:
    """A small deterministic JSON value that validates against ``schema``.

    Handles what pydantic emits for ``.parse()`` structured outputs: objects, arrays, ``$ref``
    into ``$defs``, ``anyOf``/``oneOf``/``allOf``, ``enum``, ``const``, ``default`` and formats
    of primitive types.
    """
    if not isinstance(schema, Mapping) or depth > _MAX_DEPTH:
        return None
    if "const" in schema:
        return schema["const"]
    if "default" in schema:
        return schema["default"]
    if schema.get("enum"):
        return schema["enum"][0]
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return instance_of_schema(_resolve(ref, root), root, depth + 1)
    for combinator in ("anyOf", "oneOf"):
        options = schema.get(combinator)
        if isinstance(options, Sequence) and options:
            non_null = [
                o for o in options if not (isinstance(o, Mapping) and o.get("type") == "null")
            ]
            return instance_of_schema((non_null or options)[0], root, depth + 1)
    all_of = schema.get("allOf")
    if isinstance(all_of, Sequence) and all_of:
        merged: dict[str, Any] = {}
        for part in all_of:
            value = instance_of_schema(part, root, depth + 1)
            if isinstance(value, dict):
                merged.update(value)
            else:
                return value
        return merged
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None and "properties" in schema:
        kind = "object"
    return _instance_of_type(kind, schema, root, depth)


def _instance_of_type(
    kind: Any, schema: Mapping[str, Any], root: Mapping[str, Any], depth: int
) -> Any:
    if kind == "object":
        properties = schema.get("properties") or {}
        return {name: instance_of_schema(sub, root, depth + 1) for name, sub in properties.items()}
    if kind == "array":
        count = max(1, int(schema.get("minItems", 1)))
        return [instance_of_schema(schema.get("items", {}), root, depth + 1) for _ in range(count)]
    if kind == "string":
        return _string_of_format(schema)
    if kind == "integer":
        return math.ceil(schema.get("minimum", 0))
    if kind == "number":
        return float(schema.get("minimum", 0))
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return {}


def _string_of_format(schema: Mapping[str, Any]) -> str:
    formats = {
        "date-time": "2024-01-01T00:00:00Z",
        "date": "2024-01-01",
        "time": "00:00:00",
        "email": "user@example.com",
        "uri": "https://example.com/",
        "uuid": "00000000-0000-4000-8000-000000000000",
    }
    text = formats.get(str(schema.get("format")), "")
    if not text:
        seed = str(schema.get("title") or schema.get("description") or "text")
        text = f"fake-{hashlib.sha256(seed.encode()).hexdigest()[:6]}"
    min_length = int(schema.get("minLength", 0))
    return text.ljust(min_length, "x")


def _resolve(ref: str, root: Mapping[str, Any]) -> Any:
    if not ref.startswith("#/"):
        return {}
    node: Any = root
    for part in ref[2:].split("/"):
        if not isinstance(node, Mapping):
            return {}
        node = node.get(part.replace("~1", "/").replace("~0", "~"))
    return node


def embedding_vector(text: str, dimensions: int) -> list[float]:
    """A deterministic unit vector derived from ``text`` (same text, same vector).

    Components are float32-exact so the JSON and base64 encodings carry the same numbers.
    """
    values: list[float] = []
    counter = 0
    while len(values) < dimensions:
        digest = hashlib.sha256(f"{counter}:{text}".encode()).digest()
        values.extend((byte - 127.5) / 127.5 for byte in digest)
        counter += 1
    values = values[:dimensions]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    unit = [v / norm for v in values]
    return list(struct.unpack(f"<{dimensions}f", struct.pack(f"<{dimensions}f", *unit)))
