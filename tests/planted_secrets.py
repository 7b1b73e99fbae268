"""Secrets of every shape spanflow redacts, to plant in runs and spans, and how to look for them.

Each ``Planted`` is the text as a user would write it (``text``), the part that must never be
stored (``needle``, unique enough to grep raw index bytes for) and the marker kind it becomes.
"""

from __future__ import annotations

import base64
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Planted:
    """One secret as written (``text``), its secret core (``needle``) and its marker kind."""

    text: str
    needle: str
    kind: str


def _same(secret: str, kind: str) -> Planted:
    return Planted(secret, secret, kind)


_BASIC = base64.b64encode(b"planted-user:Pl4nt3dBasicPassword9").decode()

PLANTED: tuple[Planted, ...] = (
    _same("sk-proj-Pl4nt3dOpenAIProjectKey0123456789abcdefXYZ", "openai-key"),
    _same("sk-Pl4nt3dOpenAILegacyKey0123456789abcdefghijkl", "openai-key"),
    _same("sk-svcacct-Pl4nt3dOpenAIServiceKey0123456789abc", "openai-key"),
    _same("sk-ant-api03-Pl4nt3dAnthropicKey0123456789abcdefgh", "anthropic-key"),
    _same("AKIAPL4NT3DEXAMPLE01", "aws-access-key-id"),
    _same("ASIAPL4NT3DEXAMPLE02", "aws-access-key-id"),
    Planted(
        "aws_secret_access_key=Pl4nt3dAwsSecretKeyValue0123456789abcdEF",
        "Pl4nt3dAwsSecretKeyValue0123456789abcdEF",
        "aws-secret-key",
    ),
    Planted(
        "DefaultEndpointsProtocol=https;AccountName=acct;"
        "AccountKey=Pl4nt3dAzureAccountKey0123456789abcdef==;EndpointSuffix=core.windows.net",
        "Pl4nt3dAzureAccountKey0123456789abcdef",
        "azure-key",
    ),
    Planted(
        "https://acct.blob.core.windows.net/c/b?sv=2022-11-02&sig=Pl4nt3dSasSignature0123456789%3D",
        "Pl4nt3dSasSignature0123456789",
        "azure-sas",
    ),
    _same("sk_live_Pl4nt3dStripeLiveKey0123456789", "stripe-key"),
    _same("rk_live_Pl4nt3dStripeRestrictedKey01234", "stripe-key"),
    _same("sk_test_Pl4nt3dStripeTestKey0123456789", "stripe-key"),
    _same("ghp_Pl4nt3dGithubToken0123456789abcdefghij", "github-token"),
    _same("gho_Pl4nt3dGithubOAuthToken0123456789abcde", "github-token"),
    _same("github_pat_11Pl4nt3dFineGrainedToken_0123456789abcdefghijklmnop", "github-token"),
    _same("AIzaSyPl4nt3dGoogleKey0123456789abcdefg", "google-api-key"),
    _same("xoxb-123456789012-Pl4nt3dSlackBotToken0123", "slack-token"),
    _same("xoxp-123456789012-Pl4nt3dSlackUserToken012", "slack-token"),
    _same("hf_Pl4nt3dHuggingFaceToken0123456789abcd", "huggingface-token"),
    _same(
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJwbGFudGVkIn0.Pl4nt3dJwtSignature0123456789",
        "jwt",
    ),
    Planted(
        "-----BEGIN PRIVATE KEY-----\nMIIEvPl4nt3dPemBody0123456789\n-----END PRIVATE KEY-----",
        "MIIEvPl4nt3dPemBody0123456789",
        "private-key",
    ),
    Planted(
        "Authorization: Bearer Pl4nt3dBearerToken0123456789",
        "Pl4nt3dBearerToken0123456789",
        "bearer",
    ),
    Planted(f"authorization: basic {_BASIC}", _BASIC, "basic-auth"),
    Planted(
        "postgresql://planted-user:Pl4nt3dUrlPassword9@db.example.com:5432/app",
        "Pl4nt3dUrlPassword9",
        "url-password",
    ),
    Planted('{"openai": {"api_key": "Pl4nt3dNestedApiKey9"}}', "Pl4nt3dNestedApiKey9", "secret"),
    Planted("PASSWORD: Pl4nt3dYamlPassword9", "Pl4nt3dYamlPassword9", "secret"),
)
"""Every shape the brief names, as a user would paste it."""

# Values under secret-looking names: the whole value goes, whatever it looks like.
NAMED: dict[str, str] = {
    "api_key": "Pl4nt3dNamedApiKeyValue",
    "client-secret": "Pl4nt3dNamedClientSecret",
    "db.password": "Pl4nt3dNamedDbPassword",
    "accessToken": "Pl4nt3dNamedAccessToken",
}

ORDINARY: dict[str, object] = {
    "max_tokens": 1024,
    "input_tokens": 77,
    "token_count": 12,
    "model": "gpt-4o-mini",
    "run_uuid": "123e4567-e89b-12d3-a456-426614174000",
    "commit": "3f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39",
    "ulid": "01HZX3Q8J9K2M4N6P8R0S2T4V6",
    "digest": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "prompt": "The bearer of the secret map asked for a basic summary of the key points.",
    "library": "sk-learn-model-selection-guide",
    "url": "https://example.com/docs?page=2",
}
"""Ordinary values that must be stored exactly as given."""


def all_secret_text() -> str:
    """Every planted secret in one text, one per line."""
    return "\n".join(planted.text for planted in PLANTED)


def index_bytes(db_path: Path) -> bytes:
    """The raw bytes of a SQLite index: the database file and its WAL, as on disk."""
    chunks = []
    for suffix in ("", "-wal", "-journal"):
        path = Path(str(db_path) + suffix)
        if path.exists():
            chunks.append(path.read_bytes())
    return b"".join(chunks)


def postgres_dump(url: str, schema: str) -> bytes:
    """``pg_dump`` of one schema of the database at ``url`` (data and DDL, plain SQL)."""
    done = subprocess.run(
        ["pg_dump", "--no-owner", "--schema", schema, "--dbname", url],
        capture_output=True,
        timeout=120,
        check=True,
    )
    return done.stdout


def leaked(blob: bytes, needles: list[str]) -> list[str]:
    """The needles found in ``blob``."""
    return [needle for needle in needles if needle.encode() in blob]
