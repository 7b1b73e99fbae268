"""What LLM-call instrumentation costs an application: spanflow beside its peers, in one run.

Every variant runs in a fresh process per round (rounds interleaved, so machine drift hits all
variants alike) and makes the same calls with the real ``openai`` and ``anthropic`` clients
against spanflow's fake LLM server on loopback, which runs in this process: a re-sent 13-message
history plus the new question, content capture on. Measured in each worker:

- added CPU per call (process CPU, all threads: caller, batch processors, dataflow worker,
  SQLite writes) over the uninstrumented client, per workload (chat, streamed chat, Responses
  API, Anthropic messages), each workload's queued spans flushed inside its measured window;
- startup: from the worker's first line to instrumented, with ``openai`` and ``anthropic``
  imported and a client of each built;
- resident memory after the 1,000 chat calls, and how much it grew per call over their last
  three quarters (what each call leaves behind);
- exit: from the last call (20 more calls, not flushed) to the process being gone, in wall time
  and in the worker's CPU time (all threads; unlike wall time, it hardly moves with the load).

With ``--instructions`` each worker runs under valgrind's callgrind instead, once per variant
(``--rounds`` still applies), and the table counts the instructions each call adds over the
uninstrumented call, all threads together, between markers around each measured window. An
instruction count does not depend on what else the machine is doing, so it tells apart
differences that the CPU-time figures, a difference of two noisy readings, cannot. It counts user
space only: the kernel's share of system calls (a SQLite fsync, a socket write) is not in it.
Callgrind runs a process some 50 times slower, so work started by a timer (the batch span
processor's 5 s export, spanflow's 30 s run heartbeat, each a write into the embedded index)
would come about 50 times as often per call as in real time, where a window of 20 chat calls
lasts well under a second: counted workers get both at 10 minutes, and their spans are exported
by the flush that ends each window, as the timed workers' are.

The peers export through a ``BatchSpanProcessor`` into an exporter that drops spans, as do
spanflow's "no exporter" variants; its "defaults" and "dataflow off" variants write into the
embedded SQLite index (a fresh file per process). Run ``make bench-overhead`` (or
``bench/run_overhead.sh``: it builds ``bench/.venv-overhead`` with the peers first).
"""

from __future__ import annotations

import time

WORKER_STARTED_S = time.perf_counter()

import argparse  # noqa: E402 (the clock above starts before anything is imported)
import contextlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from typing import Any  # noqa: E402

VARIANTS: dict[str, str] = {
    "baseline": "uninstrumented",
    "spanflow": "spanflow defaults",
    "spanflow-nodataflow": "spanflow dataflow off",
    "spanflow-noexport": "spanflow no exporter",
    "spanflow-lean": "spanflow df off, no exp",
    "spanflow-ref": "spanflow defaults (ref)",
    "otel-openai-v2": "otel openai-v2",
    "openinference": "OpenInference",
    "openllmetry": "OpenLLMetry",
    "logfire": "logfire",
}
SPANFLOW_VARIANTS = (
    "spanflow",
    "spanflow-nodataflow",
    "spanflow-noexport",
    "spanflow-lean",
    "spanflow-ref",
)
EMBEDDED_VARIANTS = ("spanflow", "spanflow-nodataflow", "spanflow-ref")
PEERS = ("otel-openai-v2", "openinference", "openllmetry", "logfire")
WORKLOADS = ("chat", "stream", "responses", "anthropic")
CHAT_CALLS = 1000
TAIL_CALLS = 20
REPLY_TEXT = " ".join(
    f"word{i}" if i % 7 else f"Result {i} is ready and the next step follows." for i in range(60)
)


def history_messages() -> list[dict[str, str]]:
    """A re-sent conversation: a system prompt and six user/assistant turns, then a question."""
    messages = [{"role": "system", "content": "You are a careful research assistant. " * 8}]
    for turn in range(6):
        messages.append({"role": "user", "content": f"Question {turn}: " + "context " * 60})
        messages.append({"role": "assistant", "content": f"Answer {turn}: " + "finding " * 50})
    messages.append({"role": "user", "content": "Summarise everything so far."})
    return messages


