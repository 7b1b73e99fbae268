"""A run's artifacts as the query API shows them, and how a download names its file.

Shared by the REST routes, the Python client and the CLI. Artifact names are user data: they
may hold ``../``, control characters, markup or thousands of characters. They are shown as
data everywhere, and every place that turns one into a file name goes through
:func:`download_filename`, which keeps the last path segment and only plain characters.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass
from typing import Any

from spanflow.query.store import RunIndexStore, RunSummary

MAX_FILENAME_CHARS = 120
_UNSAFE_FILENAME_CHARS = re.compile(r"[^A-Za-z0-9._ -]+")


@dataclass(frozen=True)
class ArtifactInfo:
    """One artifact of a run: its facts and whether the index holds its content.

    ``stored`` False means a reference only: the content was above the size limit when it was
    logged (``path`` says where it was), or it was logged by a spanflow that sent no content.
    """

    name: str
    size: int | None
    sha256: str | None
    media_type: str | None
    path: str | None
    stored: bool


class ArtifactNotFound(LookupError):
    """The run has no artifact of that name, or the index does not hold its content."""

    def __init__(self, run_id: str, name: str, message: str) -> None:
        super().__init__(message)
        self.run_id = run_id
        self.name = name


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def artifact_infos(run: RunSummary) -> tuple[ArtifactInfo, ...]:
    """The run's artifacts, by name (a name logged twice in the run: the last one)."""
    infos = []
    for name in sorted(run.artifacts):
        facts = run.artifacts[name]
        size = facts.get("size")
        infos.append(
            ArtifactInfo(
                name=name,
                size=size if isinstance(size, int) and not isinstance(size, bool) else None,
                sha256=_text(facts.get("sha256")),
                media_type=_text(facts.get("media_type")),
                path=_text(facts.get("path")),
                stored=facts.get("stored") is True,
            )
        )
    return tuple(infos)


def find_artifact(run: RunSummary, name: str) -> ArtifactInfo:
    """The run's artifact called ``name``.

    Raises:
        ArtifactNotFound: the run logged no artifact of that name.
    """
    for info in artifact_infos(run):
        if info.name == name:
            return info
    raise ArtifactNotFound(run.id, name, f"run {run.id!r} has no artifact named {name!r}")


def artifact_content(
    store: RunIndexStore, run: RunSummary, name: str
) -> tuple[ArtifactInfo, bytes]:
    """The artifact and its bytes.

    Raises:
        ArtifactNotFound: no such artifact, or only a reference to it is stored.
    """
    info = find_artifact(run, name)
    content = store.get_artifact_content(run.id, info.sha256) if info.sha256 else None
    if not info.stored or content is None:
        where = f"; it was logged from {info.path}" if info.path else ""
        raise ArtifactNotFound(
            run.id,
            name,
            f"artifact {name!r} of run {run.id!r} is a reference only: its content "
            f"({info.size} bytes) was above the size limit when logged{where}",
        )
    return info, content


def download_filename(name: str) -> str:
    """A safe file name for ``name``: its last path segment, plain characters only."""
    last = re.split(r"[/\\]", name)[-1]
    cleaned = _UNSAFE_FILENAME_CHARS.sub("_", last).strip(" .")
    return cleaned[:MAX_FILENAME_CHARS] or "artifact"


def content_disposition(name: str) -> str:
    """``attachment`` with the safe name, plain and RFC 6266 ``filename*`` (UTF-8) forms."""
    safe = download_filename(name)
    last = re.split(r"[/\\]", name)[-1][:MAX_FILENAME_CHARS]
    readable = "".join(char for char in last if char.isprintable()).strip(" .") or safe
    quoted = urllib.parse.quote(readable, safe="")
    return f"attachment; filename=\"{safe}\"; filename*=UTF-8''{quoted}"


def encode_artifact(info: ArtifactInfo) -> dict[str, Any]:
    """The API's JSON of one artifact."""
    return {
        "name": info.name,
        "size": info.size,
        "sha256": info.sha256,
        "media_type": info.media_type,
        "path": info.path,
        "stored": info.stored,
    }


def decode_artifact(obj: dict[str, Any]) -> ArtifactInfo:
    """The inverse of :func:`encode_artifact`."""
    return ArtifactInfo(
        name=obj["name"],
        size=obj.get("size"),
        sha256=obj.get("sha256"),
        media_type=obj.get("media_type"),
        path=obj.get("path"),
        stored=obj.get("stored") is True,
    )
