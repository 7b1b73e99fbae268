"""Fixtures: spanflow's span capture with LLM clients and frameworks instrumented, a fake LLM."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

import spanflow
from spanflow.instrumentation import _guard, content
from spanflow.testing import FakeLLMServer, SpanCapture


@pytest.fixture
def traced(spanflow_capture: SpanCapture) -> Iterator[SpanCapture]:
    """Every installed client and framework instrumented for the test, uninstrumented after."""
    content.set_content_capture()
    _guard.reset_reported()
    spanflow.instrument()
    try:
        yield spanflow_capture
    finally:
        spanflow.uninstrument()
        gc.collect()


@pytest.fixture
def llm() -> Iterator[FakeLLMServer]:
    """A fake OpenAI-compatible server on loopback."""
    with FakeLLMServer() as server:
        yield server
