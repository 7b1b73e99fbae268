"""The OpenAPI 3.1 description of the query API, served at ``/api/openapi.json``."""

from __future__ import annotations

import copy
from typing import Any

from spanflow.query.params import (
    DEFAULT_LIMIT,
    DEFAULT_SPAN_LIMIT,
    MAX_LIMIT,
    MAX_SPAN_LIMIT,
    MAX_TAG_FILTERS,
    MAX_VALUE_FILTERS,
    RUN_STATUSES,
)

JsonObject = dict[str, Any]


def _ref(name: str) -> JsonObject:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: JsonObject, description: str) -> JsonObject:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _query(name: str, description: str, schema: JsonObject, *, repeat: bool = False) -> JsonObject:
    if repeat:
        schema = {"type": "array", "items": schema}
    parameter: JsonObject = {
        "name": name,
        "in": "query",
        "description": description,
        "schema": schema,
    }
    if repeat:
        parameter |= {"style": "form", "explode": True}
    return parameter


_STRING: JsonObject = {"type": "string"}
_INT: JsonObject = {"type": "integer"}
_NANOS: JsonObject = {"type": "integer", "description": "unix nanoseconds (exceeds 2**53)"}
_FLOAT: JsonObject = {
    "oneOf": [{"type": "number"}, {"enum": ["NaN", "Infinity", "-Infinity"]}],
}
_VALUE: JsonObject = {"description": "attribute value: string, number, boolean or an array"}
_RUN_ID: JsonObject = {
    "name": "run_id",
    "in": "path",
    "required": True,
    "schema": _STRING,
    "description": "the run's id (spanflow.run.id)",
}
_ERRORS: JsonObject = {
    "400": _json(
        _ref("Error"),
        "a query parameter is malformed or out of range (an unknown parameter, a foreign "
        f"cursor, a time outside 1970..2262, more than {MAX_VALUE_FILTERS} param/metric "
        f"filters or {MAX_TAG_FILTERS} tags); `parameter` names it",
    ),
    "401": {"description": "the collector requires a bearer token"},
    "503": _json(
        _ref("Error"), "the run index cannot be reached right now; retry after `Retry-After`"
    ),
}
_NOT_FOUND: JsonObject = {"404": _json(_ref("Error"), "no run with that id")}

_FILTERS: list[JsonObject] = [
    _query("project", "only runs of this project", _STRING),
    _query(
        "status",
        "any of these statuses (repeat or comma-separate)",
        {"enum": list(RUN_STATUSES)},
        repeat=True,
    ),
    _query("tag", "runs carrying every one of these tags", _STRING, repeat=True),
    _query("q", "run name contains this text", _STRING),
    _query("started_after", "ISO 8601 (naive = UTC) or unix seconds", _STRING),
    _query("started_before", "ISO 8601 (naive = UTC) or unix seconds", _STRING),
    _query("parent", "only subruns of this run id", _STRING),
    _query("top_level", "leave subruns out", {"type": "boolean"}),
    _query(
        "param",
        'compare a param: `lr>0.01`, `model=gpt-4o`, `name="0.5"` (quoted = string); '
        "operators = != < <= > >=",
        _STRING,
        repeat=True,
    ),
    _query("metric", "compare a run's last metric value: `accuracy>=0.9`", _STRING, repeat=True),
    _query("attr", "compare a free run attribute: `dataset=gsm8k`", _STRING, repeat=True),
    _query(
        "limit",
        f"page size, 1 to {MAX_LIMIT}",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    ),
    _query("cursor", "`next_cursor` of the previous page", _STRING),
]

_SPAN_PAGE: list[JsonObject] = [
    _query(
        "limit",
        f"spans per page, 1 to {MAX_SPAN_LIMIT}",
        {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_SPAN_LIMIT,
            "default": DEFAULT_SPAN_LIMIT,
        },
    ),
    _query("cursor", "`next_cursor` of the previous page", _STRING),
]
_NEXT_CURSOR: JsonObject = {
    "type": ["string", "null"],
    "description": "pass as `cursor` for the next page; null on the last page",
}

