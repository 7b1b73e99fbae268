"""Fixtures for replay tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import spanflow


@pytest.fixture
def index(tmp_path: Path) -> Iterator[Path]:
    """spanflow writing into a fresh embedded index, LLM clients instrumented."""
    path = tmp_path / "index.db"
    spanflow.configure(exporters=["embedded"], db_path=path)
    spanflow.instrument()
    try:
        yield path
    finally:
        spanflow.force_flush()
        spanflow.uninstrument()
        spanflow.configure(exporters=["none"])
