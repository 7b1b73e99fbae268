"""The web UI in a real browser, over runs recorded by the real SDK (see recorder.py)."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from spanflow.dataflow import DataflowGraph
from spanflow.query.store import RunQuery, RunSummary
from spanflow_collector.index import open_store
from tests.environments import child_environment
from tests.ui import recorder
from tests.ui.conftest import (
    RECORDER,
    BrowserLog,
    UiServer,
    readline_within,
    ready_process,
    screenshot,
)

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture then skips, or fails in CI, saying what is missing
    expect = None

pytestmark = pytest.mark.slow
WAIT_MS = 20_000
LIVE_WAIT_MS = 40_000


def runs_named(db: Path, name: str) -> list[RunSummary]:
    """Runs in the index with exactly this name, newest first."""
    store = open_store(db)
    try:
        page = store.list_runs(RunQuery(name_contains=name, limit=500))
        return [run for run in page.runs if run.name == name]
    finally:
        store.close()


def graph_of(db: Path, run_id: str) -> DataflowGraph:
    """The dataflow graph the index holds for ``run_id``."""
    store = open_store(db)
    try:
        return DataflowGraph.from_spans(store.get_spans(run_id))
    finally:
        store.close()


def row(page: Any, run_id: str) -> Any:
    return page.locator(f'tr[data-run-id="{run_id}"]')


def test_runs_page_lists_recorded_runs_with_subruns_folded(page: Any, ui_server: UiServer) -> None:
    """The runs page lists top-level runs with live facts, and folds subruns under their parent."""
    page.goto(ui_server.url)
    baseline = runs_named(ui_server.db, "eval-baseline")[0]
    baseline_row = row(page, baseline.id)
    baseline_row.wait_for(timeout=WAIT_MS)
    assert baseline_row.locator("[data-status]").inner_text() == "completed"
    assert page.get_by_role("link", name="training").is_visible()
    sample_rows = page.locator("tr.subrun")
    assert sample_rows.count() == 0 or not sample_rows.first.is_visible()
    fold = baseline_row.get_by_role("button", name=re.compile(r"3 subruns"))
    fold.click()
    samples = page.locator("tr.subrun:visible")
    assert sorted(samples.locator("td.name a").all_inner_texts()) == [
        "sample-eiffel-feet",
        "sample-france-x2",
        "sample-product",
    ]
    screenshot(page, "runs")


def test_filters_narrow_the_list_and_survive_a_reload(page: Any, ui_server: UiServer) -> None:
    """Filters go into the URL, narrow the list, hold after a reload; a bad one is explained."""
    page.goto(ui_server.url)
    page.get_by_label("Project").fill("curves")
    page.get_by_label("Params").fill("lr>0.001")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"project=curves"), timeout=WAIT_MS)
    names = page.locator("tbody tr td.name > a")
    expect(page.locator("tbody tr")).to_have_count(1, timeout=WAIT_MS)
    assert names.all_inner_texts() == ["training"]
    page.reload()
    expect(page.locator("tbody tr")).to_have_count(1, timeout=WAIT_MS)
    assert names.all_inner_texts() == ["training"]
    assert page.get_by_label("Project").input_value() == "curves"
    assert page.get_by_label("Params").input_value() == "lr>0.001"
    page.get_by_label("Params").fill("lr>1")
    page.get_by_role("button", name="Apply").click()
    page.get_by_text("No run matches these filters.").wait_for(timeout=WAIT_MS)
    screenshot(page, "runs-filtered-empty")
    page.goto(f"{ui_server.url}#/runs?q=why?not")  # typed by hand: the second "?" is text
    expect(page.get_by_label("Name contains")).to_have_value("why?not", timeout=WAIT_MS)
    page.get_by_label("Params").fill("lr>>1")
    page.get_by_role("button", name="Apply").click()
    refusal = page.get_by_text(re.compile(r"^Could not list runs: param: .*two operators"))
    refusal.wait_for(timeout=WAIT_MS)


def test_graph_shows_the_indexed_nodes_and_edges_and_the_inspector_follows_links(
    page: Any, ui_server: UiServer
) -> None:
    """The Graph tab draws exactly the index's dataflow graph; a node opens its messages."""
    sample = runs_named(ui_server.db, "sample-eiffel-feet")[0]
    expected = graph_of(ui_server.db, sample.id)
    assert expected.edges, "the recorded agent run must have dataflow edges"
    page.goto(f"{ui_server.url}#/run/{sample.id}")
    page.locator("svg .node").first.wait_for(timeout=WAIT_MS)
    shown_nodes = set(page.locator("svg .node").evaluate_all("ns => ns.map(n => n.dataset.spanId)"))
    shown_edges = page.locator("svg .edge").evaluate_all(
        "es => es.map(e => [e.dataset.producer, e.dataset.consumer])"
    )
    assert shown_nodes == {node.span_id for node in expected.nodes}
    assert sorted(map(tuple, shown_edges)) == sorted(
        (edge.producer, edge.consumer) for edge in expected.edges
    )

    consumer = expected.edges[0].consumer
    producer = expected.edges[0].producer
    page.locator(f'svg .node[data-span-id="{consumer}"]').click()
    inspector = page.locator("aside.inspector")
    inspector.get_by_role("heading", name="Input messages").wait_for(timeout=WAIT_MS)
    assert "How tall is the Eiffel Tower in feet?" in inspector.inner_text()
    assert f"span {consumer}" in inspector.inner_text()
    screenshot(page, "run-graph")
    inspector.locator(f'button[data-follow="{producer}"]').first.click()
    inspector.get_by_text(f"span {producer}").wait_for(timeout=WAIT_MS)
    assert f"span={producer}" in page.url


