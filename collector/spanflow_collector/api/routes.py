"""The REST query API (``/api/v1``) as Starlette routes over a ``RunIndexStore``.

Endpoints are plain functions, so Starlette runs them in its thread pool and a slow store call
never blocks the event loop. Errors are JSON: ``{"error": ..., "message": ..., "parameter": ...}``
with 400 for a bad query parameter (named), 404 for an unknown run and 503 (``Retry-After``)
while the run index cannot be reached. Span lists and trees come in pages (``limit``,
``cursor``), so one request never holds a whole large run in memory.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from spanflow.query import codec
from spanflow.query.artifacts import (
    ArtifactNotFound,
    artifact_content,
    artifact_infos,
    content_disposition,
    encode_artifact,
)
from spanflow.query.graph import DataflowGraph
from spanflow.query.params import (
    QueryParameterError,
    parse_bool,
    parse_run_query,
    parse_span_page,
)
from spanflow.query.store import RunIndexStore, RunSummary, SpanPage
from spanflow.query.views import (
    RunDetail,
    build_span_tree,
    child_run_ids,
    compare_runs,
    list_page,
)
from spanflow_collector.api import analysis_views, graph_view
from spanflow_collector.api.openapi import openapi_document
from spanflow_collector.api.run_paths import RUN_DETAIL, RUN_ID_CONVERTOR, run_dispatcher
from spanflow_collector.store_errors import is_unavailable_error

logger = logging.getLogger("spanflow_collector.api")

API_PREFIX = "/api/v1"
OPENAPI_PATH = "/api/openapi.json"
GRAPH_FORMATS = ("json", "mermaid", "dot")
MAX_COMPARED_RUNS = 20
RETRY_AFTER_S = 1


class JsonResponse(Response):
    """JSON with non-finite floats already encoded away (see ``codec``)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return codec.dumps(content).encode("utf-8")


class RunNotFound(LookupError):
    """The request names a run the index does not hold."""

    def __init__(self, run_id: str) -> None:
        super().__init__(f"no run with id {run_id!r}")
        self.run_id = run_id


def error_response(status_code: int, error: str, message: str, **extra: str) -> JsonResponse:
    """The JSON error body every endpoint uses."""
    return JsonResponse({"error": error, "message": message, **extra}, status_code=status_code)


Handler = Callable[[Request], Response]


def _handles_errors(handler: Handler) -> Handler:
    @functools.wraps(handler)
    def endpoint(request: Request) -> Response:
        try:
            return handler(request)
        except QueryParameterError as exc:
            return error_response(400, "bad_request", str(exc), parameter=exc.parameter)
        except RunNotFound as exc:
            return error_response(404, "not_found", str(exc), run_id=exc.run_id)
        except ArtifactNotFound as exc:
            return error_response(404, "not_found", str(exc), run_id=exc.run_id, artifact=exc.name)
        except Exception as exc:
            if is_unavailable_error(exc):
                logger.warning("run index unavailable: %s", exc)
                response = error_response(
                    503, "unavailable", "the run index cannot be reached; retry shortly"
                )
                response.headers["Retry-After"] = str(RETRY_AFTER_S)
                return response
            logger.exception("query API request failed: %s %s", request.method, request.url.path)
            return error_response(500, "internal", "the run index failed to answer; see the log")

    return endpoint


