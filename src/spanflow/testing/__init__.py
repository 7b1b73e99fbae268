"""Testing helpers: a fake LLM server, in-memory span capture, run assertions, an OTLP receiver.

Import-light on purpose; everything here is a re-export.
"""

from __future__ import annotations

from spanflow.testing.capture import SpanCapture, capture_spans
from spanflow.testing.fake_llm import FakeLLMServer
from spanflow.testing.otlp_receiver import OTLPReceiver, export_to
from spanflow.testing.records import CapturedRun, MetricPoint, SpanRecord

__all__ = [
    "CapturedRun",
    "FakeLLMServer",
    "MetricPoint",
    "OTLPReceiver",
    "SpanCapture",
    "SpanRecord",
    "capture_spans",
    "export_to",
]
