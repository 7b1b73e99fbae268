"""Per-call cost of dataflow detection in a chat loop that re-sends its whole history.

Each turn adds a 300-word user message and a 300-word reply; call N sends 2N messages. For calls
1, 10, 100 and 300 the table shows:

Each figure is the median over 5 conversations and 3 neighbouring calls, in CPU time of the
thread that does the work (``time.thread_time``: other processes on a shared machine do not
count).

* ``inline work``: all detection work for the call (``on_call_start`` + ``on_call_end`` with
  ``SPANFLOW_DATAFLOW=inline``: matching, link creation and indexing the reply);
* ``caller path``: what the calling thread spends with the default background worker, the
  request in flight for 2 ms between start and end (matching overlaps the request);
* ``difflib baseline``: matching the input against every earlier output with
  ``difflib.SequenceMatcher`` word runs on each call, the approach whose cost grows with the
  history (measured up to call 100; it takes seconds per call beyond).

A second table is ``bench_overhead.py``'s chat workload as the detector sees it: the same
14-message history re-sent unchanged and the same 132-word reply, on every one of 2,000 calls.
It gives the inline work per call and, with the background worker, the CPU the caller's thread
and the worker thread each spend per call (the worker's read with its thread CPU clock; it
includes waking up and sleeping).

Building ``CallInputs`` is instrumentation's cost and is not timed here. Run:
``.venv/bin/python bench/bench_dataflow.py`` (``--canned-only`` for the second table).
"""

from __future__ import annotations

import argparse
import difflib
import random
import statistics
import threading
import time
import tracemalloc
from collections.abc import Callable

from opentelemetry.sdk.trace import TracerProvider

from spanflow import attributes as attr
from spanflow.dataflow import (
    CallInputs,
    CallOutputs,
    TextField,
    get_detector,
    on_call_end,
    on_call_start,
    set_dataflow,
)

TURNS = 300
WORDS_PER_TURN = 300
REPORT_AT = (1, 10, 100, 300)
REPEATS = 5
IN_FLIGHT_S = 0.002
BASELINE_UP_TO = 100

_FUNCTION_WORDS = ["the", "a", "of", "to", "and", "in", "is", "it", "that", "for"]
_VOCABULARY = [f"w{i}" for i in range(20_000)] + _FUNCTION_WORDS * 400


def _turn_text(rng: random.Random) -> str:
    return " ".join(rng.choice(_VOCABULARY) for _ in range(WORDS_PER_TURN))


