"""Errors the Python client raises, the same whether it reads a collector or a local index.

::

    ClientError
     ├── RunNotFoundError        (also a LookupError) no run with that id
     ├── ArtifactNotFoundError   (also a LookupError) no such artifact, or only a reference
     ├── InvalidQueryError       (also a ValueError) a filter the index cannot understand
     ├── IndexNotFoundError      (also a FileNotFoundError) no index file at the given path
     ├── IndexUnreadableError    the index cannot be read: not a run index, another schema, ...
     ├── CollectorUnavailableError (also a ConnectionError) the collector did not answer
     └── CollectorError          the collector answered with an unexpected HTTP status
          └── AuthenticationError  401/403: missing or wrong bearer token
"""

from __future__ import annotations


class ClientError(Exception):
    """Base of every error ``spanflow.Client`` raises."""


class RunNotFoundError(ClientError, LookupError):
    """The index holds no run with this id."""

    def __init__(self, run_id: str) -> None:
        super().__init__(f"no run with id {run_id!r}")
        self.run_id = run_id


class ArtifactNotFoundError(ClientError, LookupError):
    """The run has no artifact of that name, or the index holds only a reference to it (its
    content was above the size limit when logged); the message says which."""

    def __init__(self, run_id: str, name: str, message: str) -> None:
        super().__init__(message)
        self.run_id = run_id
        self.name = name


class InvalidQueryError(ClientError, ValueError):
    """A filter or option the index rejects; ``parameter`` names the query parameter."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


class IndexNotFoundError(ClientError, FileNotFoundError):
    """The embedded index file does not exist (nothing has been recorded there yet)."""


class IndexUnreadableError(ClientError):
    """The run index exists but cannot be read: not a run index (empty, corrupt, a directory),
    written by another spanflow version, unreadable to this user, or its driver is missing."""


class CollectorUnavailableError(ClientError, ConnectionError):
    """The collector could not be reached."""


class CollectorError(ClientError):
    """The collector answered with a status the client cannot turn into a result."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(f"collector answered {status_code}: {message}")
        self.status_code = status_code


class AuthenticationError(CollectorError):
    """The collector wants a (different) bearer token: pass ``token=`` or set the env var."""
