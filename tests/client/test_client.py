"""spanflow.Client answers the same, with the same records, over HTTP and from the index file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import spanflow
from spanflow.client import (
    Client,
    CollectorUnavailableError,
    IndexNotFoundError,
    InvalidQueryError,
    RunNotFoundError,
    RunSummary,
)
from spanflow.dataflow import DataflowGraph
from spanflow.query.store import RunIndexStore
from tests.api.fixtures import Seeded
from tests.api.support import BASE_TIME_NS, LlmCall, RunSpec, write_runs

pytest.importorskip("spanflow_collector.index", reason="needs the run index stores")


@pytest.fixture(params=["http", "embedded"])
def client(
    request: pytest.FixtureRequest, index_location: str, store: RunIndexStore
) -> Iterator[Client]:
    """A client reading the test's index through the REST API or directly."""
    if request.param == "http":
        opened = Client(request.getfixturevalue("api_url"))
    else:
        opened = Client(index_location)
    with opened:
        yield opened


def run_names(runs: Any) -> list[str]:
    """Names of runs, in order."""
    return [run.name for run in runs]


ALL_NEWEST_FIRST = [
    "chat-demo",
    "eval-beta",
    "alpha-sample-2",
    "alpha-sample-1",
    "eval-alpha",
    "legacy-import",
]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ALL_NEWEST_FIRST),
        ({"project": "evals"}, ["eval-beta", "alpha-sample-2", "alpha-sample-1", "eval-alpha"]),
        ({"status": "failed"}, ["eval-beta"]),
        ({"status": ["failed", "running"]}, ["chat-demo", "eval-beta"]),
        ({"tags": "nightly"}, ["eval-beta", "eval-alpha"]),
        ({"tags": ["nightly", "gpu"]}, ["eval-alpha"]),
        ({"name": "sample"}, ["alpha-sample-2", "alpha-sample-1"]),
        ({"started_after": (BASE_TIME_NS + 15 * 10**9) / 1e9}, ["chat-demo", "eval-beta"]),
        (
            {"started_before": (BASE_TIME_NS + 11_500_000_000) / 1e9},
            ["alpha-sample-1", "eval-alpha", "legacy-import"],
        ),
        ({"top_level": True}, ["chat-demo", "eval-beta", "eval-alpha", "legacy-import"]),
        ({"params": {"lr": (">", 0.005)}}, ["eval-beta", "legacy-import"]),
        ({"params": {"lr": ("<=", 0.01)}}, ["eval-alpha", "legacy-import"]),
        ({"params": ["model=gpt-4o"]}, ["eval-alpha"]),
        ({"params": {"model": ("!=", "gpt-4o")}}, ["eval-beta"]),
        ({"params": {"epochs": 3}}, ["eval-beta", "eval-alpha"]),
        ({"metrics": {"accuracy": (">=", 0.9)}}, ["eval-alpha"]),
        ({"metrics": "accuracy<0.9"}, ["eval-beta"]),
        ({"project": "evals", "tags": "nightly", "params": {"lr": ("<", 0.01)}}, ["eval-alpha"]),
    ],
)
def test_each_filter_selects_the_matching_runs(
    client: Client, seeded: Seeded, filters: dict[str, Any], expected: list[str]
) -> None:
    """Every list filter narrows the runs as documented, newest first."""
    assert run_names(client.list_runs(**filters).runs) == expected


def test_parent_filter_and_children_list_subruns(client: Client, seeded: Seeded) -> None:
    """A run's subruns come from the parent filter and from children()."""
    alpha = seeded.id("eval-alpha")
    expected = ["alpha-sample-2", "alpha-sample-1"]
    assert run_names(client.list_runs(parent=alpha).runs) == expected
    assert run_names(client.children(alpha)) == expected
    assert {run.parent_id for run in client.children(alpha)} == {alpha}
    assert sorted(client.run_detail(alpha).children) == sorted(seeded.id(name) for name in expected)


def test_run_records_carry_what_was_logged(client: Client, seeded: Seeded) -> None:
    """get_run returns the summary record: params, metrics, outputs, tags, counts, error."""
    alpha = client.get_run(seeded.id("eval-alpha"))
    assert isinstance(alpha, RunSummary)
    assert alpha.params == {"lr": 0.001, "model": "gpt-4o", "epochs": 3}
    assert alpha.metrics == {"accuracy": 0.95}
    assert alpha.outputs == {"answer": "42"}
    assert alpha.tags == ("nightly", "gpu")
    assert (alpha.llm_call_count, alpha.input_tokens, alpha.output_tokens) == (2, 150, 25)
    beta = client.get_run(seeded.id("eval-beta"))
    assert beta.status == "failed"
    assert (beta.error_type, beta.error_message) == ("ValueError", "bad sample")
    assert client.get_run(seeded.id("chat-demo")).status == "running"


def test_metric_history_spans_tree_and_graph(client: Client, seeded: Seeded) -> None:
    """Per-run reads return metric points, span records, a span tree and a dataflow graph."""
    alpha = seeded.id("eval-alpha")
    history = client.metric_history(alpha)
    assert [(p.name, p.value, p.step) for p in history] == [
        ("accuracy", 0.90, 0),
        ("accuracy", 0.95, 1),
    ]
    spans = client.spans(alpha)
    assert [s.start_time_unix_nano for s in spans] == sorted(s.start_time_unix_nano for s in spans)
    (root,) = client.tree(alpha)
    assert root.span.name == "eval-alpha"
    assert [child.span.name for child in root.children] == ["chat gpt-4o-mini"] * 2
    graph = client.graph(alpha)
    assert isinstance(graph, DataflowGraph) and len(graph.nodes) == 2


