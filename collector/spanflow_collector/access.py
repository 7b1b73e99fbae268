"""Who may do what: bearer tokens with scopes, and the Host/Origin check against DNS rebinding.

A token grants scopes: ``ingest`` (OTLP exports), ``read`` (query API reads) and ``delete``
(every API call that changes or removes runs). The full token (``--token``) grants all three,
so a collector started with one token behaves as it always did. ``AccessMiddleware`` applies
the same rules to every HTTP route, present and future; ``grpc.AccessInterceptor`` does it for
every gRPC service.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
from collections.abc import Iterable, Sequence
from typing import Final
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

_LOOPBACK_NAMES: Final = ("localhost", "127.0.0.1", "::1")
_READ_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
_INGEST_PATH_PREFIX: Final = "/v1/"  # OTLP/HTTP: /v1/traces, /v1/logs, /v1/metrics


class AccessScope(enum.Flag):
    """What a token lets its holder do."""

    INGEST = enum.auto()
    READ = enum.auto()
    DELETE = enum.auto()
    ALL = INGEST | READ | DELETE


def scope_name(scope: AccessScope) -> str:
    """``"ingest"``, ``"read"`` or ``"delete"`` for a single scope."""
    return (scope.name or "").lower()


def required_scope(method: str, path: str) -> AccessScope:
    """The scope an HTTP request needs: OTLP exports ingest, reads read, anything else deletes."""
    if method == "POST" and path.startswith(_INGEST_PATH_PREFIX):
        return AccessScope.INGEST
    if method in _READ_METHODS:
        return AccessScope.READ
    return AccessScope.DELETE


def bearer_credentials(authorization: bytes | str | None) -> bytes | None:
    """The token of an ``Authorization: Bearer <token>`` value; the scheme is case-insensitive.

    RFC 9110 section 11.1: authentication scheme names are case-insensitive, so ``bearer x``
    and ``BEARER x`` are the same as ``Bearer x``.
    """
    if authorization is None:
        return None
    raw = authorization.encode() if isinstance(authorization, str) else authorization
    scheme, _, credentials = raw.strip().partition(b" ")
    if scheme.lower() != b"bearer":
        return None
    credentials = credentials.strip()
    return credentials or None


class AccessTokens:
    """The configured tokens and their scopes; compares presented tokens in constant time.

    Args:
        tokens: ``(secret, scopes)`` pairs; empty secrets are ignored.
    """

    def __init__(self, tokens: Iterable[tuple[str | None, AccessScope]]) -> None:
        # Digests have one length, so comparing them leaks neither content nor length.
        self._digests = [
            (hashlib.sha256(secret.encode()).digest(), scopes)
            for secret, scopes in tokens
            if secret
        ]

    @property
    def enabled(self) -> bool:
        """Whether any token is configured (then every request must present one)."""
        return bool(self._digests)

    def scopes_for(self, authorization: bytes | str | None) -> AccessScope | None:
        """The scopes the presented ``Authorization`` value grants; None when it matches none."""
        credentials = bearer_credentials(authorization)
        if credentials is None:
            return None
        presented = hashlib.sha256(credentials).digest()
        granted = AccessScope(0)
        matched = False
        for digest, scopes in self._digests:  # no early exit: every comparison is made
            if hmac.compare_digest(presented, digest):
                granted |= scopes
                matched = True
        return granted if matched else None


class HostPolicy:
    """Which ``Host`` and ``Origin`` values the HTTP server answers.

    A page on ``http://evil.example`` whose DNS name is rebound to 127.0.0.1 reaches a loopback
    collector with ``Host: evil.example``; refusing unknown hosts stops it reading or deleting
    runs. The check is on when the collector binds loopback or when extra hosts are configured;
    a collector bound elsewhere is protected by its token instead.

    Args:
        bound_host: The address the collector listens on (always allowed).
        extra_hosts: More host names or addresses to answer, e.g. a reverse proxy's name.
        enforce: Whether to check ``Host`` at all.
    """

    def __init__(self, bound_host: str, extra_hosts: Sequence[str], *, enforce: bool) -> None:
        names = {*_LOOPBACK_NAMES, bound_host, *extra_hosts}
        # Any port is answered, so a configured "proxy.example:8080" means "proxy.example" (kept
        # whole, it matched no request: Host values are compared without their port).
        self._allowed = frozenset(_normalise_host(_strip_port(name)) for name in names)
        self.enforce = enforce

    @property
    def allowed_hosts(self) -> list[str]:
        """The allowed host names, sorted (for error messages)."""
        return sorted(self._allowed)

    def host_allowed(self, host_header: str | None) -> bool:
        """Whether a request with this ``Host`` header (port optional) is answered."""
        if not self.enforce or host_header is None:  # only browsers matter, and they send Host
            return True
        return _normalise_host(_strip_port(host_header)) in self._allowed

    def origin_allowed(self, origin: str, host_header: str | None) -> bool:
        """Whether a browser request from ``origin`` may call the API or export.

        Same-origin requests (the collector's own pages) and allowed hosts on any port pass;
        other sites, ``null`` origins and non-HTTP schemes do not.
        """
        try:
            parts = urlsplit(origin.strip())
            hostname = parts.hostname
        except ValueError:  # e.g. an unclosed IPv6 bracket
            return False
        if parts.scheme not in ("http", "https") or not hostname:
            return False
        if host_header is not None and parts.netloc.lower() == host_header.strip().lower():
            return True
        return _normalise_host(hostname) in self._allowed


def _strip_port(host_header: str) -> str:
    host = host_header.strip()
    if host.startswith("["):
        address, bracket, rest = host[1:].partition("]")
        # Only "[addr]" or "[addr]:port"; "[::1]evil.example" is not a loopback name.
        if bracket and (not rest or (rest[0] == ":" and rest[1:].isdigit())):
            return address
        return host
    if host.count(":") == 1:
        return host.split(":", 1)[0]
    return host


def _normalise_host(host: str) -> str:
    # Brackets are gone already (_strip_port, urlsplit); one left means a malformed Host.
    return host.strip().rstrip(".").lower()


class AccessMiddleware:
    """Refuse HTTP requests before their body is read: wrong Host, foreign Origin, no token,
    or a token without the scope the route needs.

    Answers: 421 for a ``Host`` not served, 403 for a foreign ``Origin`` or a token lacking the
    scope, 401 (with ``WWW-Authenticate``) for a missing or unknown token. Bodies are
    ``{"code": <google.rpc.Code>, "message": ...}`` JSON, like the receivers' errors.

    Args:
        app: The wrapped ASGI app.
        tokens: The configured tokens; when none are, every request passes this step.
        hosts: The Host/Origin policy.
    """

    def __init__(self, app: ASGIApp, *, tokens: AccessTokens, hosts: HostPolicy) -> None:
        self._app = app
        self._tokens = tokens
        self._hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass allowed requests through; answer the rest without reading their bodies."""
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is None:
            await self._app(scope, receive, send)
            return
        status, code, message = refusal
        await _send_json_error(send, status, code, message)

    def _refusal(self, scope: Scope) -> tuple[int, int, str] | None:
        headers = _headers(scope)
        host = headers.get(b"host")
        host_text = host.decode("latin-1") if host is not None else None
        if not self._hosts.host_allowed(host_text):
            allowed = ", ".join(self._hosts.allowed_hosts)
            return (
                421,
                7,
                (
                    f"this collector does not answer for Host {host_text!r}; it answers for "
                    f"{allowed} (more with --allow-host)"
                ),
            )
        origin = headers.get(b"origin")
        origin_text = origin.decode("latin-1") if origin is not None else None
        if origin_text is not None and not self._hosts.origin_allowed(origin_text, host_text):
            return 403, 7, "cross-origin requests from this Origin are refused"
        if not self._tokens.enabled:
            return None
        granted = self._tokens.scopes_for(headers.get(b"authorization"))
        if granted is None:
            return 401, 16, "missing or wrong bearer token"
        needed = required_scope(scope["method"], scope["path"])
        if needed not in granted:
            return 403, 7, f"this token does not grant the {scope_name(needed)} scope"
        return None


def _headers(scope: Scope) -> dict[bytes, bytes]:
    found: dict[bytes, bytes] = {}
    for key, value in scope["headers"]:
        found.setdefault(key, value)  # the first value wins, as in the receivers
    return found


async def _send_json_error(send: Send, status: int, code: int, message: str) -> None:
    body = json.dumps({"code": code, "message": message}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="spanflow"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
