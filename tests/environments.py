"""Environments for child processes the tests start: the caller's, without its spanflow setup."""

from __future__ import annotations

import os


def child_environment(**variables: str) -> dict[str, str]:
    """``os.environ`` without ``SPANFLOW_*`` and ``OTEL_*`` variables, plus ``variables``.

    A child must be configured only by what the test gives it, not by the developer's shell.
    """
    environment = {
        key: value
        for key, value in os.environ.items()
        # The spool directory stays: each test has its own (tests/conftest.py).
        if not key.startswith(("SPANFLOW_", "OTEL_")) or key == "SPANFLOW_SPOOL_DIR"
    }
    environment.update(variables)
    return environment
