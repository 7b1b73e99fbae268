"""POST one OTLP/HTTP logs request: the only place run records touch the network."""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from collections.abc import Mapping

PROTOBUF = "application/x-protobuf"
# What a trace-only OTLP receiver (Jaeger, Phoenix, a bare trace endpoint) answers to /v1/logs.
NOT_ACCEPTED_STATUSES = frozenset({404, 405, 415})


class LogsNotAcceptedError(Exception):
    """The endpoint does not take OTLP logs (404/405/415): a trace-only backend."""

    def __init__(self, url: str, status: int) -> None:
        super().__init__(f"{url} answered {status} to OTLP logs")
        self.status = status


def post_logs(url: str, headers: Mapping[str, str], body: bytes, timeout_s: float) -> bool:
    """POST a serialized ``ExportLogsServiceRequest``; True when the endpoint accepted it.

    Raises:
        LogsNotAcceptedError: the endpoint answered 404, 405 or 415 (it takes no logs).
    """
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": PROTOBUF, **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            response.read()
            return 200 <= int(response.status) < 300
    except urllib.error.HTTPError as exc:
        if exc.code in NOT_ACCEPTED_STATUSES:
            raise LogsNotAcceptedError(url, exc.code) from exc
        return False
    except (OSError, http.client.HTTPException, ValueError):
        return False