class _QueryApi:
    """The endpoints, bound to one store."""

    def __init__(self, store: RunIndexStore) -> None:
        self._store = store

    def _run(self, run_id: str) -> RunSummary:
        run = self._store.get_run(run_id)
        if run is None:
            raise RunNotFound(run_id)
        return run

    def openapi(self, request: Request) -> Response:
        return JsonResponse(openapi_document())

    def list_runs(self, request: Request) -> Response:
        query = parse_run_query(request.query_params.multi_items())
        page = list_page(self._store, query)
        return JsonResponse(codec.encode_page(page))

    def children(self, request: Request) -> Response:
        if "parent" in request.query_params:
            raise QueryParameterError("parent", "the parent is the run named in the path")
        run = self._run(request.path_params["run_id"])
        query = parse_run_query([*request.query_params.multi_items(), ("parent", run.id)])
        page = list_page(self._store, query)
        return JsonResponse(codec.encode_page(page))

    def get_run(self, request: Request) -> Response:
        _no_parameters(request)
        return self._detail(request.path_params["run_id"])

    def _detail(self, run_id: str) -> Response:
        run = self._run(run_id)
        detail = RunDetail(
            run=run,
            metric_history=tuple(self._store.get_metric_history(run.id)),
            children=child_run_ids(self._store, run.id),
        )
        return JsonResponse(codec.encode_detail(detail))

    def metric_history(self, request: Request) -> Response:
        _no_parameters(request)
        run = self._run(request.path_params["run_id"])
        points = self._store.get_metric_history(run.id)
        return JsonResponse({"metric_history": [codec.encode_metric_point(p) for p in points]})

    def spans(self, request: Request) -> Response:
        _no_parameters(request, "limit", "cursor")
        page = self._span_page(request, include_markers=True)
        return JsonResponse(
            {
                "spans": [codec.encode_span(span) for span in page.spans],
                "next_cursor": page.next_cursor,
            }
        )

    def tree(self, request: Request) -> Response:
        """One page of spans in start order, nested where a parent is on the same page.

        A client joins the pages' spans and nests them again (``build_span_tree``).
        """
        _no_parameters(request, "include_markers", "limit", "cursor")
        include = request.query_params.get("include_markers")
        page = self._span_page(
            request,
            include_markers=parse_bool("include_markers", include) if include else False,
        )
        roots = build_span_tree(page.spans, include_markers=True)
        return JsonResponse({"roots": codec.encode_tree(roots), "next_cursor": page.next_cursor})

    def _span_page(self, request: Request, *, include_markers: bool) -> SpanPage:
        for name in ("limit", "cursor"):
            if len(request.query_params.getlist(name)) > 1:
                raise QueryParameterError(name, "given more than once")
        limit, cursor = parse_span_page(
            request.query_params.get("limit"), request.query_params.get("cursor")
        )
        run = self._run(request.path_params["run_id"])
        try:
            return self._store.get_span_page(
                run.id, limit=limit, cursor=cursor, include_markers=include_markers
            )
        except ValueError as exc:
            if cursor is None:
                raise
            # The limit is checked above: what is left is a cursor the store did not issue.
            raise QueryParameterError("cursor", str(exc)) from exc

    def graph(self, request: Request) -> Response:
        _no_parameters(request, "format", "subruns")
        graph_format = request.query_params.get("format", "json")
        if graph_format not in GRAPH_FORMATS:
            raise QueryParameterError(
                "format", f"unknown format {graph_format!r} (one of {', '.join(GRAPH_FORMATS)})"
            )
        subruns_text = request.query_params.get("subruns")
        subruns = parse_bool("subruns", subruns_text) if subruns_text is not None else False
        if subruns and graph_format != "json":
            raise QueryParameterError("subruns", "subruns=true is only answered as JSON")
        run = self._run(request.path_params["run_id"])
        if graph_format == "json":
            return JsonResponse(graph_view.run_graph(self._store, run, subruns=subruns))
        graph = DataflowGraph.from_spans(self._store.get_spans(run.id))
        if graph_format == "mermaid":
            return Response(graph.to_mermaid(), media_type="text/plain; charset=utf-8")
        return Response(graph.to_dot(), media_type="text/vnd.graphviz; charset=utf-8")

    def compare(self, request: Request) -> Response:
        _no_parameters(request, "ids")
        ids = [
            run_id.strip()
            for text in request.query_params.getlist("ids")
            for run_id in text.split(",")
            if run_id.strip()
        ]
        if not 2 <= len(ids) <= MAX_COMPARED_RUNS:
            raise QueryParameterError(
                "ids", f"give between 2 and {MAX_COMPARED_RUNS} run ids, comma-separated"
            )
        runs = [self._run(run_id) for run_id in ids]
        return JsonResponse(codec.encode_comparison(compare_runs(runs)))

    def compare_paired(self, request: Request) -> Response:
        _no_parameters(request, *analysis_views.PAIRED_PARAMETERS)
        values = _grouped(request)
        return JsonResponse(analysis_views.paired(self._store, values, self._run))

    def stats(self, request: Request) -> Response:
        _no_parameters(request, *analysis_views.STATS_PARAMETERS)
        return JsonResponse(analysis_views.stats(self._store, _grouped(request)))

    def artifacts(self, request: Request) -> Response:
        _no_parameters(request)
        run = self._run(request.path_params["run_id"])
        return JsonResponse({"artifacts": [encode_artifact(a) for a in artifact_infos(run)]})

    def artifact_content(self, request: Request) -> Response:
        """The bytes of one artifact, always as a download: never rendered or sniffed."""
        _no_parameters(request, "name")
        names = request.query_params.getlist("name")
        if len(names) != 1:
            raise QueryParameterError("name", "give the artifact name once")
        run = self._run(request.path_params["run_id"])
        info, content = artifact_content(self._store, run, names[0])
        headers = {
            "Content-Disposition": content_disposition(info.name),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store",
        }
        return Response(content, media_type="application/octet-stream", headers=headers)

    def delete(self, request: Request) -> Response:
        _no_parameters(request)
        run = self._run(request.path_params["run_id"])
        deleted = self._store.delete_runs([run.id])
        return JsonResponse({"id": run.id, "deleted": deleted})


