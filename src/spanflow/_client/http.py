"""The client backend that talks to a collector's REST API with the standard library."""

from __future__ import annotations

import functools
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Concatenate, ParamSpec, TypeVar

from spanflow._client.errors import (
    ArtifactNotFoundError,
    AuthenticationError,
    ClientError,
    CollectorError,
    CollectorUnavailableError,
    InvalidQueryError,
    RunNotFoundError,
)
from spanflow.query import codec
from spanflow.query.analysis import bundle_otlp
from spanflow.query.graph import DataflowGraph
from spanflow.query.params import MAX_SPAN_LIMIT
from spanflow.query.records import RunRecord, SpanRecord
from spanflow.query.store import MetricPoint, RunPage, RunSummary
from spanflow.query.views import RunComparison, RunDetail, SpanNode, build_span_tree

API_PREFIX = "/api/v1"
P = ParamSpec("P")
T = TypeVar("T")


def _decoded(
    method: Callable[Concatenate[HttpBackend, P], T],
) -> Callable[Concatenate[HttpBackend, P], T]:
    """A JSON answer that is not the API's shape becomes a ``CollectorError``, not a KeyError."""

    @functools.wraps(method)
    def call(self: HttpBackend, /, *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return method(self, *args, **kwargs)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            if isinstance(exc, ClientError):  # e.g. InvalidQueryError is a ValueError too
                raise
            raise CollectorError(
                200,
                f"{self._base_url} answered JSON that is not a spanflow API response "
                f"({type(exc).__name__}: {exc}); is it a spanflow collector?",
            ) from exc

    return call


class HttpBackend:
    """Reads a collector at ``base_url`` (e.g. ``http://127.0.0.1:4318``)."""

    def __init__(self, base_url: str, *, token: str | None = None, timeout_s: float = 30.0) -> None:
        self._base_url = base_url.rstrip("/")
        self._token = token
        self._timeout_s = timeout_s

    @_decoded
    def list_runs(self, pairs: Sequence[tuple[str, str]]) -> RunPage:
        return codec.decode_page(self._request("GET", "/runs", pairs))

    @_decoded
    def children(self, run_id: str, pairs: Sequence[tuple[str, str]]) -> RunPage:
        return codec.decode_page(self._request("GET", _run_path(run_id, "children"), pairs))

    @_decoded
    def run(self, run_id: str) -> RunSummary:
        return self.detail(run_id).run

    @_decoded
    def detail(self, run_id: str) -> RunDetail:
        return codec.decode_detail(self._request("GET", _run_path(run_id)))

    @_decoded
    def metric_history(self, run_id: str) -> list[MetricPoint]:
        body = self._request("GET", _run_path(run_id, "metrics"))
        return [codec.decode_metric_point(point) for point in body["metric_history"]]

    @_decoded
    def spans(self, run_id: str) -> list[SpanRecord]:
        spans: list[SpanRecord] = []
        for body in self._pages(_run_path(run_id, "spans"), []):
            spans.extend(codec.decode_span(span) for span in body["spans"])
        return spans

    @_decoded
    def tree(self, run_id: str, *, include_markers: bool) -> tuple[SpanNode, ...]:
        # Each page nests only its own spans; the whole tree is built again from all of them.
        pairs = [("include_markers", "true")] if include_markers else []
        spans: list[SpanRecord] = []
        for body in self._pages(_run_path(run_id, "tree"), pairs):
            for root in codec.decode_tree(body["roots"]):
                spans.extend(node.span for _, node in root.walk())
        return build_span_tree(spans, include_markers=True)

    def _pages(self, path: str, pairs: list[tuple[str, str]]) -> Iterator[dict[str, Any]]:
        """Every page of a paginated endpoint, following ``next_cursor``."""
        cursor: str | None = None
        while True:
            page_pairs = [*pairs, ("limit", str(MAX_SPAN_LIMIT))]
            if cursor is not None:
                page_pairs.append(("cursor", cursor))
            try:
                body = self._request("GET", path, page_pairs)
            except InvalidQueryError as exc:
                if cursor is not None or exc.parameter != "limit":
                    raise
                yield self._request("GET", path, pairs)  # a collector from before pagination
                return
            yield body
            cursor = body.get("next_cursor")
            if not cursor:
                return

    @_decoded
    def graph(self, run_id: str) -> DataflowGraph:
        return codec.decode_graph(self._request("GET", _run_path(run_id, "graph")))

    @_decoded
    def compare(self, run_ids: Sequence[str]) -> RunComparison:
        body = self._request("GET", "/runs/compare", [("ids", ",".join(run_ids))])
        return codec.decode_comparison(body)

    def artifact_content(self, run_id: str, name: str) -> bytes:
        path = _run_path(run_id, "artifacts/content")
        return self._fetch("GET", path, [("name", name)], accept="application/octet-stream")

    @_decoded
    def delete(self, run_id: str) -> int:
        deleted: int = self._request("DELETE", _run_path(run_id))["deleted"]
        return deleted

    def write(self, spans: Sequence[SpanRecord], records: Sequence[RunRecord]) -> None:
        """POST them to the collector's OTLP/JSON receivers, which store them like any export."""
        if spans:
            self._post_otlp("/v1/traces", bundle_otlp.traces_request(spans), len(spans))
        if records:
            self._post_otlp("/v1/logs", bundle_otlp.logs_request(records), len(records))

    def _post_otlp(self, path: str, document: dict[str, Any], count: int) -> None:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        body = codec.dumps(document).encode("utf-8")
        request = urllib.request.Request(
            f"{self._base_url}{path}", data=body, method="POST", headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            with exc:
                raise _error_for(exc.code, exc.read()) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise CollectorUnavailableError(
                f"cannot reach the collector at {self._base_url}: {reason}"
            ) from exc
        try:
            answer = json.loads(raw) if raw.strip() else {}
        except ValueError:
            answer = {}
        partial = answer.get("partialSuccess") if isinstance(answer, dict) else None
        if isinstance(partial, dict) and (
            partial.get("rejectedSpans") or partial.get("rejectedLogRecords")
        ):
            raise CollectorError(
                200, f"{path}: the collector rejected part of {count} items: {partial}"
            )

    def close(self) -> None:
        """Nothing to release: each request opens and closes its own connection."""

    def _request(
        self, method: str, path: str, pairs: Sequence[tuple[str, str]] = ()
    ) -> dict[str, Any]:
        raw = self._fetch(method, path, pairs)
        try:
            body: dict[str, Any] = json.loads(raw)
        except ValueError:
            raise CollectorError(
                200,
                f"{self._base_url}{API_PREFIX}{path} did not answer JSON; "
                "is it a spanflow collector?",
            ) from None
        return body

    def _fetch(
        self,
        method: str,
        path: str,
        pairs: Sequence[tuple[str, str]] = (),
        *,
        accept: str = "application/json",
    ) -> bytes:
        """The raw answer of one API request; error statuses become ``ClientError``s."""
        url = f"{self._base_url}{API_PREFIX}{path}"
        if pairs:
            url += "?" + urllib.parse.urlencode(list(pairs))
        headers = {"Accept": accept}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        request = urllib.request.Request(url, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as response:
                raw: bytes = response.read()
        except urllib.error.HTTPError as exc:
            with exc:
                raise _error_for(exc.code, exc.read()) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise CollectorUnavailableError(
                f"cannot reach the collector at {self._base_url}: {reason}"
            ) from exc
        return raw


def _run_path(run_id: str, leaf: str | None = None) -> str:
    path = f"/runs/{urllib.parse.quote(run_id, safe='')}"
    return f"{path}/{leaf}" if leaf else path


def _error_for(status_code: int, raw_body: bytes) -> Exception:
    try:
        body = json.loads(raw_body)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {"message": raw_body.decode("utf-8", "replace").strip() or "no details"}
    message = str(body.get("message") or body.get("error") or "no details")
    if status_code == 404 and body.get("artifact") is not None and body.get("run_id"):
        return ArtifactNotFoundError(str(body["run_id"]), str(body["artifact"]), message)
    if status_code == 404 and body.get("run_id"):
        return RunNotFoundError(str(body["run_id"]))
    if status_code == 400:
        return InvalidQueryError(str(body.get("parameter", "")), message)
    if status_code in (401, 403):
        return AuthenticationError(status_code, message)
    return CollectorError(status_code, message)
