"""The graph tab in a real browser: subruns as groups, live refresh in place, replay marks."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from spanflow import attributes as attr
from spanflow.dataflow import DataflowGraph
from spanflow.query.store import RunQuery, RunSummary
from spanflow_collector.index import open_store
from tests.environments import child_environment
from tests.ui import recorder
from tests.ui.conftest import RECORDER, BrowserLog, UiServer, readline_within, ready_process
from tests.ui.conftest import screenshot as save_screenshot

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture then skips, or fails in CI, saying what is missing
    expect = None

pytestmark = pytest.mark.slow
WAIT_MS = 20_000
LIVE_WAIT_MS = 40_000


def _run(db: Any, name: str, parent_id: str | None = None) -> RunSummary:
    store = open_store(db)
    try:
        runs = store.list_runs(RunQuery(name_contains=name, parent_id=parent_id, limit=500)).runs
        return next(run for run in runs if run.name == name)
    finally:
        store.close()


def _own_nodes(db: Any, run_id: str) -> set[str]:
    """Span ids of the calls and steps a run itself holds (producers elsewhere left out)."""
    store = open_store(db)
    try:
        graph = DataflowGraph.from_spans(store.get_spans(run_id))
    finally:
        store.close()
    return {node.span_id for node in graph.nodes if node.kind != "external"}


def _inside(inner: dict[str, float], outer: dict[str, float]) -> bool:
    return (
        inner["x"] >= outer["x"] - 0.5
        and inner["y"] >= outer["y"] - 0.5
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 0.5
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 0.5
    )


def test_subruns_are_labelled_groups_holding_their_calls_and_the_edge_between_them(
    page: Any, ui_server: UiServer
) -> None:
    """A run with two subruns shows one labelled group per subrun around exactly that
    subrun's calls and the edge from one subrun to the other; a group folds and unfolds, its
    calls open in the inspector, and its label opens the subrun (keyboard or mouse)."""
    pipeline = _run(ui_server.db, recorder.PIPELINE)
    research = _run(ui_server.db, "research", pipeline.id)
    write = _run(ui_server.db, "write", pipeline.id)
    page.goto(f"{ui_server.url}#/run/{pipeline.id}")
    page.locator("svg g.group").first.wait_for(timeout=WAIT_MS)
    groups = page.locator("svg g.group")
    assert sorted(groups.evaluate_all("gs => gs.map(g => g.dataset.runId)")) == sorted(
        [research.id, write.id]
    )
    for subrun in (research, write):
        group = page.locator(f'svg g.group[data-run-id="{subrun.id}"]')
        label = group.locator(".group-label text").text_content() or ""
        assert label == f"{subrun.name} · completed"
        box = group.locator(".group-box").bounding_box()
        expected = _own_nodes(ui_server.db, subrun.id)
        assert expected, f"{subrun.name} must hold calls"
        drawn = page.locator(f'svg .node[data-run-id="{subrun.id}"]')
        assert set(drawn.evaluate_all("ns => ns.map(n => n.dataset.spanId)")) == expected
        assert all(_inside(node.bounding_box(), box) for node in drawn.all())
    research_ids, write_ids = (_own_nodes(ui_server.db, r.id) for r in (research, write))
    crossing = page.locator("svg .edge.cross-run").evaluate_all(
        "es => es.map(e => [e.dataset.producer, e.dataset.consumer])"
    )
    assert any(p in research_ids and c in write_ids for p, c in crossing), crossing
    own = _own_nodes(ui_server.db, pipeline.id)
    every = page.locator("svg .node").evaluate_all("ns => ns.map(n => n.dataset.spanId)")
    assert set(every) == own | research_ids | write_ids
    save_screenshot(page, "run-graph-subruns")

    page.get_by_role("button", name="collapse subrun research").focus()
    page.keyboard.press("Enter")
    folded = page.locator(f'svg g.group.collapsed[data-run-id="{research.id}"]')
    folded.wait_for(timeout=WAIT_MS)
    assert page.locator(f'svg .node[data-run-id="{research.id}"]').count() == 0
    assert page.locator(f'svg .edge[data-from="group:{research.id}"]').count() >= 1
    page.get_by_role("button", name="expand subrun research").click()
    page.locator(f'svg .node[data-run-id="{research.id}"]').first.wait_for(timeout=WAIT_MS)

    write_call = next(iter(write_ids))
    page.locator(f'svg .node[data-span-id="{write_call}"]').click()
    page.locator("aside.inspector").get_by_text(f"span {write_call}").wait_for(timeout=WAIT_MS)

    research_box = page.locator(
        f'svg g.group[data-run-id="{research.id}"] > .group-box'
    ).bounding_box()
    page.mouse.click(research_box["x"] + 6, research_box["y"] + research_box["height"] - 6)
    page.wait_for_url(re.compile(rf"#/run/{research.id}"), timeout=WAIT_MS)
    page.go_back()
    page.locator("svg g.group").first.wait_for(timeout=WAIT_MS)
    page.get_by_role("link", name=re.compile(r"^open subrun write")).focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"#/run/{write.id}"), timeout=WAIT_MS)
    page.locator(".run-header h1", has_text="write").wait_for(timeout=WAIT_MS)


@pytest.fixture
def growing_run(ui_server: UiServer) -> Iterator[tuple[str, Any]]:
    """A run held open by a recorder process that makes one more call per "call" line."""
    command = [sys.executable, str(RECORDER), "hold"]
    environment = child_environment(SPANFLOW_DB=str(ui_server.db), PYTHONUNBUFFERED="1")
    with ready_process(command, environment, "RUNNING ") as (line, process):
        yield line.split()[1], process
        if process.poll() is None:
            process.stdin.write("finish\n")
            process.stdin.flush()
            readline_within(process, 60, "DONE", [])


def test_live_refresh_keeps_pan_zoom_and_selection(
    page: Any, ui_server: UiServer, growing_run: tuple[str, Any]
) -> None:
    """When a running run gains a call, the graph redraws with the new node but keeps the
    user's zoom, pan and selected node, and the inspector stays open."""
    run_id, process = growing_run
    page.goto(f"{ui_server.url}#/run/{run_id}")
    nodes = page.locator("svg .node")
    nodes.first.wait_for(timeout=WAIT_MS)
    viewport = page.locator("svg g.viewport")
    initial = viewport.get_attribute("transform")
    page.get_by_role("button", name="zoom in").click()
    page.get_by_role("button", name="zoom in").click()
    page.locator("svg.graph-canvas").focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowDown")
    first = nodes.first.get_attribute("data-span-id")
    nodes.first.click()
    page.locator("aside.inspector").get_by_text(f"span {first}").wait_for(timeout=WAIT_MS)
    before = viewport.get_attribute("transform")
    assert before != initial

    process.stdin.write("call\n")
    process.stdin.flush()
    assert readline_within(process, 60, "CALLED 2", []) is not None
    expect(nodes).to_have_count(2, timeout=LIVE_WAIT_MS)
    assert viewport.get_attribute("transform") == before
    expect(page.locator(f'svg .node[data-span-id="{first}"]')).to_have_class(
        re.compile(r"\bselected\b")
    )
    assert page.locator("aside.inspector").get_by_text(f"span {first}").is_visible()
    assert f"span={first}" in page.url


