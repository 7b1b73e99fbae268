"""The user's own exceptions are recorded one way on runs, steps and LLM calls."""

from __future__ import annotations

import pytest

import spanflow
from spanflow import attributes as attr
from spanflow.testing import FakeLLMServer, SpanCapture, SpanRecord
from spanflow.testing.fake_llm import ServerError
from tests.instrumentation.helpers import close_clients, openai_client


def _error_facts(span: SpanRecord) -> tuple[str, str, str, list[str]]:
    return (
        span.status,
        span.status_message,
        str(span.attributes.get(attr.ERROR_TYPE)),
        [event.name for event in span.events],
    )


def test_runs_steps_and_llm_calls_record_an_exception_the_same_way(
    traced: SpanCapture, llm: FakeLLMServer
) -> None:
    """Status ERROR "<type>: <message>", semconv error.type and one exception event, everywhere."""
    import openai

    class QuotaExceeded(Exception):
        pass

    @spanflow.step(name="ask")
    def ask() -> None:
        try:
            openai_client(llm, max_retries=0).chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
            )
        except openai.InternalServerError as error:
            raise QuotaExceeded("over quota") from error

    llm.add_replies(ServerError(status=500, message="provider says no"))
    with pytest.raises(QuotaExceeded), spanflow.run("failing"):
        ask()
    close_clients()
    run_root = traced.run("failing").root
    (step_span,) = traced.spans_named("ask")
    (llm_span,) = [s for s in traced.spans() if s.attributes.get(attr.SPAN_KIND) == "llm"]
    qualname = QuotaExceeded.__qualname__
    for span in (run_root, step_span):
        assert _error_facts(span) == ("ERROR", f"{qualname}: over quota", qualname, ["exception"])
    status, description, error_type, events = _error_facts(llm_span)
    assert (status, error_type, events) == ("ERROR", "InternalServerError", ["exception"])
    assert description.startswith("InternalServerError: ") and "provider says no" in description
