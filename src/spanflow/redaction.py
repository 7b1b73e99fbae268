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

import base64
import binascii
import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

MARKER_PREFIX = "[REDACTED:"
CUSTOM_KIND = "custom"
SECRET_NAME_KIND = "secret"


def marker(kind: str) -> str:
    """The text that replaces a secret of ``kind``, e.g. ``[REDACTED:openai-key]``."""
    return f"{MARKER_PREFIX}{kind}]"


# --- secret names ----------------------------------------------------------------------------

# A name is split into lowercase words (``aws_secret_access_key``, ``x-api-key``, ``apiKey``,
# ``OPENAI_API_KEY``); it is secret-looking when its LAST word says so. Only the last word
# counts: ``token_count``, ``max_tokens``, ``gen_ai.usage.input_tokens`` and ``secret_name`` name
# a count, a limit and a label, not a credential; ``key`` alone (``key="temperature"``) is not
# enough, it needs a qualifier such as ``api`` or ``private`` before it.
_SECRET_LAST_WORDS = frozenset(
    {
        "apikey",
        "auth",
        "authorization",
        "cookie",
        "credential",
        "credentials",
        "passcode",
        "passphrase",
        "passwd",
        "password",
        "pwd",
        "secret",
        "secrets",
        "token",
    }
)
_KEY_QUALIFIERS = frozenset(
    {
        "access",
        "account",
        "api",
        "auth",
        "client",
        "encryption",
        "master",
        "private",
        "secret",
        "session",
        "signing",
        "subscription",
    }
)
_NAME_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_NOT_A_SECRET = frozenset({"", "null", "none", "nil", "true", "false", "undefined"})


@functools.lru_cache(maxsize=8192)
def is_secret_name(name: str) -> bool:
    """Whether a value recorded under ``name`` is a credential (see the rule above)."""
    words = _NAME_WORDS.findall(name)
    if not words:
        return False
    last = words[-1].lower()
    if last in _SECRET_LAST_WORDS:
        return True
    return last == "key" and len(words) > 1 and words[-2].lower() in _KEY_QUALIFIERS


def _is_placeholder(value: str) -> bool:
    """Values under a secret name that carry nothing: empty, null-ish, already redacted."""
    return value.strip().lower() in _NOT_A_SECRET or value.startswith(MARKER_PREFIX)


# --- shapes ----------------------------------------------------------------------------------


def _is_basic_credential(encoded: str) -> bool:
    """``Basic <b64>`` is a credential only when the base64 decodes to ``user:password``."""
    try:
        decoded = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        text = decoded.decode("utf-8")
    except (binascii.Error, ValueError):
        return False
    return ":" in text and text.isprintable()


Edit = tuple[int, int, str]  # (start, end, replacement) in the text being redacted


@dataclass(frozen=True)
class _Shape:
    """A credential shape whose ``pattern`` matches starting AT one of its ``triggers``.

    Finding the triggers is the whole cost on ordinary text, so it is done at C speed: with an
    ``anchor`` character (one every trigger contains, and rare in prose: ``-``, ``_``, ``=``,
    ``J``), ``str.find`` jumps from one occurrence of it to the next (``memchr``) and the
    triggers are compared there; without one, each trigger is a substring scan. The pattern
    runs only where a trigger is. Only the group named ``secret`` is replaced when the pattern
    has one (``Bearer `` and ``AccountKey=`` stay readable); ``verify`` can veto a match. A
    shape without triggers (a user pattern) is searched everywhere.
    """

    kind: str
    pattern: re.Pattern[str]
    triggers: tuple[str, ...] = ()
    anchor: str = ""  # found by _AnchorScan when set
    folded: bool = False  # triggers are lowercase and looked for in the lowercased text
    verify: Callable[[str], bool] | None = None

    def edits(self, text: str, folded: str) -> list[Edit]:
        """Where this shape matches in ``text`` (``folded`` is its position-keeping lowercase)."""
        found: list[Edit] = []
        if not self.triggers:
            for every in self.pattern.finditer(text):
                if every.end() > every.start():
                    self._add(every, found)
            return found
        haystack = folded if self.folded else text
        for trigger in self.triggers:
            at = haystack.find(trigger)
            while at != -1:
                match = self.pattern.match(text, at)
                if match is not None and self._add(match, found):
                    at = haystack.find(trigger, match.end())
                else:
                    at = haystack.find(trigger, at + 1)
        if len(self.triggers) > 1:
            found.sort()
        return found

    def _add(self, match: re.Match[str], found: list[Edit]) -> bool:
        if "secret" not in self.pattern.groupindex or match.group("secret") is None:
            found.append((match.start(), match.end(), marker(self.kind)))
            return True
        if self.verify is not None and not self.verify(match.group("secret")):
            return False
        start, end = match.span("secret")
        found.append((start, end, marker(self.kind)))
        return True


