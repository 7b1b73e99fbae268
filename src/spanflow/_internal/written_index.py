"""The run index this process writes to, read back: a resumed run's facts, ``spanflow.graph``.

spanflow writes either into the embedded SQLite index or over OTLP to one or more endpoints; a
spanflow collector answers its query API on the same address it receives OTLP on. So the place
to read a run back is the embedded index when that is an exporter, else the first OTLP
endpoint. Reads go through :class:`spanflow.Client`, so both paths return the same records.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from spanflow._client.client import Client
from spanflow._client.errors import IndexNotFoundError, RunNotFoundError
from spanflow._internal import provider_state
from spanflow._internal.guard import report_internal_error
from spanflow._internal.handle import RunHandle
from spanflow._internal.span_records import as_span_records
from spanflow.query.graph import DataflowGraph

LOOKUP_TIMEOUT_S = 2.0
GRAPH_FLUSH_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class KnownRun:
    """What the index already holds about a run that is being resumed."""

    name: str | None
    project: str
    tags: tuple[str, ...]
    next_segment: int


def index_location() -> str | None:
    """Where this process's runs land, as a ``spanflow.Client`` source; ``None`` when nowhere.

    Before ``configure()`` has run, that is where ``spanflow.Client()`` reads by default.
    """
    settings = provider_state.settings()
    for exporter in settings.exporters:
        if exporter == "embedded":
            return str(settings.db_path)
        if exporter == "otlp" and settings.otlp_endpoints:
            first = settings.otlp_endpoints[0]
            # A gRPC port serves no query API, and the HTTP one is not known from it.
            return first.url if first.protocol != "grpc" else None
    return None


@dataclass(frozen=True)
class IndexAnswer:
    """What the index said about a run id: ``answered`` is False when there was no index to
    ask or it could not be read; then ``run`` is None without meaning the run does not exist."""

    answered: bool
    run: KnownRun | None = None
    location: str = ""


def look_up_run(run_id: str) -> IndexAnswer:
    """The run as the index knows it (``run`` None: the index holds no such run).

    Never raises: resuming and the existing-run policy work without it, only less informed.
    """
    location = index_location()
    if location is None:
        return IndexAnswer(answered=False)
    try:
        with Client(location, token=_bearer_token(), timeout_s=LOOKUP_TIMEOUT_S) as client:
            summary = client.get_run(run_id)
    except (RunNotFoundError, IndexNotFoundError):  # no index file yet: nothing exists in it
        return IndexAnswer(answered=True, location=location)
    except Exception:  # a collector that is down, or an endpoint that is not spanflow's
        report_internal_error("reading a run to resume", detail=f"run {run_id} in {location}")
        return IndexAnswer(answered=False)
    known = KnownRun(
        name=summary.name if summary.name != summary.id else None,
        project=summary.project,
        tags=tuple(summary.tags),
        next_segment=max(1, summary.segment_count),
    )
    return IndexAnswer(answered=True, run=known, location=location)


def _bearer_token() -> str | None:
    """The token ``configure(headers={"Authorization": "Bearer ..."})`` gave the exporter.

    None lets the client fall back to ``SPANFLOW_COLLECTOR_TOKEN``.
    """
    settings = provider_state.settings()
    if not settings.otlp_endpoints:
        return None
    for key, value in settings.otlp_endpoints[0].headers:
        if key.lower() == "authorization" and value.lower().startswith("bearer "):
            return value[len("bearer ") :]
    return None


def graph(run_or_spans: str | RunHandle | Iterable[Any]) -> DataflowGraph:
    """The dataflow graph of a run, by id or handle, or of spans you hold.

    A run is read from the index this process writes to (see :func:`index_location`; before
    ``configure()``, where ``spanflow.Client()`` reads), after flushing this process's spans so
    a run that just ended is complete. Spans may be ``ReadableSpan``s, span records or mappings
    (see :func:`spanflow.dataflow.graph`).

    Example::

        print(spanflow.graph(run_id).to_mermaid())

    Raises:
        spanflow.client.RunNotFoundError: No run with that id in the index.
        spanflow.client.ClientError: The index cannot be read.
    """
    if isinstance(run_or_spans, RunHandle):
        run_or_spans = run_or_spans.id
    if not isinstance(run_or_spans, str):
        return DataflowGraph.from_spans(as_span_records(run_or_spans))
    provider_state.force_flush(GRAPH_FLUSH_TIMEOUT_S)
    with Client(index_location()) as client:
        return client.graph(run_or_spans)
