"""The on-disk spool: OTLP export requests an endpoint could not take yet, kept until it can.

Layout: ``<root>/<endpoint key>/<created ns>-<pid>-<random>-<signal>-<items>.otlp``. One file
holds one encoded OTLP export request (protobuf bytes) and a JSON header naming the endpoint,
protocol and signal, so ``spanflow spool flush`` can deliver any file without other context.

- Crash-safe: a file is written under a ``.tmp-`` name, fsynced, then renamed into place, so a
  reader sees whole files only. A file whose length or checksum is wrong anyway (disk trouble)
  is skipped with a warning and renamed to ``*.bad``; it never stops delivery of the others.
- Several processes may share one spool: a deliverer claims a file by renaming it to
  ``*.claimed-<pid>``; rename is atomic, so exactly one process gets it. A claim left by a
  process that died is released again (after :data:`STALE_CLAIM_S`).
- Bounded: past ``max_bytes`` the oldest files are deleted and their items counted as dropped.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path

logger = logging.getLogger("spanflow")

MAGIC = b"SPANFLOW-SPOOL/1\n"
SUFFIX = ".otlp"
CLAIM_MARK = ".claimed-"
TMP_PREFIX = ".tmp-"
STALE_CLAIM_S = 300.0  # a claim older than this whose owner is gone is released
STALE_TMP_S = 300.0  # a temp file this old was left by a process that died while writing
SIGNALS = ("traces", "logs")


class TornSpoolFile(ValueError):
    """A spool file that is not a whole, intact spooled request."""


@dataclass(frozen=True)
class SpooledRequest:
    """One export request waiting for its endpoint."""

    endpoint: str
    protocol: str
    signal: str
    item_count: int
    body: bytes


def encode_file(request: SpooledRequest) -> bytes:
    """The bytes of a spool file: magic line, JSON header line, then the request body."""
    header = {
        "endpoint": request.endpoint,
        "protocol": request.protocol,
        "signal": request.signal,
        "items": request.item_count,
        "body_bytes": len(request.body),
        "crc32": zlib.crc32(request.body),
    }
    return MAGIC + json.dumps(header, separators=(",", ":")).encode() + b"\n" + request.body


def decode_file(data: bytes) -> SpooledRequest:
    """Parse a spool file.

    Raises:
        TornSpoolFile: not a spool file, cut short, or its checksum does not match.
    """
    if not data.startswith(MAGIC):
        raise TornSpoolFile("not a spanflow spool file")
    header_end = data.find(b"\n", len(MAGIC))
    if header_end < 0:
        raise TornSpoolFile("header cut short")
    try:
        header = json.loads(data[len(MAGIC) : header_end])
        body = data[header_end + 1 :]
        if len(body) != header["body_bytes"] or zlib.crc32(body) != header["crc32"]:
            raise TornSpoolFile("body cut short or damaged")
        return SpooledRequest(
            endpoint=str(header["endpoint"]),
            protocol=str(header["protocol"]),
            signal=str(header["signal"]),
            item_count=int(header["items"]),
            body=body,
        )
    except (ValueError, KeyError, TypeError) as exc:
        if isinstance(exc, TornSpoolFile):
            raise
        raise TornSpoolFile(f"unreadable header: {exc}") from exc


def endpoint_key(protocol: str, endpoint: str) -> str:
    """The directory name of one endpoint's spooled requests."""
    return sha256(f"{protocol} {endpoint}".encode()).hexdigest()[:16]


def _file_facts(path: Path) -> tuple[str, int]:
    """``(signal, items)`` from a spool file name; ``("", 0)`` when it does not parse."""
    parts = path.name[: -len(SUFFIX)].split("-")
    if len(parts) != 5 or parts[3] not in SIGNALS or not parts[4].isdigit():
        return "", 0
    return parts[3], int(parts[4])


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


@dataclass(frozen=True)
class Claim:
    """A spool file this process has claimed: deliver it, then ``done()`` or ``release()``."""

    original: Path
    claimed: Path

    def read(self) -> SpooledRequest | None:
        """The request, or None (with a warning, file moved aside) when the file is torn."""
        try:
            return decode_file(self.claimed.read_bytes())
        except TornSpoolFile as exc:
            logger.warning("spanflow: skipping damaged spool file %s: %s", self.original, exc)
            with contextlib.suppress(OSError):
                os.replace(self.claimed, self.original.with_suffix(".bad"))
            return None
        except OSError as exc:
            logger.warning("spanflow: cannot read spool file %s: %s", self.original, exc)
            return None

    def done(self) -> None:
        """Delivered: remove the file."""
        with contextlib.suppress(FileNotFoundError):
            self.claimed.unlink()

    def release(self) -> None:
        """Not delivered: put the file back for a later attempt (by anyone)."""
        with contextlib.suppress(FileNotFoundError):
            os.replace(self.claimed, self.original)


@dataclass(frozen=True)
class SpoolSummary:
    """What one endpoint's directory holds."""

    endpoint: str
    protocol: str
    signal: str
    files: int
    items: int
    size_bytes: int


