"""The pure rules behind the collector's access control and log masking."""

from __future__ import annotations

import logging

import pytest

from spanflow_collector.access import (
    AccessScope,
    AccessTokens,
    HostPolicy,
    bearer_credentials,
    required_scope,
)
from spanflow_collector.logmask import SecretMaskingFilter, mask_dsn


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", b"abc"),
        ("bearer abc", b"abc"),
        ("BEARER  abc ", b"abc"),
        (b"Bearer abc", b"abc"),
        ("Basic abc", None),
        ("Bearer", None),
        ("Bearerabc", None),
        (None, None),
    ],
)
def test_bearer_credentials_read_the_scheme_case_insensitively(
    header: str | bytes | None, token: bytes | None
) -> None:
    """``Authorization`` values give their token only for the Bearer scheme, in any case."""
    assert bearer_credentials(header) == token


def test_tokens_grant_the_union_of_their_scopes() -> None:
    """The same secret configured twice grants both scopes; unknown tokens grant nothing."""
    tokens = AccessTokens(
        [("s1", AccessScope.INGEST), ("s2", AccessScope.READ), ("s1", AccessScope.READ)]
    )
    assert tokens.scopes_for("Bearer s1") == AccessScope.INGEST | AccessScope.READ
    assert tokens.scopes_for("Bearer s2") == AccessScope.READ
    assert tokens.scopes_for("Bearer s3") is None
    assert not AccessTokens([(None, AccessScope.ALL), ("", AccessScope.READ)]).enabled


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("POST", "/v1/traces", AccessScope.INGEST),
        ("POST", "/v1/logs", AccessScope.INGEST),
        ("GET", "/api/v1/runs", AccessScope.READ),
        ("HEAD", "/api/v1/runs", AccessScope.READ),
        ("GET", "/v1/traces", AccessScope.READ),
        ("DELETE", "/api/v1/runs/x", AccessScope.DELETE),
        ("POST", "/api/v1/runs/import", AccessScope.DELETE),
    ],
)
def test_each_request_needs_one_scope(method: str, path: str, scope: AccessScope) -> None:
    """OTLP posts ingest, reads read, and every other change needs the delete scope."""
    assert required_scope(method, path) == scope


def test_hosts_match_without_port_brackets_or_case() -> None:
    """Allowed hosts match with any port, IPv6 brackets and case; others do not."""
    hosts = HostPolicy("127.0.0.1", ["Spanflow.Internal"], enforce=True)
    for allowed in ("localhost:4318", "LOCALHOST", "127.0.0.1:1", "[::1]:4318", "localhost."):
        assert hosts.host_allowed(allowed), allowed
    assert hosts.host_allowed("spanflow.internal:8080")
    assert not hosts.host_allowed("evil.example")
    assert not hosts.host_allowed("localhost.evil.example:4318")
    assert not HostPolicy("0.0.0.0", [], enforce=True).host_allowed("10.1.2.3")
    assert HostPolicy("0.0.0.0", [], enforce=False).host_allowed("10.1.2.3")


def test_origins_are_allowed_for_the_same_origin_and_allowed_hosts_only() -> None:
    """A browser origin passes when it is the collector itself or an allowed host."""
    hosts = HostPolicy("0.0.0.0", [], enforce=False)
    assert hosts.origin_allowed("http://collector.lan:4318", "collector.lan:4318")
    assert hosts.origin_allowed("http://localhost:3000", "collector.lan:4318")
    assert not hosts.origin_allowed("http://evil.example", "collector.lan:4318")
    assert not hosts.origin_allowed("null", "collector.lan:4318")
    assert not hosts.origin_allowed("file://localhost/x", "localhost:4318")
    assert not hosts.origin_allowed("http://[::1", "localhost:4318")


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("postgresql://u:p%40ss@db:5432/x", "postgresql://u:***@db:5432/x"),
        (
            "index=postgres://spanflow:s3cr3t@10.0.0.1/db ok",
            "index=postgres://spanflow:***@10.0.0.1/db ok",
        ),
        ("host=db password=s3cr3t user=u", "host=db password=*** user=u"),
        ("host=db PASSWORD = 'a b' user=u", "host=db PASSWORD = *** user=u"),
        ("postgresql://spanflow@db/x", "postgresql://spanflow@db/x"),
        ("http://127.0.0.1:4318/v1/traces", "http://127.0.0.1:4318/v1/traces"),
    ],
)
def test_dsn_passwords_are_masked(text: str, masked: str) -> None:
    """URL and keyword passwords become ``***``; URLs without one are left alone."""
    assert mask_dsn(text) == masked


def test_the_log_filter_masks_messages_arguments_and_tracebacks() -> None:
    """Secrets in a record's message, its arguments and its exception text are all masked."""
    masking = SecretMaskingFilter(["tok-123456", "on"])
    try:
        raise RuntimeError("connect to postgresql://u:pw@db failed with tok-123456")
    except RuntimeError as exc:
        record = logging.LogRecord(
            "t",
            logging.ERROR,
            __file__,
            1,
            "token %s used",
            ("tok-123456",),
            (type(exc), exc, None),
        )
    assert masking.filter(record)
    text = logging.Formatter().format(record)
    assert "tok-123456" not in text
    assert "pw@" not in text
    assert "token *** used" in text
    assert "connect to" in text  # a two-letter "secret" is not masked everywhere
