"""Fixtures for end-to-end tests: a loopback OTLP receiver per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from spanflow.testing import OTLPReceiver


@pytest.fixture
def receiver() -> Iterator[OTLPReceiver]:
    """A loopback OTLP receiver for one test."""
    with OTLPReceiver() as running:
        yield running
