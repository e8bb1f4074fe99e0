"""How secrets are kept: only as a digest."""

from __future__ import annotations

import hashlib


def hash_secret(secret: str) -> str:
    """The stored form of a high-entropy secret (an API key, a guest's session key): hex SHA-256 of
    its UTF-8 bytes. Safe for secrets of 256 bits of entropy (there is nothing to brute-force), and a
    presented secret is found again in one indexed lookup."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
