"""spanflow's version, for instrumentation scopes."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("spanflow")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    VERSION = "0"
