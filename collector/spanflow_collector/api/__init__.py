"""The collector's REST query API: list, inspect, compare and delete runs (``/api/v1``).

``build_routes(store)`` gives the Starlette routes the collector mounts. The filter parser,
views and JSON codec they use live in ``spanflow.query`` (standard library only), which the
embedded Python client shares without the ``collector`` extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from spanflow.query.store import RunIndexStore

__all__ = ["build_routes"]


def build_routes(store: RunIndexStore) -> list[BaseRoute]:
    """Every query API route over ``store``: ``/api/v1/...`` and ``/api/openapi.json``.

    Needs the ``collector`` extra (Starlette): ``pip install 'spanflow[collector]'``.
    """
    # Imported here so that importing the starlette-free submodules never pulls in Starlette.
    from spanflow_collector.api.routes import build_query_routes

    return build_query_routes(store)
