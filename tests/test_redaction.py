"""spanflow.redaction: every credential shape and secret name goes, ordinary text stays."""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

import pytest

import spanflow.redaction
from spanflow.redaction import DEFAULT_REDACTOR, MARKER_PREFIX, Redactor, is_secret_name, marker
from tests.planted_secrets import NAMED, ORDINARY, PLANTED, Planted


@pytest.mark.parametrize("planted", PLANTED, ids=lambda planted: planted.kind)
def test_every_known_shape_is_replaced_by_its_marker(planted: Planted) -> None:
    """A credential inside ordinary text is replaced by ``[REDACTED:<kind>]``; the rest stays."""
    text = f"before {planted.text} after"
    redacted = DEFAULT_REDACTOR.text(text)
    assert planted.needle not in redacted
    assert marker(planted.kind) in redacted
    assert redacted.startswith("before ") and redacted.endswith(" after")


@pytest.mark.parametrize("planted", PLANTED, ids=lambda planted: planted.kind)
def test_shapes_are_found_inside_json_encoded_text(planted: Planted) -> None:
    """Captured messages are JSON (quotes and newlines escaped): the secrets still go."""
    text = json.dumps([{"role": "user", "content": f"use:\n{planted.text}\tnow"}])
    redacted = DEFAULT_REDACTOR.text(text)
    assert planted.needle not in redacted
    assert json.loads(redacted)[0]["role"] == "user"  # still valid JSON


def test_secrets_in_a_stream_of_json_chunks_are_found_among_its_many_anchors() -> None:
    """A streamed response's body repeats ``-``, ``_`` and ``=`` in every chunk (anchors of the
    shapes' triggers, which a quick check passes over); each secret in it is still found,
    whatever character comes before it."""
    chunks = []
    for number, planted in enumerate(PLANTED):
        for before in ("", " ", "=", '"', "(", "\\n"):
            content = json.dumps(f"part {number}:{before}{planted.text} rest")
            chunks.append(
                f'data: {{"id":"chatcmpl-abc_{number}-x","object":"chat.completion.chunk",'
                f'"system_fingerprint":"fp_44709d6fcb","choices":[{{"delta":{{"content":'
                f'{content}}},"finish_reason":null,"x-request_id":"a=b"}}]}}\n\n'
            )
    redacted = DEFAULT_REDACTOR.text("".join(chunks))
    for planted in PLANTED:
        assert planted.needle not in redacted, planted
        assert marker(planted.kind) in redacted, planted


@pytest.mark.parametrize("planted", PLANTED, ids=lambda planted: planted.kind)
def test_secrets_hidden_by_json_escapes_of_plain_characters_are_found(planted: Planted) -> None:
    """A recorded response body may write ``/`` as ``\\/`` (some encoders do) or any character
    as ``\\u00XX``: the secret is still found, and the text stays the same JSON."""
    encoded = json.dumps({"content": f"see {planted.text} here"})
    needle = json.dumps(planted.needle)[1:-1]
    slashes = encoded.replace("/", "\\/")
    every_character = encoded.replace(needle, "".join(f"\\u{ord(c):04x}" for c in needle))
    for hidden in (slashes, every_character):
        redacted = DEFAULT_REDACTOR.text(hidden)
        content = json.loads(redacted)["content"]
        assert planted.needle not in content, hidden
        assert marker(planted.kind) in content


def test_escapes_are_left_as_they_are_in_text_without_secrets() -> None:
    clean = 'a "\\\\u0073k-proj-not-an-escape" and https:\\/\\/example.com\\/path \\u0041'
    assert DEFAULT_REDACTOR.text(clean) is clean
    kept = json.dumps({"q": '"quoted" \\ back'}).replace('\\"', "\\u0022")
    assert DEFAULT_REDACTOR.text(kept) is kept


def test_mixed_case_scheme_words_are_found() -> None:
    """``Bearer`` and ``Basic`` are matched whatever their case."""
    redacted = DEFAULT_REDACTOR.text("bEaReR Pl4nt3dToken0123456789 and BASIC dXNlcjpodW50ZXIy")
    assert redacted == "bEaReR [REDACTED:bearer] and BASIC [REDACTED:basic-auth]"


@pytest.mark.parametrize(
    "name",
    [
        "api_key",
        "apiKey",
        "APIKey",
        "OPENAI_API_KEY",
        "x-api-key",
        "apikey",
        "aws_secret_access_key",
        "password",
        "db.password",
        "passwd",
        "secret",
        "client_secret",
        "token",
        "access_token",
        "github.token",
        "Authorization",
        "http.request.header.authorization",
        "private_key",
        "cookie",
        "set-cookie",
        "credentials",
    ],
)
def test_secret_names(name: str) -> None:
    """Names that end in a secret word (separated by ``_``, ``-``, ``.`` or case) are secret."""
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "max_tokens",
        "input_tokens",
        "gen_ai.usage.input_tokens",
        "gen_ai.request.max_tokens",
        "token_count",
        "llm.token_count.prompt",
        "tokenizer",
        "key",
        "sort_key",
        "secret_name",
        "password_hash",
        "monkey",
        "keyboard",
        "spanflow.run.tags",
        "",
    ],
)
def test_ordinary_names(name: str) -> None:
    """Counts, limits, labels and plain ``key`` are not secret names."""
    assert not is_secret_name(name)


