"""Overhead of LLM-call instrumentation: spanflow side by side with the peers, as ratios.

One fake LLM server (spanflow.testing) runs in this process; each variant runs in its own
subprocess so the peers' monkey patches never meet. Every variant makes the same chat calls with
the real ``openai`` client — non-streaming and streaming, with a re-sent multi-turn history —
and exports its spans through a BatchSpanProcessor into an exporter that drops them (spanflow:
its own pipeline into the same kind of exporter). Content capture is on for everyone.

Reported per call: median wall-clock latency and process CPU time (all threads of the worker:
the caller, span processors, spanflow's dataflow worker), each as the difference from the
uninstrumented client and as a ratio to it. Run with ``bench/run.sh`` (a separate venv with
the peers installed); ``--quick`` for a smoke run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

VARIANTS: dict[str, str] = {
    "baseline": "openai, uninstrumented",
    "spanflow": "spanflow (dataflow on)",
    "spanflow-nodataflow": "spanflow (dataflow off)",
    "openllmetry": "OpenLLMetry",
    "openinference": "OpenInference",
    "otel-openai-v2": "OTel openai-v2",
}

REPLY_TEXT = " ".join(
    f"word{i}" if i % 7 else f"Result {i} is ready and the next step follows." for i in range(60)
)
HISTORY_TURNS = 6


def history_messages() -> list[dict[str, str]]:
    """A re-sent conversation: system prompt and several user/assistant turns (~4 KB)."""
    messages = [{"role": "system", "content": "You are a careful research assistant. " * 8}]
    for turn in range(HISTORY_TURNS):
        messages.append({"role": "user", "content": f"Question {turn}: " + "context " * 60})
        messages.append({"role": "assistant", "content": f"Answer {turn}: " + "finding " * 50})
    messages.append({"role": "user", "content": "Summarise everything so far."})
    return messages


# --- worker: one variant in its own process ----------------------------------------------------
def dropping_exporter() -> Any:
    """A span exporter that counts spans and keeps nothing (a real ``SpanExporter``)."""
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    class DroppingExporter(SpanExporter):
        def __init__(self) -> None:
            self.count = 0

        def export(self, spans: Sequence[Any]) -> SpanExportResult:
            self.count += len(spans)
            return SpanExportResult.SUCCESS

    return DroppingExporter()


def _peer_provider(exporter: Any) -> Any:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter))  # type: ignore[arg-type]
    return provider


def setup_variant(variant: str, exporter: Any) -> Callable[[], None]:
    """Instrument for ``variant``; returns a function that flushes its spans."""
    if variant == "baseline":
        return lambda: None
    if variant.startswith("spanflow"):
        import spanflow

        spanflow.configure(
            exporters=[exporter],  # type: ignore[list-item]
            dataflow=variant == "spanflow",
            capture_content=True,
        )
        instrument = getattr(spanflow, "instrument", None)
        if instrument is None:
            raise SystemExit("this spanflow has no instrument(): nothing to measure")
        instrument()
        return lambda: spanflow.force_flush()
    provider = _peer_provider(exporter)
    if variant == "openllmetry":
        os.environ["TRACELOOP_TRACE_CONTENT"] = "true"
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(tracer_provider=provider)
    elif variant == "openinference":
        from openinference.instrumentation.openai import OpenAIInstrumentor as OIInstrumentor

        OIInstrumentor().instrument(tracer_provider=provider)
    elif variant == "otel-openai-v2":
        os.environ["OTEL_SEMCONV_STABILITY_OPT_IN"] = "gen_ai_latest_experimental"
        os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "SPAN_ONLY"
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor as V2Instrumentor

        V2Instrumentor().instrument(tracer_provider=provider)
    else:
        raise SystemExit(f"unknown variant {variant!r}")
    return lambda: provider.force_flush()


def measure(one_call: Callable[[], None], *, calls: int, warmup: int) -> dict[str, float]:
    """Median/mean wall time and CPU time per call, in microseconds."""
    for _ in range(warmup):
        one_call()
    wall_ns: list[int] = []
    cpu_start = time.process_time()
    for _ in range(calls):
        started = time.perf_counter_ns()
        one_call()
        wall_ns.append(time.perf_counter_ns() - started)
    cpu_s = time.process_time() - cpu_start
    return {
        "median_us": statistics.median(wall_ns) / 1000,
        "mean_us": statistics.fmean(wall_ns) / 1000,
        "cpu_us": cpu_s / calls * 1e6,
    }


def run_worker(variant: str, base_url: str, calls: int, warmup: int) -> dict[str, Any]:
    """Measure one variant against the server at ``base_url``."""
    exporter = dropping_exporter()
    flush = setup_variant(variant, exporter)
    from openai import OpenAI

    messages = history_messages()
    with OpenAI(base_url=base_url, api_key="bench", max_retries=0) as client:

        def plain() -> None:
            client.chat.completions.create(model="bench-model", messages=messages)  # type: ignore[arg-type]

        def streamed() -> None:
            stream = client.chat.completions.create(
                model="bench-model",
                messages=messages,  # type: ignore[arg-type]
                stream=True,
            )
            for _ in stream:
                pass

        def measure_all() -> dict[str, Any]:
            return {
                "plain": measure(plain, calls=calls, warmup=warmup),
                "stream": measure(streamed, calls=calls, warmup=warmup),
            }

        if variant.startswith("spanflow"):
            import spanflow

            with spanflow.run("bench-overhead"):
                results = measure_all()
        else:
            results = measure_all()
    flush()
    results["spans_per_call"] = exporter.count / (2 * (calls + warmup))
    return results


# --- parent: server, rounds, table --------------------------------------------------------------
def run_variant(variant: str, base_url: str, calls: int, warmup: int) -> dict[str, Any]:
    """Run one variant's worker subprocess and return its measurements."""
    done = subprocess.run(
        [sys.executable, __file__, "--worker", variant, "--base-url", base_url,
         "--calls", str(calls), "--warmup", str(warmup)],
        capture_output=True, text=True, timeout=900,
        env={**os.environ, "SPANFLOW_EXPORTERS": "none"},
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"{variant} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def median_of_rounds(rounds: list[dict[str, Any]], mode: str, key: str) -> float:
    return statistics.median(r[mode][key] for r in rounds)


def print_table(results: dict[str, list[dict[str, Any]]], *, calls: int, rounds: int) -> None:
    """Per-call latency and CPU, their increase over the baseline and the ratio to it."""
    base = results["baseline"]
    print(f"\nPer chat call, median of {rounds} rounds x {calls} calls "
          f"({len(history_messages())} re-sent messages, 60-word reply)")  # fmt: skip
    header = (f"{'variant':<24}{'mode':<8}{'latency us':>11}{'added':>9}{'ratio':>7}"
              f"{'CPU us':>9}{'added':>9}{'ratio':>7}{'spans/call':>12}")  # fmt: skip
    print(header)
    print("-" * len(header))
    for variant, rounds_data in results.items():
        for mode in ("plain", "stream"):
            latency = median_of_rounds(rounds_data, mode, "median_us")
            cpu = median_of_rounds(rounds_data, mode, "cpu_us")
            base_latency = median_of_rounds(base, mode, "median_us")
            base_cpu = median_of_rounds(base, mode, "cpu_us")
            spans = statistics.median(r["spans_per_call"] for r in rounds_data)
            print(f"{VARIANTS[variant]:<24}{mode:<8}{latency:>11.0f}{latency - base_latency:>+9.0f}"
                  f"{latency / base_latency:>7.2f}{cpu:>9.0f}{cpu - base_cpu:>+9.0f}"
                  f"{cpu / base_cpu:>7.2f}{spans:>12.2f}")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", choices=sorted(VARIANTS), help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--calls", type=int, default=300, help="measured calls per mode")
    parser.add_argument("--warmup", type=int, default=30, help="unmeasured calls first")
    parser.add_argument("--rounds", type=int, default=3, help="repeat every variant this often")
    parser.add_argument("--only", nargs="*", choices=sorted(VARIANTS), help="variants to run")
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--json", metavar="FILE", help="also write the raw results here")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(run_worker(args.worker, args.base_url, args.calls, args.warmup)))
        return 0
    if args.quick:
        args.calls, args.warmup, args.rounds = 40, 5, 1
    variants = ["baseline", *[v for v in (args.only or VARIANTS) if v != "baseline"]]

    from spanflow.testing.fake_llm import FakeLLMServer

    results: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    with FakeLLMServer(lambda request: REPLY_TEXT) as llm:
        for round_index in range(args.rounds):
            order = (
                variants[round_index % len(variants) :] + variants[: round_index % len(variants)]
            )
            for variant in order:
                print(
                    f"round {round_index + 1}/{args.rounds}: {VARIANTS[variant]}", file=sys.stderr
                )
                results[variant].append(
                    run_variant(variant, llm.openai_base_url, args.calls, args.warmup)
                )
                llm.reset()  # keep the server's request log from growing across variants
    print_table(results, calls=args.calls, rounds=args.rounds)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as output:
            json.dump(results, output, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
