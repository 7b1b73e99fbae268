"""Per-call overhead of spanflow's provider instrumentations beside the peers', as ratios.

For each provider client (google-genai, mistralai, cohere, ollama), the same chat call —
non-streaming and streaming, with a re-sent multi-turn history — runs against spanflow's fake
LLM server uninstrumented, with spanflow, and with OpenLLMetry's and OpenInference's
instrumentation for that provider where one exists and is installed. Each (provider, variant)
runs in its own subprocess so the peers' patches never meet; spans go through a
BatchSpanProcessor into an exporter that drops them. Content capture is on for everyone.

Reported per call: median wall-clock latency and process CPU time, as the difference from the
uninstrumented client and as a ratio to it. Run with ``bench/run_providers.sh`` (a venv with
the peers installed); ``--quick`` for a smoke run. A peer that is not installed is reported as
skipped, not measured.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# The workload (history, reply) and the span-counting exporter are bench_overhead's, so both
# benches measure the same calls.
from bench_overhead import REPLY_TEXT, _Counter, dropping_exporter, history_messages

PROVIDERS = ("google_genai", "mistral", "cohere", "ollama")
VARIANTS = {
    "baseline": "uninstrumented",
    "spanflow": "spanflow (dataflow on)",
    "openllmetry": "OpenLLMetry",
    "openinference": "OpenInference",
}
# (module, class) of each peer's instrumentor per provider; absent means the peer has none.
PEERS: dict[tuple[str, str], tuple[str, str]] = {
    ("openllmetry", "google_genai"): (
        "opentelemetry.instrumentation.google_generativeai",
        "GoogleGenerativeAiInstrumentor",
    ),
    ("openllmetry", "mistral"): (
        "opentelemetry.instrumentation.mistralai",
        "MistralAiInstrumentor",
    ),
    ("openllmetry", "cohere"): ("opentelemetry.instrumentation.cohere", "CohereInstrumentor"),
    ("openllmetry", "ollama"): ("opentelemetry.instrumentation.ollama", "OllamaInstrumentor"),
    ("openinference", "google_genai"): (
        "openinference.instrumentation.google_genai",
        "GoogleGenAIInstrumentor",
    ),
    ("openinference", "mistral"): (
        "openinference.instrumentation.mistralai",
        "MistralAIInstrumentor",
    ),
}


# --- worker: one provider and variant in its own process ----------------------------------------
def setup_variant(variant: str, provider: str, exporter: Any) -> Callable[[], None]:
    """Instrument for ``variant``; returns a function that flushes its spans."""
    if variant == "baseline":
        return lambda: None
    if variant == "spanflow":
        import spanflow

        spanflow.configure(exporters=[exporter], dataflow=True, capture_content=True)  # type: ignore[list-item]
        spanflow.instrument(provider)
        return lambda: spanflow.force_flush()
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    os.environ["TRACELOOP_TRACE_CONTENT"] = "true"
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(exporter))  # type: ignore[arg-type]
    module_name, class_name = PEERS[(variant, provider)]
    instrumentor = getattr(importlib.import_module(module_name), class_name)
    instrumentor().instrument(tracer_provider=tracer_provider)
    return lambda: tracer_provider.force_flush()


def provider_calls(provider: str, url: str) -> tuple[Callable[[], None], Callable[[], None]]:
    """(plain call, streamed call) of ``provider``'s client on the fake server at ``url``."""
    messages = history_messages()
    if provider == "google_genai":
        from google import genai

        client = genai.Client(api_key="bench", http_options={"base_url": url})
        contents = [
            {
                "role": "model" if m["role"] == "assistant" else "user",
                "parts": [{"text": m["content"]}],
            }
            for m in messages[1:]
        ]
        config = {"system_instruction": messages[0]["content"]}
        return (
            lambda: client.models.generate_content(model="bench", contents=contents, config=config),
            lambda: [
                c
                for c in client.models.generate_content_stream(
                    model="bench", contents=contents, config=config
                )
            ],
        )  # type: ignore[return-value]
    if provider == "mistral":
        from mistralai.client import Mistral

        mistral = Mistral(api_key="bench", server_url=url)
        return (
            lambda: mistral.chat.complete(model="bench", messages=messages),  # type: ignore[arg-type]
            lambda: [e for e in mistral.chat.stream(model="bench", messages=messages)],  # type: ignore[arg-type]
        )  # type: ignore[return-value]
    if provider == "cohere":
        import cohere

        co = cohere.ClientV2(api_key="bench", base_url=url)
        return (
            lambda: co.chat(model="bench", messages=messages),  # type: ignore[arg-type]
            lambda: [e for e in co.chat_stream(model="bench", messages=messages)],  # type: ignore[arg-type]
        )  # type: ignore[return-value]
    import ollama

    client_ = ollama.Client(host=url)
    return (
        lambda: client_.chat(model="bench", messages=messages),
        lambda: [p for p in client_.chat(model="bench", messages=messages, stream=True)],
    )  # type: ignore[return-value]


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


