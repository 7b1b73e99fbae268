"""The LLM-call wrapper's CPU on the caller's thread, alone, against a reference source tree.

``bench_overhead.py``'s four workloads (chat, streamed chat, Responses API, Anthropic messages;
a re-sent 13-message history, content capture on) are answered once by the fake LLM server;
then spanflow's request wrapper runs over and over on those recorded responses, with no HTTP
and no client library around it: reading the request, starting the span, making it current,
reading the response (or the stream, chunk by chunk), the dataflow hand-offs and ending the
span. Replay recording is off (``record_responses=False``: it lives in the HTTP transport,
which this loop does not go through). Spans go through spanflow's pipeline into an exporter
that drops them.

Each round starts one process per tree (this checkout, and ``--reference PATH``, e.g. a
worktree of main), interleaved; each process reports, per workload, the least thread CPU
(``time.thread_time()``) per call over five loops of ``--calls`` calls. Printed: the median
over the rounds, with min..max. Run::

    git worktree add --detach /tmp/ref main
    .venv/bin/python bench/bench_callpath.py --reference /tmp/ref --rounds 5 --dataflow off
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
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from bench_overhead import REPLY_TEXT, WORKLOADS, history_messages

HERE = Path(__file__).resolve().parent.parent
LOOPS = 5


def recorded_responses(openai_url: str, anthropic_url: str) -> tuple[dict[str, Any], Any, Any]:
    """Each workload's response (the stream as its list of chunks), and the two clients."""
    import anthropic
    import openai

    client = openai.OpenAI(base_url=openai_url, api_key="bench", max_retries=0)
    claude = anthropic.Anthropic(base_url=anthropic_url, api_key="bench", max_retries=0)
    messages: Any = history_messages()
    system, conversation = messages[0]["content"], messages[1:]
    chat = client.chat.completions
    responses = {
        "chat": chat.create(model="bench-model", messages=messages),
        "stream": list(
            chat.create(
                model="bench-model",
                messages=messages,
                stream=True,
                stream_options={"include_usage": True},
            )
        ),
        "responses": client.responses.create(
            model="bench-model", input=conversation, instructions=system
        ),
        "anthropic": claude.messages.create(
            model="bench-model", max_tokens=256, system=system, messages=conversation
        ),
    }
    return responses, client, claude


def wrapped_calls(
    responses: dict[str, Any], client: Any, claude: Any
) -> dict[str, Callable[[], None]]:
    """One call per workload through spanflow's request wrappers, answered by ``responses``."""
    from spanflow._version import get_tracer
    from spanflow.instrumentation import anthropic as anthropic_hooks
    from spanflow.instrumentation import openai as openai_hooks
    from spanflow.instrumentation._request import sync_request_wrapper
    from spanflow.instrumentation.openai._compatible import provider_of

    openai_wrapper = sync_request_wrapper(
        get_tracer("spanflow.instrumentation.openai"), openai_hooks.route, provider_of=provider_of
    )
    anthropic_wrapper = sync_request_wrapper(
        get_tracer("spanflow.instrumentation.anthropic"),
        anthropic_hooks.route,
        anthropic_hooks._SDK_SPANS.suppressed,
        anthropic_hooks.provider_of,
    )
    messages = history_messages()
    system, conversation = messages[0]["content"], messages[1:]

    def options(url: str, body: dict[str, Any]) -> SimpleNamespace:
        return SimpleNamespace(method="post", url=url, json_data=body)

    chat = options("/chat/completions", {"messages": messages, "model": "bench-model"})
    stream = options(
        "/chat/completions",
        {
            "messages": messages,
            "model": "bench-model",
            "stream": True,
            "stream_options": {"include_usage": True},
        },
    )
    answer = options(
        "/responses", {"input": conversation, "instructions": system, "model": "bench-model"}
    )
    message = options(
        "/v1/messages",
        {"max_tokens": 256, "messages": conversation, "model": "bench-model", "system": system},
    )

    def call_chat() -> None:
        openai_wrapper(lambda *a, **k: responses["chat"], client, (object, chat), {})

    def call_stream() -> None:
        chunks = iter(responses["stream"])
        for _ in openai_wrapper(lambda *a, **k: chunks, client, (object, stream), {"stream": True}):
            pass

    def call_responses() -> None:
        openai_wrapper(lambda *a, **k: responses["responses"], client, (object, answer), {})

    def call_anthropic() -> None:
        anthropic_wrapper(lambda *a, **k: responses["anthropic"], claude, (object, message), {})

    return {
        "chat": call_chat,
        "stream": call_stream,
        "responses": call_responses,
        "anthropic": call_anthropic,
    }


