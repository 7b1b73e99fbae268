"""Content capture rules shared by every instrumentor: the on/off switch, size bound, secrets.

Content capture is on by default (local debugging). It is turned off by ``configure(
capture_content=False)``, ``SPANFLOW_CAPTURE_CONTENT=false``, or the OpenTelemetry GenAI variable
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` set to ``NO_CONTENT``/``EVENT_ONLY``/
``false``. Every captured attribute is cut to ``SPANFLOW_MAX_CONTENT_CHARS`` characters (default
16384) and marked with ``spanflow.content.truncated``. Secrets are redacted before the cut
(``spanflow._internal.redact``; a key cut in half would no longer be recognised).
"""

from __future__ import annotations

import json
import os
from typing import Any

from spanflow import environment
from spanflow._internal import redact as redaction

DEFAULT_MAX_CONTENT_CHARS = 16_384
TRUNCATION_MARK = "…[truncated]"

_capture_override: bool | None = None
_max_chars_override: int | None = None

_FALSE_WORDS = frozenset({"0", "false", "no", "off", "no_content", "event_only"})


def set_content_capture(*, enabled: bool | None = None, max_chars: int | None = None) -> None:
    """Override the environment (``configure`` calls this); ``None`` restores the env default."""
    global _capture_override, _max_chars_override
    if max_chars is not None and max_chars < 1:
        raise ValueError(f"max_chars must be a positive number of characters, got {max_chars}")
    _capture_override = enabled
    _max_chars_override = max_chars


def capture_enabled() -> bool:
    """Whether message contents, step arguments and return values are recorded on spans."""
    if _capture_override is not None:
        return _capture_override
    for name in (
        environment.SPANFLOW_CAPTURE_CONTENT,
        environment.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT,
    ):
        value = os.environ.get(name)
        if value:
            return value.strip().lower() not in _FALSE_WORDS
    return True


def max_content_chars() -> int:
    """The per-attribute character bound for captured content."""
    if _max_chars_override is not None:
        return _max_chars_override
    raw = os.environ.get(environment.SPANFLOW_MAX_CONTENT_CHARS, "")
    try:
        value = int(raw)
    except ValueError:
        return DEFAULT_MAX_CONTENT_CHARS
    return value if value > 0 else DEFAULT_MAX_CONTENT_CHARS


def bound_text(text: str, *, redacted: bool = False) -> tuple[str, bool]:
    """``text`` with secrets redacted and cut to the bound; the flag says whether it was cut.

    ``redacted=True`` says the caller redacted the pieces of ``text`` already.
    """
    if not redacted:
        text = redaction.text(text)
    limit = max_content_chars()
    if len(text) <= limit:
        return text, False
    return text[: max(0, limit - len(TRUNCATION_MARK))] + TRUNCATION_MARK, True


def to_json(value: Any) -> str:
    """JSON for a captured value; objects JSON cannot encode are written with ``repr``."""
    return json.dumps(value, ensure_ascii=False, default=_fallback_encoding, separators=(",", ":"))


def bound_json(value: Any) -> tuple[str, bool]:
    """``to_json(value)`` passed through ``bound_text``."""
    return bound_text(to_json(value))


def _fallback_encoding(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)  # pydantic models (the openai/anthropic types)
    if callable(dump):
        try:
            return dump(mode="json", exclude_unset=True)
        except Exception:
            pass
    return repr(value)
