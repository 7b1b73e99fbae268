"""The REST query API over a real run index, spoken to over loopback HTTP."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import pytest

from spanflow.query.store import RunIndexStore
from spanflow_collector.api import build_routes
from spanflow_collector.api.openapi import openapi_document
from tests.api.fixtures import Seeded

pytest.importorskip("spanflow_collector.index", reason="needs the run index stores")


def fetch(url: str, *, method: str = "GET") -> tuple[int, str, bytes]:
    """(status, content type, body) of one request; HTTP errors are answers too."""
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["content-type"], response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.headers["content-type"], exc.read()


def get_json(url: str, *, method: str = "GET", expect: int = 200) -> Any:
    """The JSON body of a request that must answer ``expect``."""
    status, content_type, body = fetch(url, method=method)
    assert status == expect, body
    assert content_type.startswith("application/json")
    return json.loads(body)


def names(page: Any) -> list[str]:
    """Run names of a JSON page, in order."""
    return [run["name"] for run in page["runs"]]


def test_run_list_is_newest_first_with_summary_fields(api_url: str, seeded: Seeded) -> None:
    """GET /runs lists every run, newest first, with status, tokens and ISO times."""
    page = get_json(f"{api_url}/api/v1/runs")
    assert names(page) == [
        "chat-demo",
        "eval-beta",
        "alpha-sample-2",
        "alpha-sample-1",
        "eval-alpha",
        "legacy-import",
    ]
    assert page["next_cursor"] is None
    alpha = page["runs"][4]
    assert alpha["id"] == seeded.id("eval-alpha")
    assert alpha["status"] == "completed"
    assert alpha["params"] == {"lr": 0.001, "model": "gpt-4o", "epochs": 3}
    assert alpha["metrics"] == {"accuracy": 0.95}
    assert alpha["tags"] == ["nightly", "gpu"]
    assert alpha["llm_call_count"] == 2
    assert (alpha["input_tokens"], alpha["output_tokens"]) == (150, 25)
    assert alpha["started_at"].endswith("Z") and alpha["duration_s"] == pytest.approx(2.0)


def test_run_detail_has_metric_history_and_children(api_url: str, seeded: Seeded) -> None:
    """GET /runs/{id} adds every metric point and the subrun ids to the summary."""
    detail = get_json(f"{api_url}/api/v1/runs/{seeded.id('eval-alpha')}")
    assert detail["run"]["name"] == "eval-alpha"
    assert [(p["name"], p["value"], p["step"]) for p in detail["metric_history"]] == [
        ("accuracy", 0.90, 0),
        ("accuracy", 0.95, 1),
    ]
    assert sorted(detail["children"]) == sorted(
        [seeded.id("alpha-sample-1"), seeded.id("alpha-sample-2")]
    )
    children = get_json(f"{api_url}/api/v1/runs/{seeded.id('eval-alpha')}/children")
    assert names(children) == ["alpha-sample-2", "alpha-sample-1"]
    metrics = get_json(f"{api_url}/api/v1/runs/{seeded.id('eval-alpha')}/metrics")
    assert [p["value"] for p in metrics["metric_history"]] == [0.90, 0.95]


def test_spans_tree_and_graph(api_url: str, seeded: Seeded) -> None:
    """A run's spans come flat, as a tree under the run root, and as a dataflow graph."""
    run_url = f"{api_url}/api/v1/runs/{seeded.id('eval-alpha')}"
    spans = get_json(f"{run_url}/spans")["spans"]
    assert {span["name"] for span in spans} >= {"eval-alpha", "chat gpt-4o-mini"}
    roots = get_json(f"{run_url}/tree")["roots"]
    assert [root["span"]["name"] for root in roots] == ["eval-alpha"]
    assert [child["span"]["name"] for child in roots[0]["children"]] == ["chat gpt-4o-mini"] * 2
    with_markers = get_json(f"{run_url}/tree?include_markers=true")["roots"]
    assert "run.start" in [child["span"]["name"] for child in with_markers[0]["children"]]
    graph = get_json(f"{run_url}/graph")
    assert len(graph["nodes"]) == 2 and graph["edges"] == []
    status, content_type, body = fetch(f"{run_url}/graph?format=mermaid")
    assert status == 200 and content_type.startswith("text/plain")
    assert body.decode().startswith("flowchart LR")
    status, content_type, body = fetch(f"{run_url}/graph?format=dot")
    assert status == 200 and body.decode().startswith("digraph dataflow {")


def test_compare_lines_up_params_metrics_and_outputs(api_url: str, seeded: Seeded) -> None:
    """GET /runs/compare?ids=a,b shows each key's values per run and whether they differ."""
    ids = f"{seeded.id('eval-alpha')},{seeded.id('eval-beta')}"
    comparison = get_json(f"{api_url}/api/v1/runs/compare?ids={ids}")
    assert [run["name"] for run in comparison["runs"]] == ["eval-alpha", "eval-beta"]
    params = {diff["key"]: diff for diff in comparison["params"]}
    assert params["lr"] == {"key": "lr", "values": [0.001, 0.1], "differs": True}
    assert params["epochs"]["differs"] is False
    assert comparison["metrics"] == [{"key": "accuracy", "values": [0.95, 0.5], "differs": True}]
    assert comparison["outputs"][0]["values"] == ["42", "41"]