def run_worker(openai_url: str, anthropic_url: str, calls: int, dataflow: bool) -> None:
    """Measure this process's spanflow; print ``{workload: µs per call}`` as JSON."""
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    import spanflow

    class Dropping(SpanExporter):
        def export(self, spans: Sequence[Any]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    responses, client, claude = recorded_responses(openai_url, anthropic_url)
    spanflow.configure(
        exporters=[Dropping()], dataflow=dataflow, capture_content=True, record_responses=False
    )
    spanflow.instrument("openai", "anthropic")
    found: dict[str, float] = {}
    with spanflow.run("bench-callpath"):
        for workload, call in wrapped_calls(responses, client, claude).items():
            for _ in range(50):
                call()  # warm-up: message caches, lazy imports
            loops = []
            for _ in range(LOOPS):
                started_s = time.thread_time()
                for _ in range(calls):
                    call()
                loops.append((time.thread_time() - started_s) / calls * 1e6)
            found[workload] = min(loops)
    spanflow.force_flush()
    print(json.dumps(found))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", help="another source tree (e.g. a worktree of main)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--dataflow", choices=("on", "off"), default="off")
    parser.add_argument("--worker", nargs=2, metavar=("OPENAI_URL", "ANTHROPIC_URL"))
    args = parser.parse_args()
    if args.worker:
        run_worker(*args.worker, args.calls, args.dataflow == "on")
        return
    from spanflow.testing.fake_llm import FakeLLMServer

    trees = {"this": HERE} | ({"reference": Path(args.reference)} if args.reference else {})
    found: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    with FakeLLMServer(lambda request: REPLY_TEXT) as llm:
        urls = [llm.openai_base_url, llm.anthropic_base_url]
        for _ in range(args.rounds):
            for name, tree in trees.items():
                env = {**os.environ, "PYTHONPATH": f"{tree.resolve()}/src",
                       "SPANFLOW_EXPORTERS": "none", "OTEL_TRACES_EXPORTER": "none"}  # fmt: skip
                worker = subprocess.run(
                    [sys.executable, __file__, "--worker", *urls, "--calls", str(args.calls),
                     "--dataflow", args.dataflow],
                    capture_output=True, text=True, env=env, check=False,
                )  # fmt: skip
                if worker.returncode != 0:
                    raise SystemExit(f"{name} failed:\n{worker.stderr[-3000:]}")
                found[name].append(json.loads(worker.stdout.strip().splitlines()[-1]))
    print(
        f"Caller-thread CPU per call of the wrapper alone, µs: median (min..max) of {args.rounds}"
        f" rounds, each the best of {LOOPS} loops of {args.calls}; dataflow {args.dataflow}; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(f"{'tree':<12}" + "".join(f"{w:>20}" for w in WORKLOADS))
    for name, rounds in found.items():
        cells = []
        for workload in WORKLOADS:
            values = [r[workload] for r in rounds]
            cells.append(f"{statistics.median(values):.0f} ({min(values):.0f}..{max(values):.0f})")
        print(f"{name:<12}" + "".join(f"{cell:>20}" for cell in cells))


if __name__ == "__main__":
    main()
