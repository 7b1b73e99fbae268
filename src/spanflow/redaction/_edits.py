"""Markers and the edit list every rule produces; position-keeping lowercase for triggers."""

from __future__ import annotations

from collections.abc import Iterable

MARKER_PREFIX = "[REDACTED:"


def marker(kind: str) -> str:
    """The text that replaces a secret of ``kind``, e.g. ``[REDACTED:openai-key]``."""
    return f"{MARKER_PREFIX}{kind}]"


Edit = tuple[int, int, str]  # (start, end, replacement) in the text being redacted


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    """``text`` with the edits made (sorted by start; an edit overlapping an earlier is dropped)."""
    pieces: list[str] = []
    copied_to = 0
    for start, end, replacement in edits:
        if start < copied_to:
            continue
        pieces.append(text[copied_to:start])
        pieces.append(replacement)
        copied_to = end
    pieces.append(text[copied_to:])
    return "".join(pieces)


def fold(text: str) -> str:
    """Lowercase ``text`` keeping every character at its index (so positions carry over)."""
    folded = text.lower()
    if len(folded) == len(text):
        return folded
    # A few characters (U+0130) lowercase to two; keep those as they are.
    return "".join(char if len(char.lower()) != 1 else char.lower() for char in text)
