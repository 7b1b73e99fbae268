"""Run index speed: write throughput, list-runs and run-graph latency at 100k and 1M spans.

Generates realistic runs (~50 spans each: a start marker, a root with params and metrics, LLM
calls of ~1.5 KB with GenAI usage and message contents, tool steps, dataflow links), writes
them through ``write_spans`` in batches of 512 as the collector does, then times the queries
the API serves most: the first page of runs, a filtered page, a deep page through the cursor,
one run's spans + links (the run graph), and the UI's other reads: the run page (run, metric
series, subruns), span tree pages, one run's metric series, and comparing two runs. Prints
figures and the 1M/100k ratios.

    python bench/bench_query.py                       # SQLite, 100k and 1M spans
    python bench/bench_query.py --sizes 100000        # quicker
    python bench/bench_query.py --postgres URL        # PostgreSQL (a fresh schema per size)
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from spanflow import attributes as attr
from spanflow.query.records import AttributeValue, EventRecord, LinkRecord, SpanRecord
from spanflow.query.store import RunQuery, ValueFilter
from spanflow.query.views import child_run_ids, compare_runs
from spanflow_collector.index import SqlRunIndexStore, open_store

SPANS_PER_RUN = 50
LLM_CALLS_PER_RUN = 30
METRIC_POINTS_PER_STEP = 5
BATCH_SIZE = 512
RESOURCE: dict[str, AttributeValue] = {"service.name": "bench-agent", "host.name": "bench"}
_WORDS = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "a",
    "lazy",
    "dog",
    "while",
    "agents",
    "plan",
    "tool",
    "calls",
]


def _text(rng: random.Random, chars: int) -> str:
    words: list[str] = []
    length = 0
    while length < chars:
        word = rng.choice(_WORDS)
        words.append(word)
        length += len(word) + 1
    return " ".join(words)[:chars]


def generate_run(index: int, rng: random.Random, start_ns: int) -> list[SpanRecord]:
    """One run of ``SPANS_PER_RUN`` spans in one trace, in the order the SDK exports them."""
    run_id = f"01BENCH{index:019d}"
    trace_id = uuid.UUID(int=rng.getrandbits(128)).hex
    root_id = f"{rng.getrandbits(64):016x}"
    project = f"project-{index % 5}"
    base = {attr.RUN_ID: run_id}
    spans = [
        SpanRecord(
            trace_id=trace_id,
            span_id=f"{rng.getrandbits(64):016x}",
            parent_span_id=root_id,
            name="run.start",
            kind=1,
            start_time_unix_nano=start_ns,
            end_time_unix_nano=start_ns,
            attributes={
                **base,
                attr.SPAN_KIND: attr.SpanKindValue.RUN_START,
                attr.RUN_NAME: f"eval-{index}",
                attr.PROJECT: project,
                attr.RUN_HEARTBEAT_INTERVAL_S: 30.0,
            },
            resource_attributes=RESOURCE,
        )
    ]
    previous_llm: str | None = None
    offset_ns = 1_000_000
    for position in range(SPANS_PER_RUN - 2):
        span_id = f"{rng.getrandbits(64):016x}"
        start = start_ns + offset_ns
        offset_ns += 20_000_000
        if position < LLM_CALLS_PER_RUN:
            links = ()
            if previous_llm is not None:
                links = (
                    LinkRecord(
                        trace_id,
                        previous_llm,
                        {
                            attr.LINK_TYPE: attr.LinkTypeValue.DATAFLOW,
                            attr.LINK_HOW: attr.LinkHowValue.VERBATIM,
                            attr.LINK_SCORE: 1.0,
                        },
                    ),
                )
            messages = json.dumps([{"role": "user", "content": _text(rng, 700)}])
            output = json.dumps([{"role": "assistant", "content": _text(rng, 300)}])
            attributes: dict[str, AttributeValue] = {
                **base,
                attr.SPAN_KIND: attr.SpanKindValue.LLM,
                attr.GEN_AI_OPERATION_NAME: "chat",
                attr.GEN_AI_PROVIDER_NAME: "openai",
                attr.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
                attr.GEN_AI_RESPONSE_MODEL: "gpt-4o-mini-2024-07-18",
                attr.GEN_AI_RESPONSE_ID: f"chatcmpl-{rng.getrandbits(64):x}",
                attr.GEN_AI_RESPONSE_FINISH_REASONS: ("stop",),
                attr.GEN_AI_USAGE_INPUT_TOKENS: rng.randrange(100, 2000),
                attr.GEN_AI_USAGE_OUTPUT_TOKENS: rng.randrange(10, 400),
                attr.GEN_AI_INPUT_MESSAGES: messages,
                attr.GEN_AI_OUTPUT_MESSAGES: output,
                attr.SERVER_ADDRESS: "127.0.0.1",
            }
            spans.append(
                SpanRecord(
                    trace_id=trace_id,
                    span_id=span_id,
                    parent_span_id=root_id,
                    name="chat gpt-4o-mini",
                    kind=3,
                    start_time_unix_nano=start,
                    end_time_unix_nano=start + 15_000_000,
                    attributes=attributes,
                    links=links,
                    resource_attributes=RESOURCE,
                    scope_name="spanflow",
                    scope_version="0.1.0",
                )
            )
            previous_llm = span_id
        else:
            spans.append(
                SpanRecord(
                    trace_id=trace_id,
                    span_id=span_id,
                    parent_span_id=root_id,
                    name="tool lookup",
                    kind=1,
                    start_time_unix_nano=start,
                    end_time_unix_nano=start + 2_000_000,
                    attributes={
                        **base,
                        attr.SPAN_KIND: attr.SpanKindValue.STEP,
                        attr.STEP_NAME: "lookup",
                    },
                    # log_metric inside a step: the UI's metric series read these back.
                    events=tuple(
                        EventRecord(
                            attr.EVENT_METRIC,
                            start + point,
                            {
                                attr.EVENT_METRIC_NAME: "loss",
                                attr.EVENT_METRIC_VALUE: rng.random(),
                                attr.EVENT_METRIC_STEP: position * 5 + point,
                            },
                        )
                        for point in range(METRIC_POINTS_PER_STEP)
                    ),
                    resource_attributes=RESOURCE,
                )
            )
    spans.append(
        SpanRecord(
            trace_id=trace_id,
            span_id=root_id,
            parent_span_id=None,
            name=f"eval-{index}",
            kind=1,
            start_time_unix_nano=start_ns,
            end_time_unix_nano=start_ns + offset_ns,
            attributes={
                **base,
                attr.SPAN_KIND: attr.SpanKindValue.RUN,
                attr.RUN_NAME: f"eval-{index}",
                attr.PROJECT: project,
                attr.RUN_STATUS: "failed" if index % 17 == 0 else "completed",
                attr.RUN_TAGS: ("bench", f"shard-{index % 3}"),
                attr.PARAM_PREFIX + "temperature": round(rng.random(), 2),
                attr.PARAM_PREFIX + "model": "gpt-4o-mini",
                attr.METRIC_PREFIX + "accuracy": rng.random(),
            },
            resource_attributes=RESOURCE,
            status_code=2 if index % 17 == 0 else 1,
        )
    )
    return spans


def batches(span_count: int, seed: int) -> Iterator[list[SpanRecord]]:
    """Batches of ``BATCH_SIZE`` spans covering ``span_count // SPANS_PER_RUN`` runs."""
    rng = random.Random(seed)
    start_ns = 1_700_000_000 * 10**9
    pending: list[SpanRecord] = []
    for index in range(span_count // SPANS_PER_RUN):
        pending.extend(generate_run(index, rng, start_ns + index * 1_000_000_000))
        while len(pending) >= BATCH_SIZE:
            yield pending[:BATCH_SIZE]
            pending = pending[BATCH_SIZE:]
    if pending:
        yield pending


def median_ms(action: Callable[[], object], repeats: int = 30) -> float:
    """Median wall time of ``action`` in milliseconds (after one warm-up call)."""
    action()
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def fill(store: SqlRunIndexStore, span_count: int) -> tuple[float, float]:
    """Write ``span_count`` spans; return (spans per second overall, generation seconds)."""
    generated = list(batches(span_count, seed=span_count))
    started = time.perf_counter()
    for batch in generated:
        store.write_spans(batch)
    elapsed = time.perf_counter() - started
    return sum(len(batch) for batch in generated) / elapsed, elapsed


def measure(store: SqlRunIndexStore, span_count: int) -> dict[str, float]:
    """Query latencies (ms) on a filled store."""
    run_count = span_count // SPANS_PER_RUN
    first = store.list_runs(RunQuery(limit=50))
    deep_cursor = first.next_cursor
    for _ in range(20):
        page = store.list_runs(RunQuery(limit=50, cursor=deep_cursor))
        deep_cursor = page.next_cursor
    middle_run = f"01BENCH{run_count // 2:019d}"
    other_run = f"01BENCH{run_count // 3:019d}"
    second_page = store.get_span_page(middle_run, limit=20, include_markers=False).next_cursor

    def run_graph() -> None:
        store.get_run(middle_run)
        store.get_spans(middle_run)
        store.get_links(middle_run)

    def run_page() -> None:  # GET /api/v1/runs/{id}: the run, its metric series, its subruns
        store.get_run(middle_run)
        store.get_metric_history(middle_run)
        child_run_ids(store, middle_run)

    def compare() -> None:  # GET /api/v1/compare?ids=a,b
        runs = [store.get_run(run_id) for run_id in (middle_run, other_run)]
        compare_runs([run for run in runs if run is not None])

    return {
        "list_runs first page (50)": median_ms(lambda: store.list_runs(RunQuery(limit=50))),
        "list_runs project+status": median_ms(
            lambda: store.list_runs(
                RunQuery(project="project-3", statuses=("completed",), limit=50)
            )
        ),
        "list_runs page 21 (cursor)": median_ms(
            lambda: store.list_runs(RunQuery(limit=50, cursor=deep_cursor))
        ),
        "list_runs param filter": median_ms(
            lambda: store.list_runs(
                RunQuery(params=(ValueFilter("temperature", ">", 0.5),), limit=50)
            ),
            repeats=10,
        ),
        "run graph (run+spans+links)": median_ms(run_graph),
        "run page (run+metrics+subruns)": median_ms(run_page),
        "span tree page 1 (20 spans)": median_ms(
            lambda: store.get_span_page(middle_run, limit=20, include_markers=False)
        ),
        "span tree page 2 (cursor)": median_ms(
            lambda: store.get_span_page(
                middle_run, limit=20, cursor=second_page, include_markers=False
            )
        ),
        "metric series (one run)": median_ms(lambda: store.get_metric_history(middle_run)),
        "compare two runs": median_ms(compare),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--postgres", metavar="URL", help="benchmark PostgreSQL instead")
    args = parser.parse_args(argv)
    backend = "postgresql" if args.postgres else "sqlite"
    results: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for size in args.sizes:
            if args.postgres:
                store = open_store(args.postgres, schema=f"bench_{uuid.uuid4().hex[:12]}")
            else:
                store = open_store(Path(folder) / f"index-{size}.db")
            try:
                rate, seconds = fill(store, size)
                print(
                    f"[{backend}] wrote {size:,} spans in {seconds:.1f} s: "
                    f"{rate:,.0f} spans/s (batches of {BATCH_SIZE}, ~1.5 KB LLM spans)",
                    flush=True,
                )
                results[size] = measure(store, size)
            finally:
                store.close()
    names = list(next(iter(results.values())))
    header = f"{'query (median ms)':32}" + "".join(f"{size:>12,}" for size in results)
    if len(results) > 1:
        header += f"{'ratio':>10}"
    print(header)
    for name in names:
        line = f"{name:32}" + "".join(f"{results[size][name]:12.2f}" for size in results)
        if len(results) > 1:
            sizes = list(results)
            line += f"{results[sizes[-1]][name] / results[sizes[0]][name]:10.2f}"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
