"""Credential shapes (key prefixes, JWTs, PEM blocks, ``Bearer``, URL passwords) and their scan."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from spanflow.redaction._edits import Edit, marker


def _is_basic_credential(encoded: str) -> bool:
    """``Basic <b64>`` is a credential only when the base64 decodes to ``user:password``."""
    try:
        decoded = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        text = decoded.decode("utf-8")
    except (binascii.Error, ValueError):
        return False
    return ":" in text and text.isprintable()


@dataclass(frozen=True)
class Shape:
    """A credential shape whose ``pattern`` matches starting AT one of its ``triggers``.

    Finding the triggers is the whole cost on ordinary text, so it is done at C speed: shapes
    with an ``anchor`` character (one every trigger contains, rare in prose: ``-``, ``_``,
    ``=``, ``J``, ``A``) are found together by ``AnchorScan``; without one, each trigger is a
    substring scan. The pattern runs only where a trigger is. Only the group named ``secret``
    is replaced when the pattern has one (``Bearer `` and ``AccountKey=`` stay readable);
    ``verify`` can veto a match. A shape without triggers (a user pattern) is searched
    everywhere.
    """

    kind: str
    pattern: re.Pattern[str]
    triggers: tuple[str, ...] = ()
    anchor: str = ""  # found by AnchorScan when set
    folded: bool = False  # triggers are lowercase and looked for in the lowercased text
    verify: Callable[[str], bool] | None = None

    def may_match(self, text: str, folded: str) -> bool:
        """False when none of the triggers is in the text: ``edits`` would find nothing."""
        if not self.triggers:
            return True
        haystack = folded if self.folded else text
        if len(self.triggers) == 1:  # every built-in shape scanned this way: no generator
            return self.triggers[0] in haystack
        return any(trigger in haystack for trigger in self.triggers)

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


class AnchorScan:
    """Finds the triggers of every anchored shape with one regex per anchor character.

    Each regex starts with its anchor as a literal, which the regex engine skips to at C speed;
    at an anchor, fixed look-behinds and look-aheads check the triggers around it, and the
    named group of the one that matched says which. Python code runs only where a trigger is.
    Anchors are common in JSON (``"finish_reason"``, ``"chatcmpl-..."``): before the triggers,
    one character class checks the character before the anchor (or a trigger that starts with
    the anchor checks what follows), so an anchor of no trigger costs two checks, not one per
    trigger.
    """

    def __init__(self, shapes: Iterable[Shape]) -> None:
        by_anchor: dict[tuple[bool, str], list[tuple[str, str]]] = {}  # (trigger, group)
        self._candidates: dict[str, tuple[int, int, Shape]] = {}  # group -> offset, priority
        for priority, shape in enumerate(shapes):
            for trigger in shape.triggers:
                group = f"t{len(self._candidates)}"
                self._candidates[group] = (trigger.index(shape.anchor), priority, shape)
                by_anchor.setdefault((shape.folded, shape.anchor), []).append((trigger, group))
        self._scans = tuple(
            (folded, anchor, re.compile(_anchor_pattern(anchor, triggers)))
            for (folded, anchor), triggers in by_anchor.items()
        )

    def edits(self, text: str, folded: str) -> list[Edit]:
        """Every match of the anchored shapes in ``text``, by start (earlier shapes first)."""
        found: list[tuple[int, int, int, str]] = []
        for is_folded, anchor, scan in self._scans:
            haystack = folded if is_folded else text
            if anchor not in haystack:  # memchr: most texts lack most anchors
                continue
            for hit in scan.finditer(haystack):
                offset, priority, shape = self._candidates[hit.lastgroup or ""]
                match = shape.pattern.match(text, hit.start() - offset)
                edits: list[Edit] = []
                if match is not None and shape._add(match, edits):
                    found.extend((edit[0], priority, edit[1], edit[2]) for edit in edits)
        found.sort()
        return [(start, end, replacement) for start, _, end, replacement in found]


# Not in the middle of a longer identifier; a JSON escape such as ``\n`` before it does not count
# as part of one (captured messages are JSON text).
_B = r"(?:(?<![A-Za-z0-9_\-])|(?<=\\[nrtbf]))"
SHAPES: tuple[Shape, ...] = (
    Shape(
        "private-key",
        re.compile(
            r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END[A-Z0-9 ]*PRIVATE KEY-----|\Z)",
            re.DOTALL,
        ),
        ("-----BEGIN",),
        anchor="-",
    ),
    Shape(
        "jwt",
        re.compile(_B + r"eyJ[A-Za-z0-9_\-]{5,}\.eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]*"),
        ("eyJ",),
        anchor="J",
    ),
    Shape("anthropic-key", re.compile(_B + r"sk-ant-[A-Za-z0-9_\-]{20,}"), ("sk-ant-",), "-"),
    # OpenAI: sk-, sk-proj-, sk-svcacct-, sk-admin-; random base62 always holds a digit, which
    # keeps hyphenated words such as "sk-learn-model-selection-guide" out.
    Shape(
        "openai-key",
        re.compile(
            _B + r"sk-(?:proj-|svcacct-|admin-)?(?=[A-Za-z0-9_\-]*[0-9])[A-Za-z0-9_\-]{20,}"
        ),
        ("sk-",),
        anchor="-",
    ),
    Shape(
        "stripe-key",
        re.compile(_B + r"(?:(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}|whsec_[A-Za-z0-9]{20,})"),
        ("sk_live_", "rk_live_", "sk_test_", "rk_test_", "whsec_"),
        anchor="_",
    ),
    Shape(
        "github-token",
        re.compile(_B + r"(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})"),
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        anchor="_",
    ),
    Shape("google-api-key", re.compile(_B + r"AIza[0-9A-Za-z_\-]{35}"), ("AIza",), "A"),
    Shape(
        "slack-token",
        re.compile(_B + r"(?:xox[abposr]-[A-Za-z0-9\-]{10,}|xapp-[0-9]-[A-Za-z0-9\-]{10,})"),
        ("xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-", "xoxo-", "xapp-"),
        anchor="-",
    ),
    Shape(
        "huggingface-token",
        re.compile(_B + r"hf_[A-Za-z0-9]{30,}(?![A-Za-z0-9_])"),
        ("hf_",),
        anchor="_",
    ),
    Shape(
        "aws-access-key-id",
        re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])"),
        ("AKIA", "ASIA", "ABIA", "ACCA"),
        anchor="A",
    ),
    Shape(
        "azure-key",
        re.compile(
            r"(?i)(?:AccountKey|SharedAccessKey|SharedAccessSignature)=(?P<secret>[^;\"'\s\\]+)"
        ),
        ("accountkey=", "sharedaccesskey=", "sharedaccesssignature="),
        anchor="=",
        folded=True,
    ),
    Shape(
        "azure-sas",
        re.compile(_B + r"sig=(?P<secret>[A-Za-z0-9%+/=]{20,})"),
        ("sig=",),
        anchor="=",
    ),
    Shape(
        "url-password",
        re.compile(r"://[^\s:/?#@\"'\\]+:(?P<secret>[^\s/?#@\"'\\]+)(?=@)"),
        ("://",),
    ),
    # Bearer tokens hold a digit; "the bearer instrument" and friends hold none.
    Shape(
        "bearer",
        re.compile(
            r"(?i)"
            + _B
            + r"bearer\s+(?P<secret>(?=[A-Za-z0-9._~+/\-]*[0-9])[A-Za-z0-9._~+/\-]{8,}=*)"
        ),
        ("bearer",),
        folded=True,
    ),
    Shape(
        "basic-auth",
        re.compile(r"(?i)" + _B + r"basic\s+(?P<secret>[A-Za-z0-9+/]{6,}={0,2})(?![A-Za-z0-9+/=])"),
        ("basic",),
        folded=True,
        verify=_is_basic_credential,
    ),
)


def _anchor_pattern(anchor: str, triggers: list[tuple[str, str]]) -> str:
    """The regex of one anchor: the anchor, a quick check that some trigger may be around it,
    then one named group per trigger (look-behind to the anchor, look-ahead after it)."""
    before: set[str] = set()
    quick: list[str] = []
    alternatives: list[str] = []
    for trigger, group in triggers:
        offset = trigger.index(anchor)
        if offset > 0:
            before.add(trigger[offset - 1])
        else:
            quick.append(f"(?={re.escape(trigger[1:])})")
        alternatives.append(
            f"(?P<{group}>(?<={re.escape(trigger[: offset + 1])})"
            f"(?={re.escape(trigger[offset + 1 :])}))"
        )
    if before:
        chars = "".join(re.escape(char) for char in sorted(before))
        quick.append(f"(?<=[{chars}]{re.escape(anchor)})")
    return f"{re.escape(anchor)}(?:{'|'.join(quick)})(?:{'|'.join(alternatives)})"


ANCHOR_SCAN = AnchorScan(shape for shape in SHAPES if shape.anchor)
