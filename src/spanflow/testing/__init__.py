"""Testing helpers: a fake LLM server, in-memory capture of spans and run records, run
assertions, an OTLP receiver.

Import-light on purpose; everything here is a re-export.
"""

from __future__ import annotations

from spanflow.query.records import MetricPointValue, RunRecord, SpanRecord
from spanflow.testing.capture import SpanCapture, capture_spans
from spanflow.testing.fake_llm import FakeLLMServer
from spanflow.testing.otlp_receiver import OTLPReceiver, export_to
from spanflow.testing.records import CapturedRun, MetricPoint

__all__ = [
    "CapturedRun",
    "FakeLLMServer",
    "MetricPoint",
    "MetricPointValue",
    "OTLPReceiver",
    "RunRecord",
    "SpanCapture",
    "SpanRecord",
    "capture_spans",
    "export_to",
]
