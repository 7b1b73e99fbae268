"""Replay: record what each LLM call answered, and answer it again from the run index.

``spanflow.replay(...)`` re-runs code in process, ``spanflow replay RUN_ID`` re-runs a program,
and the pytest fixture ``spanflow_cassette`` serves a recorded run to an offline test. See
docs/replay.md.

The names load on first use (PEP 562): configuration and instrumentation reach single modules
of this package (the recording switch, the transport) without loading the replay machinery,
which itself reads the configuration.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spanflow.replaying._api import replay
    from spanflow.replaying._edit import EditNotSupported
    from spanflow.replaying._index import RecordedCall, RecordedRun, ReplayError, load_run
    from spanflow.replaying._launch import LAUNCH_ENVIRONMENT
    from spanflow.replaying._recorder import recording_enabled, set_recording
    from spanflow.replaying._session import ReplayMiss, ReplaySession, ReplaySummary

__all__ = [
    "LAUNCH_ENVIRONMENT",
    "EditNotSupported",
    "RecordedCall",
    "RecordedRun",
    "ReplayError",
    "ReplayMiss",
    "ReplaySession",
    "ReplaySummary",
    "load_run",
    "recording_enabled",
    "replay",
    "set_recording",
]

_PUBLIC_HOMES = {
    "LAUNCH_ENVIRONMENT": "spanflow.replaying._launch",
    "EditNotSupported": "spanflow.replaying._edit",
    "RecordedCall": "spanflow.replaying._index",
    "RecordedRun": "spanflow.replaying._index",
    "ReplayError": "spanflow.replaying._index",
    "ReplayMiss": "spanflow.replaying._session",
    "ReplaySession": "spanflow.replaying._session",
    "ReplaySummary": "spanflow.replaying._session",
    "load_run": "spanflow.replaying._index",
    "recording_enabled": "spanflow.replaying._recorder",
    "replay": "spanflow.replaying._api",
    "set_recording": "spanflow.replaying._recorder",
}


def __getattr__(name: str) -> Any:
    home = _PUBLIC_HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'spanflow.replaying' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
