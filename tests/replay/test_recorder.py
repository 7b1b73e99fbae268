"""A call's response recorder: what it keeps once the call is over."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider

from spanflow.replaying import set_recording
from spanflow.replaying._recorder import recorder_for


@pytest.fixture
def recording() -> Iterator[None]:
    set_recording(True)
    try:
        yield
    finally:
        set_recording(None)


@pytest.mark.usefixtures("recording")
def test_a_recorder_lets_its_ended_span_be_collected() -> None:
    """A finished call's span, its messages and recording, is freed once the program drops it."""
    span = TracerProvider().get_tracer("test").start_span("chat model")
    recorder = recorder_for(span, "request-key")
    assert recorder is not None
    assert recorder.span is span
    assert recorder_for(span, "request-key") is recorder  # one recorder per call, retries too
    span.end()
    collected = weakref.ref(span)
    del span, recorder
    gc.collect()
    assert collected() is None
