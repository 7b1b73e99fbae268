"""pytest plugin (entry point ``pytest11``): fixtures for testing code that uses spanflow.

* ``spanflow_capture``: a :class:`~spanflow.testing.SpanCapture` of every span spanflow exports
  during the test, with deterministic ids and clock;
* ``spanflow_otlp_receiver``: a running :class:`~spanflow.testing.OTLPReceiver` on loopback;
* ``spanflow_cassette``: serve a recorded run's LLM responses to the test (docs/replay.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from spanflow.testing import OTLPReceiver, SpanCapture
    from spanflow.testing.cassette import Cassettes


@pytest.fixture
def spanflow_capture() -> Iterator[SpanCapture]:
    """Capture spanflow's spans in memory for one test."""
    from spanflow.testing.capture import capture_spans

    with capture_spans() as capture:
        yield capture


@pytest.fixture
def spanflow_otlp_receiver() -> Iterator[OTLPReceiver]:
    """An OTLP/HTTP receiver on 127.0.0.1 and an ephemeral port, stopped after the test."""
    from spanflow.testing.otlp_receiver import OTLPReceiver

    with OTLPReceiver() as receiver:
        yield receiver


@pytest.fixture
def spanflow_cassette() -> Iterator[Cassettes]:
    """``spanflow_cassette(run_id, source=...)`` answers the test's LLM calls from that run."""
    from spanflow.testing.cassette import Cassettes

    with Cassettes() as cassettes:
        yield cassettes