_SCHEMAS: JsonObject = {
    "Artifact": {
        "type": "object",
        "properties": {
            "name": _STRING,
            "size": {"type": ["integer", "null"], "description": "bytes"},
            "sha256": {"type": ["string", "null"]},
            "media_type": {"type": ["string", "null"]},
            "path": {"type": ["string", "null"], "description": "where a file was logged from"},
            "stored": {"type": "boolean", "description": "the index holds the content"},
        },
    },
    "Error": {
        "type": "object",
        "required": ["error", "message"],
        "properties": {
            "error": {
                "enum": ["bad_request", "not_found", "unauthorized", "unavailable", "internal"]
            },
            "message": _STRING,
            "parameter": _STRING,
            "run_id": _STRING,
        },
    },
    "Run": {
        "type": "object",
        "properties": {
            "id": _STRING,
            "project": _STRING,
            "name": _STRING,
            "status": {"enum": list(RUN_STATUSES)},
            "start_time_unix_nano": _NANOS,
            "end_time_unix_nano": {"oneOf": [_NANOS, {"type": "null"}]},
            "started_at": {"type": "string", "format": "date-time"},
            "ended_at": {"oneOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]},
            "duration_s": {"type": ["number", "null"]},
            "parent_id": {"type": ["string", "null"]},
            "tags": {"type": "array", "items": _STRING},
            "params": {"type": "object", "additionalProperties": _VALUE},
            "metrics": {"type": "object", "additionalProperties": _FLOAT},
            "outputs": {"type": "object", "additionalProperties": _VALUE},
            "attributes": {"type": "object", "additionalProperties": _VALUE},
            "error_type": {"type": ["string", "null"]},
            "error_message": {"type": ["string", "null"]},
            "span_count": _INT,
            "llm_call_count": _INT,
            "error_count": _INT,
            "input_tokens": _INT,
            "output_tokens": _INT,
            "segment_count": _INT,
            "trace_ids": {"type": "array", "items": _STRING},
            "last_heartbeat_unix_nano": {"oneOf": [_NANOS, {"type": "null"}]},
            "inputs": {"type": "object", "additionalProperties": _VALUE},
            "artifacts": {
                "type": "object",
                "description": "by name: path, size (bytes), sha256, media_type, stored "
                "(false: a reference only, its content was above the size limit)",
                "additionalProperties": {"type": "object"},
            },
            "truncated": {
                "type": "array",
                "items": _STRING,
                "description": "what the SDK had to cut (params, metric_points, queue_full)",
            },
        },
    },
    "RunPage": {
        "type": "object",
        "properties": {
            "runs": {"type": "array", "items": _ref("Run")},
            "next_cursor": {"type": ["string", "null"], "description": "null on the last page"},
        },
    },
    "MetricPoint": {
        "type": "object",
        "properties": {
            "name": _STRING,
            "value": _FLOAT,
            "step": {"type": ["integer", "null"]},
            "time_unix_nano": _NANOS,
        },
    },
    "RunDetail": {
        "type": "object",
        "properties": {
            "run": _ref("Run"),
            "metric_history": {"type": "array", "items": _ref("MetricPoint")},
            "children": {"type": "array", "items": _STRING, "description": "subrun ids"},
        },
    },
    "Span": {
        "type": "object",
        "description": "one span as OTLP carried it; ids are lowercase hex",
        "properties": {
            "trace_id": _STRING,
            "span_id": _STRING,
            "parent_span_id": {"type": ["string", "null"]},
            "name": _STRING,
            "kind": {"type": "integer", "description": "OTLP SpanKind number"},
            "start_time_unix_nano": _NANOS,
            "end_time_unix_nano": _NANOS,
            "attributes": {"type": "object", "additionalProperties": _VALUE},
            "events": {"type": "array", "items": {"type": "object"}},
            "links": {"type": "array", "items": {"type": "object"}},
            "status_code": {"type": "integer", "description": "0 unset, 1 ok, 2 error"},
            "status_message": _STRING,
            "resource_attributes": {"type": "object", "additionalProperties": _VALUE},
            "scope_name": _STRING,
            "scope_version": _STRING,
        },
    },
    "SpanNode": {
        "type": "object",
        "properties": {
            "span": _ref("Span"),
            "children": {"type": "array", "items": _ref("SpanNode")},
        },
    },
    "Graph": {
        "type": "object",
        "properties": {
            "nodes": {
                "type": "array",
                "items": {
                    "type": "object",
                    "description": (
                        "span_id, name, kind, model, input_preview, output_preview; run_id and "
                        "run_name (null for a producer outside the runs shown); duration_s, "
                        "input_tokens, output_tokens, failed; replay: null, or source "
                        "(served/edited/live), original_span_id and changed (null if unknown)"
                    ),
                },
            },
            "edges": {
                "type": "array",
                "items": {
                    "type": "object",
                    "description": "producer, consumer, how, score, input_fields, output_field",
                },
            },
            "runs": {
                "type": "array",
                "items": {"type": "object"},
                "description": (
                    "the runs drawn, the run first: id, name, status, parent_id, node_count, "
                    "llm_call_count (the run's own LLM calls)"
                ),
            },
            "truncated": {
                "type": ["object", "null"],
                "description": (
                    "null, or why subruns were left out: reason (runs/nodes), max_runs, "
                    "max_nodes, subruns_shown, message"
                ),
            },
            "replay_of": {
                "type": ["object", "null"],
                "description": (
                    "for a replay: the original run's run_id and name, changes_known, note"
                ),
            },
        },
    },
    "ValueDiff": {
        "type": "object",
        "properties": {
            "key": _STRING,
            "values": {
                "type": "array",
                "items": _VALUE,
                "description": "one per run, null if absent",
            },
            "differs": {"type": "boolean"},
        },
    },
    "Comparison": {
        "type": "object",
        "properties": {
            "runs": {"type": "array", "items": _ref("Run")},
            "params": {"type": "array", "items": _ref("ValueDiff")},
            "metrics": {"type": "array", "items": _ref("ValueDiff")},
            "outputs": {"type": "array", "items": _ref("ValueDiff")},
            "inputs": {"type": "array", "items": _ref("ValueDiff")},
            "attributes": {"type": "array", "items": _ref("ValueDiff")},
            "artifacts": {
                "type": "array",
                "items": _ref("ValueDiff"),
                "description": "by artifact name: each run's sha256 (or path)",
            },
        },
    },
}


def _get(
    summary: str, ok: JsonObject, parameters: list[JsonObject], *, run: bool = True
) -> JsonObject:
    responses: JsonObject = {"200": ok, **_ERRORS, **(_NOT_FOUND if run else {})}
    return {
        "summary": summary,
        "parameters": ([_RUN_ID] if run else []) + parameters,
        "responses": responses,
    }


def openapi_document() -> JsonObject:
    """The whole document (a fresh dict each call)."""
    paths: JsonObject = {
        "/api/v1/runs": {
            "get": _get(
                "List runs, newest first", _json(_ref("RunPage"), "one page"), _FILTERS, run=False
            )
        },
        "/api/v1/runs/compare": {
            "get": _get(
                "Compare runs' params, metrics and outputs",
                _json(_ref("Comparison"), "the runs side by side"),
                [_query("ids", "2 to 20 comma-separated run ids", _STRING)],
                run=False,
            )
        },
        "/api/v1/runs/compare/paired": {
            "get": {
                **_get(
                    "Two evaluation runs compared sample by sample (paired statistics)",
                    _json({"type": "object"}, "pairing, per-metric differences, tests, flips"),
                    [
                        _query("a", "run A's id", _STRING),
                        _query("b", "run B's id", _STRING),
                        _query("pair_by", "`name` (default), `param:KEY` or `attr:KEY`", _STRING),
                        _query("confidence", "interval level, default 0.95", {"type": "number"}),
                    ],
                    run=False,
                ),
                "responses": {
                    "200": _json({"type": "object"}, "see docs/query.md"),
                    **_ERRORS,
                    **_NOT_FOUND,
                },
            }
        },
        "/api/v1/runs/stats": {
            "get": _get(
                "A metric across top-level runs: values oldest first, summary per group",
                _json({"type": "object"}, "values and groups, see docs/query.md"),
                [
                    _query("metric", "the metric", _STRING),
                    _query("project", "only runs of this project", _STRING),
                    _query("by", "group by this param", _STRING),
                    _query("last", "the newest N runs holding the metric", _INT),
                    _query("status", "only runs with this status", _STRING, repeat=True),
                    _query("tag", "runs with every given tag", _STRING, repeat=True),
                    _query("q", "the run name contains this text", _STRING),
                ],
                run=False,
            )
        },
        "/api/v1/runs/{run_id}": {
            "get": _get(
                "A run with its metric history and subrun ids",
                _json(_ref("RunDetail"), "the run"),
                [],
            ),
            "delete": {
                "summary": "Delete a run with its spans and subruns",
                "parameters": [_RUN_ID],
                "responses": {
                    "200": _json(
                        {"type": "object", "properties": {"id": _STRING, "deleted": _INT}},
                        "how many runs were deleted (the run and its subruns)",
                    ),
                    **_NOT_FOUND,
                },
            },
        },
        "/api/v1/runs/{run_id}/children": {
            "get": _get(
                "The run's subruns (same filters and paging as the run list)",
                _json(_ref("RunPage"), "one page"),
                [p for p in _FILTERS if p["name"] != "parent"],
            )
        },
        "/api/v1/runs/{run_id}/metrics": {
            "get": _get(
                "Every metric point logged in the run, in time order",
                _json(
                    {
                        "type": "object",
                        "properties": {
                            "metric_history": {"type": "array", "items": _ref("MetricPoint")}
                        },
                    },
                    "the points",
                ),
                [],
            )
        },
        "/api/v1/runs/{run_id}/spans": {
            "get": _get(
                "One page of the run's spans (all segments), by start time",
                _json(
                    {
                        "type": "object",
                        "properties": {
                            "spans": {"type": "array", "items": _ref("Span")},
                            "next_cursor": _NEXT_CURSOR,
                        },
                    },
                    "one page of spans",
                ),
                _SPAN_PAGE,
            )
        },
        "/api/v1/runs/{run_id}/tree": {
            "get": _get(
                "One page of the run's span tree: the page's spans (by start time) nested under "
                "their parents where the parent is on the same page; join every page's spans "
                "and nest them again for the whole tree",
                _json(
                    {
                        "type": "object",
                        "properties": {
                            "roots": {"type": "array", "items": _ref("SpanNode")},
                            "next_cursor": _NEXT_CURSOR,
                        },
                    },
                    "one page of the tree",
                ),
                [
                    _query(
                        "include_markers",
                        "keep run.start / run.heartbeat spans",
                        {"type": "boolean", "default": False},
                    ),
                    *_SPAN_PAGE,
                ],
            )
        },
        "/api/v1/runs/{run_id}/graph": {
            "get": _get(
                "The run's dataflow graph: which call's output fed which later call",
                {
                    "description": "JSON nodes and edges, or Mermaid / Graphviz DOT text",
                    "content": {
                        "application/json": {"schema": _ref("Graph")},
                        "text/plain": {"schema": _STRING},
                        "text/vnd.graphviz": {"schema": _STRING},
                    },
                },
                [
                    _query(
                        "format",
                        "json (default), mermaid or dot",
                        {"enum": ["json", "mermaid", "dot"]},
                    ),
                    _query(
                        "subruns",
                        "add every descendant run's calls, grouped by run_id (JSON only; at "
                        "most 200 runs and 2,000 nodes, see truncated)",
                        {"type": "boolean", "default": False},
                    ),
                ],
            )
        },
        "/api/v1/runs/{run_id}/artifacts": {
            "get": _get(
                "The run's artifacts by name (docs/artifacts.md)",
                _json(
                    {
                        "type": "object",
                        "properties": {
                            "artifacts": {"type": "array", "items": _ref("Artifact")},
                        },
                    },
                    "the artifacts, sorted by name",
                ),
                [],
            )
        },
        "/api/v1/runs/{run_id}/artifacts/content": {
            "get": _get(
                "One artifact's stored bytes, always as an attachment (application/octet-stream, "
                "X-Content-Type-Options: nosniff); 404 for a reference-only artifact",
                {
                    "description": "the content",
                    "content": {"application/octet-stream": {"schema": {"type": "string"}}},
                },
                [_query("name", "the artifact's name", _STRING)],
            )
        },
    }
    document = {
        "openapi": "3.1.0",
        "info": {
            "title": "spanflow query API",
            "version": "1",
            "description": "List, inspect, compare and delete runs in a spanflow run index.",
        },
        "components": {
            "schemas": _SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{}, {"bearer": []}],
        "paths": paths,
    }
    return copy.deepcopy(document)