def test_unknown_run_is_404_with_a_json_message(api_url: str, seeded: Seeded) -> None:
    """Every per-run endpoint answers 404 naming the unknown id."""
    for leaf in ("", "/spans", "/tree", "/graph", "/children", "/metrics"):
        error = get_json(f"{api_url}/api/v1/runs/01JNOSUCHRUN{leaf}", expect=404)
        assert error == {
            "error": "not_found",
            "message": "no run with id '01JNOSUCHRUN'",
            "run_id": "01JNOSUCHRUN",
        }
    get_json(f"{api_url}/api/v1/runs/01JNOSUCHRUN", method="DELETE", expect=404)
    ids = f"{seeded.id('eval-alpha')},01JNOSUCHRUN"
    get_json(f"{api_url}/api/v1/runs/compare?ids={ids}", expect=404)


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("status=done", "status"),
        ("stauts=failed", "stauts"),
        ("limit=0", "limit"),
        ("started_after=last-week", "started_after"),
        ("param=lr", "param"),
        ("metric=%3E0.5", "metric"),
        ("top_level=perhaps", "top_level"),
        ("cursor=not-a-cursor", "cursor"),
    ],
)
def test_bad_filters_are_400_naming_the_parameter(
    api_url: str, seeded: Seeded, query: str, parameter: str
) -> None:
    """A filter the index cannot use is a 400 whose body names the parameter."""
    error = get_json(f"{api_url}/api/v1/runs?{query}", expect=400)
    assert error["error"] == "bad_request"
    assert error["parameter"] == parameter
    assert error["message"].startswith(f"{parameter}: ")


def test_other_bad_requests_are_400(api_url: str, seeded: Seeded) -> None:
    """Bad graph formats, compare lists and stray parameters are named too."""
    run_url = f"{api_url}/api/v1/runs/{seeded.id('eval-alpha')}"
    assert get_json(f"{run_url}/graph?format=png", expect=400)["parameter"] == "format"
    assert get_json(f"{run_url}?verbose=1", expect=400)["parameter"] == "verbose"
    assert get_json(f"{run_url}/children?parent=x", expect=400)["parameter"] == "parent"
    one = seeded.id("eval-alpha")
    assert get_json(f"{api_url}/api/v1/runs/compare?ids={one}", expect=400)["parameter"] == "ids"


def test_delete_removes_the_run_and_its_subruns(api_url: str, seeded: Seeded) -> None:
    """DELETE /runs/{id} deletes the run with its subruns; they are gone afterwards."""
    alpha = seeded.id("eval-alpha")
    assert get_json(f"{api_url}/api/v1/runs/{alpha}", method="DELETE") == {
        "id": alpha,
        "deleted": 3,
    }
    get_json(f"{api_url}/api/v1/runs/{alpha}", expect=404)
    get_json(f"{api_url}/api/v1/runs/{seeded.id('alpha-sample-1')}", expect=404)
    assert names(get_json(f"{api_url}/api/v1/runs")) == ["chat-demo", "eval-beta", "legacy-import"]


def test_openapi_document_describes_every_route(api_url: str, store: RunIndexStore) -> None:
    """/api/openapi.json is served and lists exactly the paths and methods the API routes."""
    document = get_json(f"{api_url}/api/openapi.json")
    assert document == openapi_document()
    assert document["openapi"].startswith("3.")
    routed: set[tuple[str, str]] = set()
    for route in build_routes(store):
        # OpenAPI has no path converters: {run_id:run_path} is documented as {run_id}.
        path = re.sub(r":\w+}", "}", getattr(route, "path", ""))
        if path.startswith("/api/v1"):
            methods = getattr(route, "methods", set()) - {"HEAD"}
            routed |= {(path, method.lower()) for method in methods}
    documented = {
        (path, method) for path, operations in document["paths"].items() for method in operations
    }
    assert documented == routed
    list_parameters = {p["name"] for p in document["paths"]["/api/v1/runs"]["get"]["parameters"]}
    from spanflow.query.params import LIST_PARAMETERS

    assert list_parameters == set(LIST_PARAMETERS)


def test_url_encoded_ids_and_values_are_decoded(api_url: str, seeded: Seeded) -> None:
    """Filter values with reserved characters arrive intact when URL-encoded."""
    query = urllib.parse.urlencode([("param", 'model="gpt-4o"'), ("q", "eval ")])
    assert names(get_json(f"{api_url}/api/v1/runs?{query}")) == []
    query = urllib.parse.urlencode([("param", 'model="gpt-4o"')])
    assert names(get_json(f"{api_url}/api/v1/runs?{query}")) == ["eval-alpha"]
