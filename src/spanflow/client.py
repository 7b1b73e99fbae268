"""Read runs back: ``Client`` for a collector's REST API or a local run index, and its records.

``spanflow.Client`` is the entry point; this module also names the records it returns and the
errors it raises, for type hints and ``except`` clauses.
"""

from __future__ import annotations

from spanflow._client.client import Client
from spanflow._client.errors import (
    ArtifactNotFoundError,
    AuthenticationError,
    ClientError,
    CollectorError,
    CollectorUnavailableError,
    IndexNotFoundError,
    IndexUnreadableError,
    InvalidQueryError,
    RunNotFoundError,
)
from spanflow.query.artifacts import ArtifactInfo
from spanflow.query.records import EventRecord, LinkRecord, SpanRecord
from spanflow.query.store import MetricPoint, RunPage, RunSummary
from spanflow.query.views import RunComparison, RunDetail, SpanNode, ValueDiff

__all__ = [
    "ArtifactInfo",
    "ArtifactNotFoundError",
    "AuthenticationError",
    "Client",
    "ClientError",
    "CollectorError",
    "CollectorUnavailableError",
    "EventRecord",
    "IndexNotFoundError",
    "IndexUnreadableError",
    "InvalidQueryError",
    "LinkRecord",
    "MetricPoint",
    "RunComparison",
    "RunDetail",
    "RunNotFoundError",
    "RunPage",
    "RunSummary",
    "SpanNode",
    "SpanRecord",
    "ValueDiff",
]