def test_replay_marks_served_edited_live_and_changed_calls(page: Any, ui_server: UiServer) -> None:
    """A replay with call 2 edited marks call 1 served, call 2 edited, calls 3 and 4 live,
    and calls 2 and 3 changed, with a legend, and the inspector links the original call."""
    original = _run(ui_server.db, recorder.REPLAY_ORIGINAL)
    replayed = _run(ui_server.db, recorder.REPLAY_EDITED)
    store = open_store(ui_server.db)
    try:
        calls = sorted(
            (s for s in store.get_spans(replayed.id) if attr.REPLAY_SOURCE in s.attributes),
            key=lambda span: span.start_time_unix_nano,
        )
    finally:
        store.close()
    assert [s.attributes[attr.REPLAY_SOURCE] for s in calls] == [
        "served", "edited", "live", "live"
    ]  # fmt: skip
    page.goto(f"{ui_server.url}#/run/{replayed.id}")
    page.locator("svg .node").first.wait_for(timeout=WAIT_MS)
    marks = {
        span_id: (source, changed)
        for span_id, source, changed in page.locator("svg .node").evaluate_all(
            "ns => ns.map(n => [n.dataset.spanId, n.dataset.replay, n.dataset.changed])"
        )
    }
    assert [marks[span.span_id] for span in calls] == [
        ("served", "false"),
        ("edited", "true"),
        ("live", "true"),
        ("live", "false"),
    ]
    for span, badge in zip(calls, ("served", "edited", "live", "live"), strict=True):
        node = page.locator(f'svg .node[data-span-id="{span.span_id}"]')
        assert node.locator(".replay-badge text").text_content() == badge
        assert node.locator(".changed-dot").count() == (1 if span in calls[1:3] else 0)
    legend = page.get_by_role("note", name="replay legend")
    assert legend.get_by_role("link", name=recorder.REPLAY_ORIGINAL).is_visible()
    text = legend.inner_text()
    for line in (
        "served from the recording (1)",
        "edited (the recorded answer with new text) (1)",
        "re-executed live (no recording matched) (2)",
        "output changed vs the original (2)",
    ):
        assert line in text
    save_screenshot(page, "run-replay")

    page.locator(f'svg .node[data-span-id="{calls[1].span_id}"]').click()
    inspector = page.locator("aside.inspector")
    inspector.get_by_role("heading", name="Replay").wait_for(timeout=WAIT_MS)
    assert inspector.locator('dd[data-replay="edited"]').is_visible()
    assert inspector.locator('dd[data-changed="true"]').inner_text() == (
        "changed vs the original call"
    )
    assert recorder.EDITED_ANSWER in inspector.inner_text()
    original_span = calls[1].attributes[attr.REPLAY_ORIGINAL_SPAN]
    inspector.get_by_role("link", name=re.compile(original_span)).click()
    page.wait_for_url(re.compile(rf"#/run/{original.id}\?.*span={original_span}"))
    page.locator("aside.inspector").get_by_text(f"span {original_span}").wait_for(timeout=WAIT_MS)
    assert page.get_by_role("note", name="replay legend").count() == 0


