"""Run the collector: OTLP/HTTP (and the query API) under uvicorn, OTLP/gRPC under grpcio.

``Collector`` owns the pieces and their order: bind both ports, serve, and on stop close the
receivers first, then drain the ingest queue into the store, then close the store, so that
every span that was acknowledged is committed and nothing is acknowledged after the store
closed.
"""

from __future__ import annotations

import gc
import ipaddress
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import uvicorn

from spanflow.query.analysis.retention import RetentionPolicy, RetentionWorker
from spanflow.query.store import RunIndexStore
from spanflow_collector.access import AccessScope, AccessTokens, HostPolicy
from spanflow_collector.admission import IngestGate
from spanflow_collector.app import build_app
from spanflow_collector.connections import connection_cap, guarded_h11_protocol
from spanflow_collector.grpc import start_grpc_server
from spanflow_collector.index import open_store
from spanflow_collector.ingest import DEFAULT_MAX_QUEUED_SPANS, IngestPipeline
from spanflow_collector.limits import DEFAULT_MAX_BODY_BYTES, MAX_HEADER_BYTES, ReceiverLimits
from spanflow_collector.logmask import SecretMaskingFilter, configure_process_logging, dsn_secrets
from spanflow_collector.prepare import PrepareWorkers

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_HTTP_PORT = 4318
DEFAULT_GRPC_PORT = 4317
_STARTUP_TIMEOUT_S = 30.0


class CollectorConfigError(ValueError):
    """The collector was asked for something unsafe or impossible (e.g. public bind, no token)."""


class CollectorStartError(RuntimeError):
    """The run index could not be opened; the message has its secrets masked."""


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
            "and read runs. Set SPANFLOW_COLLECTOR_TOKEN (or pass --token-file), or bind "
            "127.0.0.1."
        )


class Collector:
    """The OTLP receivers, the ingest pipeline and the query API over one run index.

    Args:
        store: The run index; the collector closes it on ``stop()``.
        host: Address both receivers bind (loopback unless a token is given).
        http_port: OTLP/HTTP and API port; 0 picks a free one.
        grpc_port: OTLP/gRPC port; 0 picks a free one, None disables gRPC.
        token: Bearer token granting everything (ingest, read, delete), or None.
        ingest_token: Bearer token granting OTLP ingest only, or None.
        read_token: Bearer token granting query API reads only, or None.
        allowed_hosts: Host names answered besides loopback names and ``host``.
        max_body_bytes: Largest OTLP request, compressed or not.
        max_queued_spans: Spans accepted but not yet committed before receivers answer 503.
        limits: Span cap, per-client share, connection cap and timeouts; defaults when None.
    """

    def __init__(
        self,
        store: RunIndexStore,
        *,
        host: str = DEFAULT_HOST,
        http_port: int = DEFAULT_HTTP_PORT,
        grpc_port: int | None = DEFAULT_GRPC_PORT,
        token: str | None = None,
        ingest_token: str | None = None,
        read_token: str | None = None,
        allowed_hosts: Sequence[str] = (),
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_queued_spans: int = DEFAULT_MAX_QUEUED_SPANS,
        limits: ReceiverLimits | None = None,
    ) -> None:
        self._tokens = AccessTokens(
            [
                (token, AccessScope.ALL),
                (ingest_token, AccessScope.INGEST),
                (read_token, AccessScope.READ),
            ]
        )
        check_binding(host, token or ingest_token or read_token)
        self._store = store
        self._host = host
        self._requested_http_port = http_port
        self._requested_grpc_port = grpc_port
        self._hosts = HostPolicy(
            host, allowed_hosts, enforce=is_loopback(host) or bool(allowed_hosts)
        )
        self._max_body_bytes = max_body_bytes
        self._limits = limits or ReceiverLimits()
        self.pipeline = IngestPipeline(store, max_queued_spans=max_queued_spans)
        self.gate = IngestGate(
            max_queued_spans=max_queued_spans,
            max_spans_per_request=self._limits.max_spans_per_request,
            client_queue_share=self._limits.client_queue_share,
        )
        self._workers = (
            PrepareWorkers(self._limits.decode_processes)
            if self._limits.decode_processes and self.pipeline.accepts_prepared
            else None
        )
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
                    self.gate,
                    host=self._host,
                    port=self._requested_grpc_port,
                    tokens=self._tokens,
                    max_message_bytes=self._max_body_bytes,
                    handshake_timeout_s=self._limits.header_timeout_s,
                )
            app = build_app(
                self._store,
                self.pipeline,
                gate=self.gate,
                tokens=self._tokens,
                hosts=self._hosts,
                max_body_bytes=self._max_body_bytes,
                limits=self._limits,
                workers=self._workers,
            )
            config = uvicorn.Config(
                app,
                http=guarded_h11_protocol(
                    max_connections=connection_cap(self._limits.max_connections),
                    header_timeout_s=self._limits.header_timeout_s,
                ),
                h11_max_incomplete_event_size=MAX_HEADER_BYTES,
                timeout_keep_alive=self._limits.keep_alive_timeout_s,
                log_config=None,  # records propagate to the process's (masking) handler
                log_level="warning",
                access_log=False,
                lifespan="off",
            )
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
        if self._workers is not None:
            self._workers.shutdown()
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
    return open_store(db)


