"""Pre-serialized catalog reads, held in each process, invalidated across processes and hosts.

Three levels, fastest first:

1. **In process**: response bytes by key (``products?limit=50``...). A hit costs a dict lookup, no I/O.
2. **Shared** (the ``Cache`` port: Redis in production): bytes under ``catalog:<version>:<key>``, so a
   fresh process, or one on another host, warms from it instead of the database.
3. **The database**, through the ``load`` function the caller passes.

Every catalog write bumps a version stamp in the same database transaction (see ``Catalog``). Each
process reads the stamp every ``refresh_interval`` seconds (:meth:`watch`) and drops its entries
when it changed, so other processes notice a write within that interval; the process that made the
write drops its own at once (:meth:`forget`). Entries also expire after ``ttl`` seconds. The shared
level is a convenience: when it fails, reads go on from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from customshop.application.ports import Cache, CacheUnavailable, UnitOfWorkFactory

log = logging.getLogger("customshop.cache")
T = TypeVar("T")


class CatalogCache:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        shared: Cache,
        *,
        ttl: int = 60,
        refresh_interval: float = 0.25,
        max_entries: int = 10_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._uow = uow
        self._shared = shared
        self._ttl = ttl
        self._refresh_interval = refresh_interval
        self._max_entries = max_entries
        self._monotonic = monotonic
        self._local: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._objects: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._version: int | None = None
        #: Counts :meth:`forget` calls, so a refresh that raced with one can tell.
        self._generation = 0
        #: Loads from the shared level or the database, by key (for observing the cache in tests).
        self.misses = 0

    async def get(self, key: str, load: Callable[[], Awaitable[bytes]]) -> bytes:
        """The bytes under ``key``, from the fastest level that has them; ``load`` makes them when
        none has. Whatever ``load`` raises propagates (and nothing is cached). With a ``ttl`` of 0 the
        cache is off and every call loads."""
        hit = self.peek(key)
        if hit is not None:
            return hit
        if self._ttl <= 0:
            return await load()
        now = self._monotonic()
        if self._version is None:
            await self.refresh()
        self.misses += 1
        version = self._version
        if version is None:  # this process wrote to the catalog during the refresh: serve it fresh
            return await load()
        shared_key = f"catalog:{version}:{key}"
        value = await self._shared_get(shared_key)
        if value is None:
            value = await load()
            await self._shared_set(shared_key, value)
        if version == self._version:  # not invalidated while loading
            self._local[key] = (now + self._ttl, value)
            self._local.move_to_end(key)
            while len(self._local) > self._max_entries:
                self._local.popitem(last=False)
        return value

    def peek(self, key: str) -> bytes | None:
        """This process's fresh entry under ``key``, or None: no I/O, no waiting (the hot path)."""
        entry = self._local.get(key)
        if entry is None or self._version is None or entry[0] <= self._monotonic():
            return None
        return entry[1]

    async def get_object(self, key: str, load: Callable[[], Awaitable[T]]) -> T:
        """Like :meth:`get`, for domain objects this process keeps to itself (no shared level): the
        catalog pieces a design needs (product, template, option sets), read on every cart add."""
        if self._ttl <= 0:
            return await load()
        entry = self._objects.get(key)
        now = self._monotonic()
        if entry is not None and entry[0] > now and self._version is not None:
            value: T = entry[1]
            return value
        if self._version is None:
            await self.refresh()
        version = self._version
        loaded = await load()
        if version is not None:
            self._keep(key, version, now, loaded)
        return loaded

    def _keep(self, key: str, version: int, now: float, loaded: object) -> None:
        """Keep ``loaded``, read after catalog version ``version`` was seen, unless this process's
        entries moved to another version meanwhile: an entry is never older than its version."""
        if version == self._version:
            self._objects[key] = (now + self._ttl, loaded)
            self._objects.move_to_end(key)
            while len(self._objects) > self._max_entries:
                self._objects.popitem(last=False)

    async def get_current(self, key: str, version: int, load: Callable[[], Awaitable[T]]) -> T:
        """The object under ``key`` as the database holds it now: this process's entry when its
        entries are of catalog version ``version`` (which the caller read from the database, in its
        own transaction), else ``load()``. For reads that must not be up to ``refresh_interval``
        late, such as checkout's repricing. An entry is read after the version it is kept under
        was seen, so when that is still the database's version, nothing changed since."""
        if self._ttl <= 0:
            return await load()
        now = self._monotonic()
        if version == self._version:
            entry = self._objects.get(key)
            if entry is not None and entry[0] > now:
                value: T = entry[1]
                return value
        loaded = await load()
        self._keep(key, version, now, loaded)
        return loaded

    def forget(self) -> None:
        """Drop every entry of this process now (called after this process wrote to the catalog; the
        version stamp tells the others)."""
        self._generation += 1
        self._local.clear()
        self._objects.clear()
        self._version = None

    async def refresh(self) -> None:
        """Read the version stamp; drop this process's entries if it moved."""
        generation = self._generation
        async with self._uow(read_only=True) as uow:
            version = await uow.catalog_version.current()
        if generation != self._generation:
            return  # a write of ours committed meanwhile: what was read may predate it
        if version != self._version:
            self._local.clear()
            self._objects.clear()
            self._version = version

    async def watch(self) -> None:
        """Refresh every ``refresh_interval`` seconds until cancelled. A failed refresh (database
        briefly unreachable) drops the local entries, so nothing stale is served for long."""
        while True:
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("catalog version check failed: %s", exc)
                self.forget()
            await asyncio.sleep(self._refresh_interval)

    async def _shared_get(self, key: str) -> bytes | None:
        try:
            return await self._shared.get(key)
        except CacheUnavailable:
            return None

    async def _shared_set(self, key: str, value: bytes) -> None:
        with contextlib.suppress(CacheUnavailable):
            await self._shared.set(key, value, self._ttl)
