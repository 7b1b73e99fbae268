"""The dataflow on/off switch and the process's detector (created on first use)."""

from __future__ import annotations

import threading

from spanflow._internal import parent_run, settings
from spanflow._internal.parameters import DATAFLOW_BACKGROUND as BACKGROUND
from spanflow._internal.parameters import DATAFLOW_INLINE as INLINE
from spanflow._internal.parameters import DATAFLOW_OFF as OFF
from spanflow.dataflow.detector import DataflowDetector, fork_safe

__all__ = [
    "BACKGROUND",
    "INLINE",
    "OFF",
    "current_detector",
    "dataflow_mode",
    "forget_run_tree",
    "get_detector",
    "set_dataflow",
]

_detector: DataflowDetector | None = None
_detector_lock = threading.Lock()


def set_dataflow(*, enabled: bool | None = None, inline: bool = False) -> None:
    """Change the ``dataflow`` setting: ``enabled=None`` puts back the environment's choice.

    Args:
        enabled: True to detect edges, False to record none, None to follow the environment.
        inline: match on the caller's thread instead of the background worker.
    """
    chosen = None if enabled is None else (INLINE if enabled and inline else enabled)
    settings.update("dataflow", chosen)
    _reset_detector()


def dataflow_mode() -> str:
    """``off``, ``background`` or ``inline``: what ``on_call_start`` will do (the setting)."""
    return settings.current().dataflow


def get_detector() -> DataflowDetector | None:
    """The process's detector, created on first use; None while dataflow is off."""
    global _detector
    mode = dataflow_mode()
    if mode == OFF:
        return None
    detector = _detector
    if detector is None or detector.inline != (mode == INLINE):
        with _detector_lock:
            if _detector is None or _detector.inline != (mode == INLINE):
                _detector = DataflowDetector(inline=mode == INLINE)
                _adopt_parent_index(_detector)
            detector = _detector
    return detector


def current_detector() -> DataflowDetector | None:
    """The detector if one exists (never creates one)."""
    return _detector


def _adopt_parent_index(detector: DataflowDetector) -> None:
    # A spawned child starts from the index its parent had when starting it (see inherit.py).
    snapshot = parent_run.inherited_dataflow_snapshot()
    if snapshot is not None:
        detector.adopt_tree(snapshot)


def forget_run_tree(run_id: str) -> None:
    """Drop the outputs indexed for the run tree of ``run_id`` (its top-level run has ended)."""
    detector = _detector
    if detector is not None:
        detector.forget_run(run_id)


def _reset_detector() -> None:
    global _detector
    with _detector_lock:
        if _detector is not None:
            _detector.flush(1.0)
        _detector = None


fork_safe(lambda: _detector)
