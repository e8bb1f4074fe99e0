"""Admin API keys and their scopes.

A key is a random secret shown once; only its SHA-256 digest is kept, which is safe for secrets of
256 bits of entropy (there is nothing to brute-force) and lets a presented key be found in one
indexed lookup.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Scope(StrEnum):
    CATALOG_WRITE = "catalog:write"
    ORDERS_READ = "orders:read"
    ORDERS_WRITE = "orders:write"
    REPORTS_READ = "reports:read"
    WEBHOOKS_MANAGE = "webhooks:manage"
    ADMIN = "admin"


#: How every key starts, so a leaked one is recognisable by secret scanners.
KEY_PREFIX = "csk_"


def hash_key(secret: str) -> str:
    """The stored form of a key: hex SHA-256 of its UTF-8 bytes."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    name: str
    #: The first characters of the secret, for recognising a key in listings.
    hint: str
    key_hash: str
    scopes: frozenset[Scope]
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def allows(self, scope: Scope) -> bool:
        """Whether this key may do what ``scope`` covers: it is active and has the scope or ``admin``."""
        return self.active and (scope in self.scopes or Scope.ADMIN in self.scopes)