def run_collector(
    db: str,
    *,
    host: str = DEFAULT_HOST,
    http_port: int = DEFAULT_HTTP_PORT,
    grpc_port: int | None = DEFAULT_GRPC_PORT,
    token: str | None = None,
    ingest_token: str | None = None,
    read_token: str | None = None,
    allowed_hosts: Sequence[str] = (),
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    limits: ReceiverLimits | None = None,
    retention: RetentionPolicy | None = None,
) -> None:
    """Serve until SIGINT or SIGTERM, then shut down cleanly (queued spans are committed).

    With ``retention``, old runs are pruned at start and then every ``retention.interval_s``.

    Prints one line when ready, naming the bound addresses (tests and scripts read it), with
    the index's password masked; every log line goes to stderr with tokens and passwords masked.

    Raises:
        CollectorConfigError: unsafe binding (see ``check_binding``), or a PostgreSQL URL
            without psycopg installed.
        CollectorStartError: the run index could not be opened.
        OSError: a port could not be bound.
    """
    check_binding(host, token or ingest_token or read_token)
    secrets = [s for s in (token, ingest_token, read_token) if s] + dsn_secrets(db)
    configure_process_logging(secrets)
    masking = SecretMaskingFilter(secrets)
    stop_requested = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop_requested.set())
    try:
        store = open_index(db)
    except ImportError as exc:
        raise CollectorConfigError(masking.mask(str(exc))) from None
    except Exception as exc:
        logger.debug("opening the run index failed", exc_info=True)
        reason = " ".join(masking.mask(str(exc)).split())  # drivers' messages span lines
        raise CollectorStartError(
            f"cannot open the run index {masking.mask(db)}: {reason}"
        ) from None
    collector = Collector(
        store,
        host=host,
        http_port=http_port,
        grpc_port=grpc_port,
        token=token,
        ingest_token=ingest_token,
        read_token=read_token,
        allowed_hosts=allowed_hosts,
        max_body_bytes=max_body_bytes,
        limits=limits,
    )
    collector.start()
    # Everything loaded so far lives as long as the process: keep it out of the collector's
    # full collections, which otherwise walk it each time ingest allocates enough (a full
    # collection pauses every thread, the event loop included).
    gc.freeze()
    pruning = RetentionWorker(store, retention) if retention is not None else None
    if pruning is not None:
        pruning.start()
    grpc_address = "off" if collector.grpc_port is None else f"{host}:{collector.grpc_port}"
    print(
        f"spanflow collector ready: http={collector.http_url} grpc={grpc_address} "
        f"index={masking.mask(db)}",
        flush=True,
    )
    try:
        while not stop_requested.wait(0.5):
            pass
    finally:
        if pruning is not None:
            pruning.stop()  # before the store closes under it
        collector.stop()