def test_dataflow_edges_come_back(client: Client, store: RunIndexStore) -> None:
    """A run whose second call read the first call's output has that edge in its graph."""
    first = LlmCall(output_text="a draft answer")
    second = LlmCall(consumes=first.span_id)
    (spec,) = write_runs(store, RunSpec("chain", offset_s=40, calls=[first, second]))
    graph = client.graph(spec.run_id)
    assert graph.edge_pairs() == {(first.span_id, second.span_id)}
    assert "-->" in graph.to_mermaid()


def test_compare_two_runs(client: Client, seeded: Seeded) -> None:
    """compare() lines up params, metrics and outputs and marks the differences."""
    comparison = client.compare(seeded.id("eval-alpha"), seeded.id("eval-beta"))
    params = {diff.key: diff for diff in comparison.params}
    assert params["lr"].values == (0.001, 0.1) and params["lr"].differs
    assert not params["epochs"].differs
    assert [(d.key, d.values) for d in comparison.metrics] == [("accuracy", (0.95, 0.5))]
    with pytest.raises(InvalidQueryError):
        client.compare(seeded.id("eval-alpha"))


def test_pagination_visits_every_run_once_in_order(client: Client, store: RunIndexStore) -> None:
    """Following next_cursor across pages yields every run exactly once, newest first."""
    # Pairs of runs share a start time, so page boundaries fall between equal keys too.
    specs = write_runs(store, *(RunSpec(f"run-{i:02d}", offset_s=i // 2) for i in range(23)))
    expected = [run.id for run in client.list_runs(limit=100).runs]
    assert sorted(expected) == sorted(spec.run_id for spec in specs)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = client.list_runs(limit=5, cursor=cursor)
        seen.extend(run.id for run in page.runs)
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
        assert len(page.runs) == 5
    assert seen == expected
    assert pages == 5
    assert [run.id for run in client.iter_runs(page_size=4)] == expected
    starts = [run.start_time_unix_nano for run in client.iter_runs(page_size=4)]
    assert starts == sorted(starts, reverse=True)


def test_filters_hold_across_pages(client: Client, store: RunIndexStore) -> None:
    """A filtered listing pages through the matching runs only."""
    write_runs(
        store,
        *(RunSpec(f"r{i}", offset_s=i, tags=("even",) if i % 2 == 0 else ()) for i in range(12)),
    )
    tagged = [run.name for run in client.iter_runs(tags="even", page_size=2)]
    assert tagged == [f"r{i}" for i in range(10, -1, -2)]


def test_delete_removes_run_and_subruns(client: Client, seeded: Seeded) -> None:
    """delete() reports the run and its subruns gone, and they no longer resolve."""
    alpha = seeded.id("eval-alpha")
    assert client.delete(alpha) == 3
    for name in ("eval-alpha", "alpha-sample-1", "alpha-sample-2"):
        with pytest.raises(RunNotFoundError):
            client.get_run(seeded.id(name))
    assert run_names(client.iter_runs()) == ["chat-demo", "eval-beta", "legacy-import"]


def test_unknown_runs_raise_run_not_found(client: Client, seeded: Seeded) -> None:
    """Every per-run method raises RunNotFoundError (a LookupError) naming the id."""
    calls = [
        client.get_run,
        client.run_detail,
        client.spans,
        client.tree,
        client.graph,
        client.children,
        client.metric_history,
        client.delete,
    ]
    for call in calls:
        with pytest.raises(RunNotFoundError) as caught:
            call("01JNOSUCHRUN")
        assert caught.value.run_id == "01JNOSUCHRUN"
        assert isinstance(caught.value, LookupError)


@pytest.mark.parametrize(
    ("filters", "parameter"),
    [
        ({"status": "done"}, "status"),
        ({"params": ["lr"]}, "param"),
        ({"metrics": ["accuracy>>1"]}, "metric"),
        ({"limit": 0}, "limit"),
        ({"started_after": "last tuesday"}, "started_after"),
        ({"cursor": "garbage"}, "cursor"),
    ],
)
def test_bad_filters_raise_invalid_query(
    client: Client, seeded: Seeded, filters: dict[str, Any], parameter: str
) -> None:
    """A filter the index cannot use raises InvalidQueryError (a ValueError) naming it."""
    with pytest.raises(InvalidQueryError) as caught:
        client.list_runs(**filters)
    assert caught.value.parameter == parameter
    assert isinstance(caught.value, ValueError)


def test_default_source_is_the_sdk_index(
    index_location: str, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Client() reads the index named by SPANFLOW_DB when no collector endpoint is set."""
    monkeypatch.delenv("SPANFLOW_ENDPOINT", raising=False)
    monkeypatch.setenv("SPANFLOW_DB", index_location)
    with spanflow.Client() as client:
        assert len(list(client.iter_runs())) == len(ALL_NEWEST_FIRST)


def test_default_source_prefers_the_collector_endpoint(
    api_url: str, seeded: Seeded, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With SPANFLOW_ENDPOINT set (as the SDK exports there), Client() reads that collector."""
    monkeypatch.setenv("SPANFLOW_ENDPOINT", f"{api_url}/v1/traces")
    monkeypatch.setenv("SPANFLOW_DB", str(tmp_path / "elsewhere.db"))
    with spanflow.Client() as client:
        assert client.source.is_http
        assert len(list(client.iter_runs())) == len(ALL_NEWEST_FIRST)


def test_missing_index_and_unreachable_collector_are_clear_errors(tmp_path: Path) -> None:
    """A wrong path or a dead collector raise errors that say what was tried."""
    with pytest.raises(IndexNotFoundError, match="no run index at"):
        Client(tmp_path / "missing.db")
    dead = Client("http://127.0.0.1:9", timeout_s=5)
    with pytest.raises(CollectorUnavailableError, match="cannot reach the collector"):
        dead.list_runs()
