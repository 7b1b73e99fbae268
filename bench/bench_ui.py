"""What the web UI costs a browser: bytes transferred and time to first render.

Builds a SQLite run index of ``--runs`` runs (default 10,000, see ``query_api.build_index``)
plus one run of ``--calls`` LLM calls (default 300) chained by dataflow links, serves it with
``spanflow ui``'s app on loopback, and opens two pages in Debian's Chromium (headless, fresh
cache each time): the runs page and that run's Graph tab. Time to first render is the app's own
``performance.mark`` when the table / laid-out graph is in the DOM, from navigation start.
Run: ``.venv/bin/python bench/bench_ui.py`` (needs ``make ui`` and ``apt-get install chromium``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from query_api import build_index, serve_app  # bench/query_api.py

from spanflow import attributes as attr
from spanflow.query.records import LinkRecord, SpanRecord
from spanflow.query.store import RunIndexStore
from spanflow_collector.index import open_store
from spanflow_collector.ui.serve import index_app

CHROMIUM_PATH = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MARK_TIMEOUT_S = 120.0
BIG_RUN_ID = "01BENCHGRAPH00000000000000"


def build_big_run(store: RunIndexStore, calls: int) -> None:
    """One run whose ``calls`` LLM calls each feed the next (and every fifth a later one)."""
    start = time.time_ns()
    trace_id, root_id = f"{0xBEEF:032x}", f"{0xBEEF:016x}"
    spans = [
        SpanRecord(
            trace_id,
            root_id,
            None,
            "big-graph",
            1,
            start,
            start + calls * 10**6,
            {
                attr.RUN_ID: BIG_RUN_ID,
                attr.RUN_NAME: "big-graph",
                attr.PROJECT: "bench",
                attr.SPAN_KIND: attr.SpanKindValue.RUN,
                attr.RUN_STATUS: "completed",
            },
        )
    ]
    for call in range(calls):
        span_id = f"{0x10000 + call:016x}"
        links = []
        for producer in (call - 1, call - 5 if call % 5 == 0 else -1):
            if producer >= 0:
                links.append(
                    LinkRecord(
                        trace_id,
                        f"{0x10000 + producer:016x}",
                        {
                            attr.LINK_TYPE: attr.LinkTypeValue.DATAFLOW,
                            attr.LINK_HOW: attr.LinkHowValue.VERBATIM,
                            attr.LINK_SCORE: 1.0,
                        },
                    )
                )
        spans.append(
            SpanRecord(
                trace_id,
                span_id,
                root_id,
                "chat gpt-4o-mini",
                3,
                start + call * 10**6,
                start + call * 10**6 + 8 * 10**5,
                {
                    attr.RUN_ID: BIG_RUN_ID,
                    attr.SPAN_KIND: attr.SpanKindValue.LLM,
                    attr.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
                    attr.GEN_AI_USAGE_INPUT_TOKENS: 200,
                    attr.GEN_AI_USAGE_OUTPUT_TOKENS: 40,
                    attr.GEN_AI_INPUT_MESSAGES: '[{"role":"user","parts":[{"type":"text",'
                    f'"content":"step {call}: ' + "context " * 60 + '"}]}]',
                    attr.GEN_AI_OUTPUT_MESSAGES: '[{"role":"assistant","parts":[{"type":"text",'
                    f'"content":"answer {call}"' + "}]}]",
                },
                links=tuple(links),
            )
        )
    store.write_spans(spans)


def measure(browser: Any, url: str, mark: str) -> tuple[float, int]:
    """Milliseconds to the app's ``mark`` and bytes transferred, on a fresh-cache page."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    responses: list[Any] = []
    page.on("requestfinished", lambda request: responses.append(request))
    page.goto(url)
    # Polled with evaluate: the app's CSP forbids the eval that wait_for_function relies on.
    deadline = time.monotonic() + MARK_TIMEOUT_S
    found: list[float] = []
    while not found:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} never reached {mark}")
        found = page.evaluate(f"performance.getEntriesByName('{mark}').map(e => e.startTime)")
        page.wait_for_timeout(20)
    render_ms = found[0]
    page.wait_for_load_state("networkidle")
    transferred = 0
    for request in responses:
        sizes = request.sizes()
        transferred += sizes["responseBodySize"] + sizes["responseHeadersSize"]
    context.close()
    return render_ms, transferred


def main() -> None:
    """Build the index, serve it, open both pages ``--repeat`` times, print medians."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = str(Path(folder) / "index.db")
        store = open_store(db)
        build_index(store, options.runs)
        build_big_run(store, options.calls)
        store.close()
        with serve_app(index_app(db, host="127.0.0.1")) as base, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
            pages = [
                (f"runs page ({options.runs:,} runs, 50 per page)", f"{base}/#/runs",
                 "spanflow:runs-rendered"),
                (f"graph of a {options.calls}-call run", f"{base}/#/run/{BIG_RUN_ID}?tab=graph",
                 "spanflow:graph-rendered"),
            ]  # fmt: skip
            print(f"{'page':44} {'first render (median)':>22} {'transferred':>12}")
            for title, url, mark in pages:
                samples = [measure(browser, url, mark) for _ in range(options.repeat)]
                render_ms = statistics.median(ms for ms, _ in samples)
                kib = statistics.median(size for _, size in samples) / 1024
                print(f"{title:44} {render_ms:>19.0f} ms {kib:>8.0f} KiB")
            browser.close()


if __name__ == "__main__":
    main()
