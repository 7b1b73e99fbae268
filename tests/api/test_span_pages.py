"""Span lists and span trees come in pages, in SQLite and PostgreSQL, and the Python client
follows the pages to give back the whole run."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.parse
import urllib.request
from typing import Any

import pytest

import spanflow
from spanflow import attributes as attr
from spanflow.query.params import DEFAULT_SPAN_LIMIT, MAX_SPAN_LIMIT
from spanflow.query.records import SpanRecord
from spanflow.query.store import RunIndexStore
from spanflow.query.views import build_span_tree

pytest.importorskip("spanflow_collector.index", reason="needs the run index stores")

RUN_ID = "run-many-spans"
SPAN_COUNT = 2_345
BASE_NS = 1_700_000_000_000_000_000


def _spans() -> list[SpanRecord]:
    """A root, a start marker and SPAN_COUNT spans nested as a binary heap, three sharing each
    start time (so pages split between equal start times), in two traces."""
    spans = [
        SpanRecord(
            trace_id=f"{1:032x}",
            span_id=f"{1:016x}",
            parent_span_id=None,
            name="root",
            kind=1,
            start_time_unix_nano=BASE_NS,
            end_time_unix_nano=BASE_NS + 10**12,
            attributes={attr.RUN_ID: RUN_ID, attr.SPAN_KIND: attr.SpanKindValue.RUN},
        ),
        SpanRecord(
            trace_id=f"{1:032x}",
            span_id=f"{0xFFFF:016x}",
            parent_span_id=None,
            name="start",
            kind=1,
            start_time_unix_nano=BASE_NS,
            end_time_unix_nano=BASE_NS,
            attributes={attr.RUN_ID: RUN_ID, attr.SPAN_KIND: attr.SpanKindValue.RUN_START},
        ),
    ]
    for n in range(2, SPAN_COUNT + 1):
        spans.append(
            SpanRecord(
                trace_id=f"{1:032x}",
                span_id=f"{n:016x}",
                parent_span_id=f"{n // 2:016x}",
                name=f"step-{n}",
                kind=1,
                start_time_unix_nano=BASE_NS + 1 + n // 3,
                end_time_unix_nano=BASE_NS + 10**9,
                attributes={attr.RUN_ID: RUN_ID},
            )
        )
    return spans


def _get(url: str, **params: Any) -> dict[str, Any]:
    query = urllib.parse.urlencode(params)
    with urllib.request.urlopen(f"{url}?{query}" if query else url, timeout=30) as response:
        body: dict[str, Any] = json.load(response)
    return body


def _shape(roots: Any) -> list[tuple[int, str]]:
    return [(depth, node.span.span_id) for root in roots for depth, node in root.walk()]


def test_store_pages_cover_every_span_once_in_order(store: RunIndexStore) -> None:
    """Paging with a cursor yields every span exactly once, in the order of get_spans."""
    store.write_spans(_spans())
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = store.get_span_page(RUN_ID, limit=500, cursor=cursor)
        assert len(page.spans) <= 500
        seen.extend(span.span_id for span in page.spans)
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == 5
    assert seen == [span.span_id for span in store.get_spans(RUN_ID)]
    without_markers = store.get_span_page(RUN_ID, limit=MAX_SPAN_LIMIT, include_markers=False)
    assert f"{0xFFFF:016x}" not in {span.span_id for span in without_markers.spans}


def test_api_pages_spans_and_tree(api_url: str, store: RunIndexStore) -> None:
    """/spans and /tree answer one page (default size) with a next_cursor to follow."""
    store.write_spans(_spans())
    spans_url = f"{api_url}/api/v1/runs/{RUN_ID}/spans"
    first = _get(spans_url)
    assert len(first["spans"]) == DEFAULT_SPAN_LIMIT and first["next_cursor"]
    second = _get(spans_url, limit=10, cursor=first["next_cursor"])
    assert len(second["spans"]) == 10
    assert {s["span_id"] for s in first["spans"]}.isdisjoint(s["span_id"] for s in second["spans"])
    tree = _get(f"{api_url}/api/v1/runs/{RUN_ID}/tree", limit=MAX_SPAN_LIMIT)
    assert tree["next_cursor"] and tree["roots"][0]["span"]["name"] == "root"


def test_client_follows_pages_for_spans_and_tree(api_url: str, store: RunIndexStore) -> None:
    """spanflow.Client over HTTP returns every span and the same tree as one unpaged build."""
    store.write_spans(_spans())
    expected = store.get_spans(RUN_ID)
    with spanflow.Client(api_url) as client:
        spans = client.spans(RUN_ID)
        tree = client.tree(RUN_ID)
        with_markers = client.tree(RUN_ID, include_markers=True)
    assert [span.span_id for span in spans] == [span.span_id for span in expected]
    assert _shape(tree) == _shape(build_span_tree(expected))
    assert _shape(with_markers) == _shape(build_span_tree(expected, include_markers=True))
    assert len(_shape(tree)) == SPAN_COUNT


def test_cli_tree_follows_pages(api_url: str, store: RunIndexStore) -> None:
    """`spanflow runs tree --url` prints the whole tree of a run larger than one page."""
    store.write_spans(_spans())
    done = subprocess.run(
        [sys.executable, "-m", "spanflow.cli", "runs", "tree", RUN_ID, "--url", api_url, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)["roots"]

    def count(nodes: list[dict[str, Any]]) -> int:
        return sum(1 + count(node["children"]) for node in nodes)

    assert len(printed) == 1 and count(printed) == SPAN_COUNT
