"""Per-call cost of dataflow detection in a chat loop that re-sends its whole history.

Each turn adds a 300-word user message and a 300-word reply; call N sends 2N messages. For calls
1, 10, 100 and 300 the table shows:

Each figure is the median over 5 conversations and 3 neighbouring calls.

* ``inline work``: all detection work for the call (``on_call_start`` + ``on_call_end`` with
  ``SPANFLOW_DATAFLOW=inline``: matching, link creation and indexing the reply);
* ``caller path``: what the calling thread spends with the default background worker, the
  request in flight for 2 ms between start and end (matching overlaps the request);
* ``difflib baseline``: matching the input against every earlier output with
  ``difflib.SequenceMatcher`` word runs on each call, the approach whose cost grows with the
  history (measured up to call 100; it takes seconds per call beyond).

Building ``CallInputs`` is instrumentation's cost and is not timed here. Run:
``.venv/bin/python bench/bench_dataflow.py``.
"""

from __future__ import annotations

import difflib
import random
import statistics
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
        started = time.perf_counter()
        pending = on_call_start(span, inputs)
        spent = time.perf_counter() - started
        in_flight()
        started = time.perf_counter()
        on_call_end(pending, outputs)
        spent += time.perf_counter() - started
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
            started = time.perf_counter()
            for output in outputs:
                matcher = difflib.SequenceMatcher(None, output, history_words, autojunk=False)
                matcher.get_matching_blocks()
            costs[turn] = time.perf_counter() - started
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


def main() -> None:
    """Print the per-call cost table."""
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
    set_dataflow(enabled=None)


if __name__ == "__main__":
    main()
