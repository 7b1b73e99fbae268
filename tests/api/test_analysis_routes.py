"""`GET /api/v1/runs/compare/paired` and `GET /api/v1/runs/stats` over a real index."""

from __future__ import annotations

import pytest

from spanflow.client import Client
from spanflow.query.store import RunIndexStore
from tests.api.support import RunSpec, write_runs
from tests.api.test_routes import get_json

pytest.importorskip("spanflow_collector.index", reason="needs the run index stores")


def _evaluation(store: RunIndexStore, name: str, offset_s: float, scores: list[float]) -> str:
    (parent,) = write_runs(
        store,
        RunSpec(
            name,
            offset_s=offset_s,
            project="evals",
            params={"model": name},
            metric_points=[("accuracy", sum(scores) / len(scores), None)],
        ),
    )
    write_runs(
        store,
        *(
            RunSpec(
                f"s{index}",
                offset_s=offset_s + 1 + index / 10,
                project="evals",
                parent_id=parent.run_id,
                metric_points=[("correct", score, None)],
            )
            for index, score in enumerate(scores)
        ),
    )
    return parent.run_id


def test_paired_and_stats_endpoints_answer_what_the_client_computes(
    store: RunIndexStore, api_url: str, index_location: str
) -> None:
    """The API's paired comparison and metric history equal Client's, from the index itself."""
    run_a = _evaluation(store, "small", 10, [1.0, 0.0, 0.0, 1.0, 0.0])
    run_b = _evaluation(store, "large", 50, [1.0, 1.0, 1.0, 1.0, 0.0])

    paired = get_json(f"{api_url}/api/v1/runs/compare/paired?a={run_a}&b={run_b}")
    assert paired["paired"] == 5
    (correct,) = paired["metrics"]
    assert correct["kind"] == "pass_fail" and correct["mean_difference"] == pytest.approx(0.4)
    assert {flip["key"] for flip in paired["flips"]} == {"s1", "s2"}
    with Client(index_location) as client:
        local = client.compare_paired(run_a, run_b)
    assert correct["tests"][0]["p_value"] == pytest.approx(local.metrics[0].tests[0].p_value)

    stats = get_json(f"{api_url}/api/v1/runs/stats?metric=accuracy&project=evals&by=model")
    assert [value["run_id"] for value in stats["values"]] == [run_a, run_b]
    assert [group["group"] for group in stats["groups"]] == ["large", "small"]
    latest = get_json(f"{api_url}/api/v1/runs/stats?metric=accuracy&last=1")
    assert [value["run_id"] for value in latest["values"]] == [run_b]


def test_paired_and_stats_endpoints_name_bad_parameters(store: RunIndexStore, api_url: str) -> None:
    """Missing runs or metric, a bad pairing or confidence: 400 naming the parameter; 404 for
    an unknown run."""
    run_a = _evaluation(store, "small", 10, [1.0])
    base = f"{api_url}/api/v1/runs"
    for query, parameter in (
        (f"compare/paired?a={run_a}", "b"),
        (f"compare/paired?a={run_a}&b={run_a}&pair_by=row", "pair_by"),
        (f"compare/paired?a={run_a}&b={run_a}&confidence=1.5", "confidence"),
        ("stats?project=evals", "metric"),
        ("stats?metric=m&last=0", "last"),
        ("stats?metric=m&bogus=1", "bogus"),
    ):
        body = get_json(f"{base}/{query}", expect=400)
        assert body["parameter"] == parameter, query
    missing = get_json(f"{base}/compare/paired?a={run_a}&b=nope", expect=404)
    assert missing["run_id"] == "nope"
