"""Content capture rules shared by every instrumentor: the on/off switch, size bound, secrets.

Content capture is on by default (local debugging). It is turned off by ``configure(
capture_content=False)``, ``SPANFLOW_CAPTURE_CONTENT=false``, or the OpenTelemetry GenAI variable
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` set to ``NO_CONTENT``/``EVENT_ONLY``/
``false``. Every captured attribute is cut to ``max_content_chars`` characters (default 16384)
and marked with ``spanflow.content.truncated``. Both are read from the settings
(``spanflow._internal.settings``), resolved once, not from the environment on every call.
Secrets are redacted before the cut
(``spanflow._internal.redact``; a key cut in half would no longer be recognised).
"""

from __future__ import annotations

import json
from typing import Any

from spanflow._internal import redact as redaction
from spanflow._internal import settings
from spanflow._internal.parameters import DEFAULT_MAX_CONTENT_CHARS

TRUNCATION_MARK = "…[truncated]"

__all__ = [
    "DEFAULT_MAX_CONTENT_CHARS",
    "bound_json",
    "bound_text",
    "capture_enabled",
    "max_content_chars",
    "set_content_capture",
    "to_json",
]


def set_content_capture(*, enabled: bool | None = None, max_chars: int | None = None) -> None:
    """Change the two content settings; ``None`` puts back the environment's value (or default).

    Raises:
        ValueError: ``max_chars`` is not a positive number of characters.
    """
    if max_chars is not None and max_chars < 1:
        raise ValueError(f"max_chars must be a positive number of characters, got {max_chars}")
    settings.update("capture_content", enabled)
    settings.update("max_content_chars", max_chars)


def capture_enabled() -> bool:
    """Whether message contents, step arguments and return values are recorded on spans."""
    return settings.current().capture_content


def max_content_chars() -> int:
    """The per-attribute character bound for captured content."""
    return settings.current().max_content_chars


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
