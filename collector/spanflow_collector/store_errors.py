"""Which store failures are worth a retry (503 / UNAVAILABLE) and which are about the data.

A store refuses a batch either because it cannot write right now (database down, disk full,
lock timeout, connection lost: retrying later may work) or because of what the batch holds (a
value out of range, an encoding the database rejects, a constraint: the same batch fails again
forever). Answering the second kind with 503 makes exporters resend the same poison until their
deadline and then drop the whole batch, valid spans included, so the ingest pipeline isolates
the span at fault instead and rejects only it through ``partial_success``.

DB-API groups errors alike in both drivers: ``DataError`` and ``IntegrityError`` are about the
values; ``OperationalError`` and ``InterfaceError`` about the connection and the server;
``ProgrammingError`` about the statement or the schema (a dropped table), which no split of the
batch can help, so it is not a data error. Python errors raised while building rows
(``ValueError``, ``OverflowError``, ...) are about the data too, and so is a value SQLite
cannot bind. Anything unknown counts as transient, so an unforeseen outage is retried rather
than turned into lost spans.
"""

from __future__ import annotations

import sqlite3
import sys

_PYTHON_DATA_ERRORS = (
    ValueError,  # UnicodeEncodeError included
    TypeError,
    KeyError,
    IndexError,
    OverflowError,
    RecursionError,
)
_SQLITE_DATA_ERRORS = (
    sqlite3.DataError,
    sqlite3.IntegrityError,
    sqlite3.InterfaceError,  # "Error binding parameter": a value sqlite3 cannot bind
)
# SQLite reports some value errors as plain SQLITE_ERROR, which sqlite3 maps to OperationalError.
_SQLITE_DATA_MESSAGES = ("integer overflow", "too big", "too large", "malformed json")


def is_data_error(error: BaseException) -> bool:
    """Whether ``error`` is about the values written, so a retry of the same batch fails again."""
    if isinstance(error, _PYTHON_DATA_ERRORS + _SQLITE_DATA_ERRORS):
        return True
    if isinstance(error, sqlite3.OperationalError):
        message = str(error).lower()
        return any(fragment in message for fragment in _SQLITE_DATA_MESSAGES)
    if isinstance(error, sqlite3.ProgrammingError):  # Python 3.12 reports binding errors so
        return "binding" in str(error).lower()
    psycopg = sys.modules.get("psycopg")  # only loaded when a PostgreSQL store is open
    if psycopg is not None:
        data_errors = (
            psycopg.DataError,
            psycopg.IntegrityError,
            psycopg.errors.ProgramLimitExceeded,  # an OperationalError, but about the value
        )
        return isinstance(error, data_errors)
    return False


def is_unavailable_error(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot be reached or used right now (answer 503)."""
    if isinstance(error, sqlite3.OperationalError):
        return not is_data_error(error)
    psycopg = sys.modules.get("psycopg")
    if psycopg is not None:
        return isinstance(error, psycopg.OperationalError | psycopg.InterfaceError) and not (
            is_data_error(error)
        )
    return False
