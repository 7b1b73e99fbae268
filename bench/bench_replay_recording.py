"""Replay recording's CPU on the caller's thread per chat call, against a reference checkout.

The chat call of ``bench_overhead.py`` (real ``openai`` client, the fake LLM server in the same
process, a re-sent 13-message history, content capture on) in 1,000-call loops. Around the
replay hook's own work on the caller's thread (reading the request and computing its key,
starting the recorder, recording the response: redact, pack, set the attribute) the thread's
CPU is summed with ``time.thread_time()``, as it is around the request key and the packing
alone.

With ``--reference DIR`` (a checkout of the revision to compare, e.g. a ``git worktree``) each
loop runs in a fresh worker process importing spanflow from this checkout or from ``DIR/src``,
alternately (the order flips every pair), so machine drift hits both alike; medians and
min-max over the pairs. Run:
``.venv/bin/python bench/bench_replay_recording.py --reference ../main-checkout``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PARTS = ("replay hook", "request key", "pack")


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


def worker(calls: int) -> dict[str, float]:
    """One loop of ``calls`` chat calls in this process: caller-thread CPU, µs per call."""
    import openai
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    import spanflow
    from spanflow.replaying import _recorder, _transport
    from spanflow.testing.fake_llm import FakeLLMServer

    sys.path.insert(0, str(HERE))
    from bench_overhead import REPLY_TEXT, history_messages

    class Dropping(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    meter = Meter()
    for hook in ("_prepare", "_recorder", "_observe"):
        setattr(_transport, hook, meter.timed("replay hook", getattr(_transport, hook)))
    _transport.canonical_request_hash = meter.timed(
        "request key", _transport.canonical_request_hash
    )
    _recorder.pack = meter.timed("pack", _recorder.pack)

    with FakeLLMServer(lambda request: REPLY_TEXT) as llm:
        spanflow.configure(exporters=[Dropping()], capture_content=True, dataflow=False)
        spanflow.instrument()
        client = openai.OpenAI(base_url=llm.openai_base_url, api_key="bench", max_retries=0)
        messages: Any = history_messages()
        with spanflow.run("replay-recording-bench"):
            for _ in range(50):  # warm-up: caches, connection
                client.chat.completions.create(model="bench-model", messages=messages)
            meter.spent_s = dict.fromkeys(PARTS, 0.0)
            for _ in range(calls):
                client.chat.completions.create(model="bench-model", messages=messages)
    return {part: meter.spent_s[part] / calls * 1e6 for part in PARTS}


def run_worker(source: Path | None, calls: int) -> dict[str, float]:
    """A worker process importing spanflow from ``source`` (None: this checkout)."""
    environment = dict(os.environ)
    if source is not None:
        environment["PYTHONPATH"] = os.pathsep.join(
            [str(source / "src"), environment.get("PYTHONPATH", "")]
        ).rstrip(os.pathsep)
    finished = subprocess.run(
        [sys.executable, __file__, "--worker", "--calls", str(calls)],
        check=True,
        capture_output=True,
        text=True,
        env=environment,
    )
    result: dict[str, float] = json.loads(finished.stdout.splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, help="checkout of the revision to compare")
    parser.add_argument("--calls", type=int, default=1000, help="calls per loop")
    parser.add_argument("--pairs", type=int, default=8, help="loops (worker processes) per side")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.worker:
        print(json.dumps(worker(options.calls)))
        return 0

    sides: dict[str, Path | None] = {"current": None}
    if options.reference:
        sides["reference"] = options.reference.resolve()
    results: dict[str, dict[str, list[float]]] = {s: {p: [] for p in PARTS} for s in sides}
    loads: list[float] = []
    names = list(sides)
    for pair in range(options.pairs):
        for name in names if pair % 2 == 0 else reversed(names):
            measured = run_worker(sides[name], options.calls)
            for part in PARTS:
                results[name][part].append(measured[part])
            loads.append(os.getloadavg()[0])

    print(f"caller-thread CPU, µs per call, median (min-max) of {options.pairs} loops")
    for name, parts in results.items():
        print(f"  {name:>9}: " + ", ".join(f"{p} {_spread(parts[p])}" for p in PARTS))
    if options.reference:
        current, reference = results["current"], results["reference"]
        saved = {p: [r - c for r, c in zip(reference[p], current[p], strict=True)] for p in PARTS}
        print(
            "  saved, per interleaved pair: " + ", ".join(f"{p} {_spread(saved[p])}" for p in PARTS)
        )
    print(f"1-minute load average: {min(loads):.2f}..{max(loads):.2f}")
    return 0


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.0f} ({min(values):.0f}..{max(values):.0f})"


if __name__ == "__main__":
    sys.exit(main())