_Candidate = tuple[int, str, _Shape]  # (priority, trigger, shape)


class _AnchorScan:
    """Finds the triggers of every anchored shape in one pass per anchor character.

    ``str.find`` of a single character is ``memchr``: it skips ordinary text at memory speed.
    At each occurrence, the three characters where a trigger would start are looked up in a
    table, so the Python work is a slice and a dictionary lookup per occurrence.
    """

    def __init__(self, shapes: Iterable[_Shape]) -> None:
        # (folded, anchor) -> offset of the anchor in the trigger -> first 3 chars -> candidates
        self._table: dict[tuple[bool, str], dict[int, dict[str, list[_Candidate]]]] = {}
        for priority, shape in enumerate(shapes):
            for trigger in shape.triggers:
                offset = trigger.index(shape.anchor)
                by_offset = self._table.setdefault((shape.folded, shape.anchor), {})
                by_window = by_offset.setdefault(offset, {})
                by_window.setdefault(trigger[:3], []).append((priority, trigger, shape))

    def edits(self, text: str, folded: str) -> list[Edit]:
        """Every match of the anchored shapes in ``text``, by start (earlier shapes first)."""
        found: list[tuple[int, int, int, str]] = []
        for (is_folded, anchor), by_offset in self._table.items():
            haystack = folded if is_folded else text
            at = haystack.find(anchor)
            while at != -1:
                for offset, by_window in by_offset.items():
                    start = at - offset
                    if start < 0:
                        continue
                    for priority, trigger, shape in by_window.get(haystack[start : start + 3], ()):
                        if not haystack.startswith(trigger, start):
                            continue
                        match = shape.pattern.match(text, start)
                        edits: list[Edit] = []
                        if match is not None and shape._add(match, edits):
                            found.extend((e[0], priority, e[1], e[2]) for e in edits)
                at = haystack.find(anchor, at + 1)
        found.sort()
        return [(start, end, replacement) for start, _, end, replacement in found]


def _apply(text: str, edits: Iterable[Edit]) -> str:
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


def _fold(text: str) -> str:
    """Lowercase ``text`` keeping every character at its index (so positions carry over)."""
    folded = text.lower()
    if len(folded) == len(text):
        return folded
    # A few characters (U+0130) lowercase to two; keep those as they are.
    return "".join(char if len(char.lower()) != 1 else char.lower() for char in text)


