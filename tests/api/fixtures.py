"""Fixtures shared by the API, client and CLI tests: a real run index and the API serving it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from spanflow import attributes as attr
from spanflow.query.store import RunIndexStore
from tests.api.support import LlmCall, RunSpec, serve, write_runs
from tests.postgres import schema_of_its_own


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def index_location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Where the test's run index lives: a SQLite file, or a PostgreSQL schema of its own.

    For PostgreSQL the location is a URL whose search path selects the test's schema, so a
    client or CLI given only the location reads the same index the test writes.
    """
    if request.param == "sqlite":
        yield str(tmp_path / "index.db")
        return
    url: str = request.getfixturevalue("postgres_url")
    with schema_of_its_own(url) as location:
        yield location


@pytest.fixture
def store(index_location: str) -> Iterator[RunIndexStore]:
    """A fresh run index, opened the way users open one."""
    from spanflow_collector.index import open_store

    opened = open_store(index_location)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def api_url(store: RunIndexStore) -> Iterator[str]:
    """The query API over ``store``, on loopback."""
    with serve(store) as url:
        yield url


class Seeded:
    """The runs ``seeded`` wrote, by name."""

    def __init__(self, specs: list[RunSpec]) -> None:
        self.by_name = {spec.name: spec for spec in specs}

    def id(self, name: str) -> str:
        """The run id of the run called ``name``."""
        return self.by_name[name].run_id


SEED = [
    RunSpec(
        "eval-alpha",
        offset_s=10,
        project="evals",
        tags=("nightly", "gpu"),
        params={"lr": 0.001, "model": "gpt-4o", "epochs": 3},
        metric_points=[("accuracy", 0.90, 0), ("accuracy", 0.95, 1)],
        outputs={"answer": "42"},
        calls=[
            LlmCall(input_tokens=100, output_tokens=20),
            LlmCall(input_tokens=50, output_tokens=5),
        ],
    ),
    RunSpec(
        "eval-beta",
        offset_s=20,
        project="evals",
        status=attr.RunStatus.FAILED,
        error=("ValueError", "bad sample"),
        tags=("nightly",),
        params={"lr": 0.1, "model": "gpt-4o-mini", "epochs": 3},
        metric_points=[("accuracy", 0.5, 0)],
        outputs={"answer": "41"},
    ),
    RunSpec("chat-demo", offset_s=30, duration_s=None, project="default"),
    RunSpec(
        "legacy-import",
        offset_s=-86_400 * 3,
        project="default",
        tags=("gpu",),
        params={"lr": 0.01},
    ),
]


@pytest.fixture
def seeded(store: RunIndexStore) -> Seeded:
    """Four runs (two evals, one still running, one three days old) and two subruns of alpha."""
    specs = write_runs(store, *SEED)
    alpha = next(spec for spec in specs if spec.name == "eval-alpha")
    children = write_runs(
        store,
        RunSpec("alpha-sample-1", offset_s=11, project="evals", parent_id=alpha.run_id),
        RunSpec("alpha-sample-2", offset_s=12, project="evals", parent_id=alpha.run_id),
    )
    return Seeded(specs + children)
