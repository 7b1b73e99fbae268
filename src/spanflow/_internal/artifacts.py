"""``log_artifact``'s reading: a file or bytes turned into what its run record carries.

Content up to the run's ``max_artifact_bytes`` travels in the record's body and is stored in
the index, content-addressed by sha256; above it only the facts travel (name, size, sha256,
media type, path) and the index marks the artifact as a reference. A file is read once, in
chunks, so a large one costs its hashing, never its size in memory. See docs/artifacts.md.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

_READ_CHUNK_BYTES = 1 << 20
MAX_NAME_CHARS = 255
DEFAULT_MEDIA_TYPE = "application/octet-stream"
_MEDIA_TYPE = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,127}"
)

ArtifactSource = str | os.PathLike[str] | bytes | bytearray | memoryview


class ArtifactReadError(ValueError):
    """The artifact cannot be logged (no such file, unreadable, wrong type); says which."""


@dataclass(frozen=True)
class ArtifactData:
    """One artifact as read: its facts, and its content when it is small enough to store."""

    name: str
    size: int
    sha256: str
    media_type: str
    path: str | None
    content: bytes | None


def clean_name(name: str) -> str:
    """A name shown in listings: control characters become U+FFFD, cut to MAX_NAME_CHARS.

    Path separators and ``..`` stay: a name is a label here, and every place that turns it
    into a file name (downloads) makes its own safe one.
    """
    cleaned = "".join(
        "\ufffd" if unicodedata.category(char) in ("Cc", "Cs") else char for char in name
    )
    return cleaned[:MAX_NAME_CHARS]


def _media_type(given: str | None, name: str) -> str:
    if given is not None and _MEDIA_TYPE.fullmatch(given):
        return given.lower()
    return mimetypes.guess_type(name)[0] or DEFAULT_MEDIA_TYPE


def read_artifact(
    source: ArtifactSource,
    *,
    name: str | None,
    media_type: str | None,
    max_stored_bytes: int,
) -> ArtifactData:
    """Hash ``source`` and keep its content when it is at most ``max_stored_bytes``.

    Raises:
        ArtifactReadError: a missing or unreadable file, or a source of another type.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        content = bytes(source)
        sha256 = hashlib.sha256(content).hexdigest()
        chosen = name or f"artifact-{sha256[:12]}"
        return ArtifactData(
            name=chosen,
            size=len(content),
            sha256=sha256,
            media_type=_media_type(media_type, chosen),
            path=None,
            content=content if len(content) <= max_stored_bytes else None,
        )
    if not isinstance(source, str | os.PathLike):
        raise ArtifactReadError(
            f"log_artifact() takes a file path or bytes, not {type(source).__name__}"
        )
    file_path = Path(source).expanduser().resolve()
    if not file_path.is_file():
        problem = "a directory" if file_path.is_dir() else "no such file"
        raise ArtifactReadError(
            f"artifact {os.fspath(source)!r} is not a readable file ({problem})"
        )
    digest = hashlib.sha256()
    kept = bytearray()
    size = 0
    try:
        with file_path.open("rb") as stream:
            while chunk := stream.read(_READ_CHUNK_BYTES):
                digest.update(chunk)
                size += len(chunk)
                if size <= max_stored_bytes:
                    kept += chunk
    except OSError as exc:
        raise ArtifactReadError(
            f"artifact {os.fspath(source)!r} could not be read ({exc.strerror or exc})"
        ) from exc
    chosen = name or file_path.name
    return ArtifactData(
        name=chosen,
        size=size,
        sha256=digest.hexdigest(),
        media_type=_media_type(media_type, chosen),
        path=str(file_path),
        content=bytes(kept) if size <= max_stored_bytes else None,
    )