# Not in the middle of a longer identifier; a JSON escape such as ``\n`` before it does not count
# as part of one (captured messages are JSON text).
_B = r"(?:(?<![A-Za-z0-9_\-])|(?<=\\[nrtbf]))"
_SHAPES: tuple[_Shape, ...] = (
    _Shape(
        "private-key",
        re.compile(
            r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END[A-Z0-9 ]*PRIVATE KEY-----|\Z)",
            re.DOTALL,
        ),
        ("-----BEGIN",),
        anchor="-",
    ),
    _Shape(
        "jwt",
        re.compile(_B + r"eyJ[A-Za-z0-9_\-]{5,}\.eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]*"),
        ("eyJ",),
        anchor="J",
    ),
    _Shape("anthropic-key", re.compile(_B + r"sk-ant-[A-Za-z0-9_\-]{20,}"), ("sk-ant-",), "-"),
    # OpenAI: sk-, sk-proj-, sk-svcacct-, sk-admin-; random base62 always holds a digit, which
    # keeps hyphenated words such as "sk-learn-model-selection-guide" out.
    _Shape(
        "openai-key",
        re.compile(
            _B + r"sk-(?:proj-|svcacct-|admin-)?(?=[A-Za-z0-9_\-]*[0-9])[A-Za-z0-9_\-]{20,}"
        ),
        ("sk-",),
        anchor="-",
    ),
    _Shape(
        "stripe-key",
        re.compile(_B + r"(?:(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}|whsec_[A-Za-z0-9]{20,})"),
        ("sk_live_", "rk_live_", "sk_test_", "rk_test_", "whsec_"),
        anchor="_",
    ),
    _Shape(
        "github-token",
        re.compile(_B + r"(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})"),
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        anchor="_",
    ),
    _Shape("google-api-key", re.compile(_B + r"AIza[0-9A-Za-z_\-]{35}"), ("AIza",), "z"),
    _Shape(
        "slack-token",
        re.compile(_B + r"(?:xox[abposr]-[A-Za-z0-9\-]{10,}|xapp-[0-9]-[A-Za-z0-9\-]{10,})"),
        ("xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-", "xoxo-", "xapp-"),
        anchor="-",
    ),
    _Shape(
        "huggingface-token",
        re.compile(_B + r"hf_[A-Za-z0-9]{30,}(?![A-Za-z0-9_])"),
        ("hf_",),
        anchor="_",
    ),
    _Shape(
        "aws-access-key-id",
        re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])"),
        ("AKIA", "ASIA", "ABIA", "ACCA"),
        anchor="A",
    ),
    _Shape(
        "azure-key",
        re.compile(
            r"(?i)(?:AccountKey|SharedAccessKey|SharedAccessSignature)=(?P<secret>[^;\"'\s\\]+)"
        ),
        ("accountkey=", "sharedaccesskey=", "sharedaccesssignature="),
        anchor="=",
        folded=True,
    ),
    _Shape(
        "azure-sas",
        re.compile(_B + r"sig=(?P<secret>[A-Za-z0-9%+/=]{20,})"),
        ("sig=",),
        anchor="=",
    ),
    _Shape(
        "url-password",
        re.compile(r"://[^\s:/?#@\"'\\]+:(?P<secret>[^\s/?#@\"'\\]+)(?=@)"),
        ("://",),
    ),
    # Bearer tokens hold a digit; "the bearer instrument" and friends hold none.
    _Shape(
        "bearer",
        re.compile(
            r"(?i)"
            + _B
            + r"bearer\s+(?P<secret>(?=[A-Za-z0-9._~+/\-]*[0-9])[A-Za-z0-9._~+/\-]{8,}=*)"
        ),
        ("bearer",),
        folded=True,
    ),
    _Shape(
        "basic-auth",
        re.compile(r"(?i)" + _B + r"basic\s+(?P<secret>[A-Za-z0-9+/]{6,}={0,2})(?![A-Za-z0-9+/=])"),
        ("basic",),
        folded=True,
        verify=_is_basic_credential,
    ),
)

_ANCHOR_SCAN = _AnchorScan(shape for shape in _SHAPES if shape.anchor)

# ``name = value`` / ``"name": "value"`` / ``'name': 'value'`` inside a text (JSON, YAML, a
# query string, a repr). Found from each ``:`` and ``=`` (``memchr``-fast): the three letters
# before it must end a secret word before the name is read and judged by ``is_secret_name``.
_SECRET_NAME_ENDINGS = frozenset(word[-3:] for word in _SECRET_LAST_WORDS | {"key"})
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
_VALUE = re.compile(
    r"[ \t]*(?:"
    r"\"(?P<dq>(?:[^\"\\\n]|\\.)*)\""
    r"|(?P<eq>\\+\")(?P<eqv>.*?)(?P=eq)"
    r"|'(?P<sq>[^'\n]*)'"
    r"|(?P<bare>(?:(?i:bearer|basic|token|digest)[ \t]+)?"
    r"[^\s\"'\\,;&<>{}()\[\]=][^\s\"'\\,;&<>{}()\[\]]*))"
)
_VALUE_GROUPS = ("dq", "eqv", "sq", "bare")
# 40 base64 characters in mixed case (a git SHA is lowercase hex): an AWS secret access key.
_AWS_SECRET = re.compile(r"(?=[A-Za-z0-9/+]*[A-Z])(?=[A-Za-z0-9/+]*[a-z])[A-Za-z0-9/+]{40}")


