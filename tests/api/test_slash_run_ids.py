"""Run ids holding "/" (another SDK's naming) are reachable through the query API."""

from __future__ import annotations

import json
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

import spanflow
from spanflow import attributes as attr
from spanflow_collector.index.sqlite import SqliteRunIndexStore
from spanflow_collector.server import Collector
from tests.environments import child_environment
from tests.ui.conftest import ready_process

TIMEOUT_S = 30
T0 = 1_800_000_000_000_000_000
RUN_ID = "team/run-1"


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[Collector]:
    """A collector over a real SQLite index, OTLP/HTTP and the query API on loopback."""
    running = Collector(SqliteRunIndexStore(tmp_path / "index.db"), http_port=0, grpc_port=None)
    running.start()
    try:
        yield running
    finally:
        running.stop()


def _store_root(collector: Collector, run_id: str, span_id: str) -> None:
    span = {
        "traceId": span_id * 2,
        "spanId": span_id,
        "name": f"root of {run_id}",
        "kind": 1,
        "startTimeUnixNano": str(T0),
        "endTimeUnixNano": str(T0 + 10),
        "attributes": [
            {"key": attr.RUN_ID, "value": {"stringValue": run_id}},
            {"key": attr.SPAN_KIND, "value": {"stringValue": attr.SpanKindValue.RUN}},
        ],
    }
    document = {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
    stored = requests.post(
        f"{collector.http_url}/v1/traces",
        data=json.dumps(document),
        headers={"Content-Type": "application/json"},
        timeout=TIMEOUT_S,
    )
    assert stored.status_code == 200, stored.text


def _run_url(collector: Collector, run_id: str) -> str:
    return f"{collector.http_url}/api/v1/runs/{urllib.parse.quote(run_id, safe='')}"


def test_a_run_id_with_a_slash_is_served_by_every_run_endpoint(collector: Collector) -> None:
    """GET run, spans, tree, graph, metrics and children of "team/run-1" (sent as %2F) answer
    200 for that run; the id "team" alone is still unknown (404)."""
    _store_root(collector, RUN_ID, "01" * 8)
    base = _run_url(collector, RUN_ID)
    detail = requests.get(base, timeout=TIMEOUT_S)
    assert detail.status_code == 200, detail.text
    assert detail.json()["run"]["id"] == RUN_ID
    for suffix in ("spans", "tree", "graph", "metrics", "children"):
        answer = requests.get(f"{base}/{suffix}", timeout=TIMEOUT_S)
        assert answer.status_code == 200, (suffix, answer.text)
    unknown = requests.get(f"{collector.http_url}/api/v1/runs/team", timeout=TIMEOUT_S)
    assert unknown.status_code == 404


@pytest.mark.parametrize("sub_resource", ["spans", "artifacts", "artifacts/content"])
def test_an_id_ending_like_a_sub_resource_names_its_run_when_encoded(
    collector: Collector, sub_resource: str
) -> None:
    """With runs "team" and "team/<sub-resource>" both stored, ".../team%2F<sub>" is the second
    run (detail, its own spans, its deletion) and ".../team/<sub>" the first run's resource."""
    suffixed = f"team/{sub_resource}"
    _store_root(collector, "team", "02" * 8)
    _store_root(collector, suffixed, "03" * 8)
    detail = requests.get(_run_url(collector, suffixed), timeout=TIMEOUT_S)
    assert detail.status_code == 200, detail.text
    assert detail.json()["run"]["id"] == suffixed
    own_spans = requests.get(f"{_run_url(collector, suffixed)}/spans", timeout=TIMEOUT_S)
    assert [span["name"] for span in own_spans.json()["spans"]] == [f"root of {suffixed}"]
    with spanflow.Client(collector.http_url) as client:
        assert client.get_run(suffixed).id == suffixed
        assert client.get_run("team").id == "team"
    if sub_resource == "spans":
        of_team = requests.get(f"{collector.http_url}/api/v1/runs/team/spans", timeout=TIMEOUT_S)
        assert [span["name"] for span in of_team.json()["spans"]] == ["root of team"]
    deleted = requests.delete(_run_url(collector, suffixed), timeout=TIMEOUT_S)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["id"] == suffixed
    assert requests.get(_run_url(collector, suffixed), timeout=TIMEOUT_S).status_code == 404
    assert requests.get(_run_url(collector, "team"), timeout=TIMEOUT_S).status_code == 200


def test_an_id_sent_with_its_slash_unencoded_still_reaches_its_run(collector: Collector) -> None:
    """A client that does not encode "/" (".../runs/team/run-1") still gets that run, and its
    spans at ".../runs/team/run-1/spans", as before ids were read from the raw path."""
    _store_root(collector, RUN_ID, "04" * 8)
    base = f"{collector.http_url}/api/v1/runs/{RUN_ID}"
    assert requests.get(base, timeout=TIMEOUT_S).json()["run"]["id"] == RUN_ID
    spans = requests.get(f"{base}/spans", timeout=TIMEOUT_S)
    assert [span["name"] for span in spans.json()["spans"]] == [f"root of {RUN_ID}"]


@pytest.mark.parametrize("run_id", ["line\nbreak", "carriage\rreturn", "tab\tand\nmore/spans"])
def test_a_listed_run_whose_id_holds_a_line_break_is_served_too(
    collector: Collector, run_id: str
) -> None:
    """Another SDK's run id with control characters: the run the list shows opens by its id,
    through the client and the API's sub-resources, instead of an unrouted 404."""
    _store_root(collector, run_id, "05" * 8)
    client = spanflow.Client(collector.http_url)
    assert [run.id for run in client.list_runs().runs] == [run_id]
    assert client.get_run(run_id).id == run_id
    spans = requests.get(f"{_run_url(collector, run_id)}/spans", timeout=TIMEOUT_S)
    assert spans.status_code == 200, spans.text
    assert [span["name"] for span in spans.json()["spans"]] == [f"root of {run_id}"]


def test_spanflow_ui_forwards_a_run_id_holding_a_line_break(collector: Collector) -> None:
    """`spanflow ui --url` (a real process) relays such a run's page data from the collector."""
    run_id = "line\nbreak"
    _store_root(collector, run_id, "06" * 8)
    command = [sys.executable, "-m", "spanflow.cli", "ui", "--port", "0", "--url"]
    environment = child_environment(PYTHONUNBUFFERED="1")
    with ready_process([*command, collector.http_url], environment, "spanflow ui ready:") as (
        line,
        _,
    ):
        ui_url = line.split("ready: ", 1)[1].split()[0]
        path = f"api/v1/runs/{urllib.parse.quote(run_id, safe='')}"
        answer = requests.get(f"{ui_url}{path}", timeout=TIMEOUT_S)
        assert answer.status_code == 200, answer.text
        assert answer.json()["run"]["id"] == run_id
