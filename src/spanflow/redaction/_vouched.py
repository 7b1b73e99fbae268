"""Long texts the SDK redacted in this process, so the embedded index need not scan them again.

The SDK redacts LLM message content before it goes on a span; with no collector configured, the
embedded exporter writes those spans into the index in the same process, and the store redacts
every span again (it cannot tell the SDK's spans from other instrumentations'). Scanning the
message JSON a second time is pure cost when the text is, object for object, what a redactor
with the same rules (or more) already produced. This registry remembers such texts by identity:
an entry holds its text, so the id cannot be reused while the entry lives, and a text built
anew from the same characters is not taken for it. A text that fell out of the registry (it is
bounded in characters) or was never in it is simply scanned: the registry can only skip work,
never add trust to a text nobody here redacted. Nothing is kept until an embedded index in the
process asks for it (``keep``): exported elsewhere, the texts would only be held for nothing.
"""

from __future__ import annotations

import threading

Rules = frozenset[tuple[str, int]]  # a redactor's extra patterns: (pattern, flags)

# Texts are taken out when the index writes them, so this holds about the exporter's queue; the
# bound caps what spans never exported (dropped, not sampled) can hold on to.
_MAX_CHARS_KEPT = 8_000_000


class VouchedTexts:
    """Texts a redactor produced, with the extra rules it applied, oldest forgotten first."""

    def __init__(self, max_chars: int = _MAX_CHARS_KEPT) -> None:
        self._max_chars = max_chars
        self._texts: dict[int, tuple[str, Rules]] = {}
        self._chars = 0
        self._lock = threading.Lock()
        self._keeping = False

    def keep(self) -> None:
        """Start remembering texts: a consumer that takes them lives in this process."""
        self._keeping = True

    def add(self, text: str, rules: Rules) -> None:
        """Remember that ``text`` is the output of the built-in rules plus ``rules``."""
        if not self._keeping:
            return
        with self._lock:
            if id(text) in self._texts:
                return
            self._texts[id(text)] = (text, rules)
            self._chars += len(text)
            while self._chars > self._max_chars:
                oldest, _ = self._texts.pop(next(iter(self._texts)))
                self._chars -= len(oldest)

    def take(self, text: str, rules: Rules) -> bool:
        """Whether ``text`` was redacted with at least ``rules``; forgets it either way.

        Taken once: the embedded store is the one consumer, and a text written again (a retried
        export) is scanned like any other.
        """
        if id(text) not in self._texts:  # the common case, answered without the lock
            return False
        with self._lock:
            entry = self._texts.get(id(text))
            if entry is None or entry[0] is not text:
                return False
            del self._texts[id(text)]
            self._chars -= len(text)
        return rules <= entry[1]


VOUCHED = VouchedTexts()
