"""`GET /runs/{id}/graph?subruns=true`: subruns' calls grouped by run, cross edges, a cap."""

from __future__ import annotations

from typing import Any

import pytest

from spanflow import attributes as attr
from spanflow.query.store import RunIndexStore
from spanflow_collector.api import graph_view
from tests.api.support import LlmCall, RunSpec, write_runs
from tests.api.test_routes import get_json

pytest.importorskip("spanflow_collector.index", reason="needs the run index stores")


def _pipeline(store: RunIndexStore) -> dict[str, Any]:
    """A run with two subruns (the second with a subrun of its own), edges crossing them."""
    p1, a1, a2 = LlmCall(output_text="plan"), LlmCall(output_text="facts"), LlmCall()
    b1 = LlmCall(consumes=a2.span_id, output_text="draft")
    c1 = LlmCall(consumes=b1.span_id, failed=True)
    (parent,) = write_runs(store, RunSpec("pipeline", offset_s=100, calls=[p1]))
    research, write = write_runs(
        store,
        RunSpec("research", offset_s=101, parent_id=parent.run_id,
                calls=[a1, LlmCall(consumes=a1.span_id, span_id=a2.span_id)]),
        RunSpec("write", offset_s=102, parent_id=parent.run_id, calls=[b1],
                status="failed", error=("ValueError", "no draft")),
    )  # fmt: skip
    (review,) = write_runs(
        store, RunSpec("review", offset_s=103, parent_id=write.run_id, calls=[c1])
    )
    return {
        "parent": parent.run_id,
        "runs": {"research": research.run_id, "write": write.run_id, "review": review.run_id},
        "calls": {"p1": p1, "a1": a1, "a2": a2, "b1": b1, "c1": c1},
    }


def test_subruns_true_adds_descendant_calls_with_their_run_and_cross_run_edges(
    api_url: str, store: RunIndexStore
) -> None:
    """Every descendant's calls come with their run id and name, and edges between subruns
    (and into a nested subrun) join the real nodes; the runs shown are listed with status."""
    seeded = _pipeline(store)
    calls, runs = seeded["calls"], seeded["runs"]
    graph = get_json(f"{api_url}/api/v1/runs/{seeded['parent']}/graph?subruns=true")
    owner = {node["span_id"]: (node["run_id"], node["run_name"]) for node in graph["nodes"]}
    assert owner == {
        calls["p1"].span_id: (seeded["parent"], "pipeline"),
        calls["a1"].span_id: (runs["research"], "research"),
        calls["a2"].span_id: (runs["research"], "research"),
        calls["b1"].span_id: (runs["write"], "write"),
        calls["c1"].span_id: (runs["review"], "review"),
    }
    assert {(edge["producer"], edge["consumer"]) for edge in graph["edges"]} == {
        (calls["a1"].span_id, calls["a2"].span_id),
        (calls["a2"].span_id, calls["b1"].span_id),
        (calls["b1"].span_id, calls["c1"].span_id),
    }
    assert all(node["kind"] == "llm" for node in graph["nodes"])
    assert [(r["name"], r["status"], r["parent_id"], r["node_count"]) for r in graph["runs"]] == [
        ("pipeline", "completed", None, 1),
        ("research", "completed", seeded["parent"], 2),
        ("write", "failed", seeded["parent"], 1),
        ("review", "completed", runs["write"], 1),
    ]
    failed = {node["span_id"]: node["failed"] for node in graph["nodes"]}
    assert failed[calls["c1"].span_id] is True and failed[calls["b1"].span_id] is False
    b1 = next(node for node in graph["nodes"] if node["span_id"] == calls["b1"].span_id)
    assert (b1["input_tokens"], b1["output_tokens"]) == (10, 5)
    assert b1["duration_s"] == pytest.approx(0.005) and b1["replay"] is None
    assert graph["truncated"] is None and graph["replay_of"] is None


def test_without_subruns_the_graph_is_the_runs_own(api_url: str, store: RunIndexStore) -> None:
    """By default (and with subruns=false) only the run's own calls are nodes, still with their
    run; a subrun's graph shows the producer in its sibling as an external node."""
    seeded = _pipeline(store)
    calls = seeded["calls"]
    for query in ("", "?subruns=false"):
        graph = get_json(f"{api_url}/api/v1/runs/{seeded['parent']}/graph{query}")
        assert [(n["span_id"], n["run_name"]) for n in graph["nodes"]] == [
            (calls["p1"].span_id, "pipeline")
        ]
        assert [r["name"] for r in graph["runs"]] == ["pipeline"]
    write = get_json(f"{api_url}/api/v1/runs/{seeded['runs']['write']}/graph")
    kinds = {node["span_id"]: (node["kind"], node["run_id"]) for node in write["nodes"]}
    assert kinds[calls["a2"].span_id] == ("external", None)


def test_subruns_parameter_is_checked(api_url: str, store: RunIndexStore) -> None:
    """A subruns value that is not a boolean, or subruns with a text format, is a named 400."""
    seeded = _pipeline(store)
    url = f"{api_url}/api/v1/runs/{seeded['parent']}/graph"
    assert get_json(f"{url}?subruns=maybe", expect=400)["parameter"] == "subruns"
    refused = get_json(f"{url}?subruns=true&format=mermaid", expect=400)
    assert refused["parameter"] == "subruns" and "JSON" in refused["message"]


