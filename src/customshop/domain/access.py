"""Admin API keys and their scopes.

A key is a random secret shown once; only its digest is kept (``hashing.hash_secret``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Scope(StrEnum):
    CATALOG_WRITE = "catalog:write"
    ORDERS_READ = "orders:read"
    ORDERS_WRITE = "orders:write"
    REPORTS_READ = "reports:read"
    WEBHOOKS_MANAGE = "webhooks:manage"
    PRICING_WRITE = "pricing:write"
    ADMIN = "admin"


#: How every key starts, so a leaked one is recognisable by secret scanners.
KEY_PREFIX = "csk_"


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