# --- worker: one variant in its own process ----------------------------------------------------
class _Counter:
    spans = 0


def dropping_exporter() -> Any:
    """A real ``SpanExporter`` that counts spans and keeps nothing."""
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    class DroppingExporter(SpanExporter):
        def export(self, spans: Sequence[Any]) -> SpanExportResult:
            _Counter.spans += len(spans)
            return SpanExportResult.SUCCESS

    return DroppingExporter()


def setup_variant(variant: str, db_path: str) -> Callable[[], None]:
    """Instrument for ``variant``; returns a function that flushes its queued spans."""
    if variant == "baseline":
        return lambda: None
    if variant in SPANFLOW_VARIANTS:
        import spanflow

        spanflow.configure(
            exporters=["embedded"] if variant in EMBEDDED_VARIANTS else [dropping_exporter()],
            db_path=db_path,
            dataflow=variant in ("spanflow", "spanflow-noexport", "spanflow-ref"),
            capture_content=True,
        )
        spanflow.instrument()
        return lambda: spanflow.force_flush()
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    processor = BatchSpanProcessor(dropping_exporter())
    if variant == "logfire":
        import logfire

        logfire.configure(
            send_to_logfire=False,
            console=False,
            additional_span_processors=[processor],
            metrics=False,
            inspect_arguments=False,
        )
        logfire.instrument_openai()
        logfire.instrument_anthropic()
        return lambda: logfire.force_flush()
    provider = TracerProvider()
    provider.add_span_processor(processor)
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


def count_spans(variant: str, db_path: str) -> int:
    """Spans exported so far: counted by the dropping exporter, or in the embedded index."""
    if variant not in EMBEDDED_VARIANTS:
        return _Counter.spans
    import sqlite3

    with contextlib.closing(sqlite3.connect(db_path)) as index:
        counted: int = index.execute("SELECT count(*) FROM spans").fetchone()[0]
    return counted


