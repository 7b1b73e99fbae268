"""spanflow's web UI: the built front-end (``static/``) served with a strict security policy.

``UiStaticMiddleware`` answers ``GET /`` and ``GET /assets/...`` from the files built out of
``web/`` (``make ui``) and passes every other request on, so the collector and ``spanflow ui``
mount the same app in front of the query API. See docs/ui.md.
"""

from __future__ import annotations

from spanflow_collector.ui.static import (
    CONTENT_SECURITY_POLICY,
    STATIC_DIR,
    UiAssetsMissing,
    UiStaticMiddleware,
    ui_middleware,
)

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "STATIC_DIR",
    "UiAssetsMissing",
    "UiStaticMiddleware",
    "ui_middleware",
]
