"""The shared byte cache on Redis."""

from __future__ import annotations

import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from customshop.application.ports import CacheUnavailable


class RedisCache:
    """Implements ``Cache`` on Redis (``GET``/``SET EX``/``DEL``).

    Built for being skipped: operations time out after ``timeout`` seconds, and after a failure the
    cache reports itself unavailable at once for ``back_off`` seconds instead of making every request
    wait for the timeout again while Redis is down.
    """

    def __init__(self, url: str, *, timeout: float = 0.25, back_off: float = 2.0) -> None:
        self._redis = Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, retry_on_timeout=False
        )
        self._back_off = back_off
        self._down_until = 0.0

    def _check(self) -> None:
        if time.monotonic() < self._down_until:
            raise CacheUnavailable("the cache is backing off after a failure")

    def _failed(self, exc: Exception) -> CacheUnavailable:
        self._down_until = time.monotonic() + self._back_off
        return CacheUnavailable(f"the cache is unreachable: {exc}")

    async def get(self, key: str) -> bytes | None:
        self._check()
        try:
            value = await self._redis.get(key)
        except (RedisError, OSError) as exc:
            raise self._failed(exc) from exc
        if value is None:
            return None
        return value if isinstance(value, bytes) else value.encode()

    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None:
        self._check()
        try:
            await self._redis.set(key, value, ex=ttl_seconds)
        except (RedisError, OSError) as exc:
            raise self._failed(exc) from exc

    async def delete(self, *keys: str) -> None:
        self._check()
        try:
            if keys:
                await self._redis.delete(*keys)
        except (RedisError, OSError) as exc:
            raise self._failed(exc) from exc

    async def close(self) -> None:
        await self._redis.aclose()
