"""An endpoint that refuses for good (400): spans dropped, said once, counted on the run."""

from __future__ import annotations

import logging

import pytest

import spanflow
from spanflow import attributes
from spanflow._internal import config
from spanflow.testing import OTLPReceiver, export_to


def test_spans_refused_with_400_are_dropped_logged_and_counted_on_the_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A 400 makes force_flush False, logs the endpoint and status, and the run shows the gap."""
    caplog.set_level(logging.ERROR, logger="spanflow")
    with OTLPReceiver() as receiver, export_to(receiver):
        receiver.answer_status = 400
        with spanflow.run("refused") as run:
            tracer = config.tracer()
            for n in range(5):
                with tracer.start_as_current_span(f"refused-{n}"):
                    pass
            assert spanflow.force_flush(timeout_s=10) is False
            receiver.answer_status = None
            with tracer.start_as_current_span("accepted"):
                pass
        assert spanflow.force_flush(timeout_s=10) is True
        root = receiver.wait_for_span(kind=attributes.SpanKindValue.RUN, run_id=run.id)
        names = {span.name for span in receiver.spans()}
    refusals = [record for record in caplog.records if "HTTP 400" in record.getMessage()]
    assert len(refusals) == 1 and receiver.endpoint in refusals[0].getMessage()
    # The five spans were refused (run records are logs, not spans); the rest arrived.
    assert root.attributes[attributes.RUN_DROPPED_SPANS] == 5
    assert "accepted" in names and not any(name.startswith("refused-") for name in names)


def test_a_run_that_lost_nothing_carries_no_dropped_count() -> None:
    """Without losses the root span has no ``spanflow.run.dropped_spans`` at all."""
    with OTLPReceiver() as receiver, export_to(receiver):
        with spanflow.run("whole") as run:
            pass
        assert spanflow.force_flush(timeout_s=10) is True
        root = receiver.wait_for_span(kind=attributes.SpanKindValue.RUN, run_id=run.id)
    assert attributes.RUN_DROPPED_SPANS not in root.attributes


def test_an_internal_failure_in_the_sender_never_reaches_user_code(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug inside the transport drops that request, logs once, and the run still returns."""
    from spanflow._internal import otlp_transport
    from spanflow._internal.guard import reset_reported

    reset_reported()  # "logged once" means once per place and process; start this test afresh

    def broken_sender(endpoint: object) -> object:
        raise RuntimeError("injected sender failure")

    monkeypatch.setattr(otlp_transport, "make_sender", broken_sender)
    with OTLPReceiver() as receiver, export_to(receiver):
        with spanflow.run("survives") as run:
            result = "user value"
        assert spanflow.force_flush(timeout_s=10) is False
    assert result == "user value" and run.status == "completed"
    assert any("while sending OTLP requests" in record.getMessage() for record in caplog.records)
