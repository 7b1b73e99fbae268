"""Find secrets in recorded text and replace them with ``[REDACTED:<kind>]`` markers.

Standard library only: the SDK (before export) and the collector (at ingest) both import it.
Three kinds of rule, documented in docs/secrets.md:

* **Shapes**: credentials recognisable by their form anywhere in a text (an OpenAI key, a JWT,
  a PEM private key, ``Bearer <token>``, ``https://user:password@host`` ...). Each shape has
  literal *triggers*; the regex runs only on texts that contain one, so ordinary text costs a
  few substring scans.
* **Secret names**: a value recorded under a secret-looking name (``api_key``, ``password``,
  ``Authorization``, ``aws_secret_access_key`` ...) is replaced whole. The same rule finds
  ``name=value`` and ``"name": "value"`` inside texts (JSON, YAML, query strings, reprs).
* **Extra patterns** given by the user: the whole match is replaced, or only the group named
  ``secret`` when the pattern has one.

A marker never matches a rule, so redacting twice changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from spanflow.redaction._edits import MARKER_PREFIX, apply_edits, fold, marker
from spanflow.redaction._names import (
    SECRET_NAME_KIND,
    assignment_edits,
    is_placeholder,
    is_secret_name,
)
from spanflow.redaction._shapes import ANCHOR_SCAN, SHAPES, Shape
from spanflow.redaction._vouched import VOUCHED, Rules

CUSTOM_KIND = "custom"


def compile_patterns(patterns: Iterable[str | re.Pattern[str]]) -> tuple[re.Pattern[str], ...]:
    """Compile user patterns, naming the bad one in the error.

    Raises:
        ValueError: a pattern is not a valid regular expression or matches the empty string.
    """
    compiled: list[re.Pattern[str]] = []
    for pattern in patterns:
        if isinstance(pattern, re.Pattern):
            regex = pattern
        else:
            try:
                regex = re.compile(pattern)
            except re.error as exc:
                raise ValueError(
                    f"redact pattern {pattern!r} is not a regular expression: {exc}"
                ) from exc
        if regex.fullmatch(""):
            raise ValueError(f"redact pattern {regex.pattern!r} matches the empty string")
        compiled.append(regex)
    return tuple(compiled)


class Redactor:
    """Replaces secrets with markers: the built-in rules plus ``extra_patterns``.

    Args:
        extra_patterns: Regular expressions (strings or compiled) for secrets of your own; the
            whole match is replaced with ``[REDACTED:custom]``, or only the group named
            ``secret`` when there is one. They run on every text, so keep them cheap.

    Raises:
        ValueError: an extra pattern is not a usable regular expression.
    """

    def __init__(self, extra_patterns: Iterable[str | re.Pattern[str]] = ()) -> None:
        self.extra_patterns = compile_patterns(extra_patterns)
        self._rules: Rules = frozenset((rx.pattern, rx.flags) for rx in self.extra_patterns)
        custom = tuple(Shape(CUSTOM_KIND, pattern) for pattern in self.extra_patterns)
        self._scanned = tuple(shape for shape in SHAPES if not shape.anchor) + custom
        # Attribute keys, model names and the like repeat on every span: short texts are
        # remembered (a dict lookup instead of a scan); the dict is emptied when it fills up.
        self._short: dict[str, str | None] = {}  # None: the text holds no secret
        # Per attribute key: the key redacted (None: unchanged, so the caller's own object is
        # kept), and whether values under it are secrets by their name.
        self._keys: dict[str, tuple[str | None, bool]] = {}

    def text(self, text: str) -> str:
        """``text`` with every credential shape and ``secret_name=value`` replaced."""
        if len(text) > _VOUCHED_MIN_CHARS and VOUCHED.take(text, self._rules):
            return text  # redacted already in this process, with these rules or more
        if len(text) > _SHORT_TEXT_CHARS:
            return self._scan(text)
        known = self._short.get(text, _UNSEEN)
        if known is _UNSEEN:
            if len(self._short) >= _SHORT_TEXTS_KEPT:
                self._short.clear()
            redacted = self._scan(text)
            known = self._short[text] = None if redacted is text else redacted
        return text if known is None else known  # the caller's own object when unchanged

    def vouch(self, text: str, pieces: tuple[str, ...] = ()) -> None:
        """Say that ``text`` is clean under this redactor's rules (it was built from texts this
        redactor returned, joined by JSON punctuation), so that a redactor in this process
        whose rules are the same or fewer returns it without scanning it again.

        Only for a text passed on as it is (its object is what is remembered, not its
        characters): the SDK's message JSON on its way to the embedded index. ``pieces``: the
        encoded elements when ``text`` is exactly ``"[" + ",".join(pieces) + "]"``.
        """
        if len(text) > _VOUCHED_MIN_CHARS:
            VOUCHED.add(text, self._rules, pieces)

    def _scan(self, text: str) -> str:
        if "\\" in text and _PLAIN_ESCAPE.search(text):
            # ``https:\/\/user:pw@host``, ``\u0073k-...``: JSON escapes of plain characters
            # hide a secret from every rule. Scanned without them; when that finds something,
            # the text comes back with those escapes written as their characters (the same JSON
            # string to any reader), redacted.
            plain = _ESCAPE.sub(_plain_character, text)
            redacted = self._scan_unescaped(plain)
            return text if redacted is plain else redacted
        return self._scan_unescaped(text)

    def _scan_unescaped(self, text: str) -> str:
        folded = fold(text)
        edits = ANCHOR_SCAN.edits(text, folded)
        if edits:
            text = apply_edits(text, edits)
            folded = fold(text)
        for shape in self._scanned:
            if not shape.may_match(text, folded):
                continue
            edits = shape.edits(text, folded)
            if edits:
                text = apply_edits(text, edits)
                folded = fold(text)
        edits = assignment_edits(text, folded)
        return apply_edits(text, edits) if edits else text

    def value(self, name: str, value: Any) -> Any:
        """A value recorded under ``name``: replaced whole under a secret name, else scanned.

        Strings and integers under a secret name become ``[REDACTED:secret]``; booleans and
        floats are kept (they carry no credential). Sequences are handled element by element.
        """
        if isinstance(value, str):
            if is_secret_name(name) and not is_placeholder(value):
                return marker(SECRET_NAME_KIND)
            return self.text(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return marker(SECRET_NAME_KIND) if is_secret_name(name) else value
        if isinstance(value, tuple | list):
            items = [self.value(name, item) for item in value]
            if all(a is b for a, b in zip(items, value, strict=True)):
                return value
            if all(isinstance(item, str) for item in items):
                return tuple(items)
            # A mixed array (ints redacted to markers): all strings, so it stays homogeneous.
            return tuple(str(item) for item in items)
        return value

    def attributes(self, attributes: Mapping[str, Any]) -> Mapping[str, Any]:
        """Keys and values of an attribute mapping; the same object when nothing changed."""
        changed: dict[str, Any] | None = None
        keys = self._keys
        for key, value in attributes.items():
            known = keys.get(key)
            if known is None:
                known = self._learn_key(key)
            redacted_key, secret_name = known
            new_key = key if redacted_key is None else redacted_key
            # Inline for the common cases under an ordinary name, what value() does: a string
            # is scanned, a number or boolean kept.
            kind = value.__class__
            if secret_name:
                new_value = self.value(key, value)
            elif kind is str:
                new_value = self.text(value)
            elif kind is int or kind is float or kind is bool:
                new_value = value
            else:
                new_value = self.value(key, value)
            if changed is None and (new_key is not key or new_value is not value):
                changed = {}
                for earlier_key, earlier_value in attributes.items():
                    if earlier_key == key:
                        break
                    changed[earlier_key] = earlier_value
            if changed is not None:
                changed[new_key] = new_value
        return attributes if changed is None else changed

    def _learn_key(self, key: str) -> tuple[str | None, bool]:
        redacted = self.text(key)
        known = (None if redacted is key else redacted, is_secret_name(key))
        if len(key) <= _SHORT_TEXT_CHARS:  # like ``_short``: bounded, emptied when full
            if len(self._keys) >= _SHORT_TEXTS_KEPT:
                self._keys.clear()
            self._keys[key] = known
        return known


# ``\/`` or ``\u00XX`` for a printable ASCII character: a JSON escape no encoder needs.
_PLAIN_ESCAPE = re.compile(r"\\(?:/|u00[2-7][0-9a-fA-F])")
# Any backslash escape, so that rewriting walks them in order: in ``\\u0041`` the backslash
# is escaped and ``u0041`` is text. Quotes, backslashes and DEL keep their escapes.
_ESCAPE = re.compile(r"\\(?:(/)|u00([2-7][0-9a-fA-F])|.)", re.DOTALL)
_KEPT_ESCAPED = frozenset('"\\\x7f')


def _plain_character(escape: re.Match[str]) -> str:
    if escape.group(1):
        return "/"
    code = escape.group(2)
    if code is None:
        return escape.group(0)
    character = chr(int(code, 16))
    return escape.group(0) if character in _KEPT_ESCAPED else character


_UNSEEN: Any = object()
_SHORT_TEXT_CHARS = 256
_SHORT_TEXTS_KEPT = 4096
# Keys, model names and the like are shorter and remembered in ``_short`` anyway.
_VOUCHED_MIN_CHARS = 64

DEFAULT_REDACTOR = Redactor()
"""The built-in rules without extra patterns."""

__all__ = [
    "CUSTOM_KIND",
    "DEFAULT_REDACTOR",
    "MARKER_PREFIX",
    "SECRET_NAME_KIND",
    "VOUCHED",
    "Redactor",
    "compile_patterns",
    "is_secret_name",
    "marker",
]
