"""The dataflow on/off switch and the process's detector (created on first use)."""

from __future__ import annotations

import os
import threading

from spanflow import environment
from spanflow._internal import parent_run
from spanflow.dataflow.detector import DataflowDetector, fork_safe

OFF = "off"
BACKGROUND = "background"
INLINE = "inline"
_FALSE_WORDS = frozenset({"0", "false", "no", "off", "disabled"})

_mode_override: str | None = None
_detector: DataflowDetector | None = None
_detector_lock = threading.Lock()


def set_dataflow(*, enabled: bool | None = None, inline: bool = False) -> None:
    """Override ``SPANFLOW_DATAFLOW``: ``enabled=None`` restores the environment's choice.

    Args:
        enabled: True to detect edges, False to record none, None to follow the environment.
        inline: match on the caller's thread instead of the background worker.
    """
    global _mode_override
    _mode_override = None if enabled is None else (OFF if not enabled else _mode(inline))
    _reset_detector()


def dataflow_mode() -> str:
    """``off``, ``background`` or ``inline``: what ``on_call_start`` will do."""
    if _mode_override is not None:
        return _mode_override
    raw = os.environ.get(environment.SPANFLOW_DATAFLOW, "").strip().lower()
    if raw in _FALSE_WORDS:
        return OFF
    return _mode(raw == INLINE)


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


def _mode(inline: bool) -> str:
    return INLINE if inline else BACKGROUND


def _reset_detector() -> None:
    global _detector
    with _detector_lock:
        if _detector is not None:
            _detector.flush(1.0)
        _detector = None


fork_safe(lambda: _detector)
