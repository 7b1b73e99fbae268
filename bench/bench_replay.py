"""Replay: what recording responses costs per call, and a replay's wall time against the original.

Runs an agent of ``--calls`` chat completions (real ``openai`` client, the fake LLM server on
loopback with ``--delay-ms`` of simulated model latency per streamed chunk) three ways into a
fresh embedded index: with response recording off, with it on, and replayed from the recording
(no server at all). Prints the wall time of each, the CPU a call's recording takes (redacting
and packing it; the wall-time difference of off and on is below the noise), and the
storage a recording takes per call (the packed attribute, before the index's content-addressed
blob store shares repeats). Run: ``.venv/bin/python bench/bench_replay.py``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import spanflow
from spanflow import attributes
from spanflow.replaying import set_recording
from spanflow.replaying._exchange import Recording, pack, unpack
from spanflow.replaying._recorder import _redacted as redacted
from spanflow.testing.fake_llm import FakeLLMServer, Reply

OFFLINE = "http://127.0.0.1:9/v1"
ANSWER = "The quick brown fox jumps over the lazy dog. " * 8


def agent(base_url: str, calls: int, name: str) -> str:
    """``calls`` chat completions, each carrying the previous answer; the run id."""
    from openai import OpenAI

    with spanflow.run(name) as run, OpenAI(base_url=base_url, api_key="k", max_retries=0) as client:
        previous = "start"
        for n in range(calls):
            stream = n % 2 == 1  # half streamed, half plain
            messages = [{"role": "user", "content": f"step {n}: {previous[:80]}"}]
            if stream:
                chunks = client.chat.completions.create(
                    model="bench",
                    messages=messages,
                    stream=True,  # type: ignore[arg-type]
                )
                previous = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            else:
                reply = client.chat.completions.create(model="bench", messages=messages)  # type: ignore[arg-type]
                previous = reply.choices[0].message.content or ""
    return run.id


def timed(function: object, *args: object) -> tuple[float, str]:
    started = time.perf_counter()
    run_id = function(*args)  # type: ignore[operator]
    spanflow.force_flush()
    return time.perf_counter() - started, str(run_id)


def recording_cpu_s(stored: list[str], rounds: int = 20) -> float:
    """Seconds per call spent recording: redacting and packing each stored recording again."""
    recordings = [unpack(text) for text in stored]
    started = time.perf_counter()
    for _ in range(rounds):
        for recording in recordings:
            pack(Recording(tuple(redacted(exchange) for exchange in recording.exchanges)))
    return (time.perf_counter() - started) / (rounds * len(recordings))


def generator_stream_us_per_chunk(chunks: int = 100_000, rounds: int = 5) -> float:
    """Microseconds a generator stream (Ollama, Cohere, Google Gen AI) adds per chunk.

    Such a stream sends its request on the first ``next()``, so the call's span is made current
    around every ``next()`` (``_method._sent_inside_span``); this times that against the bare
    generator, best of ``rounds``.
    """
    from opentelemetry.sdk.trace import TracerProvider

    from spanflow.instrumentation._call import LLMCall
    from spanflow.instrumentation._method import _sent_inside_span
    from spanflow.instrumentation.ollama._adapters import ChatAdapter

    tracer = TracerProvider().get_tracer("bench")

    def drain(wrap: bool) -> float:
        call = LLMCall(tracer, ChatAdapter(), {"model": "bench", "messages": []}, stream=True)
        stream = (n for n in range(chunks))
        started = time.perf_counter()
        for _ in _sent_inside_span(call, stream) if wrap else stream:
            pass
        return time.perf_counter() - started

    bare = min(drain(False) for _ in range(rounds))
    inside = min(drain(True) for _ in range(rounds))
    return (inside - bare) / chunks * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--delay-ms", type=float, default=2.0, help="per streamed chunk")
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        index = Path(folder) / "index.db"
        spanflow.configure(exporters=["embedded"], db_path=index)
        spanflow.instrument()
        off: list[float] = []
        on: list[float] = []
        replayed: list[float] = []
        run_id = ""
        reply = Reply(text=ANSWER)
        with FakeLLMServer(default=lambda _: reply, stream_delay_s=options.delay_ms / 1000) as llm:
            for attempt in range(options.repeat):
                set_recording(False)
                off.append(timed(agent, llm.openai_base_url, options.calls, f"off-{attempt}")[0])
                set_recording(True)
                elapsed, run_id = timed(agent, llm.openai_base_url, options.calls, f"on-{attempt}")
                on.append(elapsed)
        for attempt in range(options.repeat):
            with spanflow.replay(run_id, miss="error") as session:
                replayed.append(timed(agent, OFFLINE, options.calls, f"replay-{attempt}")[0])
            assert session.summary().served == options.calls
        with spanflow.Client(index) as client:
            stored = [
                str(span.attributes[attributes.REPLAY_EXCHANGE])
                for span in client.spans(run_id)
                if attributes.REPLAY_EXCHANGE in span.attributes
            ]
        packed = [len(text) for text in stored]
        cpu_per_call_s = recording_cpu_s(stored)
        spanflow.configure(exporters=["none"])
    calls = options.calls
    median_off, median_on = statistics.median(off), statistics.median(on)
    median_replay = statistics.median(replayed)
    print(f"{calls} calls, median of {options.repeat}; {options.delay_ms} ms per streamed chunk")
    print(f"  original, recording off : {median_off:7.3f} s")
    print(f"  original, recording on  : {median_on:7.3f} s")
    print(f"  recording CPU per call  : {cpu_per_call_s * 1e6:7.1f} us (redact + zlib + base64)")
    print(f"  replay (no server)      : {median_replay:7.3f} s "
          f"= {median_replay / median_on:.2f}x the original")  # fmt: skip
    print(f"  recording size per call : {statistics.mean(packed):7.0f} chars "
          f"(zlib+base64; response body {len(ANSWER)} chars of text)")  # fmt: skip
    print(f"  generator stream, span current per chunk: "
          f"{generator_stream_us_per_chunk():.2f} us added per chunk")  # fmt: skip


if __name__ == "__main__":
    main()