def _or_run_of_that_id(api: _QueryApi, run_id: str, handler: Handler) -> Handler:
    """A collection route whose path is also a valid run id (``stats``, ``compare``).

    The collection needs query parameters; asked with none while a run of that id exists, the
    request means that run, so every run id is reachable at ``/api/v1/runs/{id}``.
    """

    @functools.wraps(handler)
    def endpoint(request: Request) -> Response:
        if not request.query_params and api._store.get_run(run_id) is not None:
            return api._detail(run_id)
        return handler(request)

    return endpoint


def _grouped(request: Request) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for name, value in request.query_params.multi_items():
        values.setdefault(name, []).append(value)
    return values


def _no_parameters(request: Request, *allowed: str) -> None:
    for name in request.query_params:
        if name not in allowed:
            expected = f" (expected {', '.join(allowed)})" if allowed else ""
            raise QueryParameterError(name, f"unknown query parameter{expected}")


def build_query_routes(store: RunIndexStore) -> list[BaseRoute]:
    """Every query API route over ``store``, with full paths (``/api/v1/...``)."""
    api = _QueryApi(store)
    runs = f"{API_PREFIX}/runs/"
    table: list[tuple[str, Handler, str]] = [
        (OPENAPI_PATH, api.openapi, "GET"),
        (f"{API_PREFIX}/runs", api.list_runs, "GET"),
        (f"{runs}compare", _or_run_of_that_id(api, "compare", api.compare), "GET"),
        (
            f"{runs}compare/paired",
            _or_run_of_that_id(api, "compare/paired", api.compare_paired),
            "GET",
        ),
        (f"{runs}stats", _or_run_of_that_id(api, "stats", api.stats), "GET"),
    ]
    # A run id may hold "/" (another SDK's ids), which Starlette's decoded path cannot tell from
    # a sub-resource: every run route hands the request to one dispatcher that reads the raw
    # path (run_paths.py), so "<id>%2Fspans" is the run "<id>/spans" whichever route matched.
    readers: dict[str, Handler] = {
        RUN_DETAIL: api.get_run,
        "children": api.children,
        "metrics": api.metric_history,
        "spans": api.spans,
        "tree": api.tree,
        "graph": api.graph,
        "artifacts/content": api.artifact_content,
        "artifacts": api.artifacts,
    }
    read = run_dispatcher(runs, {name: _handles_errors(h) for name, h in readers.items()})
    delete = run_dispatcher(runs, {RUN_DETAIL: _handles_errors(api.delete)})
    run = f"{runs}{{run_id:{RUN_ID_CONVERTOR}}}"
    run_routes = [
        Route(f"{run}/{name}" if name else run, read, methods=["GET"], name=handler.__name__)
        for name, handler in readers.items()
    ]
    run_routes.append(Route(run, delete, methods=["DELETE"], name="delete"))
    return [
        *(
            Route(path, _handles_errors(handler), methods=[method], name=handler.__name__)
            for path, handler, method in table
        ),
        *run_routes,
    ]
