"""Replay recording's CPU on the caller's thread per chat call, against a reference revision.

The chat call of ``bench_overhead.py`` (real ``openai`` client, the fake LLM server in this
process, a re-sent 13-message history, content capture on) in 1,000-call loops. Around the
replay hook's own work on the caller's thread (reading the request and computing its key,
starting the recorder, recording the response: redact, pack, set the attribute) the thread's
CPU is summed with ``time.thread_time()``, as it is around the request key and the packing
alone. With ``--reference REV`` the key and packing code of that git revision
(``src/spanflow/replaying/_exchange.py``) runs in alternate loops of the same process,
interleaved, so machine drift hits both alike; medians and min-max over the pairs. Run:
``.venv/bin/python bench/bench_replay_recording.py --reference REV``.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import openai
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

import spanflow
from spanflow.replaying import _recorder, _transport
from spanflow.testing.fake_llm import FakeLLMServer

sys.path.insert(0, str(Path(__file__).parent))
from bench_overhead import REPLY_TEXT, history_messages

PARTS = ("replay hook", "request key", "pack")


class _Dropping(SpanExporter):
    def export(self, spans: Any) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def reference_exchange(revision: str) -> ModuleType:
    """``_exchange.py`` as it was at ``revision``, loaded under a name of its own."""
    source = subprocess.run(
        ["git", "show", f"{revision}:src/spanflow/replaying/_exchange.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "reference_exchange.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("reference_exchange", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


class Meter:
    """Caller-thread CPU summed per part while a loop runs."""

    def __init__(self) -> None:
        self.spent_s = dict.fromkeys(PARTS, 0.0)

    def timed(self, part: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def measured(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return function(*args, **kwargs)
            finally:
                self.spent_s[part] += time.thread_time() - started

        return measured


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", help="git revision whose key and packing code to compare")
    parser.add_argument("--calls", type=int, default=1000, help="calls per loop")
    parser.add_argument("--pairs", type=int, default=8, help="interleaved loops per variant")
    options = parser.parse_args()

    meter = Meter()
    for hook in ("_prepare", "_recorder", "_observe"):
        setattr(_transport, hook, meter.timed("replay hook", getattr(_transport, hook)))
    variants: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
        "current": (_transport.canonical_request_hash, _recorder.pack)
    }
    if options.reference:
        old = reference_exchange(options.reference)
        variants[options.reference] = (old.canonical_request_hash, old.pack)
    results: dict[str, dict[str, list[float]]] = {v: {p: [] for p in PARTS} for v in variants}

    with FakeLLMServer(lambda request: REPLY_TEXT) as llm:
        spanflow.configure(exporters=[_Dropping()], capture_content=True, dataflow=False)
        spanflow.instrument()
        client = openai.OpenAI(base_url=llm.openai_base_url, api_key="bench", max_retries=0)
        messages: Any = history_messages()
        with spanflow.run("replay-recording-bench"):
            for _ in range(50):  # warm-up: caches, connection
                client.chat.completions.create(model="bench-model", messages=messages)
            names = list(variants)
            for pair in range(options.pairs):
                for name in names if pair % 2 == 0 else reversed(names):
                    key, pack = variants[name]
                    _transport.canonical_request_hash = meter.timed("request key", key)
                    _recorder.pack = meter.timed("pack", pack)
                    meter.spent_s = dict.fromkeys(PARTS, 0.0)
                    for _ in range(options.calls):
                        client.chat.completions.create(model="bench-model", messages=messages)
                    for part in PARTS:
                        results[name][part].append(meter.spent_s[part] / options.calls * 1e6)

    print(f"caller-thread CPU, µs per call, median (min-max) of {options.pairs} loops")
    for name, parts in results.items():
        print(f"  {name:>12}: " + ", ".join(f"{p} {_spread(parts[p])}" for p in PARTS))
    if options.reference:
        current, reference = results["current"], results[options.reference]
        saved = {p: [r - c for r, c in zip(reference[p], current[p], strict=True)] for p in PARTS}
        print(
            "  saved, per interleaved pair: " + ", ".join(f"{p} {_spread(saved[p])}" for p in PARTS)
        )
    return 0


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.0f} ({min(values):.0f}..{max(values):.0f})"


if __name__ == "__main__":
    sys.exit(main())
