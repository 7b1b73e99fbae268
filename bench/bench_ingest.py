"""Ingest throughput, OTLP/HTTP end to end: spanflow's collector beside Arize Phoenix's.

Both servers run on this machine, each writing to a fresh SQLite database. The same pre-encoded
OTLP/HTTP protobuf requests (batches of 512 LLM-sized spans, ~1.5 KB of message text each) are
sent by the same client threads with keep-alive connections. A span counts once it is stored:
for spanflow that is its 200 (answered after the commit); Phoenix answers before storing, so
its clock stops when its database holds every span. Prints spans/s for each and the ratio.

    python bench/bench_ingest.py [--spans 51200] [--phoenix-spans 5120] [--phoenix-python PATH]

See bench/README.md for setting up the Phoenix environment.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

sys.path.insert(0, str(Path(__file__).parent))
from local_postgres import postgres_server, server_binaries

BATCH_SIZE = 512
CLIENT_THREADS = 4
SPANFLOW_COLLECTOR = [sys.executable, "-m", "spanflow.cli", "collector"]
STARTUP_TIMEOUT_S = 600.0
STORE_TIMEOUT_S = 900.0
_PROMPT = (
    "You are a careful assistant. Summarise the following support ticket, list the customer's "
    "open questions, and propose a next step. Ticket: the export job for workspace 4411 fails "
    "every night at 02:00 with a timeout after the third retry; logs show the database "
    "connection pool is exhausted while the nightly reindex runs. "
)
_ANSWER = (
    "Summary: nightly export for workspace 4411 times out because the reindex holds the pool. "
    "Open questions: can the export move to 03:00; is data from failed nights lost. Next step: "
    "stagger the jobs and raise the pool size for the export worker. "
)


def _text(base: str, length: int, salt: int) -> str:
    return (f"[{salt}] " + base * (length // len(base) + 1))[:length]


def _kv(key: str, value: str | int | float | list[str]) -> KeyValue:
    if isinstance(value, str):
        return KeyValue(key=key, value=AnyValue(string_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    any_value = AnyValue()
    any_value.array_value.values.extend(AnyValue(string_value=item) for item in value)
    return KeyValue(key=key, value=any_value)


def build_requests(total_spans: int, *, run_tag: int, run_spans: int = 16) -> list[bytes]:
    """Serialized export requests of ``BATCH_SIZE`` LLM call spans each (16 spans per trace,
    ``run_spans`` spans per run: by default each trace is a run of its own)."""
    bodies = []
    start_ns = time.time_ns() - 3_600_000_000_000
    for batch in range(total_spans // BATCH_SIZE):
        request = ExportTraceServiceRequest()
        resource_spans = request.resource_spans.add()
        resource_spans.resource.attributes.append(_kv("service.name", "bench-agent"))
        scope_spans = resource_spans.scope_spans.add()
        scope_spans.scope.name = "bench"
        for i in range(BATCH_SIZE):
            n = batch * BATCH_SIZE + i
            root = n - n % 16
            span = Span(
                trace_id=(run_tag << 64 | (root + 1)).to_bytes(16, "big"),
                span_id=(n + 1).to_bytes(8, "big"),
                name="chat gpt-4o-mini",
                kind=Span.SPAN_KIND_CLIENT if n != root else Span.SPAN_KIND_INTERNAL,
                start_time_unix_nano=start_ns + n * 1_000_000,
                end_time_unix_nano=start_ns + n * 1_000_000 + 850_000,
            )
            if n != root:
                span.parent_span_id = (root + 1).to_bytes(8, "big")
            messages = json.dumps([{"role": "user", "content": _text(_PROMPT, 950, n)}])
            answer = json.dumps([{"role": "assistant", "content": _text(_ANSWER, 500, n)}])
            span.attributes.extend(
                [
                    _kv("gen_ai.operation.name", "chat"),
                    _kv("gen_ai.provider.name", "openai"),
                    _kv("gen_ai.request.model", "gpt-4o-mini"),
                    _kv("gen_ai.response.model", "gpt-4o-mini-2024-07-18"),
                    _kv("gen_ai.request.temperature", 0.2),
                    _kv("gen_ai.usage.input_tokens", 310),
                    _kv("gen_ai.usage.output_tokens", 96),
                    _kv("gen_ai.response.finish_reasons", ["stop"]),
                    _kv("gen_ai.input.messages", messages),
                    _kv("gen_ai.output.messages", answer),
                    _kv("spanflow.run.id", f"01BENCH{run_tag:04d}{n - n % run_spans:013d}"),
                ]
            )
            scope_spans.spans.append(span)
        bodies.append(request.SerializeToString())
    return bodies


def send_all(port: int, path: str, bodies: list[bytes]) -> tuple[float, float]:
    """POST every body from ``CLIENT_THREADS`` keep-alive clients; (start, last answer) times."""
    next_index = iter(range(len(bodies)))
    lock = threading.Lock()
    failures: list[str] = []

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        while True:
            with lock:
                index = next(next_index, None)
            if index is None:
                break
            while True:
                connection.request(
                    "POST", path, bodies[index], {"Content-Type": "application/x-protobuf"}
                )
                response = connection.getresponse()
                response.read()
                if response.status == 200:
                    break
                if response.status != 503:
                    failures.append(f"HTTP {response.status}")
                    return
                time.sleep(float(response.getheader("Retry-After", "1")))
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(CLIENT_THREADS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"export failed: {failures[0]}")
    return started, time.perf_counter()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _count_rows(db_path: Path, table: str) -> int:
    if not db_path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5) as connection:
            row = connection.execute(f"SELECT count(*) FROM {table}").fetchone()
            return int(row[0])
    except sqlite3.OperationalError:
        return 0


def _process_tree_cpu_s(pid: int) -> tuple[float, float]:
    """CPU seconds (user + system) used so far by ``pid`` itself and by its live descendants."""
    own = descendants = 0.0
    pending = [pid]
    ticks = os.sysconf("SC_CLK_TCK")
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            cpu_s = (int(fields[11]) + int(fields[12])) / ticks
            if current == pid:
                own += cpu_s
            else:
                descendants += cpu_s
            for task in Path(f"/proc/{current}/task").iterdir():
                pending.extend(int(child) for child in (task / "children").read_text().split())
        except (OSError, IndexError, ValueError):
            continue  # exited meanwhile
    return own, descendants


@dataclass(frozen=True)
class Figure:
    """One measured round: spans/s end to end, and server CPU per 1,000 spans (all of it, and
    the part its decode worker processes used)."""

    spans_per_s: float
    cpu_ms_per_1k: float | None
    worker_cpu_ms_per_1k: float | None = None


def bench_spanflow(
    workdir: Path, spans: int, *, db: str | None, options: list[str], run_spans: int = 16
) -> Figure:
    """Spans/s into ``spanflow collector`` with a fresh index (SQLite unless ``db``)."""
    tag = int(time.time() * 1000) % 9999 + 1
    bodies = build_requests(spans, run_tag=tag, run_spans=run_spans)
    db_path = Path(tempfile.mkdtemp(dir=workdir)) / "index.db"
    location = db or str(db_path)
    process = subprocess.Popen(
        [*SPANFLOW_COLLECTOR, "--port", "0", "--no-grpc", "--db", location, *options],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready = process.stdout.readline()
        if "ready" not in ready:
            raise RuntimeError(f"spanflow collector did not start: {ready!r}")
        port = int(ready.split("http=http://127.0.0.1:", 1)[1].split()[0])
        send_all(port, "/v1/traces", bodies[:2])  # starts decode workers; not timed
        own_before, workers_before = _process_tree_cpu_s(process.pid)
        started, finished = send_all(port, "/v1/traces", bodies[2:])
        own_after, workers_after = _process_tree_cpu_s(process.pid)
        stored = _count_spans(db, db_path)
        if stored != spans:
            raise RuntimeError(f"spanflow index holds {stored} spans, expected {spans}")
        timed = spans - 2 * BATCH_SIZE
        workers_s = workers_after - workers_before
        return Figure(
            timed / (finished - started),
            1e6 * (own_after - own_before + workers_s) / timed,
            1e6 * workers_s / timed,
        )
    finally:
        process.terminate()
        process.wait(60)


def _count_spans(db: str | None, db_path: Path) -> int:
    if db is None:
        return _count_rows(db_path, "spans")
    import psycopg  # only for the PostgreSQL variant

    with psycopg.connect(db) as connection:
        row = connection.execute("SELECT count(*) FROM spans").fetchone()
        return int(row[0]) if row else 0


def bench_phoenix(workdir: Path, spans: int, phoenix_python: str) -> Figure:
    """Spans/s into ``phoenix serve`` with a fresh SQLite database, counted once stored."""
    bodies = build_requests(spans, run_tag=2)
    phoenix_dir = Path(tempfile.mkdtemp(dir=workdir))
    port = _free_port()
    env = {
        **os.environ,
        "PHOENIX_WORKING_DIR": str(phoenix_dir),
        "PHOENIX_HOST": "127.0.0.1",
        "PHOENIX_PORT": str(port),
        "PHOENIX_GRPC_PORT": str(_free_port()),
        "PHOENIX_TELEMETRY_ENABLED": "false",
    }
    process = subprocess.Popen(
        [phoenix_python, "-m", "phoenix.server.main", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(lambda: _answers(port, "/healthz"), STARTUP_TIMEOUT_S, "Phoenix to start")
        db_path = phoenix_dir / "phoenix.db"
        started, _ = send_all(port, "/v1/traces", bodies)
        _wait_for(
            lambda: _count_rows(db_path, "spans") >= spans, STORE_TIMEOUT_S, "Phoenix to store"
        )
        return Figure(spans / (time.perf_counter() - started), None)
    finally:
        process.terminate()
        process.wait(60)


def _answers(port: int, path: str) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", path)
        return connection.getresponse().status == 200
    except OSError:
        return False


def main() -> int:
    """Run every variant ``--rounds`` times, interleaved; print medians and ranges."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spans", type=int, default=100 * BATCH_SIZE)
    parser.add_argument("--phoenix-spans", type=int, default=4 * BATCH_SIZE)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--run-spans",
        type=int,
        default=16,
        help="spans per run (default 16: each trace is its own run); a large value puts every "
        "span into a few big runs",
    )
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL variant")
    parser.add_argument(
        "--only", default="", help="run only the variants whose name contains this text"
    )
    parser.add_argument(
        "--phoenix-python",
        default=os.environ.get(
            "PHOENIX_PYTHON", str(Path(__file__).parent / ".phoenix-venv/bin/python")
        ),
        help="python of a virtualenv with arize-phoenix installed (see bench/README.md)",
    )
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="spanflow-bench-")))
        span_kb = len(build_requests(BATCH_SIZE, run_tag=0)[0]) / BATCH_SIZE / 1024
        print(
            f"spans of {span_kb:.2f} KB (protobuf), batches of {BATCH_SIZE}, "
            f"{CLIENT_THREADS} client threads, OTLP/HTTP protobuf; {args.rounds} rounds, "
            "interleaved"
        )
        variants: dict[str, Callable[[], Figure]] = {
            "spanflow, SQLite, decode in threads": lambda: bench_spanflow(
                workdir,
                args.spans,
                db=None,
                options=["--decode-processes", "0"],
                run_spans=args.run_spans,
            ),
            "spanflow, SQLite (default)": lambda: bench_spanflow(
                workdir, args.spans, db=None, options=[], run_spans=args.run_spans
            ),
        }
        if not args.no_postgres and server_binaries() is not None:
            url = stack.enter_context(postgres_server())
            variants["spanflow, PostgreSQL (fsync on)"] = lambda: bench_spanflow(
                workdir, args.spans, db=_fresh_database(url), options=[], run_spans=args.run_spans
            )
        if Path(args.phoenix_python).exists():
            variants["Arize Phoenix, SQLite"] = lambda: bench_phoenix(
                workdir, args.phoenix_spans, args.phoenix_python
            )
        else:
            print(f"Phoenix skipped: no python at {args.phoenix_python} (see bench/README.md)")
        variants = {name: measure for name, measure in variants.items() if args.only in name}
        figures: dict[str, list[Figure]] = {name: [] for name in variants}
        for round_ in range(args.rounds):
            for name, measure in variants.items():
                figure = measure()
                figures[name].append(figure)
                print(f"round {round_ + 1}: {name}: {figure.spans_per_s:,.0f} spans/s", flush=True)
        _print_table(figures)
    return 0