class Spool:
    """A spool directory shared by every process of a user (see the module docstring)."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def directory(self, protocol: str, endpoint: str) -> Path:
        """Where requests for ``endpoint`` are spooled."""
        return self.root / endpoint_key(protocol, endpoint)

    def put(self, request: SpooledRequest) -> tuple[Path | None, int]:
        """Spool ``request``; returns its file (None if it could not be kept) and items dropped.

        Dropped items are those of the oldest files deleted to stay within ``max_bytes``
        (``request`` itself when it alone is larger than the bound).
        """
        data = encode_file(request)
        if len(data) > self.max_bytes:
            return None, request.item_count
        directory = self.directory(request.protocol, request.endpoint)
        # Owner-only: spooled spans may hold prompts and outputs.
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        directory.mkdir(mode=0o700, exist_ok=True)
        name = (
            f"{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(4)}"
            f"-{request.signal}-{request.item_count}{SUFFIX}"
        )
        temporary = directory / f"{TMP_PREFIX}{name}.part"  # never matches *.otlp
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        final = directory / name
        os.replace(temporary, final)
        return final, self._enforce_bound(keep=final)

    def _enforce_bound(self, *, keep: Path) -> int:
        files = sorted(self._all_files(), key=lambda path: path.name)
        sizes: dict[Path, int] = {}
        for path in files:
            try:
                sizes[path] = path.stat().st_size
            except FileNotFoundError:
                continue
        total = sum(sizes.values())
        dropped_items = 0
        for path in files:
            if total <= self.max_bytes:
                break
            if path == keep or path not in sizes:
                continue
            try:
                path.unlink()
            except FileNotFoundError:
                continue  # claimed or delivered meanwhile
            total -= sizes[path]
            signal, items = _file_facts(path)
            if signal == "traces":
                dropped_items += items
        return dropped_items

    def _all_files(self) -> Iterator[Path]:
        if not self.root.is_dir():
            return
        for directory in self.root.iterdir():
            if directory.is_dir():
                yield from directory.glob("*" + SUFFIX)

    def pending(self, protocol: str, endpoint: str) -> list[Path]:
        """Unclaimed files for ``endpoint``, oldest first (stale claims are released first)."""
        directory = self.directory(protocol, endpoint)
        if not directory.is_dir():
            return []
        self._recover(directory)
        return sorted(directory.glob("*" + SUFFIX), key=lambda path: path.name)

    def endpoint_directories(self) -> list[Path]:
        """Every endpoint directory in the spool."""
        if not self.root.is_dir():
            return []
        return sorted(path for path in self.root.iterdir() if path.is_dir())

    def pending_in(self, directory: Path) -> list[Path]:
        """Unclaimed files in one endpoint directory, oldest first."""
        self._recover(directory)
        return sorted(directory.glob("*" + SUFFIX), key=lambda path: path.name)

    @staticmethod
    def claim(path: Path) -> Claim | None:
        """Take ``path`` for delivery; None when another process took it first."""
        claimed = path.with_name(f"{path.name}{CLAIM_MARK}{os.getpid()}-{secrets.token_hex(4)}")
        try:
            # rename is atomic: of several processes renaming the same file, one succeeds and
            # the others find it gone.
            os.rename(path, claimed)
        except FileNotFoundError:
            return None
        with contextlib.suppress(OSError):
            os.utime(claimed)  # a claim's age is counted from now, not from the spooling
        return Claim(original=path, claimed=claimed)

    def _recover(self, directory: Path) -> None:
        now = time.time()
        for claimed in directory.glob(f"*{SUFFIX}{CLAIM_MARK}*"):
            owner = claimed.name.rsplit(CLAIM_MARK, 1)[1].split("-", 1)[0]
            try:
                age_s = now - claimed.stat().st_mtime
            except FileNotFoundError:
                continue
            owner_gone = not owner.isdigit() or not _pid_alive(int(owner))
            if owner_gone or age_s > STALE_CLAIM_S:
                original = claimed.with_name(claimed.name.rsplit(CLAIM_MARK, 1)[0])
                try:
                    os.rename(claimed, original)
                except OSError:
                    continue
        for temporary in directory.glob(TMP_PREFIX + "*"):
            try:
                if now - temporary.stat().st_mtime > STALE_TMP_S:
                    temporary.unlink()
            except FileNotFoundError:
                continue

    def summary(self) -> list[SpoolSummary]:
        """What each endpoint directory holds (headers read from the oldest file of each)."""
        summaries: list[SpoolSummary] = []
        for directory in self.endpoint_directories():
            files = self.pending_in(directory)
            if not files:
                continue
            by_signal: dict[str, list[Path]] = {}
            for path in files:
                by_signal.setdefault(_file_facts(path)[0] or "?", []).append(path)
            endpoint, protocol = _describe(files)
            for signal, paths in sorted(by_signal.items()):
                summaries.append(
                    SpoolSummary(
                        endpoint=endpoint,
                        protocol=protocol,
                        signal=signal,
                        files=len(paths),
                        items=sum(_file_facts(path)[1] for path in paths),
                        size_bytes=sum(_size(path) for path in paths),
                    )
                )
        return summaries


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _describe(files: list[Path]) -> tuple[str, str]:
    for path in files:
        try:
            request = decode_file(path.read_bytes())
        except (OSError, TornSpoolFile):
            continue
        return request.endpoint, request.protocol
    return "?", "?"
