"""Secret-looking names: the rule, and ``name=value`` / ``"name": "value"`` inside texts."""

from __future__ import annotations

import functools
import re

from spanflow.redaction._edits import MARKER_PREFIX, Edit, marker

SECRET_NAME_KIND = "secret"

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


def is_placeholder(value: str) -> bool:
    """Values under a secret name that carry nothing: empty, null-ish, already redacted."""
    return value.strip().lower() in _NOT_A_SECRET or value.startswith(MARKER_PREFIX)


# ``name = value`` / ``"name": "value"`` / ``'name': 'value'`` inside a text (JSON, YAML, a
# query string, a repr). Candidates are a ``:`` or ``=`` right after (quotes and spaces aside)
# the last three letters of a secret word; the name is then read and judged by
# ``is_secret_name``. The search runs over the reversed lowercase text, where each pattern
# starts with its literal separator: the regex engine then skips to each ``:`` at C speed
# instead of trying an alternation at every position.
_SECRET_NAME_ENDINGS = frozenset(word[-3:] for word in _SECRET_LAST_WORDS | {"key"})
_REVERSED_ENDINGS = "|".join(sorted(re.escape(ending[::-1]) for ending in _SECRET_NAME_ENDINGS))
_SEPARATOR_AFTER_SECRET_ENDING = tuple(
    (separator, re.compile(separator + r"[ \t\"'\\]*(?:" + _REVERSED_ENDINGS + ")"))
    for separator in ":="
)
_QUOTES = " \t\"'\\"  # between a name and its separator: spaces, quotes, JSON escapes
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


def assignment_edits(text: str, folded: str) -> list[Edit]:
    """Values after ``:``/``=`` whose name before them is secret-looking."""
    found: list[Edit] = []
    last = len(text) - 1
    backwards = ""
    for separator, candidate in _SEPARATOR_AFTER_SECRET_ENDING:
        if separator not in text:
            continue
        backwards = backwards or folded[::-1]
        for match in candidate.finditer(backwards):
            edit = _assignment_at(text, last - match.start())
            if edit is not None:
                found.append(edit)
    found.sort()
    return found


def _assignment_at(text: str, at: int) -> Edit | None:
    """The value after the separator at ``at`` when the name before it is secret-looking."""
    if text.startswith("=", at + 1) or (at > 0 and text[at - 1] in "=!<>"):
        return None  # a comparison (==, !=, <=, >=), not an assignment
    name_end = at
    while name_end > 0 and text[name_end - 1] in _QUOTES:
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
    if is_placeholder(secret) or text[value.end() :].lstrip().startswith(MARKER_PREFIX):
        return None  # nothing to hide, or "Authorization: Bearer [REDACTED:bearer]" already
    kind = "aws-secret-key" if _AWS_SECRET.fullmatch(secret) else SECRET_NAME_KIND
    start, end = value.span(group)
    return (start, end, marker(kind))
