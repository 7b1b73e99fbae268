"""Embedded exporter cost per span: LLM spans written into a local SQLite index in-process.

With no collector configured the SDK exports into the index itself (``EmbeddedSpanExporter``
behind a batch processor). The spans here carry what the SDK's LLM instrumentation records:
GenAI attributes and about 1.5 KB of message JSON built by the SDK's own renderer (so redacted
by it), in export batches of 512. Two kinds of content, each on fresh spans:

* ``SDK-rendered content``: the spans as the SDK made them;
* ``same content, not from the SDK``: the same attribute values copied into new strings, as
  another instrumentation would hand them over, which the store must scan for secrets;

through three exporters, interleaved per round: the embedded index, spanflow's OTLP/HTTP
exporter and the OpenTelemetry SDK's own ``OTLPSpanExporter`` (protobuf over HTTP), both OTLP
ones to a loopback endpoint in another process that reads each request and answers 200. A
figure is the process's CPU (every thread) from handing a batch to the exporter until it is
delivered (committed, or answered).

Usage: ``.venv/bin/python bench/bench_embedded_export.py [--spans 4096] [--rounds 5]``

With ``--instructions`` it counts instructions instead (valgrind's callgrind, which the load of
the machine does not move): a child process configures spanflow with its defaults (the embedded
index, inside a run) and ends chat spans like the ones ``bench_overhead.py`` makes (a re-sent
13-message history and a question rendered by the SDK, the reply), flushing every ``--batch``
spans, so each flush exports one batch on the batch processor's thread. Markers split each
export into its stages (conversion, redaction, rows, inserts, run upkeep, commit); the table gives
instructions per span of each stage, for this tree and for ``--reference TREE`` (a checkout of
main). ``.venv/bin/python bench/bench_embedded_export.py --instructions [--batch 20]
[--batches 10] [--reference TREE]``
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import subprocess
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

sys.path.insert(0, str(Path(__file__).parent))
from bench_overhead import MARKED_FUNCTION, mark_window, part_instructions

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
    build: Callable[[int], list[ReadableSpan]], spans: int, exporter: SpanExporter
) -> float:
    """CPU microseconds per span (this process's, every thread) to export ``spans`` spans in
    batches, each batch delivered (one commit, or answered by the OTLP sink) before the next.

    Each batch is built just before its export (untimed), as a batch processor drains its
    queue while the program runs.
    """
    exported = 0
    elapsed_s = 0.0
    try:
        while exported < spans:
            batch = build(min(BATCH_SIZE, spans - exported))
            started = time.process_time()
            result = exporter.export(batch)
            delivered = exporter.force_flush(30_000)  # spanflow's OTLP exporter sends on a thread
            elapsed_s += time.process_time() - started
            if result is not SpanExportResult.SUCCESS or not delivered:
                raise RuntimeError(f"the export through {type(exporter).__name__} failed")
            exported += len(batch)
        return elapsed_s / spans * 1e6
    finally:
        exporter.shutdown()


_SINK = """
import http.server, sys
class Sink(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def otlp_sink() -> tuple[subprocess.Popen[str], str]:
    """A loopback OTLP/HTTP endpoint in a process of its own (its CPU is not counted) that
    reads every request and answers 200; returns the process and the traces URL."""
    sink = subprocess.Popen(
        [sys.executable, "-c", _SINK], stdout=subprocess.PIPE, text=True
    )  # fmt: skip
    assert sink.stdout is not None
    return sink, f"http://127.0.0.1:{sink.stdout.readline().strip()}/v1/traces"


def exporters_compared(workdir: str, url: str) -> dict[str, Callable[[int], SpanExporter]]:
    """The exporters each round runs, by name: a fresh one per round."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    from spanflow._internal.otlp_exporter import OtlpSpanExporter
    from spanflow._internal.otlp_send import OtlpEndpoint

    return {
        "embedded index": lambda n: EmbeddedSpanExporter(Path(workdir) / f"index-{n}.db"),
        "spanflow OTLP/HTTP exporter": lambda n: OtlpSpanExporter(OtlpEndpoint(url), None),
        "OpenTelemetry SDK OTLPSpanExporter (HTTP)": lambda n: OTLPSpanExporter(endpoint=url),
    }


# --- instruction counts ---------------------------------------------------------------------
# Stages of one export, each ending at a marker (bench_overhead.py's marker function).
STAGES = (
    "convert ReadableSpan to SpanRecord",
    "redact",
    "build rows",
    "BEGIN, inserts, run records",
    "assign spans without a run id to runs",
    "recompute runs",
    "held records, COMMIT",
)
_LABELS: list[str] = []  # the stage each marker ends, in order


def _mark(ended: str) -> None:
    _LABELS.append(ended)
    mark_window()


def _history() -> list[dict[str, Any]]:
    """bench_overhead.py's re-sent history (system prompt, six turns, a question), as the SDK
    records messages."""
    texts = [("system", "You are a careful research assistant. " * 8)]
    for turn in range(6):
        texts.append(("user", f"Question {turn}: " + "context " * 60))
        texts.append(("assistant", f"Answer {turn}: " + "finding " * 50))
    return [{"role": role, "parts": [{"type": "text", "content": text}]} for role, text in texts]


def count_child(batch: int, batches: int, db_dir: str) -> None:
    """Under callgrind: end chat spans with spanflow's defaults, marking each export's stages."""
    import spanflow
    from spanflow_collector.index import sqlstore
    from spanflow_collector.index.sqlite import SqliteRunIndexStore

    counting = [False]

    def marking(function: Callable[..., Any], before: str, itself: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            if not counting[0]:
                return function(*args, **kwargs)
            _mark(before)
            result = function(*args, **kwargs)
            _mark(itself)
            return result

        return call

    stages = dict(enumerate(STAGES))
    sqlstore.redact_spans = marking(sqlstore.redact_spans, stages[0], stages[1])  # type: ignore[attr-defined]
    sqlstore.build_rows = marking(sqlstore.build_rows, stages[1], stages[2])  # type: ignore[attr-defined]
    for store_class, name, before, itself in (
        (SqliteRunIndexStore, "_write", stages[2], stages[6]),
        (sqlstore.SqlRunIndexStore, "_assign_trace_runs", stages[3], stages[4]),
        (sqlstore.SqlRunIndexStore, "_update_totals", stages[5], stages[5]),
        (sqlstore.SqlRunIndexStore, "_recompute_runs", stages[6], stages[5]),
    ):
        if hasattr(store_class, name):  # a reference tree from before run_totals has none
            setattr(store_class, name, marking(getattr(store_class, name), before, itself))
    # The spans and run records reach a collector; this thread exports them into the index
    # between markers, so no other thread's work lands in a stage.
    embedded = EmbeddedSpanExporter(os.path.join(db_dir, "index.db"))
    collected = _Collected()
    records: list[Any] = []

    class _Records:
        def export(self, batch: Sequence[Any]) -> bool:
            records.extend(batch)
            return True

        def shutdown(self) -> None:
            return None

    collected.run_records = _Records()  # type: ignore[attr-defined]
    spanflow.configure(exporters=[collected], capture_content=True, dataflow=False)

    def export_collected(counted: bool = True) -> None:
        spanflow.force_flush()
        if records:
            embedded.export_run_records(records)
            records.clear()
        if collected.spans:
            counting[0] = counted
            _mark("between exports")
            if embedded.export(collected.spans) is not SpanExportResult.SUCCESS:
                raise RuntimeError("the embedded export failed")
            _mark("between exports")
            counting[0] = False
            collected.spans.clear()

    from spanflow._internal.config import tracer as spanflow_tracer

    tracer = spanflow_tracer()
    history = _history()
    reply = [{"role": "assistant", "parts": [{"type": "text", "content": "Done. " * 60}]}]

    def chat(number: int) -> None:
        found: dict[str, Any] = {
            attr.GEN_AI_OPERATION_NAME: "chat",
            attr.GEN_AI_REQUEST_MODEL: "bench-model",
            attr.GEN_AI_USAGE_INPUT_TOKENS: 420,
            attr.GEN_AI_USAGE_OUTPUT_TOKENS: 64,
        }
        question = {"role": "user", "parts": [{"type": "text", "content": f"Summarise {number}."}]}
        set_json_array(found, attr.GEN_AI_INPUT_MESSAGES, [*history, question])
        set_json_array(found, attr.GEN_AI_OUTPUT_MESSAGES, reply)
        with tracer.start_as_current_span("chat bench-model", kind=SpanKind.CLIENT) as span:
            span.set_attributes(found)

    numbers = itertools.count()
    with spanflow.run("bench-embedded-export"):
        for _ in range(2 * batch):  # warm-up: caches, the run's first rows
            chat(next(numbers))
        export_collected(counted=False)
        for _ in range(batches):
            for _ in range(batch):
                chat(next(numbers))
            export_collected()
    spanflow.shutdown()
    export_collected(counted=False)
    embedded.shutdown()
    Path(db_dir, "labels.json").write_text(json.dumps(_LABELS))


def count_instructions(batch: int, batches: int, reference: str | None) -> None:
    """Print instructions per span of each export stage, now and at ``reference``."""
    if not shutil.which("valgrind"):
        raise SystemExit("--instructions needs valgrind (Debian: apt-get install valgrind)")
    trees = {"now": None, **({"reference": os.path.abspath(reference)} if reference else {})}
    counts: dict[str, list[int]] = {}
    for label, tree in trees.items():
        with tempfile.TemporaryDirectory(prefix="spanflow-bench-") as folder:
            env = {**os.environ, "PYTHONHASHSEED": "0", "SPANFLOW_EXPORTERS": "embedded"}
            if tree:
                env["PYTHONPATH"] = os.pathsep.join([f"{tree}/src", f"{tree}/collector"])
            command = [sys.executable, __file__, "--count-child", "--batch", str(batch),
                       "--batches", str(batches), "--db-dir", folder]  # fmt: skip
            subprocess.run(
                ["valgrind", "--tool=callgrind", f"--dump-before={MARKED_FUNCTION}",
                 f"--callgrind-out-file={folder}/callgrind.out", *command],
                check=True, capture_output=True, env=env,
            )  # fmt: skip
            labels = json.loads(Path(folder, "labels.json").read_text())
            totals = [0] * len(STAGES)
            for number, ended in enumerate(labels, start=1):
                if ended in STAGES:
                    dump = Path(folder, f"callgrind.out.{number}")
                    totals[STAGES.index(ended)] += part_instructions(dump)
            counts[label] = totals
    spans = batch * batches
    print(f"Instructions per span exported (callgrind, {batches} exports of {batch} chat spans):")
    print()
    print("| stage | " + " | ".join(trees) + " |")
    print("|---|" + "---:|" * len(trees))
    for index, stage in enumerate(STAGES):
        cells = " | ".join(f"{counts[label][index] / spans:,.0f}" for label in trees)
        print(f"| {stage} | {cells} |")
    cells = " | ".join(f"**{sum(counts[label]) / spans:,.0f}**" for label in trees)
    print(f"| **total** | {cells} |")


def main() -> int:
    """Run both variants ``--rounds`` times, interleaved; print medians and ranges."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spans", type=int, default=8 * BATCH_SIZE)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--instructions", action="store_true", help="count instructions under callgrind instead"
    )
    parser.add_argument("--batch", type=int, default=20, help="spans per export (--instructions)")
    parser.add_argument("--batches", type=int, default=10, help="exports (--instructions)")
    parser.add_argument("--reference", help="a source tree (checkout of main) to compare with")
    parser.add_argument("--count-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--db-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.count_child:
        count_child(args.batch, args.batches, args.db_dir)
        return 0
    if args.instructions:
        count_instructions(args.batch, args.batches, args.reference)
        return 0
    contents: dict[str, Callable[[int], list[ReadableSpan]]] = {
        "SDK-rendered content": lambda count: build_spans(count, fresh_strings=False),
        "same content, not from the SDK": lambda count: build_spans(count, fresh_strings=True),
    }
    sink, url = otlp_sink()
    figures: dict[str, list[float]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="spanflow-bench-") as workdir:
            exporters = exporters_compared(workdir, url)
            opened = itertools.count()
            for round_ in range(args.rounds):
                for (exporter_name, make), (content, build) in itertools.product(
                    exporters.items(), contents.items()
                ):
                    name = f"{exporter_name}, {content}"
                    spent = export_us_per_span(build, args.spans, make(next(opened)))
                    figures.setdefault(name, []).append(spent)
                    print(f"round {round_ + 1}: {name}: {spent:.1f} µs/span", flush=True)
    finally:
        sink.terminate()
        sink.wait()
    print()
    print("| variant | µs per span (median) | min-max |")
    print("|---|---:|---:|")
    for name, values in figures.items():
        print(f"| {name} | {statistics.median(values):.1f} | {min(values):.1f}-{max(values):.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
