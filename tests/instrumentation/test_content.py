"""Content capture switches, size bounds and secret redaction."""

from __future__ import annotations

import pytest

from spanflow import attributes
from spanflow.instrumentation import content
from spanflow.redaction import MARKER_PREFIX
from spanflow.testing import FakeLLMServer, SpanCapture
from tests.instrumentation.helpers import only_llm_span, openai_client


@pytest.fixture(autouse=True)
def _reset_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SPANFLOW_CAPTURE_CONTENT", "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("SPANFLOW_MAX_CONTENT_CHARS", raising=False)
    content.set_content_capture()


def test_capture_is_on_by_default() -> None:
    """With no configuration, contents are captured for local debugging."""
    assert content.capture_enabled() is True


@pytest.mark.parametrize("value", ["NO_CONTENT", "EVENT_ONLY", "false", "0"])
def test_otel_genai_variable_turns_span_capture_off(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """The standard OTel GenAI switch is honoured, in its new and old spellings."""
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", value)
    content.set_content_capture()  # back to what the environment says
    assert content.capture_enabled() is False


def test_spanflow_variable_wins_over_otel_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """SPANFLOW_CAPTURE_CONTENT is read before the OTel variable."""
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "NO_CONTENT")
    monkeypatch.setenv("SPANFLOW_CAPTURE_CONTENT", "true")
    content.set_content_capture()
    assert content.capture_enabled() is True


def test_the_environment_is_read_once_not_on_every_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """A variable changed after the settings were resolved counts once they are resolved again."""
    assert content.capture_enabled() is True
    monkeypatch.setenv("SPANFLOW_CAPTURE_CONTENT", "false")
    assert content.capture_enabled() is True
    content.set_content_capture()
    assert content.capture_enabled() is False


def test_override_wins_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """configure(capture_content=False) beats any environment variable."""
    monkeypatch.setenv("SPANFLOW_CAPTURE_CONTENT", "true")
    content.set_content_capture(enabled=False)
    assert content.capture_enabled() is False


def test_long_text_is_cut_and_marked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Text over the bound is cut to exactly the bound and ends with the truncation mark."""
    monkeypatch.setenv("SPANFLOW_MAX_CONTENT_CHARS", "50")
    content.set_content_capture()
    text, truncated = content.bound_text("x" * 200)
    assert truncated is True
    assert len(text) == 50
    assert text.endswith(content.TRUNCATION_MARK)


def test_short_text_is_untouched() -> None:
    """Text within the bound comes back as it was."""
    assert content.bound_text("hello") == ("hello", False)


@pytest.mark.parametrize(
    "secret",
    [
        "sk-proj-abcdefghijklmnopqrstuvwxyz012345",
        "sk-ant-api03-ABCDEFGHIJKLMNOPQRSTUVWX",
        "Bearer eyJhbGciOiJIUzI1NiJ9.payloadpayload",
        "bEaReR eyJhbGciOiJIUzI1NiJ9.payloadpayload",
        "AKIAABCDEFGHIJKLMNOP",
    ],
)
def test_secrets_are_never_recorded(secret: str) -> None:
    """API keys and bearer tokens inside captured text are redacted."""
    text, _ = content.bound_text(f"my key is {secret} ok")
    assert secret not in text
    assert MARKER_PREFIX in text


def test_unencodable_objects_are_stringified_not_raised() -> None:
    """to_json never raises on arbitrary objects; it falls back to repr."""

    class Opaque:
        def __repr__(self) -> str:
            return "<Opaque>"

    assert content.to_json({"a": Opaque()}) == '{"a":"<Opaque>"}'


def test_bad_max_chars_override_is_rejected_at_configure_time() -> None:
    """A nonsensical bound is a configuration error, raised early with the value."""
    with pytest.raises(ValueError, match="-3"):
        content.set_content_capture(max_chars=-3)


def test_keys_never_reach_a_span_through_a_real_client(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """The client's API key is not recorded, and a key pasted into a message is redacted."""
    pasted = "sk-proj-PASTEDPASTEDPASTEDPASTED00"
    openai_client(llm).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": f"use {pasted} please"}]
    )
    span = only_llm_span(traced)
    recorded = repr(dict(span.attributes))
    assert pasted not in recorded and "sk-test-0000000000000000" not in recorded
    assert MARKER_PREFIX in span.attributes[attributes.GEN_AI_INPUT_MESSAGES]
    assert pasted in llm.last_request.last_user_text  # the provider still got what was sent


def test_capture_off_records_no_messages_through_a_real_client(
    traced: SpanCapture, llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=false no message text is kept."""
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "false")
    content.set_content_capture()
    openai_client(llm).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "private words"}]
    )
    span = only_llm_span(traced)
    assert attributes.GEN_AI_INPUT_MESSAGES not in span.attributes
    assert attributes.GEN_AI_OUTPUT_MESSAGES not in span.attributes
    assert "private" not in repr(dict(span.attributes))
    assert span.attributes[attributes.GEN_AI_USAGE_INPUT_TOKENS] > 0  # the rest is still there
