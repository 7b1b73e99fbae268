"""Fixtures: spanflow's span capture with the LLM clients instrumented, and the fake LLM server."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

import spanflow
from spanflow.instrumentation import _guard, content
from spanflow.testing import FakeLLMServer, SpanCapture
from tests.instrumentation.helpers import close_clients


@pytest.fixture
def traced(spanflow_capture: SpanCapture) -> Iterator[SpanCapture]:
    """Both providers instrumented for the test, uninstrumented afterwards."""
    content.set_content_capture()
    _guard.reset_reported()
    spanflow.instrument()
    try:
        yield spanflow_capture
    finally:
        close_clients()
        spanflow.uninstrument()
        gc.collect()


@pytest.fixture
def llm() -> Iterator[FakeLLMServer]:
    """A fake OpenAI/Anthropic server on loopback."""
    with FakeLLMServer() as server:
        yield server
