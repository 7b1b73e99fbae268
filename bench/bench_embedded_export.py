"""Embedded exporter cost per span: LLM spans written into a local SQLite index in-process.

With no collector configured the SDK exports into the index itself (``EmbeddedSpanExporter``
behind a batch processor). The spans here carry what the SDK's LLM instrumentation records:
GenAI attributes and about 1.5 KB of message JSON built by the SDK's own renderer (so redacted
by it), in export batches of 512. Two variants, interleaved per round, each on fresh spans:

* ``SDK-rendered content``: the spans as the SDK made them;
* ``same content, not from the SDK``: the same attribute values copied into new strings, as
  another instrumentation would hand them over, which the store must scan for secrets.

Usage: ``.venv/bin/python bench/bench_embedded_export.py [--spans 4096] [--rounds 5]``
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind

from spanflow import attributes as attr
from spanflow._internal.embedded_export import EmbeddedSpanExporter
from spanflow.instrumentation._messages import set_json_array

BATCH_SIZE = 512
_SPAN_NUMBERS = itertools.count()  # every span's messages differ, as across real calls


class _Collected(SpanExporter):
    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS


def _messages(n: int) -> list[dict[str, Any]]:
    question = f"Question {n}: summarise the incident report and list the follow-ups. " * 4
    return [
        {"role": "system", "parts": [{"type": "text", "content": "You are a careful SRE. " * 8}]},
        {"role": "user", "parts": [{"type": "text", "content": question}]},
        {"role": "assistant", "parts": [{"type": "text", "content": f"Answer {n}. " * 30}]},
        {"role": "user", "parts": [{"type": "text", "content": "And the owners? " * 10}]},
    ]


def build_spans(count: int, *, fresh_strings: bool) -> list[ReadableSpan]:
    """``count`` LLM spans whose message JSON the SDK rendered (optionally copied afterwards)."""
    collected = _Collected()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(collected))
    tracer = provider.get_tracer("spanflow")
    for n in itertools.islice(_SPAN_NUMBERS, count):
        found: dict[str, Any] = {
            attr.RUN_ID: "bench-run",
            attr.GEN_AI_OPERATION_NAME: "chat",
            attr.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
            attr.GEN_AI_USAGE_INPUT_TOKENS: 420,
            attr.GEN_AI_USAGE_OUTPUT_TOKENS: 64,
        }
        set_json_array(found, attr.GEN_AI_INPUT_MESSAGES, _messages(n))
        output = [{"role": "assistant", "parts": [{"type": "text", "content": f"Done {n}. " * 20}]}]
        set_json_array(found, attr.GEN_AI_OUTPUT_MESSAGES, output)
        if fresh_strings:
            found = {
                key: json.loads(json.dumps(value)) if isinstance(value, str) else value
                for key, value in found.items()
            }
        with tracer.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT) as span:
            span.set_attributes(found)
    provider.shutdown()
    return collected.spans


def export_us_per_span(
    build: Callable[[int], list[ReadableSpan]], spans: int, index: Path
) -> float:
    """CPU microseconds per span (this thread's) to export ``spans`` spans in batches, each
    batch one commit.

    Each batch is built just before its export (untimed), as a batch processor drains its
    queue while the program runs.
    """
    exporter = EmbeddedSpanExporter(index)
    exported = 0
    elapsed_s = 0.0
    try:
        while exported < spans:
            batch = build(min(BATCH_SIZE, spans - exported))
            started = time.thread_time()
            result = exporter.export(batch)
            elapsed_s += time.thread_time() - started
            if result is not SpanExportResult.SUCCESS:
                raise RuntimeError("the embedded export failed")
            exported += len(batch)
        return elapsed_s / spans * 1e6
    finally:
        exporter.shutdown()


def main() -> int:
    """Run both variants ``--rounds`` times, interleaved; print medians and ranges."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spans", type=int, default=8 * BATCH_SIZE)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    variants: dict[str, Callable[[int], list[ReadableSpan]]] = {
        "SDK-rendered content": lambda count: build_spans(count, fresh_strings=False),
        "same content, not from the SDK": lambda count: build_spans(count, fresh_strings=True),
    }
    figures: dict[str, list[float]] = {name: [] for name in variants}
    with tempfile.TemporaryDirectory(prefix="spanflow-bench-") as workdir:
        for round_ in range(args.rounds):
            for number, (name, build) in enumerate(variants.items()):
                index = Path(workdir) / f"round-{round_}-variant-{number}.db"
                figures[name].append(export_us_per_span(build, args.spans, index))
                print(f"round {round_ + 1}: {name}: {figures[name][-1]:.1f} µs/span", flush=True)
    print()
    print("| variant | µs per span (median) | min-max |")
    print("|---|---:|---:|")
    for name, values in figures.items():
        print(f"| {name} | {statistics.median(values):.1f} | {min(values):.1f}-{max(values):.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
