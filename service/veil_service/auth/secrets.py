"""Generating and hashing secrets: API keys, session tokens, reset tokens.

Secrets are random (``secrets.token_urlsafe``) and stored only as SHA-256 digests: they carry
enough entropy that a fast hash is safe, and lookup by digest is a single indexed query.
"""

from __future__ import annotations

import hashlib
import secrets

API_KEY_PREFIX = "veil_"
SESSION_PREFIX = "veilsess_"


def new_api_key() -> str:
    """A fresh API key with a recognisable prefix (so scanners and people can spot it)."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def new_session_token() -> str:
    """A fresh session token."""
    return SESSION_PREFIX + secrets.token_urlsafe(32)


def new_reset_token() -> str:
    """A fresh single-use password reset token."""
    return secrets.token_urlsafe(24)


def hash_secret(secret: str) -> str:
    """SHA-256 hex digest of a secret, the only form it is stored in."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def display_prefix(secret: str) -> str:
    """The first characters of a key, safe to show in listings."""
    return secret[: len(API_KEY_PREFIX) + 4]