def test_trace_tab_shows_the_span_waterfall_and_collapses(page: Any, ui_server: UiServer) -> None:
    """The Trace tab lists every span of the run as a waterfall row, and a fold hides children."""
    sample = runs_named(ui_server.db, "sample-product")[0]
    page.goto(f"{ui_server.url}#/run/{sample.id}?tab=trace")
    rows = page.locator(".trace-row")
    rows.first.wait_for(timeout=WAIT_MS)
    store = open_store(ui_server.db)
    try:
        recorded = [
            span
            for span in store.get_spans(sample.id)
            if span.attributes.get("spanflow.span.kind") not in ("run.start", "run.heartbeat")
        ]
    finally:
        store.close()
    assert rows.count() == len(recorded)
    screenshot(page, "run-trace")
    page.get_by_role("button", name=re.compile(r"^collapse ")).first.click()
    assert page.locator(".trace-row:visible").count() == 1


def test_compare_of_two_evaluations_pairs_samples_by_name(page: Any, ui_server: UiServer) -> None:
    """Selecting two evaluation runs and comparing them shows a per-sample table paired by name."""
    baseline = runs_named(ui_server.db, "eval-baseline")[0]
    candidate = runs_named(ui_server.db, "eval-candidate")[0]
    page.goto(ui_server.url)
    row(page, baseline.id).get_by_role("checkbox").check()
    row(page, candidate.id).get_by_role("checkbox").check()
    page.get_by_role("button", name="Compare 2 runs").click()
    table = page.locator("table.samples")
    table.wait_for(timeout=WAIT_MS)
    assert table.locator("tbody tr").evaluate_all("rs => rs.map(r => r.dataset.sample)") == [
        "sample-eiffel-feet",
        "sample-france-x2",
        "sample-product",
    ]
    assert table.locator("tbody td [data-status='completed']").count() == 6
    assert page.locator("table.diff").first.get_by_role("rowheader", name="model").count() == 1
    screenshot(page, "compare")


def test_failed_and_resumed_runs_show_their_error_and_segments(
    page: Any, ui_server: UiServer
) -> None:
    """A failed run shows its error, its failed call in red; a resumed run lists two segments."""
    grader = runs_named(ui_server.db, "grader")[0]
    page.goto(f"{ui_server.url}#/run/{grader.id}")
    alert = page.locator(".run-header [role=alert]")
    alert.wait_for(timeout=WAIT_MS)
    assert recorder.FAILURE_MESSAGE in alert.inner_text()
    assert page.locator(".run-header [data-status]").inner_text() == "failed"
    page.locator("svg .node.failed").wait_for(timeout=WAIT_MS)
    assert page.locator("svg .node.failed").count() == 1
    page.locator("svg .node.failed").click()
    page.locator("aside.inspector [role=alert]").wait_for(timeout=WAIT_MS)
    screenshot(page, "run-failed")

    resumed = runs_named(ui_server.db, "resumable")[0]
    page.goto(f"{ui_server.url}#/run/{resumed.id}?tab=metrics")
    page.get_by_role("heading", name="Segments (2)").wait_for(timeout=WAIT_MS)
    assert page.locator("ol.segments li").count() == 2


@pytest.fixture
def live_run(ui_server: UiServer) -> Iterator[tuple[str, Any]]:
    """A run held open by a recorder process until a line is written to its stdin."""
    command = [sys.executable, str(RECORDER), "hold"]
    environment = child_environment(SPANFLOW_DB=str(ui_server.db), PYTHONUNBUFFERED="1")
    with ready_process(command, environment, "RUNNING ") as (line, process):
        yield line.split()[1], process


def test_running_run_turns_completed_without_reload(
    page: Any, ui_server: UiServer, live_run: tuple[str, Any]
) -> None:
    """A running run's page flips to completed by itself once the run ends."""
    run_id, process = live_run
    page.goto(f"{ui_server.url}#/run/{run_id}")
    status = page.locator(".run-header [data-status]")
    status.wait_for(timeout=WAIT_MS)
    assert status.inner_text() == "running"
    page.evaluate("window.__sameDocument = true")
    process.stdin.write("finish\n")
    process.stdin.flush()
    assert readline_within(process, 60, "DONE", []) is not None
    expect(status).to_have_attribute("data-status", "completed", timeout=LIVE_WAIT_MS)
    assert page.evaluate("window.__sameDocument") is True