def test_hostile_subrun_names_and_outputs_show_as_text_in_groups(
    page: Any, ui_server: UiServer, browser_log: BrowserLog
) -> None:
    """Markup, control characters and very long names in subrun groups, in the subrun list and
    in the runs table, and markup in their calls' outputs, are drawn as short visible text:
    nothing runs, nothing spills, nothing is reordered."""
    parent = _run(ui_server.db, "hostile-groups")
    page.goto(f"{ui_server.url}#/run/{parent.id}")
    page.locator("svg g.group").first.wait_for(timeout=WAIT_MS)
    labels = page.locator("svg g.group .group-label text").all_text_contents()
    hostile = next(label for label in labels if label.startswith("<img src=x onerror="))
    assert "\x1b" not in hostile and "\u202e" not in hostile
    long_label = next(label for label in labels if label.startswith("subrun-"))
    assert len(long_label) < 80 and "…" in long_label
    for group in page.locator("svg g.group").all():
        label_width = group.locator(".group-label text").bounding_box()["width"]
        assert label_width <= group.locator(".group-box").bounding_box()["width"]
    titles = page.locator("svg g.group .group-label title").all_text_contents()
    assert any(recorder.LONG_GROUP in title for title in titles)
    hostile_title = next(title for title in titles if title.startswith("<img"))
    assert "\\x1b[31m\\u202eev\\u200bil" in hostile_title  # shown, not obeyed
    assert "\x1b" not in hostile_title and "\u202e" not in hostile_title
    previews = page.locator("svg .node .node-preview").all_text_contents()
    assert any(text.startswith("<img src=x") for text in previews)
    assert page.locator("svg img, svg foreignObject, img[src=x]").count() == 0
    subruns = page.locator("ul.subrun-list li a").all_text_contents()
    assert any(name.startswith("<img src=x") and "\\u202eev\\u200bil" in name for name in subruns)
    assert all(len(name) <= 80 for name in subruns)
    assert "\u202e" not in page.locator("section.subruns").inner_text()
    save_screenshot(page, "run-graph-hostile")
    page.goto(f"{ui_server.url}#/runs")
    page.locator(f'tr[data-run-id="{parent.id}"] button.fold').click(timeout=WAIT_MS)
    listed = page.locator("tr.subrun:visible td.name a").all_text_contents()
    assert any(name.startswith("<img src=x") and "\\u202eev\\u200bil" in name for name in listed)
    assert "\u202e" not in page.locator("table").first.inner_text()
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert browser_log.dialogs == []


