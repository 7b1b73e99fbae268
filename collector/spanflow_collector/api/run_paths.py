"""Which run, and which of its sub-resources, a ``/api/v1/runs/...`` path names.

Starlette matches routes against the percent-decoded path, where ``a%2Fspans`` (the run whose id
is ``a/spans``) and ``a/spans`` (the spans of run ``a``) are the same text. The run routes are
therefore told apart here, on the raw path: the run id is the first raw segment after
``/runs/``, percent-decoded, and the rest names the sub-resource. So every run id is
addressable once percent-encoded, as the spanflow client and web UI send it. A rest that names
no sub-resource comes from an id sent with its ``/`` unencoded; it is read as before (a
trailing sub-resource name is the sub-resource, the rest the id).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from urllib.parse import unquote

from starlette.convertors import PathConvertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import Response

RUN_ID_CONVERTOR = "run_path"
"""The route parameter type of run paths: ``{run_id:run_path}``."""
RUN_DETAIL = ""
SUB_RESOURCES = ("children", "metrics", "spans", "tree", "graph", "artifacts/content", "artifacts")


class RunPathConvertor(PathConvertor):
    """Starlette's ``path`` that also matches line breaks: another SDK's run id may hold one
    (``.`` does not match ``\\n``), and a run the list shows must open by its id."""

    regex = r"[\s\S]*"


register_url_convertor(RUN_ID_CONVERTOR, RunPathConvertor())


def split_run_path(raw_path: bytes | None, runs_prefix: str, decoded_rest: str) -> tuple[str, str]:
    """``(run id, sub-resource)`` of a path below ``runs_prefix`` (``RUN_DETAIL``: the run).

    ``raw_path`` is the request path as sent (ASGI ``raw_path``), ``decoded_rest`` the decoded
    path after ``runs_prefix``, used when the raw path is unknown.
    """
    marker = runs_prefix.encode("ascii")
    at = raw_path.find(marker) if raw_path is not None else -1
    if raw_path is not None and at >= 0:
        raw_rest = raw_path[at + len(marker) :].decode("utf-8", errors="replace")
        raw_id, _, tail = raw_rest.partition("/")
        if tail == RUN_DETAIL or tail in SUB_RESOURCES:
            return unquote(raw_id, errors="replace"), tail
    for sub_resource in SUB_RESOURCES:
        if decoded_rest.endswith(f"/{sub_resource}"):
            return decoded_rest[: -len(sub_resource) - 1], sub_resource
    return decoded_rest, RUN_DETAIL


def run_dispatcher(
    runs_prefix: str, handlers: Mapping[str, Callable[[Request], Response]]
) -> Callable[[Request], Response]:
    """An endpoint for every route below ``runs_prefix``: it calls the handler of the
    sub-resource the raw path names (405 for one without a handler), with
    ``path_params["run_id"]`` set to the run id the raw path names."""

    def endpoint(request: Request) -> Response:
        path: str = request.scope["path"]
        decoded_rest = path[path.find(runs_prefix) + len(runs_prefix) :]
        run_id, sub_resource = split_run_path(
            request.scope.get("raw_path"), runs_prefix, decoded_rest
        )
        handler = handlers.get(sub_resource)
        if handler is None:
            return Response(status_code=405, headers={"Allow": "GET, HEAD"})
        request.scope["path_params"] = {"run_id": run_id}
        return handler(request)

    return endpoint