def test_hostile_content_is_shown_as_text_and_never_runs(
    page: Any, ui_server: UiServer, browser_log: BrowserLog
) -> None:
    """Markup in run names, params, tags and LLM output is displayed, never executed."""
    hostile = runs_named(ui_server.db, recorder.XSS_NAME)[0]
    training = runs_named(ui_server.db, "training")[0]
    page.goto(ui_server.url)
    page.get_by_text(recorder.XSS_NAME).wait_for(timeout=WAIT_MS)
    assert page.get_by_text(recorder.XSS_TAG).count() >= 1
    page.goto(f"{ui_server.url}#/run/{hostile.id}")
    page.get_by_text(recorder.XSS_PARAM).wait_for(timeout=WAIT_MS)
    page.locator("svg .node").first.wait_for(timeout=WAIT_MS)
    for node in page.locator("svg .node").all():
        node.click()
        page.locator("aside.inspector").get_by_role("heading", name="Output").wait_for()
    assert "show all" in page.locator("aside.inspector").inner_text()  # the long reply is folded
    page.locator("aside.inspector button.link", has_text="show all").first.click()
    screenshot(page, "run-hostile")
    page.goto(f"{ui_server.url}#/run/{hostile.id}?tab=trace")
    page.locator(".trace-row").first.wait_for(timeout=WAIT_MS)
    page.goto(f"{ui_server.url}#/compare?ids={hostile.id},{training.id}")
    page.locator("table.outputs").wait_for(timeout=WAIT_MS)
    page.goto(f"{ui_server.url}#/run/{training.id}?tab=metrics")
    page.locator(".chart canvas").first.wait_for(timeout=WAIT_MS)
    screenshot(page, "run-metrics")

    assert page.evaluate("typeof window.__xss") == "undefined"
    assert browser_log.dialogs == []
    assert page.locator('a[href^="javascript:"]').count() == 0
    assert browser_log.off_loopback() == []
    assert any("/api/v1/" in url for url in browser_log.request_urls)


def test_a_link_with_a_malformed_escape_shows_an_error_instead_of_a_blank_page(
    page: Any, ui_server: UiServer
) -> None:
    """`#/run/%E0%A4%A` (a cut-off escape in a pasted link) reports the run as not loadable,
    naming it as typed, instead of throwing in the router and leaving the page blank."""
    page.goto(f"{ui_server.url}#/run/%E0%A4%A")
    alert = page.get_by_role("alert")
    alert.wait_for(timeout=WAIT_MS)
    assert "Could not load run %E0%A4%A" in alert.inner_text()


def _tab_through(page: Any, presses: int) -> set[str]:
    """Press Tab ``presses`` times; the set of focused elements' marks."""
    page.evaluate(
        """() => document.querySelectorAll('a[href], button, input, select, [tabindex="0"]')
             .forEach((el, i) => el.dataset.kbd = String(i))"""
    )
    reached: set[str] = set()
    for _ in range(presses):
        page.keyboard.press("Tab")
        mark = page.evaluate("document.activeElement?.dataset?.kbd ?? ''")
        if mark:
            reached.add(mark)
    return reached


def _controls(page: Any) -> set[str]:
    marks: list[str] = page.evaluate(
        """() => [...document.querySelectorAll('[data-kbd]')]
             .filter(el => !el.disabled && el.getClientRects().length > 0)
             .map(el => el.dataset.kbd)"""
    )
    return set(marks)


def test_keyboard_reaches_every_control(page: Any, ui_server: UiServer) -> None:
    """Tab alone reaches every link, button, field and graph node on the runs and run pages."""
    page.goto(ui_server.url)
    page.locator("button.fold").first.wait_for(timeout=WAIT_MS)
    reached = _tab_through(page, 120)
    assert _controls(page) <= reached, "some runs-page controls are unreachable by keyboard"

    sample = runs_named(ui_server.db, "sample-france-x2")[0]
    page.goto(f"{ui_server.url}#/run/{sample.id}")
    page.locator("svg .node").first.wait_for(timeout=WAIT_MS)
    reached = _tab_through(page, 60)
    assert _controls(page) <= reached, "some run-page controls are unreachable by keyboard"
    node = page.locator("svg .node").first
    node.focus()
    page.keyboard.press("Enter")
    page.locator("aside.inspector h2").wait_for(timeout=WAIT_MS)


def test_ui_files_carry_a_strict_content_security_policy(page: Any, ui_server: UiServer) -> None:
    """The app's page and assets are served with a CSP that forbids inline code and other hosts."""
    response = page.goto(ui_server.url)
    policy = response.headers["content-security-policy"]
    for directive in ("default-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"):
        assert directive in policy
    assert "unsafe-inline" not in policy
    html = response.text()
    assert "<script>" not in html and "style=" not in html
    page.locator("table.runs").wait_for(timeout=WAIT_MS)
    loaded: list[str] = json.loads(
        page.evaluate("JSON.stringify(performance.getEntriesByType('resource').map(r => r.name))")
    )
    assert loaded and all(url.startswith(ui_server.url) for url in loaded)
