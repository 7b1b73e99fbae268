"""Where the client reads runs from: a collector URL or a run index (SQLite path or DB URL)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from spanflow import environment as env
from spanflow.environment import Default

_OTLP_TRACES_SUFFIX = "/v1/traces"


@dataclass(frozen=True)
class Source:
    """``kind`` is ``"http"`` (``location`` is a base URL) or ``"store"`` (a path or DB URL)."""

    kind: str
    location: str

    @property
    def is_http(self) -> bool:
        """Whether the client talks to a collector's REST API."""
        return self.kind == "http"


def resolve_source(
    url_or_db: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> Source:
    """Decide what to read.

    An ``http(s)://`` URL is a collector; a ``postgresql://`` URL or a path is a run index. With
    nothing given: ``SPANFLOW_ENDPOINT`` (a collector, as the SDK exports to it), else
    ``SPANFLOW_DB``, else ``./.spanflow/index.db`` — the same places the SDK writes to.
    """
    environ = os.environ if environ is None else environ
    if url_or_db is None:
        endpoint = environ.get(env.SPANFLOW_ENDPOINT, "").split(",")[0].strip()
        db = environ.get(env.SPANFLOW_DB, "").strip()
        url_or_db = endpoint or db or Default.SPANFLOW_DB
    text = os.fspath(url_or_db)
    lowered = text.lower()
    if lowered.startswith(("http://", "https://")):
        base = text.rstrip("/")
        if base.endswith(_OTLP_TRACES_SUFFIX):  # an OTLP traces URL given as the endpoint
            base = base[: -len(_OTLP_TRACES_SUFFIX)]
        return Source("http", base)
    return Source("store", text)