def thread_cpu_s() -> dict[str, float]:
    """CPU seconds (user + system) of each live thread of this process, by thread name.

    Read from ``/proc`` (Linux; empty elsewhere): it tells the caller's thread from spanflow's
    background threads (dataflow worker, batch span processor, run records) without a profiler.
    """
    names = {thread.native_id: thread.name for thread in threading.enumerate()}
    ticks_per_s = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    found: dict[str, float] = {}
    with contextlib.suppress(OSError):
        for tid in os.listdir("/proc/self/task"):
            with contextlib.suppress(OSError), open(f"/proc/self/task/{tid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
                name = names.get(int(tid), f"thread {tid}")
                spent_s = (int(fields[11]) + int(fields[12])) / ticks_per_s
                found[name] = found.get(name, 0.0) + spent_s
    return found


def rss_mib() -> float:
    """This process's resident set size."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def mark_window() -> None:
    """A marker around a measured window: under ``--instructions`` callgrind starts a new part of
    its count each time this C function of libc is entered (``--dump-before``); elsewhere it costs
    a system call."""
    os.sched_get_priority_max(os.SCHED_OTHER)


MARKED_FUNCTION = "sched_get_priority_max"

LATENCY_SHARES = (("p50", 0.50), ("p99", 0.99))
"""The percentiles of each call's wall time (as the caller sees it) that a worker reports."""


def percentile(values: list[float], share: float) -> float:
    """The value below which ``share`` of ``values`` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def run_worker(
    variant: str, base_url: str, anthropic_url: str, calls: int, chat_calls: int, db_dir: str
) -> None:
    """Measure one variant; print its figures as JSON, then the last-call time, then exit."""
    db_path = os.path.join(tempfile.mkdtemp(dir=db_dir), "index.db")
    flush = setup_variant(variant, db_path)
    setup_s = time.perf_counter() - WORKER_STARTED_S
    setup_cpu_s = time.process_time()
    import anthropic
    import openai

    client = openai.OpenAI(base_url=base_url, api_key="bench", max_retries=0)
    claude = anthropic.Anthropic(base_url=anthropic_url, api_key="bench", max_retries=0)
    startup_s = time.perf_counter() - WORKER_STARTED_S
    startup_cpu_s = time.process_time()  # since the process started, interpreter start included
    messages: Any = history_messages()
    system, conversation = messages[0]["content"], messages[1:]

    def chat() -> None:
        client.chat.completions.create(model="bench-model", messages=messages)

    def stream() -> None:
        chunks = client.chat.completions.create(model="bench-model", messages=messages, stream=True)
        for _ in chunks:
            pass

    def responses() -> None:
        client.responses.create(model="bench-model", input=conversation, instructions=system)

    def messages_call() -> None:
        claude.messages.create(
            model="bench-model", max_tokens=256, system=system, messages=conversation
        )

    calls_of = {"chat": chat, "stream": stream, "responses": responses, "anthropic": messages_call}
    results: dict[str, Any] = {
        "setup_s": setup_s,
        "setup_cpu_s": setup_cpu_s,
        "startup_s": startup_s,
        "startup_cpu_s": startup_cpu_s,
    }

    def measure_all() -> None:
        for workload in WORKLOADS:
            one_call = calls_of[workload]
            count = chat_calls if workload == "chat" else calls
            for _ in range(10):
                one_call()  # warm-up: connection, lazy imports, first-call caches
            flush()
            spans_before = count_spans(variant, db_path)
            threads_before = thread_cpu_s()
            mark_window()
            cpu_started = time.process_time()
            quarter = count // 4 if workload == "chat" else -1
            durations: list[float] = []
            clock = time.perf_counter
            for number in range(count):
                started = clock()
                one_call()
                durations.append(clock() - started)
                if number == quarter:
                    results["rss_quarter_mib"] = rss_mib()
            flush()
            cpu_s = time.process_time() - cpu_started
            mark_window()
            threads_after = thread_cpu_s()
            results[workload] = {
                "cpu_us": cpu_s / count * 1e6,
                "spans_per_call": (count_spans(variant, db_path) - spans_before) / count,
                "latency_us": {
                    name: percentile(durations, share) * 1e6 for name, share in LATENCY_SHARES
                },
                "threads_us": {
                    name: (spent - threads_before.get(name, 0.0)) / count * 1e6
                    for name, spent in threads_after.items()
                },
            }
            if workload == "chat":
                results["rss_mib"] = rss_mib()
        for _ in range(TAIL_CALLS):
            chat()
        print(json.dumps(results), flush=True)
        print(f"LAST-CALL {time.time():.6f} {time.process_time():.6f}", flush=True)

    if variant in SPANFLOW_VARIANTS:
        import spanflow

        with spanflow.run("bench-overhead"):
            measure_all()
    else:
        measure_all()


# --- parent: server, rounds, table --------------------------------------------------------------
# With --pin, the fake server (this process) gets one CPU and each measured worker the others, so
# the server's work on a response does not share a core with the code being measured.
WORKER_CPUS: set[int] = set()


def _pin_worker() -> None:
    os.sched_setaffinity(0, WORKER_CPUS)


def pin_server_apart() -> str:
    """Pin this process (the fake server) to its first CPU, the workers to the rest."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity here)"
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return "not pinned (one CPU)"
    os.sched_setaffinity(0, {cpus[0]})
    WORKER_CPUS.update(cpus[1:])
    return f"fake server on CPU {cpus[0]}, workers on CPU {','.join(map(str, cpus[1:]))}"


def run_variant(
    variant: str,
    urls: tuple[str, str],
    calls: int,
    chat_calls: int,
    reference: str | None,
    db_dir: str,
    instructions: bool = False,
) -> dict[str, Any]:
    """One fresh worker process; its figures plus the time from its last call to its exit."""
    env = {**os.environ, "SPANFLOW_EXPORTERS": "none", "OTEL_TRACES_EXPORTER": "none",
           "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none"}  # fmt: skip
    if variant == "spanflow-ref" and reference:
        # spanflow's code from another source tree (a checkout of main): before and after.
        tree = os.path.abspath(reference)
        env["PYTHONPATH"] = os.pathsep.join([f"{tree}/src", f"{tree}/collector"])
    command = [sys.executable, __file__, "--worker", variant, "--base-url", urls[0],
               "--anthropic-url", urls[1], "--calls", str(calls), "--chat-calls", str(chat_calls),
               "--db-dir", db_dir]  # fmt: skip
    counts_dir = tempfile.mkdtemp(dir=db_dir) if instructions else ""
    if instructions:
        env.update(COUNTED_TIMERS)
        command = [
            "valgrind", "--tool=callgrind", f"--dump-before={MARKED_FUNCTION}",
            f"--callgrind-out-file={counts_dir}/callgrind.out", *command,
        ]  # fmt: skip
    children_cpu_s = _children_cpu_s()
    worker = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        preexec_fn=_pin_worker if WORKER_CPUS else None,
    )  # fmt: skip
    out, err = worker.communicate(timeout=7200 if instructions else 900)
    exited_s = time.time()
    worker_cpu_s = _children_cpu_s() - children_cpu_s
    if worker.returncode != 0:
        raise RuntimeError(f"{variant} failed:\n{err[-3000:]}")
    lines = out.strip().splitlines()
    result: dict[str, Any] = json.loads(lines[-2])
    _, last_call_s, last_call_cpu_s = lines[-1].split()
    result["exit_s"] = exited_s - float(last_call_s)
    if not instructions:  # those workers run side by side, and their CPU is callgrind's
        result["exit_cpu_s"] = worker_cpu_s - float(last_call_cpu_s)
    if instructions:
        windows = window_instructions(counts_dir)
        for workload, counted in zip(WORKLOADS, windows, strict=True):
            count = chat_calls if workload == "chat" else calls
            result[workload]["instructions"] = counted / count
    return result


