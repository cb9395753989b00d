"""Room link tokens: unguessable capabilities, reproducible only with the server's secret.

Tokens are derived from a server secret (HMAC of a random per-link nonce), so the
interviewer can be shown a link again, while the room database stores only each token's
SHA-256.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

TOKEN_PREFIX = "ji_"
_TOKEN = re.compile(r"^ji_[A-Za-z0-9_-]{43}$")


def looks_like_room_token(token: str) -> bool:
    return bool(_TOKEN.match(token))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_nonce() -> str:
    return secrets.token_hex(16)


def mint_token(secret: bytes, nonce: str) -> str:
    """The link token for a nonce: 256 bits, reproducible only with the server secret."""
    digest = hmac.new(secret, nonce.encode(), hashlib.sha256).digest()
    return TOKEN_PREFIX + base64.urlsafe_b64encode(digest).decode().rstrip("=")