def run_worker(provider: str, variant: str, url: str, calls: int, warmup: int) -> dict[str, Any]:
    """Measure one provider and variant against the server at ``url``."""
    exporter = dropping_exporter()
    flush = setup_variant(variant, provider, exporter)
    plain, streamed = provider_calls(provider, url)
    results: dict[str, Any] = {
        "plain": measure(plain, calls=calls, warmup=warmup),
        "stream": measure(streamed, calls=calls, warmup=warmup),
    }
    flush()
    results["spans_per_call"] = _Counter.spans / (2 * (calls + warmup))
    return results


# --- parent ----------------------------------------------------------------------------------
def peer_installed(variant: str, provider: str) -> bool:
    """Whether ``variant`` can run for ``provider`` here."""
    if variant in ("baseline", "spanflow"):
        return True
    peer = PEERS.get((variant, provider))
    if peer is None:
        return False
    try:
        return importlib.util.find_spec(peer[0]) is not None
    except ImportError:
        return False


def run_variant(provider: str, variant: str, url: str, calls: int, warmup: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--worker", provider, variant, "--url", url,
         "--calls", str(calls), "--warmup", str(warmup)],
        capture_output=True, text=True, timeout=900,
        env={**os.environ, "SPANFLOW_EXPORTERS": "none"},
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"{provider}/{variant} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--worker", nargs=2, metavar=("PROVIDER", "VARIANT"), help=argparse.SUPPRESS
    )
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--calls", type=int, default=200, help="measured calls per mode")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured calls first")
    parser.add_argument("--providers", nargs="*", choices=PROVIDERS, default=list(PROVIDERS))
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--json", metavar="FILE", help="also write the raw results here")
    args = parser.parse_args()
    if args.worker:
        provider, variant = args.worker
        print(json.dumps(run_worker(provider, variant, args.url, args.calls, args.warmup)))
        return 0
    if args.quick:
        args.calls, args.warmup = 30, 5

    from spanflow.testing.fake_llm import FakeLLMServer

    results: dict[str, dict[str, Any]] = {}
    with FakeLLMServer(lambda request: REPLY_TEXT) as llm:
        for provider in args.providers:
            results[provider] = {}
            for variant in VARIANTS:
                if not peer_installed(variant, provider):
                    results[provider][variant] = None
                    continue
                print(f"{provider}: {VARIANTS[variant]}", file=sys.stderr)
                try:
                    results[provider][variant] = run_variant(
                        provider, variant, llm.url, args.calls, args.warmup
                    )
                except RuntimeError as failure:  # a peer that cannot handle this client version
                    if variant in ("baseline", "spanflow"):
                        raise
                    last_line = str(failure).strip().splitlines()[-1]
                    results[provider][variant] = {"error": last_line}
                llm.reset()
    print(f"\nPer chat call, {args.calls} calls ({len(history_messages())} re-sent messages)")
    header = (f"{'provider':<14}{'variant':<24}{'mode':<8}{'latency us':>11}{'ratio':>7}"
              f"{'CPU us':>9}{'added':>9}{'ratio':>7}{'spans/call':>12}")  # fmt: skip
    print(header)
    print("-" * len(header))
    for provider, by_variant in results.items():
        base = by_variant["baseline"]
        for variant, data in by_variant.items():
            if data is not None and "error" in data:
                print(f"{provider:<14}{VARIANTS[variant]:<24}failed: {data['error'][:60]}")
                continue
            if data is None:
                print(f"{provider:<14}{VARIANTS[variant]:<24}skipped (none installed)")
                continue
            for mode in ("plain", "stream"):
                latency, cpu = data[mode]["median_us"], data[mode]["cpu_us"]
                base_latency, base_cpu = base[mode]["median_us"], base[mode]["cpu_us"]
                print(f"{provider:<14}{VARIANTS[variant]:<24}{mode:<8}{latency:>11.0f}"
                      f"{latency / base_latency:>7.2f}{cpu:>9.0f}{cpu - base_cpu:>+9.0f}"
                      f"{cpu / base_cpu:>7.2f}{data['spans_per_call']:>12.2f}")  # fmt: skip
    if args.json:
        with open(args.json, "w", encoding="utf-8") as output:
            json.dump(results, output, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
