"""Keep secrets out of what the collector prints: DSN passwords and bearer tokens.

``mask_dsn`` is for lines the collector writes itself (the ready line); ``SecretMaskingFilter``
sits on the process's log handler, so every log line, including exception text from a
database driver, is masked before it is written.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Iterable
from typing import Final
from urllib.parse import unquote, urlsplit

from spanflow.query.terminal_text import printable

MASK: Final = "***"
_LOG_FORMAT: Final = "spanflow collector: %(levelname)s %(name)s: %(message)s"
# scheme://user:password@host — the password is whatever sits between the first ':' after the
# user name and the last '@' of the authority.
_URL_PASSWORD: Final = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^:/?#@\s]*:)([^/?#\s]*)(@)")
# libpq key/value form: password=secret or password='se cret'
_KEYWORD_PASSWORD: Final = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.I)


def mask_dsn(text: str) -> str:
    """``text`` with the password of any URL or ``password=`` setting replaced by ``***``."""
    text = _URL_PASSWORD.sub(lambda m: m.group(1) + MASK + m.group(3), text)
    return _KEYWORD_PASSWORD.sub(lambda m: m.group(1) + MASK, text)


def dsn_secrets(db: str) -> list[str]:
    """The password of a database URL, as written and percent-decoded, to mask verbatim too."""
    try:
        password = urlsplit(db).password
    except ValueError:
        return []
    if not password:
        return []
    return [password, unquote(password)]


class SecretMaskingFilter(logging.Filter):
    """Rewrite each record's message and exception text with secrets masked.

    Args:
        secrets: Exact strings to mask wherever they appear (tokens, DSN passwords).
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # Longest first, so a secret containing another is masked whole. A secret of one to
        # three characters would turn every log line to stars and protects nothing anyway.
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)
        self._formatter = logging.Formatter()

    def mask(self, text: str) -> str:
        """``text`` with every known secret and DSN password masked."""
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return mask_dsn(text)

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record in place, with control characters escaped; never drops it.

        Messages quote what senders sent (run record ids, store errors): an ``ESC`` there
        would reach the operator's terminal, and a newline could forge a log line.
        """
        record.msg = printable(self.mask(record.getMessage()))
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            lines = self.mask(record.exc_text).split("\n")
            record.exc_text = "\n".join(printable(line) for line in lines)
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        return True


def configure_process_logging(secrets: Iterable[str], *, level: int = logging.WARNING) -> None:
    """Send the collector process's log records to stderr through ``SecretMaskingFilter``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_LOG_FORMAT))
    handler.addFilter(SecretMaskingFilter(secrets))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    # Uncaught exceptions would otherwise reach stderr unmasked, past the handler.
    crash_logger = logging.getLogger("spanflow_collector")

    def log_thread_crash(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is not SystemExit and args.exc_value is not None:
            exc_info = (args.exc_type, args.exc_value, args.exc_traceback)
            crash_logger.error("uncaught error in thread %s", args.thread, exc_info=exc_info)

    threading.excepthook = log_thread_crash
    sys.excepthook = lambda kind, value, tb: crash_logger.critical(
        "uncaught error", exc_info=(kind, value, tb)
    )
