"""A process-local byte cache with expiry."""

from __future__ import annotations

import time
from collections.abc import Callable


class MemoryCache:
    """Implements ``Cache`` in this process only (the embedded default and the unit tests' fake)."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._entries: dict[str, tuple[float, bytes]] = {}
        self._monotonic = monotonic

    async def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires <= self._monotonic():
            self._entries.pop(key, None)
            return None
        return value

    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None:
        self._entries[key] = (self._monotonic() + ttl_seconds, value)

    async def delete(self, *keys: str) -> None:
        for key in keys:
            self._entries.pop(key, None)
