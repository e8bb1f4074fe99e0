"""A cache shared by the serving processes."""

from __future__ import annotations

from typing import Protocol

from customshop.application.ports.unavailable import Unavailable


class Cache(Protocol):
    """A byte cache shared by the processes that use the same backend.

    Failures of the backend surface as ``CacheUnavailable``; callers fall back to the source of truth.
    """

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None: ...

    async def delete(self, *keys: str) -> None: ...


class CacheUnavailable(Unavailable):
    """The cache backend cannot be reached."""

    dependency = "the cache"
