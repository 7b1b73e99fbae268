"""Re-sent chat history is served from memory, yet every span records what was actually sent."""

from __future__ import annotations

import json
from typing import Any

from spanflow import attributes as attr
from spanflow._internal import redact as redaction
from spanflow._internal import settings
from spanflow.redaction import Redactor
from spanflow.testing import FakeLLMServer, SpanCapture
from tests.instrumentation.helpers import llm_spans, openai_client


def _sent_texts(span_attributes: Any) -> list[str]:
    messages = json.loads(span_attributes[attr.GEN_AI_INPUT_MESSAGES])
    return [part["content"] for message in messages for part in message["parts"]]


def test_a_message_edited_in_place_is_recorded_as_edited(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """A history message changed in place between two calls shows its new text on the second."""
    client = openai_client(llm)
    history: list[dict[str, Any]] = [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "What is the capital of France?"},
    ]
    client.chat.completions.create(model="gpt-4o-mini", messages=history)
    history[1]["content"] = "What is the capital of Italy?"
    client.chat.completions.create(model="gpt-4o-mini", messages=history)

    first, second = llm_spans(traced)
    assert _sent_texts(first.attributes)[1] == "What is the capital of France?"
    assert _sent_texts(second.attributes) == ["Answer briefly.", "What is the capital of Italy?"]


def test_a_re_sent_message_is_redacted_by_the_rules_in_force(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """A message re-sent after new redaction rules were configured is recorded under them."""
    client = openai_client(llm)
    history = [{"role": "user", "content": "my ticket is TICKET-12345, please look it up"}]
    client.chat.completions.create(model="gpt-4o-mini", messages=history)
    # What configure(redact_patterns=...) installs; configure() itself would drop the capture.
    redaction.use(enabled=True, redactor=Redactor([r"TICKET-\d+"]))
    try:
        client.chat.completions.create(model="gpt-4o-mini", messages=history)
    finally:
        in_force = settings.current()
        redaction.use(enabled=in_force.redact, redactor=Redactor(in_force.redact_patterns))

    first, second = (span for span in llm_spans(traced))
    assert "TICKET-12345" in _sent_texts(first.attributes)[0]
    assert "TICKET-12345" not in _sent_texts(second.attributes)[0]