def test_a_graph_over_the_run_cap_says_it_was_cut(
    api_url: str, store: RunIndexStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the run cap the graph stops adding subruns (breadth-first) and says so, naming
    the cap and how many subruns it drew."""
    seeded = _pipeline(store)
    monkeypatch.setattr(graph_view, "MAX_GRAPH_RUNS", 2)
    graph = get_json(f"{api_url}/api/v1/runs/{seeded['parent']}/graph?subruns=true")
    assert [r["name"] for r in graph["runs"]] == ["pipeline", "research"]
    cut = graph["truncated"]
    assert (cut["reason"], cut["max_runs"], cut["subruns_shown"]) == ("runs", 2, 1)
    assert "Only 1 subrun of this run are drawn" in cut["message"]
    assert "at most 2 runs" in cut["message"]
    assert {node["run_name"] for node in graph["nodes"]} == {"pipeline", "research"}


def test_a_graph_over_the_node_cap_says_it_was_cut(
    api_url: str, store: RunIndexStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Subruns stop being added when the next one would pass the node cap, and the answer
    says so instead of leaving the rest out silently."""
    seeded = _pipeline(store)
    calls = seeded["calls"]
    monkeypatch.setattr(graph_view, "MAX_GRAPH_NODES", 4)
    graph = get_json(f"{api_url}/api/v1/runs/{seeded['parent']}/graph?subruns=true")
    assert [r["name"] for r in graph["runs"]] == ["pipeline", "research", "write"]
    cut = graph["truncated"]
    assert (cut["reason"], cut["max_nodes"], cut["subruns_shown"]) == ("nodes", 4, 2)
    kinds = {node["span_id"]: node["kind"] for node in graph["nodes"]}
    assert calls["c1"].span_id not in kinds  # review was left out, and it is said above
    assert kinds[calls["b1"].span_id] == "llm"


def _replayed(store: RunIndexStore) -> dict[str, Any]:
    """An original run whose calls sit in a subrun, and its replay: call 1 served with the
    same output, call 2 live with another output."""
    o1, o2 = LlmCall(output_text="plan"), LlmCall(output_text="answer")
    (original,) = write_runs(store, RunSpec("recorded", offset_s=200))
    write_runs(store, RunSpec("agent", offset_s=201, parent_id=original.run_id, calls=[o1, o2]))
    served = {attr.REPLAY_SOURCE: "served", attr.REPLAY_ORIGINAL_SPAN: o1.span_id}
    r1 = LlmCall(output_text="plan", attributes=served)
    r2 = LlmCall(output_text="another answer", attributes={attr.REPLAY_SOURCE: "live"})
    (replay,) = write_runs(
        store,
        RunSpec("replayed", offset_s=300, attributes={"replay_of": original.run_id}),
    )
    (agent,) = write_runs(
        store, RunSpec("agent", offset_s=301, parent_id=replay.run_id, calls=[r1, r2])
    )
    return {"original": original.run_id, "replay": replay.run_id, "agent": agent.run_id,
            "calls": {"o1": o1, "o2": o2, "r1": r1, "r2": r2}}  # fmt: skip


def test_replay_calls_say_where_their_answer_came_from_and_whether_it_changed(
    api_url: str, store: RunIndexStore
) -> None:
    """In a replay (and in its subrun's own graph), each call carries its source, the original
    call it stands for, and whether its output changed; the graph names the original run."""
    seeded = _replayed(store)
    calls = seeded["calls"]
    for run_id, query in ((seeded["replay"], "?subruns=true"), (seeded["agent"], "")):
        graph = get_json(f"{api_url}/api/v1/runs/{run_id}/graph{query}")
        marks = {node["span_id"]: node["replay"] for node in graph["nodes"]}
        assert marks[calls["r1"].span_id] == {
            "source": "served",
            "original_span_id": calls["o1"].span_id,
            "changed": False,
        }
        assert marks[calls["r2"].span_id] == {
            "source": "live",
            "original_span_id": calls["o2"].span_id,
            "changed": True,
        }
        assert graph["replay_of"] == {
            "run_id": seeded["original"],
            "name": "recorded",
            "changes_known": True,
            "note": None,
        }
    plain = get_json(f"{api_url}/api/v1/runs/{seeded['original']}/graph?subruns=true")
    assert plain["replay_of"] is None
    assert all(node["replay"] is None for node in plain["nodes"])


def test_replay_marks_without_the_original_run_say_the_change_is_unknown(
    api_url: str, store: RunIndexStore
) -> None:
    """When the original run was deleted, calls keep their source and recorded original
    span, `changed` is null, and the graph says why."""
    seeded = _replayed(store)
    calls = seeded["calls"]
    store.delete_runs([seeded["original"]])
    graph = get_json(f"{api_url}/api/v1/runs/{seeded['replay']}/graph?subruns=true")
    marks = {node["span_id"]: node["replay"] for node in graph["nodes"]}
    assert marks[calls["r1"].span_id] == {
        "source": "served",
        "original_span_id": calls["o1"].span_id,
        "changed": None,
    }
    assert marks[calls["r2"].span_id]["changed"] is None
    assert graph["replay_of"]["changes_known"] is False
    assert "not in this index" in graph["replay_of"]["note"]
