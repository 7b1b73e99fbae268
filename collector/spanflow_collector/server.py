"""Run the collector: OTLP/HTTP (and the query API) under uvicorn, OTLP/gRPC under grpcio.

``Collector`` owns the pieces and their order: bind both ports, serve, and on stop close the
receivers first, then drain the ingest queue into the store, then close the store, so that
every span that was acknowledged is committed and nothing is acknowledged after the store
closed.
"""

from __future__ import annotations

import importlib
import ipaddress
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn

from spanflow_collector.app import build_app
from spanflow_collector.grpc import start_grpc_server
from spanflow_collector.http import DEFAULT_MAX_BODY_BYTES
from spanflow_collector.ingest import DEFAULT_MAX_QUEUED_SPANS, IngestPipeline
from spanflow_collector.store import RunIndexStore

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_HTTP_PORT = 4318
DEFAULT_GRPC_PORT = 4317
_STARTUP_TIMEOUT_S = 30.0


class CollectorConfigError(ValueError):
    """The collector was asked for something unsafe or impossible (e.g. public bind, no token)."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` names only this machine (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_binding(host: str, token: str | None) -> None:
    """Refuse to listen beyond loopback without a token.

    Raises:
        CollectorConfigError: ``host`` is not a loopback address and ``token`` is empty.
    """
    if not token and not is_loopback(host):
        raise CollectorConfigError(
            f"refusing to listen on {host} without a token: anyone who can reach it could write "
            "and read runs. Pass --token (or set SPANFLOW_COLLECTOR_TOKEN), or bind 127.0.0.1."
        )


class Collector:
    """The OTLP receivers, the ingest pipeline and the query API over one run index.

    Args:
        store: The run index; the collector closes it on ``stop()``.
        host: Address both receivers bind (loopback unless a token is given).
        http_port: OTLP/HTTP and API port; 0 picks a free one.
        grpc_port: OTLP/gRPC port; 0 picks a free one, None disables gRPC.
        token: Bearer token every request must present, or None.
        max_body_bytes: Largest OTLP request, compressed or not.
        max_queued_spans: Spans accepted but not yet committed before receivers answer 503.
    """

    def __init__(
        self,
        store: RunIndexStore,
        *,
        host: str = DEFAULT_HOST,
        http_port: int = DEFAULT_HTTP_PORT,
        grpc_port: int | None = DEFAULT_GRPC_PORT,
        token: str | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_queued_spans: int = DEFAULT_MAX_QUEUED_SPANS,
    ) -> None:
        check_binding(host, token)
        self._store = store
        self._host = host
        self._requested_http_port = http_port
        self._requested_grpc_port = grpc_port
        self._token = token
        self._max_body_bytes = max_body_bytes
        self.pipeline = IngestPipeline(store, max_queued_spans=max_queued_spans)
        self._http_server: uvicorn.Server | None = None
        self._http_thread: threading.Thread | None = None
        self._grpc_server: Any = None
        self.http_port = 0
        self.grpc_port: int | None = None

    @property
    def http_url(self) -> str:
        """Base URL of the OTLP/HTTP receiver and the API, e.g. ``http://127.0.0.1:4318``."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.http_port}"

    def start(self) -> None:
        """Bind both ports and start serving in background threads.

        Raises:
            OSError: a port could not be bound.
        """
        listener = _bind_tcp(self._host, self._requested_http_port)
        self.http_port = listener.getsockname()[1]
        try:
            if self._requested_grpc_port is not None:
                self._grpc_server, self.grpc_port = start_grpc_server(
                    self.pipeline,
                    host=self._host,
                    port=self._requested_grpc_port,
                    token=self._token,
                    max_message_bytes=self._max_body_bytes,
                )
            app = build_app(
                self._store, self.pipeline, token=self._token, max_body_bytes=self._max_body_bytes
            )
            config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
            self._http_server = uvicorn.Server(config)
            self._http_thread = threading.Thread(
                target=self._http_server.run,
                kwargs={"sockets": [listener]},
                name="spanflow-http",
                daemon=True,
            )
            self._http_thread.start()
            if not _wait_until(lambda: self._http_started(), _STARTUP_TIMEOUT_S):
                raise OSError("the OTLP/HTTP server did not start")
        except BaseException:
            listener.close()
            self.stop()
            raise

    def _http_started(self) -> bool:
        server, thread = self._http_server, self._http_thread
        return server is not None and (server.started or thread is None or not thread.is_alive())

    def stop(self, *, grace_s: float = 5.0) -> None:
        """Stop receiving, commit what was already accepted, and close the store."""
        if self._http_server is not None:
            self._http_server.should_exit = True
        if self._grpc_server is not None:
            self._grpc_server.stop(grace_s).wait()
        if self._http_thread is not None:
            self._http_thread.join(grace_s + 5.0)
        self.pipeline.close()
        self._store.close()


def _bind_tcp(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(2048)
    except OSError:
        listener.close()
        raise
    listener.set_inheritable(True)
    return listener


def _wait_until(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def open_index(db: str) -> RunIndexStore:
    """Open the run index at a SQLite path or a ``postgresql://`` URL."""
    module = importlib.import_module("spanflow_collector.index")
    store: RunIndexStore = module.open_store(db)
    return store


def run_collector(
    db: str,
    *,
    host: str = DEFAULT_HOST,
    http_port: int = DEFAULT_HTTP_PORT,
    grpc_port: int | None = DEFAULT_GRPC_PORT,
    token: str | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> None:
    """Serve until SIGINT or SIGTERM, then shut down cleanly (queued spans are committed).

    Prints one line when ready, naming the bound addresses (tests and scripts read it).

    Raises:
        CollectorConfigError: unsafe binding (see ``check_binding``).
        OSError: a port could not be bound.
    """
    check_binding(host, token)
    stop_requested = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop_requested.set())
    collector = Collector(
        open_index(db),
        host=host,
        http_port=http_port,
        grpc_port=grpc_port,
        token=token,
        max_body_bytes=max_body_bytes,
    )
    collector.start()
    grpc_address = "off" if collector.grpc_port is None else f"{host}:{collector.grpc_port}"
    print(
        f"spanflow collector ready: http={collector.http_url} grpc={grpc_address} index={db}",
        flush=True,
    )
    try:
        while not stop_requested.wait(0.5):
            pass
    finally:
        collector.stop()