def _assignment_edits(text: str, folded: str) -> list[Edit]:
    found: list[Edit] = []
    for separator in ":=":
        at = text.find(separator)
        while at != -1:
            edit = _assignment_at(text, folded, at)
            if edit is not None:
                found.append(edit)
            at = text.find(separator, at + 1 if edit is None else edit[1])
    found.sort()
    return found


def _assignment_at(text: str, folded: str, at: int) -> Edit | None:
    """The value after the separator at ``at`` when the name before it is secret-looking."""
    # The fast way out for "role": and "content": -- one slice and a set lookup.
    if folded[max(0, at - 8) : at].rstrip(" \t\"'\\")[-3:] not in _SECRET_NAME_ENDINGS:
        return None
    if text.startswith("=", at + 1) or (at > 0 and text[at - 1] in "=!<>"):
        return None  # a comparison (==, !=, <=, >=), not an assignment
    name_end = at
    while name_end > 0 and text[name_end - 1] in " \t\"'\\":
        name_end -= 1
    name_start = name_end
    while name_start > 0 and text[name_start - 1] in _NAME_CHARS:
        name_start -= 1
    if name_start > 0 and text[name_start - 1] == "\\" and text[name_start] in "nrtbf":
        name_start += 1  # "\npassword": the n belongs to a JSON escape
    if not is_secret_name(text[name_start:name_end]):
        return None
    value = _VALUE.match(text, at + 1)
    if value is None:
        return None
    group = next(name for name in _VALUE_GROUPS if value.group(name) is not None)
    secret = value.group(group)
    if _is_placeholder(secret) or text[value.end() :].lstrip().startswith(MARKER_PREFIX):
        return None  # nothing to hide, or "Authorization: Bearer [REDACTED:bearer]" already
    kind = "aws-secret-key" if _AWS_SECRET.fullmatch(secret) else SECRET_NAME_KIND
    start, end = value.span(group)
    return (start, end, marker(kind))


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
        custom = tuple(_Shape(CUSTOM_KIND, pattern) for pattern in self.extra_patterns)
        self._scanned = tuple(shape for shape in _SHAPES if not shape.anchor) + custom
        # Attribute keys, model names and the like repeat on every span: short texts are
        # remembered (a dict lookup instead of a scan); the dict is emptied when it fills up.
        self._short: dict[str, str | None] = {}  # None: the text holds no secret

    def text(self, text: str) -> str:
        """``text`` with every credential shape and ``secret_name=value`` replaced."""
        if len(text) > _SHORT_TEXT_CHARS:
            return self._scan(text)
        known = self._short.get(text, _UNSEEN)
        if known is _UNSEEN:
            if len(self._short) >= _SHORT_TEXTS_KEPT:
                self._short.clear()
            redacted = self._scan(text)
            known = self._short[text] = None if redacted is text else redacted
        return text if known is None else known  # the caller's own object when unchanged

    def _scan(self, text: str) -> str:
        folded = _fold(text)
        edits = _ANCHOR_SCAN.edits(text, folded)
        if edits:
            text = _apply(text, edits)
            folded = _fold(text)
        for shape in self._scanned:
            edits = shape.edits(text, folded)
            if edits:
                text = _apply(text, edits)
                folded = _fold(text)
        edits = _assignment_edits(text, folded)
        return _apply(text, edits) if edits else text

    def value(self, name: str, value: Any) -> Any:
        """A value recorded under ``name``: replaced whole under a secret name, else scanned.

        Strings and integers under a secret name become ``[REDACTED:secret]``; booleans and
        floats are kept (they carry no credential). Sequences are handled element by element.
        """
        if isinstance(value, str):
            if is_secret_name(name) and not _is_placeholder(value):
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
        for key, value in attributes.items():
            new_key = self.text(key)
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


_UNSEEN: Any = object()
_SHORT_TEXT_CHARS = 256
_SHORT_TEXTS_KEPT = 4096

DEFAULT_REDACTOR = Redactor()
"""The built-in rules without extra patterns."""