def _conversation(seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    return [(_turn_text(rng), _turn_text(rng)) for _ in range(TURNS)]


def _run_loop(
    conversation: list[tuple[str, str]], run_id: str, *, in_flight: Callable[[], None]
) -> dict[int, float]:
    tracer = TracerProvider().get_tracer("bench")
    history: list[TextField] = [TextField("messages[0].content", "You are helpful.", "system")]
    costs: dict[int, float] = {}
    for turn, (question, answer) in enumerate(conversation, start=1):
        history.append(TextField(f"messages[{len(history)}].content", question, "user"))
        inputs = CallInputs(fields=tuple(history))
        outputs = CallOutputs(
            fields=(TextField("choices[0].message.content", answer, "assistant"),),
            response_id=f"{run_id}-{turn}",
        )
        span = tracer.start_span("chat", attributes={attr.RUN_ID: run_id})
        started = time.thread_time()
        pending = on_call_start(span, inputs)
        spent = time.thread_time() - started
        in_flight()
        started = time.thread_time()
        on_call_end(pending, outputs)
        spent += time.thread_time() - started
        span.end()
        costs[turn] = spent
        history.append(TextField(f"messages[{len(history)}].content", answer, "assistant"))
    return costs


def _window(n: int) -> range:
    """Calls sampled for "call n": n and its two neighbours within the loop (timer noise)."""
    first = min(max(1, n - 1), TURNS - 2)
    return range(first, first + 3)


def _median_costs(*, inline: bool, conversations: list[list[tuple[str, str]]]) -> dict[int, float]:
    set_dataflow(enabled=True, inline=inline)
    samples: dict[int, list[float]] = {n: [] for n in REPORT_AT}
    detector = get_detector()
    for i, conversation in enumerate(conversations):
        if inline:
            costs = _run_loop(conversation, f"bench-inline-{i}", in_flight=lambda: None)
        else:
            costs = _run_loop(
                conversation, f"bench-bg-{i}", in_flight=lambda: time.sleep(IN_FLIGHT_S)
            )
        if detector is not None:
            detector.forget_run(f"bench-{'inline' if inline else 'bg'}-{i}")
            detector.flush()
        for n in REPORT_AT:
            samples[n].extend(costs[turn] for turn in _window(n))
    return {n: statistics.median(values) for n, values in samples.items()}


def _difflib_costs(conversation: list[tuple[str, str]]) -> dict[int, float]:
    outputs: list[list[str]] = []
    history_words: list[str] = ["You", "are", "helpful."]
    costs: dict[int, float] = {}
    for turn, (question, answer) in enumerate(conversation, start=1):
        if turn > BASELINE_UP_TO:
            break
        history_words = history_words + question.split()
        if turn in REPORT_AT:
            started = time.thread_time()
            for output in outputs:
                matcher = difflib.SequenceMatcher(None, output, history_words, autojunk=False)
                matcher.get_matching_blocks()
            costs[turn] = time.thread_time() - started
        outputs.append(answer.split())
        history_words = history_words + outputs[-1]
    return costs


def _memory_per_turn(conversation: list[tuple[str, str]]) -> float:
    set_dataflow(enabled=True, inline=True)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    _run_loop(conversation, "bench-memory", in_flight=lambda: None)
    after = tracemalloc.get_traced_memory()[0]
    get_detector().cache.clear()  # type: ignore[union-attr]
    tracemalloc.stop()
    return (after - before) / len(conversation)


CANNED_CALLS = 2000
CANNED_WARMUP = 50


def _canned_chat() -> tuple[CallInputs, TextField]:
    """``bench_overhead.py``'s chat call as the detector sees it: its inputs and its reply."""
    system = "You are a careful research assistant. " * 8
    history = [TextField("messages[0].content", system, "system")]
    for turn in range(6):
        question = f"Question {turn}: " + "context " * 60
        history.append(TextField(f"messages[{len(history)}].content", question, "user"))
        answer = f"Answer {turn}: " + "finding " * 50
        history.append(TextField(f"messages[{len(history)}].content", answer, "assistant"))
    question = "Summarise everything so far."
    history.append(TextField(f"messages[{len(history)}].content", question, "user"))
    reply = " ".join(
        f"word{i}" if i % 7 else f"Result {i} is ready and the next step follows."
        for i in range(60)
    )
    return CallInputs(fields=tuple(history)), TextField("choices[0].message.content", reply)


def _worker_cpu_s() -> float:
    """CPU seconds of the detector's worker threads so far (an earlier detector's sits idle)."""
    return sum(
        time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
        for thread in threading.enumerate()
        if thread.name == "spanflow-dataflow" and thread.ident is not None
    )


def _canned_costs(*, inline: bool, run_id: str) -> tuple[float, float]:
    """CPU per call of the canned chat: the caller's thread, and the worker thread."""
    set_dataflow(enabled=True, inline=inline)
    tracer = TracerProvider().get_tracer("bench")
    inputs, reply = _canned_chat()
    caller_s = worker_s = 0.0
    for call in range(CANNED_WARMUP + CANNED_CALLS):
        if call == CANNED_WARMUP:
            get_detector().flush()  # type: ignore[union-attr]
            caller_s, worker_s = 0.0, _worker_cpu_s()
        outputs = CallOutputs(fields=(reply,), response_id=f"{run_id}-{call}")
        span = tracer.start_span("chat", attributes={attr.RUN_ID: run_id})
        started = time.thread_time()
        pending = on_call_start(span, inputs)
        caller_s += time.thread_time() - started
        if not inline:
            time.sleep(IN_FLIGHT_S)  # the request in flight; the worker matches meanwhile
        started = time.thread_time()
        on_call_end(pending, outputs)
        caller_s += time.thread_time() - started
        span.end()
    detector = get_detector()
    if detector is not None:
        detector.flush()
        worker_s = _worker_cpu_s() - worker_s
        detector.forget_run(run_id)
        detector.flush()
    return caller_s / CANNED_CALLS, worker_s / CANNED_CALLS


def print_canned() -> None:
    """Print the canned chat's CPU per call: inline, then caller and worker threads."""
    inline, _ = _canned_costs(inline=True, run_id="bench-canned-inline")
    caller, worker = _canned_costs(inline=False, run_id="bench-canned-bg")
    print(
        f"bench_overhead's chat (14 messages re-sent unchanged, same reply), {CANNED_CALLS} calls,"
        " CPU per call:"
    )
    print(f"  inline work {inline * 1e6:.0f} µs; background: caller's thread "
          f"{caller * 1e6:.0f} µs, worker thread {worker * 1e6:.0f} µs")  # fmt: skip
    set_dataflow(enabled=None)


def main() -> None:
    """Print the per-call cost tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--canned-only", action="store_true", help="only the second table")
    if parser.parse_args().canned_only:
        print_canned()
        return
    conversations = [_conversation(seed) for seed in range(REPEATS)]
    inline = _median_costs(inline=True, conversations=conversations)
    background = _median_costs(inline=False, conversations=conversations)
    baseline = _difflib_costs(conversations[0])
    memory = _memory_per_turn(_conversation(99))
    detector = get_detector()
    held = detector.memory_bytes() if detector else 0
    print(f"dataflow detection, chat loop re-sending history, {WORDS_PER_TURN}-word turns")
    print(f"{'call':>6} {'inline work':>14} {'caller path':>14} {'difflib baseline':>18}")
    for n in REPORT_AT:
        base = f"{baseline[n] * 1e3:.2f} ms" if n in baseline else "-"
        print(f"{n:>6} {inline[n] * 1e6:>11.0f} µs {background[n] * 1e6:>11.0f} µs {base:>18}")
    print(f"call {REPORT_AT[-1]} / call 1 (inline work): {inline[REPORT_AT[-1]] / inline[1]:.2f}x")
    print(
        f"memory: {memory / 1024:.0f} KiB per turn measured, {held / 1024 / TURNS:.0f} KiB per "
        f"turn estimated by the index ({TURNS} turns: {held / 2**20:.1f} MiB)"
    )
    print()
    print_canned()


if __name__ == "__main__":
    main()
