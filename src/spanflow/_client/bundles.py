"""``Client.export`` and ``Client.import_``: runs moved between indexes as bundle files.

See ``spanflow.query.analysis.bundle`` for the file format (docs/runs-bundles in
docs/query.md). Reading uses only the client's reads and writing its backend's ``write``, so a
bundle moves between SQLite, PostgreSQL and collectors in any direction.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from spanflow._client.backend import Backend
from spanflow._client.errors import ClientError, InvalidQueryError
from spanflow._client.query import TimeBound
from spanflow.query.analysis.bundle import (
    BundledRun,
    BundleError,
    open_text,
    read_bundle,
    run_records,
    write_header,
    write_run,
)

if TYPE_CHECKING:
    from spanflow._client.client import Client

Progress = Callable[[int, int], None]
_SPANS_PER_WRITE = 500


class BundleFileError(ClientError):
    """A bundle file that cannot be read or written (the message names it and why)."""


@dataclass(frozen=True)
class BundleResult:
    """What an export wrote or an import read: run ids, parents before subruns."""

    run_ids: tuple[str, ...]
    path: str


def _selected(
    client: Client,
    run_ids: Sequence[str],
    *,
    project: str | None,
    since: TimeBound,
) -> list[str]:
    """The named runs plus the top-level runs matching the filters, then all their subruns."""
    if not run_ids and project is None and since is None:
        raise InvalidQueryError("ids", "name runs to export, or select them with project/since")
    roots = [client.get_run(run_id).id for run_id in run_ids]
    if project is not None or since is not None:
        roots += [
            run.id for run in client.iter_runs(project=project, started_after=since, top_level=True)
        ]
    ordered: list[str] = []
    seen: set[str] = set()
    frontier = list(dict.fromkeys(roots))
    while frontier:
        run_id = frontier.pop(0)
        if run_id in seen:
            continue
        seen.add(run_id)
        ordered.append(run_id)
        frontier.extend(child.id for child in client.children(run_id))
    return ordered


def export_bundle(
    client: Client,
    run_ids: Sequence[str],
    path: str | os.PathLike[str],
    *,
    project: str | None = None,
    since: TimeBound = None,
    progress: Progress | None = None,
) -> BundleResult:
    """Write the runs (with subruns, spans, links, content, metric series) to ``path``."""
    chosen = _selected(client, run_ids, project=project, since=since)
    try:
        with open_text(path, write=True) as stream:
            write_header(stream, len(chosen))
            for done, run_id in enumerate(chosen, start=1):
                detail = client.run_detail(run_id)
                bundled = BundledRun(
                    run=detail.run,
                    metric_history=detail.metric_history,
                    spans=tuple(client.spans(run_id)),
                    artifact_contents=_stored_contents(client, run_id),
                )
                write_run(stream, bundled)
                if progress is not None:
                    progress(done, len(chosen))
    except OSError as exc:
        raise BundleFileError(f"cannot write {os.fspath(path)}: {exc.strerror or exc}") from exc
    return BundleResult(tuple(chosen), os.fspath(path))


def _stored_contents(client: Client, run_id: str) -> dict[str, bytes]:
    """The content of each of the run's artifacts the index holds, by sha256."""
    contents: dict[str, bytes] = {}
    for artifact in client.artifacts(run_id):
        if artifact.stored and artifact.sha256 and artifact.sha256 not in contents:
            contents[artifact.sha256] = client.artifact_bytes(run_id, artifact.name)
    return contents


def import_bundle(
    backend: Backend, path: str | os.PathLike[str], *, progress: Progress | None = None
) -> BundleResult:
    """Store every run of the bundle at ``path`` through ``backend`` (idempotent)."""
    name = os.fspath(path)
    imported: list[str] = []
    try:
        with open_text(path) as stream:
            total, runs = read_bundle(stream, name=name)
            for bundled in runs:
                spans = bundled.spans
                records = run_records(bundled)
                # Each artifact with content in a write of its own: one OTLP request stays
                # well under a collector's body limit however many artifacts the run holds.
                small = [record for record in records if record.content is None]
                for start in range(0, max(len(spans), 1), _SPANS_PER_WRITE):
                    batch = spans[start : start + _SPANS_PER_WRITE]
                    backend.write(batch, small if start == 0 else [])
                for record in records:
                    if record.content is not None:
                        backend.write([], [record])
                imported.append(bundled.run.id)
                if progress is not None:
                    progress(len(imported), max(total, len(imported)))
    except BundleError as exc:
        raise BundleFileError(str(exc)) from exc
    except OSError as exc:
        raise BundleFileError(f"cannot read {name}: {exc.strerror or exc}") from exc
    return BundleResult(tuple(imported), name)