COUNTED_TIMERS = {"OTEL_BSP_SCHEDULE_DELAY": "600000", "SPANFLOW_HEARTBEAT_INTERVAL_S": "600"}
"""Timer intervals of counted workers (see the module's docstring): callgrind's slowdown would
otherwise fire them many times more often per call than real time does."""


def _children_cpu_s() -> float:
    """CPU seconds of this process's children that have exited (all their threads)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def window_instructions(counts_dir: str) -> list[int]:
    """Instructions callgrind counted in each measured window, in order.

    Entering the marker function dumps a numbered part holding what ran since the previous dump:
    parts 1, 3, 5... end at a window's opening marker (set-up, warm-up), parts 2, 4, 6... are the
    windows themselves.
    """
    parts = [
        part_instructions(f"{counts_dir}/callgrind.out.{number}")
        for number in range(1, 2 * len(WORKLOADS) + 1)
    ]
    return parts[1::2]


def part_instructions(dump: str | os.PathLike[str]) -> int:
    """The instructions counted in one part of a callgrind count (its ``summary:`` line)."""
    with open(dump, encoding="utf-8") as lines:
        for line in lines:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise RuntimeError(f"no instruction count in {dump}")


def spread(values: list[float], scale: float = 1.0, fmt: str = "{:+.0f}") -> str:
    """``median (min..max)`` of ``values`` times ``scale``."""
    scaled = [v * scale for v in values]
    return (
        fmt.format(statistics.median(scaled))
        + f" ({fmt.format(min(scaled))}..{fmt.format(max(scaled))})"
    )


def traces(results: dict[str, list[dict[str, Any]]], variant: str, workload: str) -> bool:
    """Whether ``variant`` made a span for (nearly) every call of ``workload``."""
    return statistics.median(r[workload]["spans_per_call"] for r in results[variant]) >= 0.9


def added_per_call(
    results: dict[str, list[dict[str, Any]]], variant: str, workload: str, figure: str
) -> list[float]:
    """Each round's ``figure`` per call of ``workload`` over the uninstrumented round's."""
    return [
        float(r[workload][figure] - b[workload][figure])
        for r, b in zip(results[variant], results["baseline"], strict=True)
    ]


def leanest_peers(
    results: dict[str, list[dict[str, Any]]], figure: str
) -> dict[str, tuple[str, float]]:
    """Per workload, the peer that adds the least ``figure`` (median) among those tracing it."""
    leanest: dict[str, tuple[str, float]] = {}
    for workload in WORKLOADS:
        peer_added = [
            (p, statistics.median(added_per_call(results, p, workload, figure)))
            for p in PEERS
            if p in results and traces(results, p, workload)
        ]
        if peer_added:
            leanest[workload] = min(peer_added, key=lambda item: item[1])
    return leanest


def print_table(
    results: dict[str, list[dict[str, Any]]], rounds: int, calls: int, chat_calls: int
) -> None:
    """Added CPU per call per workload, startup, memory and exit, with ratios to the peers."""
    variants = list(results)
    base = results["baseline"]

    def added(variant: str, key: str, sub: str | None = None) -> list[float]:
        def pick(r: dict[str, Any]) -> float:
            return float(r[key][sub] if sub else r[key])

        return [pick(r) - pick(b) for r, b in zip(results[variant], base, strict=True)]

    traced = {(v, w): traces(results, v, w) for v in variants for w in WORKLOADS}
    print(f"\nAdded CPU per call over uninstrumented, µs: median (min..max) of {rounds} rounds; "
          f"chat {chat_calls} calls, others {calls}; '-' = not traced by that variant")  # fmt: skip
    print(f"{'variant':<24}" + "".join(f"{w:>22}" for w in WORKLOADS))
    for variant in variants:
        row = f"{VARIANTS[variant]:<24}"
        for workload in WORKLOADS:
            if variant == "baseline":
                cpu = [r[workload]["cpu_us"] for r in base]
                row += f"{spread(cpu, fmt='{:.0f}') + ' abs':>22}"
            elif traced[(variant, workload)]:
                row += f"{spread(added(variant, workload, 'cpu_us')):>22}"
            else:
                row += f"{'-':>22}"
        print(row)
    print("\nRatio of added CPU (medians) to the leanest peer that traces the workload")
    print(f"{'variant':<24}" + "".join(f"{w:>12}" for w in WORKLOADS))
    leanest = leanest_peers(results, "cpu_us")
    for variant in variants:
        if variant == "baseline":
            continue
        row = f"{VARIANTS[variant]:<24}"
        for workload in WORKLOADS:
            if workload in leanest and traced[(variant, workload)]:
                mine = statistics.median(added(variant, workload, "cpu_us"))
                row += f"{mine / leanest[workload][1]:>11.2f}x"
            else:
                row += f"{'-':>12}"
        print(row)
    names = (VARIANTS[leanest[w][0]][:11] if w in leanest else "-" for w in WORKLOADS)
    print(f"{'leanest peer':<24}" + "".join(f"{name:>12}" for name in names))
    print_threads(results)
    print_latency(results)
    print("\nAround the calls: median (min..max)")
    print(f"{'variant':<24}{'startup CPU ms':>22}{'added':>22}{'startup wall ms':>22}"
          f"{'RSS MiB':>20}{'RSS KiB/call':>18}{'exit ms':>22}{'exit CPU ms':>22}")  # fmt: skip
    for variant in variants:
        rows = results[variant]
        # Growth over the last three quarters of the chat calls: what each call leaves behind.
        growth = [
            (r["rss_mib"] - r["rss_quarter_mib"]) * 1024 / max(chat_calls - chat_calls // 4 - 1, 1)
            for r in rows
        ]
        exit_cpu = [r["exit_cpu_s"] for r in rows if "exit_cpu_s" in r]
        print(
            f"{VARIANTS[variant]:<24}"
            f"{spread([r['startup_cpu_s'] for r in rows], 1000, '{:.0f}'):>22}"
            f"{spread(added(variant, 'startup_cpu_s'), 1000):>22}"
            f"{spread([r['startup_s'] for r in rows], 1000, '{:.0f}'):>22}"
            f"{spread([r['rss_mib'] for r in rows], 1, '{:.0f}'):>20}"
            f"{spread(growth, 1, '{:.1f}'):>18}"
            f"{spread([r['exit_s'] for r in rows], 1000, '{:.0f}'):>22}"
            f"{spread(exit_cpu, 1000, '{:.0f}') if exit_cpu else '-':>22}"
        )


def print_instructions(results: dict[str, list[dict[str, Any]]], rounds: int) -> None:
    """Instructions each call adds over the uninstrumented call, and the ratio to the leanest peer
    that traces the workload (callgrind's counts, all threads, user space)."""
    base = results["baseline"]
    leanest = leanest_peers(results, "instructions")
    print(f"\nAdded instructions per call over uninstrumented, thousands (callgrind, all threads, "
          f"user space), median of {rounds} round(s); in brackets the ratio to the leanest peer "
          f"that traces the workload")  # fmt: skip
    print(f"{'variant':<24}" + "".join(f"{w:>22}" for w in WORKLOADS))
    for variant in results:
        row = f"{VARIANTS[variant]:<24}"
        for workload in WORKLOADS:
            if variant == "baseline":
                absolute = statistics.median(r[workload]["instructions"] for r in base)
                cell = f"{absolute / 1000:.0f} abs"
            elif traces(results, variant, workload):
                mine = statistics.median(added_per_call(results, variant, workload, "instructions"))
                ratio = f" ({mine / leanest[workload][1]:.2f}x)" if workload in leanest else ""
                cell = f"+{mine / 1000:.0f}{ratio}"
            else:
                cell = "-"
            row += f"{cell:>22}"
        print(row)


def print_latency(results: dict[str, list[dict[str, Any]]]) -> None:
    """Each call's wall time as the caller sees it: p50 and p99 per round, and what the variant
    adds to the uninstrumented call's p99 in the same round (the goal: at most 0.2 ms)."""
    print("\nCall latency on the caller's path (wall time of each call), µs: medians over the "
          "rounds of each round's p50 / p99, then of the p99 added over the baseline")  # fmt: skip
    print(f"{'variant':<24}" + "".join(f"{w:>22}" for w in WORKLOADS))
    base = results["baseline"]
    for variant, rows in results.items():
        cells = []
        for workload in WORKLOADS:
            if variant != "baseline" and not traces(results, variant, workload):
                cells.append("-")
                continue
            p50 = statistics.median(r[workload]["latency_us"]["p50"] for r in rows)
            p99 = statistics.median(r[workload]["latency_us"]["p99"] for r in rows)
            cell = f"{p50:.0f} / {p99:.0f}"
            if variant != "baseline":
                added = [
                    r[workload]["latency_us"]["p99"] - b[workload]["latency_us"]["p99"]
                    for r, b in zip(rows, base, strict=True)
                ]
                cell += f" {statistics.median(added):+.0f}"
            cells.append(cell)
        print(f"{VARIANTS[variant]:<24}" + "".join(f"{cell:>22}" for cell in cells))


def print_threads(results: dict[str, list[dict[str, Any]]]) -> None:
    """Where each variant's chat CPU goes: the caller's thread over uninstrumented, the others."""
    base = [r["chat"].get("threads_us", {}).get("MainThread", 0.0) for r in results["baseline"]]
    print("\nChat CPU per call by thread, µs (medians; /proc ticks, so about ±20 µs): the caller's "
          "thread over uninstrumented, then each background thread (spans still queued at the "
          "closing flush are exported on the caller's thread)")  # fmt: skip
    for variant, rows in results.items():
        if variant == "baseline":
            continue
        threads = [r["chat"].get("threads_us", {}) for r in rows]
        caller = [t.get("MainThread", 0.0) - b for t, b in zip(threads, base, strict=True)]
        others = sorted({name for t in threads for name in t} - {"MainThread"})
        spent = {name: statistics.median(t.get(name, 0.0) for t in threads) for name in others}
        background = ", ".join(f"{name} {us:.0f}" for name, us in spent.items() if us >= 1)
        line = f"{VARIANTS[variant]:<24}caller {statistics.median(caller):+6.0f}   {background}"
        print(line.rstrip())


def count_round(
    variants: list[str], urls: tuple[str, str], args: argparse.Namespace, db_dir: str
) -> dict[str, dict[str, Any]]:
    """One round of ``--instructions``: every variant's worker under callgrind, side by side;
    each variant's chat count is printed as it ends, so a cut-short run still tells something."""
    from concurrent.futures import ThreadPoolExecutor

    def one(variant: str) -> dict[str, Any]:
        counted = run_variant(variant, urls, args.calls, args.chat_calls, args.reference, db_dir,
                              instructions=True)  # fmt: skip
        print(f"counted {variant}: chat {counted['chat']['instructions'] / 1000:.0f}k "
              "instructions per call", file=sys.stderr, flush=True)  # fmt: skip
        return counted

    with ThreadPoolExecutor(max_workers=len(variants)) as pool:
        return dict(zip(variants, pool.map(one, variants), strict=True))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", choices=sorted(VARIANTS), help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--anthropic-url", help=argparse.SUPPRESS)
    parser.add_argument("--db-dir", help=argparse.SUPPRESS)
    parser.add_argument("--calls", type=int, default=300, help="calls per workload but chat")
    parser.add_argument("--chat-calls", type=int, default=CHAT_CALLS,
                        help="chat calls (resident memory is read after them)")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=5, help="fresh processes per variant")
    parser.add_argument("--only", nargs="*", choices=sorted(VARIANTS), help="variants to run")
    parser.add_argument(
        "--reference", metavar="TREE", help="also run spanflow's defaults from this source tree"
    )
    parser.add_argument("--json", metavar="FILE", help="also write the raw figures here")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="count instructions under valgrind's callgrind instead of timing (slow, but the "
        "machine's load does not change the figures); use with few calls and --rounds 1",
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="run the fake server on one CPU and the measured workers on the others (less noise)",
    )
    args = parser.parse_args()
    if args.worker:
        run_worker(
            args.worker, args.base_url, args.anthropic_url, args.calls, args.chat_calls, args.db_dir
        )
        return 0
    chosen = args.only or [v for v in VARIANTS if v != "spanflow-ref" or args.reference]
    variants = ["baseline", *[v for v in chosen if v != "baseline"]]

    if args.instructions and not shutil.which("valgrind"):
        raise SystemExit("--instructions needs valgrind (Debian: apt-get install valgrind)")
    if args.pin:
        print(pin_server_apart(), file=sys.stderr)
    from spanflow.testing.fake_llm import FakeLLMServer

    results: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    load_averages = [os.getloadavg()[0]]
    with (
        FakeLLMServer(lambda request: REPLY_TEXT) as llm,
        tempfile.TemporaryDirectory(prefix="bench-overhead-") as db_dir,  # the embedded indexes
    ):
        urls = (llm.openai_base_url, llm.anthropic_base_url)
        for round_index in range(args.rounds):
            if args.instructions:  # counts do not depend on load: all variants of a round at once
                counted = count_round(variants, urls, args, db_dir)
                for variant in variants:
                    results[variant].append(counted[variant])
                llm.reset()
                continue
            shift = round_index % len(variants)
            for variant in variants[shift:] + variants[:shift]:
                print(f"round {round_index + 1}/{args.rounds}: {variant}", file=sys.stderr)
                results[variant].append(
                    run_variant(
                        variant, urls, args.calls, args.chat_calls, args.reference, db_dir,
                        instructions=args.instructions,
                    )
                )  # fmt: skip
                llm.reset()  # keep the server's request log from growing across variants
                load_averages.append(os.getloadavg()[0])
    if args.instructions:
        print_instructions(results, args.rounds)
    else:
        print_table(results, args.rounds, args.calls, args.chat_calls)
    print(f"\n1-minute load average during the run: {min(load_averages):.2f}.."
          f"{max(load_averages):.2f} (median {statistics.median(load_averages):.2f}) "
          f"on {os.cpu_count()} CPUs")  # fmt: skip
    if args.json:
        with open(args.json, "w", encoding="utf-8") as output:
            json.dump(results, output, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