@pytest.mark.parametrize("name,value", sorted(NAMED.items()))
def test_values_under_secret_names_are_replaced_whole(name: str, value: str) -> None:
    """``value(name, ...)`` hides the whole value when the name is secret-looking."""
    assert DEFAULT_REDACTOR.value(name, value) == "[REDACTED:secret]"
    assert DEFAULT_REDACTOR.value(name, 123456) == "[REDACTED:secret]"
    assert DEFAULT_REDACTOR.value(name, True) is True  # a flag carries no credential
    assert DEFAULT_REDACTOR.value(name, ("a1", "b2")) == ("[REDACTED:secret]",) * 2


@pytest.mark.parametrize("name,value", sorted(ORDINARY.items()))
def test_ordinary_values_are_kept_exactly(name: str, value: object) -> None:
    """UUIDs, git SHAs, ULIDs, hashes, token counts and prose come back as they were."""
    assert DEFAULT_REDACTOR.value(name, value) == value
    if isinstance(value, str):
        assert DEFAULT_REDACTOR.text(value) is value  # not even copied


def test_nested_secret_names_in_json_and_reprs() -> None:
    """``{"openai": {"api_key": ...}}`` as JSON, as a Python repr, and as YAML/env lines."""
    document = {"openai": {"api_key": "k-1", "max_tokens": 5}, "db": {"password": "p-2"}}
    as_json = DEFAULT_REDACTOR.text(json.dumps(document))
    assert json.loads(as_json) == {
        "openai": {"api_key": "[REDACTED:secret]", "max_tokens": 5},
        "db": {"password": "[REDACTED:secret]"},
    }
    assert "k-1" not in DEFAULT_REDACTOR.text(repr(document))
    env = DEFAULT_REDACTOR.text("OPENAI_API_KEY=k-1\nmax_tokens: 5\ntoken_count=3\nuser=alice")
    assert env == "OPENAI_API_KEY=[REDACTED:secret]\nmax_tokens: 5\ntoken_count=3\nuser=alice"
    escaped = DEFAULT_REDACTOR.text(json.dumps("config:\napi_key=k-1\tmax_tokens=5"))
    assert json.loads(escaped) == "config:\napi_key=[REDACTED:secret]\tmax_tokens=5"


def test_comparisons_and_empty_values_are_not_assignments() -> None:
    """``password == other`` and ``"token": null`` hold no credential to hide."""
    for text in ("if password == expected:", '{"token": null}', "password=", 'api_key: ""'):
        assert DEFAULT_REDACTOR.text(text) == text


def test_redacting_twice_changes_nothing() -> None:
    """Markers match no rule: the collector may redact what the SDK already redacted."""
    once = DEFAULT_REDACTOR.text("\n".join(planted.text for planted in PLANTED))
    assert DEFAULT_REDACTOR.text(once) == once
    assert once.count(MARKER_PREFIX) >= len(PLANTED)


def test_extra_patterns_replace_the_match_or_its_secret_group() -> None:
    """User patterns: the whole match becomes ``[REDACTED:custom]``, or only group ``secret``."""
    redactor = Redactor([r"ACME-[0-9]{8}", re.compile(r"employee=(?P<secret>\d+)")])
    assert redactor.text("id ACME-12345678, employee=4242") == (
        "id [REDACTED:custom], employee=[REDACTED:custom]"
    )
    assert DEFAULT_REDACTOR.text("ACME-12345678") == "ACME-12345678"


@pytest.mark.parametrize("pattern", ["(unclosed", "x*"])
def test_unusable_extra_patterns_are_refused_with_their_text(pattern: str) -> None:
    """A pattern that is not a regex, or matches the empty string, is an error naming it."""
    with pytest.raises(ValueError, match=re.escape(repr(pattern))):
        Redactor([pattern])


def test_attribute_mappings_keep_identity_when_clean() -> None:
    """A mapping without secrets is returned as is (no copy on the ingest hot path)."""
    clean = {"gen_ai.usage.input_tokens": 5, "gen_ai.request.model": "gpt-4o-mini"}
    assert DEFAULT_REDACTOR.attributes(clean) is clean
    dirty = {"a": 1, "http.request.header.authorization": ("Bearer abc123def456",), "z": 2}
    assert DEFAULT_REDACTOR.attributes(dirty) == {
        "a": 1,
        "http.request.header.authorization": ("[REDACTED:secret]",),
        "z": 2,
    }


def test_non_ascii_text_keeps_positions() -> None:
    """Text whose lowercase changes length (``İ``) is still redacted at the right place."""
    text = "İİİ Authorization: Bearer Pl4nt3dToken0123456789 ok"
    assert DEFAULT_REDACTOR.text(text) == "İİİ Authorization: Bearer [REDACTED:bearer] ok"


def test_the_rules_import_only_the_standard_library() -> None:
    """The collector shares these rules without pulling in the SDK's runtime."""
    package = Path(spanflow.redaction.__file__).parent
    for module in package.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or name.startswith("spanflow.redaction"), (
                    f"{module.name} imports {name}"
                )