def _fresh_database(url: str) -> str:
    import psycopg

    name = f"bench_{int(time.time() * 1000)}"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return url.rsplit("/", 1)[0] + "/" + name


def _print_table(figures: dict[str, list[Figure]]) -> None:
    print()
    print(
        "| variant | spans/s (median) | min-max | server CPU per 1k spans (median) "
        "| of it in decode workers |"
    )
    print("|---|---:|---:|---:|---:|")
    phoenix = figures.get("Arize Phoenix, SQLite")
    for name, rounds in figures.items():
        rates = [figure.spans_per_s for figure in rounds]
        cpu = [figure.cpu_ms_per_1k for figure in rounds if figure.cpu_ms_per_1k is not None]
        cpu_text = f"{statistics.median(cpu):,.0f} ms" if cpu else "—"
        workers = [f.worker_cpu_ms_per_1k for f in rounds if f.worker_cpu_ms_per_1k is not None]
        workers_text = f"{statistics.median(workers):,.0f} ms" if workers else "—"
        print(
            f"| {name} | {statistics.median(rates):,.0f} | "
            f"{min(rates):,.0f}-{max(rates):,.0f} | {cpu_text} | {workers_text} |"
        )
    if phoenix:
        base = statistics.median(figure.spans_per_s for figure in phoenix)
        for name, rounds in figures.items():
            if rounds is not phoenix:
                ratio = statistics.median(figure.spans_per_s for figure in rounds) / base
                print(f"{name}: {ratio:,.0f}x Phoenix")


if __name__ == "__main__":
    sys.exit(main())
