"""Replay: record what each LLM call answered, and answer it again from the run index.

``spanflow.replay(...)`` re-runs code in process, ``spanflow replay RUN_ID`` re-runs a program,
and the pytest fixture ``spanflow_cassette`` serves a recorded run to an offline test. See
docs/replay.md.
"""

from __future__ import annotations

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
