"""Run ids (ULIDs) and readable generated run names, from a swappable source of randomness."""

from __future__ import annotations

import random
import secrets
import threading

from spanflow._internal import clock

# Crockford's base32, the ULID alphabet: https://github.com/ulid/spec
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

_ADJECTIVES = (
    "agile", "amber", "bold", "brave", "bright", "calm", "clever", "cosmic", "crisp", "daring",
    "eager", "fancy", "gentle", "golden", "happy", "humble", "jolly", "keen", "lively", "lucky",
    "mellow", "misty", "nimble", "noble", "quiet", "rapid", "silent", "sleek", "steady", "sunny",
    "swift", "tidy", "vivid", "warm", "wild", "wise", "witty", "zesty",
)  # fmt: skip
_ANIMALS = (
    "badger", "beaver", "bison", "crane", "dingo", "eagle", "falcon", "ferret", "finch", "fox",
    "gecko", "heron", "ibis", "jackal", "koala", "lemur", "lynx", "marten", "moose", "newt",
    "ocelot", "orca", "otter", "owl", "panda", "puffin", "quail", "raven", "salmon", "seal",
    "stoat", "swan", "tapir", "tiger", "toucan", "viper", "walrus", "wombat", "yak", "zebra",
)  # fmt: skip


class IdSource:
    """Makes run ids and names. Monotonic: ids made in one process sort in creation order."""

    def __init__(self, *, seed: int | None = None) -> None:
        """Random by default; a ``seed`` makes every id and name reproducible (tests)."""
        self._random: random.Random | None = random.Random(seed) if seed is not None else None
        self._lock = threading.Lock()
        self._last_ms = -1
        self._last_entropy = 0

    def _entropy(self, bits: int) -> int:
        if self._random is not None:
            return self._random.getrandbits(bits)
        return secrets.randbits(bits)

    def new_run_id(self) -> str:
        """A 26-character ULID: 48-bit millisecond timestamp, then 80 bits of entropy."""
        now_ms = clock.time_ns() // 1_000_000
        with self._lock:
            if now_ms <= self._last_ms:
                # Same (or an earlier) millisecond: increment, so ids still sort by creation.
                now_ms = self._last_ms
                entropy = (self._last_entropy + 1) & ((1 << 80) - 1)
            else:
                entropy = self._entropy(80)
            self._last_ms, self._last_entropy = now_ms, entropy
        value = ((now_ms & ((1 << 48) - 1)) << 80) | entropy
        return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))

    def new_run_name(self) -> str:
        """A readable name such as ``brave-otter-417``."""
        with self._lock:
            pick = self._random or random.SystemRandom()
            return f"{pick.choice(_ADJECTIVES)}-{pick.choice(_ANIMALS)}-{pick.randrange(1000):03d}"


_source = IdSource()


def source() -> IdSource:
    """The id source runs use now."""
    return _source


def set_source(new_source: IdSource | None) -> IdSource:
    """Swap the id source (``None`` restores a random one); returns the previous source."""
    global _source
    previous = _source
    _source = new_source if new_source is not None else IdSource()
    return previous