@pytest.fixture(scope="module")
def big_evaluation(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[Any]:
    """``spanflow ui`` over an evaluation of 61 subruns of 5 chained calls each (305 calls)."""
    from tests.api.support import LlmCall, RunSpec, write_runs

    db = tmp_path_factory.mktemp("big-eval") / "index.db"
    store = open_store(db)
    try:
        (parent,) = write_runs(store, RunSpec("big-eval", offset_s=500))
        samples = []
        for index in range(61):
            calls = [LlmCall()]
            for _ in range(4):
                calls.append(LlmCall(consumes=calls[-1].span_id))
            name, start = f"sample-{index:02d}", 501 + index
            samples.append(RunSpec(name, offset_s=start, parent_id=parent.run_id, calls=calls))
        children = write_runs(store, *samples)
    finally:
        store.close()
    command = [sys.executable, "-m", "spanflow.cli", "ui", "--db", str(db), "--port", "0"]
    environment = child_environment(PYTHONUNBUFFERED="1")
    with ready_process(command, environment, "spanflow ui ready:") as (line, _):
        yield line.split("ready: ", 1)[1].split()[0], parent.run_id, children


def test_a_graph_over_300_calls_opens_with_its_subruns_folded(
    page: Any, big_evaluation: Any
) -> None:
    """An evaluation with more than 300 calls opens with each subrun folded into one box (a
    quick layout); one unfolds with its calls and the edges between them."""
    url, parent_id, children = big_evaluation
    page.goto(f"{url}#/run/{parent_id}")
    page.locator("svg g.group.collapsed").first.wait_for(timeout=WAIT_MS)
    assert page.locator("svg g.group.collapsed").count() == 61
    assert page.locator("svg .node").count() == 0
    assert "61 subrun groups (61 folded)" in page.locator(".graph-summary").inner_text()
    seventh = children[7]
    page.get_by_role("button", name="expand subrun sample-07").focus()  # below the fold
    page.keyboard.press("Enter")
    nodes = page.locator(f'svg .node[data-run-id="{seventh.run_id}"]')
    expect(nodes).to_have_count(5, timeout=WAIT_MS)
    assert page.locator(f'svg g.group:not(.collapsed)[data-run-id="{seventh.run_id}"]').count()
    assert page.locator(".edge").count() == 4
    assert "(60 folded)" in page.locator(".graph-summary").inner_text()


def test_a_graph_taller_than_the_view_opens_fitted_whole(page: Any, big_evaluation: Any) -> None:
    """61 folded subruns stack taller than the canvas: the graph opens scaled to fit, every
    subrun box inside the canvas without pressing Fit."""
    url, parent_id, _ = big_evaluation
    page.goto(f"{url}#/run/{parent_id}")
    page.locator("svg g.group.collapsed").first.wait_for(timeout=WAIT_MS)
    canvas = page.locator("svg.graph-canvas").bounding_box()
    boxes = [group.bounding_box() for group in page.locator("svg g.group.collapsed").all()]
    assert len(boxes) == 61
    assert all(_inside(box, canvas) for box in boxes), "part of the graph opened out of view"


def test_the_subrun_list_keeps_each_badge_beside_a_one_line_name(
    page: Any, ui_server: UiServer
) -> None:
    """A very long subrun name is one line ending in an ellipsis, its full name in the link's
    title, with the status badge right beside it."""
    parent = _run(ui_server.db, "hostile-groups")
    page.goto(f"{ui_server.url}#/run/{parent.id}")
    item = page.locator("ul.subrun-list li").filter(has_text="subrun-very-long-name")
    item.wait_for(timeout=WAIT_MS)
    link, badge = item.locator("a.subrun-name"), item.locator(".status")
    assert recorder.LONG_GROUP in (link.get_attribute("title") or "")
    name_box, badge_box, item_box = link.bounding_box(), badge.bounding_box(), item.bounding_box()
    assert name_box["x"] + name_box["width"] <= item_box["x"] + item_box["width"]
    assert 0 <= badge_box["x"] - (name_box["x"] + name_box["width"]) < 20
    assert abs(badge_box["y"] - name_box["y"]) < name_box["height"]
    assert page.evaluate("el => el.scrollWidth > el.clientWidth", link.element_handle())


def test_the_run_header_counts_its_own_llm_calls_and_those_with_its_subruns(
    page: Any, ui_server: UiServer
) -> None:
    """The header's "LLM calls (this run)" is the run's own count; beside it the count with the
    subruns its graph draws, as the index holds them."""
    parent = _run(ui_server.db, recorder.PIPELINE)
    children = [_run(ui_server.db, name, parent.id) for name in ("research", "write")]
    page.goto(f"{ui_server.url}#/run/{parent.id}")
    facts = page.locator(".run-header dl.facts")
    own = facts.locator("dt", has_text="LLM calls (this run)")
    own.wait_for(timeout=WAIT_MS)
    assert own.locator("xpath=following-sibling::dd[1]").inner_text() == str(parent.llm_call_count)
    total = parent.llm_call_count + sum(child.llm_call_count for child in children)
    with_subruns = facts.locator("dt", has_text="LLM calls (with 2 subruns)")
    expect(with_subruns).to_have_count(1, timeout=WAIT_MS)
    assert with_subruns.locator("xpath=following-sibling::dd[1]").inner_text() == str(total)
    assert total > parent.llm_call_count
    # The subrun list counts each subrun's calls in words that agree with the number.
    by_name = {child.name: child.llm_call_count for child in children}
    assert by_name == {"research": 2, "write": 1}
    subruns = page.locator("ul.subrun-list li")
    expect(subruns.filter(has_text="research")).to_contain_text("· 2 LLM calls")
    expect(subruns.filter(has_text="write")).to_contain_text("· 1 LLM call")
    expect(subruns.filter(has_text="write")).not_to_contain_text("1 LLM calls")
