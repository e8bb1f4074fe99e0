"""Per-client rate limits: Litestar's ``RateLimitConfig`` over a store every serving process shares.

Every request counts against the **general** limit of its client; a route whose handler names a
stricter limit in its ``opt`` (``opt={RATE_LIMIT: CHECKOUT}``) counts against that one as well:
checkout and payment retries, uploads, preview requests. Health checks and metrics never count.
Over a limit the answer is a 429 problem document with ``Retry-After`` (and the ``RateLimit-*``
headers of the IETF draft); nothing of the request runs.

Counting is a fixed window per client and limit, opened by the client's first request: the window
lasts the limit's unit (a minute for ``10/minute``) and admits that many requests. Unlike Litestar's
stock middleware (read the history, then write it back, under a lock of the process) the count is
one atomic increment in the store: on Redis a short Lua script (``INCR`` and, for a new window,
``PEXPIRE``), so every process of every host sees the same count and no request waits for another;
in memory, a dictionary update. Keys live under ``customshop:ratelimit:<limit>:`` in Redis.

The client is the peer address of the connection, an IPv6 client counted by its /64 network (what
one subscriber usually holds). ``X-Forwarded-For`` is believed only from ``CUSTOMSHOP_TRUSTED_PROXIES``.

When Redis is unreachable the limits are not enforced (for a couple of seconds at a time, then
Redis is tried again): a shop had rather take orders unthrottled than refuse them all.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from litestar.exceptions import TooManyRequestsException
from litestar.middleware.rate_limit import (
    DURATION_VALUES,
    DurationUnit,
    RateLimitConfig,
    RateLimitMiddleware,
)
from litestar.stores.base import StorageObject
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from customshop.entrypoints.settings import Settings

if TYPE_CHECKING:
    from litestar import Litestar, Request
    from litestar.middleware.base import DefineMiddleware
    from litestar.stores.base import Store
    from litestar.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger("customshop.http")

#: The route handler ``opt`` key naming the stricter limit a route counts against.
RATE_LIMIT = "rate_limit"
CHECKOUT = "checkout"
UPLOADS = "uploads"
PREVIEWS = "previews"
GENERAL = "general"

#: What the 429 detail calls the requests of each limit.
_COUNTED = {
    GENERAL: "requests",
    CHECKOUT: "checkout and payment attempts",
    UPLOADS: "uploads",
    PREVIEWS: "preview requests",
}
#: Paths never limited: load balancers and scrapers must always get through.
UNLIMITED_PATHS = (r"^/health/", r"^/metrics$")
REDIS_PREFIX = "customshop:ratelimit"
#: How long limits stay off after Redis failed, before it is tried again.
_BACK_OFF_SECONDS = 2.0
#: Redis answers in well under a millisecond; this only catches a Redis that is gone or stuck (a busy
#: host must not turn the limits off by accident).
_REDIS_TIMEOUT_SECONDS = 1.0

# One atomic step: count this request and, when it opens a window, set the window's end.
_HIT_SCRIPT = b"""
local count = redis.call('INCR', KEYS[1])
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[1])
    left = tonumber(ARGV[1])
end
return {count, left}
"""


def parse_rate(spec: str) -> tuple[DurationUnit, int]:
    """``"10/minute"`` as Litestar's ``("minute", 10)``.

    Raises:
        ValueError: not ``COUNT/UNIT`` with a positive count and a unit Litestar knows.
    """
    count, _, unit = spec.partition("/")
    if unit not in DURATION_VALUES or not count.isdigit() or int(count) < 1:
        raise ValueError(f"{spec!r} is not COUNT/UNIT (UNIT: second, minute, hour or day)")
    return unit, int(count)


# -- who the client is -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=8192)
def client_key(address: str) -> str:
    """The key a client address counts under: an IPv4 address itself, an IPv6 address its /64
    network, anything else (not an IP address) as it is."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
    return str(ip)


class ClientAddress:
    """``identifier_for_request`` of the limits: the peer address of the connection, or, when the peer
    is a trusted proxy, the address its ``X-Forwarded-For`` names.

    The header is read from the right (the entry the nearest proxy added) and followed leftwards
    only while the hop that added an entry is itself trusted, so a client cannot choose its identity
    by sending the header itself.
    """

    def __init__(self, trusted_proxies: Sequence[str] = ()) -> None:
        self._trusted = tuple(ipaddress.ip_network(proxy, strict=False) for proxy in trusted_proxies)

    def is_trusted(self, address: str) -> bool:
        if not self._trusted:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self._trusted)

    def resolve(self, peer: str, forwarded_for: Sequence[str]) -> str:
        """The client's address, given the connection's ``peer`` and the ``X-Forwarded-For`` values."""
        client = peer
        if not self.is_trusted(peer):
            return client
        hops = [hop.strip() for value in forwarded_for for hop in value.split(",")]
        for hop in reversed(hops):
            try:
                ipaddress.ip_address(hop)
            except ValueError:
                break  # garbage (or an obfuscated name): the last address we could verify stands
            client = hop
            if not self.is_trusted(hop):
                break
        return client

    def __call__(self, request: Request[Any, Any, Any]) -> str:
        scope_client = request.scope.get("client")
        peer = scope_client[0] if scope_client else "unknown"
        if self._trusted:
            forwarded = [
                value.decode("latin-1")
                for name, value in request.scope["headers"]
                if name == b"x-forwarded-for"
            ]
            peer = self.resolve(peer, forwarded)
        return client_key(peer)


# -- counting ------------------------------------------------------------------------------------


class RedisWindowStore(RedisStore):
    """Litestar's Redis store plus an atomic window counter (:meth:`hit`)."""

    __slots__ = ("_down_until", "_hit_script")

    def __init__(self, redis: Redis, namespace: str) -> None:
        super().__init__(redis, namespace=namespace)
        self._hit_script = redis.register_script(_HIT_SCRIPT)
        self._down_until = 0.0

    async def hit(self, key: str, window_seconds: int) -> tuple[int, int] | None:
        """Count one request of ``key`` in its current window: ``(requests counted in the window,
        seconds until it ends)``, or ``None`` while Redis is unreachable (the request is not limited)."""
        if time.monotonic() < self._down_until:
            return None
        try:
            count, left_ms = await self._hit_script(keys=[self._make_key(key)], args=[window_seconds * 1000])
        except (RedisError, OSError) as exc:
            self._down_until = time.monotonic() + _BACK_OFF_SECONDS
            log.warning(
                "rate limits are not enforced for %.0f s: Redis is unreachable (%s)", _BACK_OFF_SECONDS, exc
            )
            return None
        return int(count), max(1, math.ceil(int(left_ms) / 1000))


#: The time in UTC, as windows are counted.
_utc_now = functools.partial(datetime.now, tz=UTC)


class MemoryWindowStore(MemoryStore):
    """Litestar's in-memory store plus a window counter (:meth:`hit`): counts of this process only.

    Windows that ended are dropped every few thousand requests, so clients that never come back do
    not accumulate.
    """

    __slots__ = ("_hits", "_now")

    _PRUNE_EVERY = 4096

    def __init__(self, now: Callable[[], datetime] = _utc_now) -> None:
        """``now`` tells the time (an aware datetime); tests give a clock of their own."""
        super().__init__()
        self._hits = 0
        self._now = now

    async def hit(self, key: str, window_seconds: int) -> tuple[int, int] | None:
        """Count one request of ``key``: ``(requests counted in its window, seconds until it ends)``.

        Takes no lock: nothing here awaits, so no other request of the event loop can come between
        the read and the write (and the store's anyio lock would cost more than the rest of a
        request's limit check).
        """
        now = self._now()
        entry = self._store.get(key)
        if entry is not None and entry.expires_at is not None and entry.expires_at > now:
            count, ends = int(entry.data) + 1, entry.expires_at
        else:  # the first request of a new window
            count, ends = 1, now + timedelta(seconds=window_seconds)
        self._store[key] = StorageObject(expires_at=ends, data=b"%d" % count)
        self._hits += 1
        if self._hits % self._PRUNE_EVERY == 0:
            self._store = {k: v for k, v in self._store.items() if v.expires_at is None or v.expires_at > now}
        return count, max(1, math.ceil((ends - now).total_seconds()))


WindowStore = RedisWindowStore | MemoryWindowStore


class WindowRateLimitMiddleware(RateLimitMiddleware):
    """Litestar's ``RateLimitMiddleware`` counting with one atomic :meth:`hit` of a
    :data:`WindowStore` instead of a read and a write under a process-wide lock; headers only on
    the 429 (``Retry-After`` and ``RateLimit-*``)."""

    def __init__(self, app: ASGIApp, config: RateLimitConfig) -> None:
        super().__init__(app, config)
        #: A stricter limit counts only the routes naming it; the general one (None) counts all.
        self.route_limit = config.route_limit if isinstance(config, RateLimit) else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.route_limit is not None and scope["route_handler"].opt.get(RATE_LIMIT) != self.route_limit:
            await self.app(scope, receive, send)  # the common case, decided without a Request
            return
        app: Litestar = scope["litestar_app"]
        request: Request[Any, Any, Any] = app.request_class(scope)
        if await self.should_check_request(request):
            store = cast("WindowStore", self.config.get_store_from_app(app))
            window = DURATION_VALUES[self.unit]
            counted = await store.hit(self.get_identifier_for_request(request), window)
            if counted is not None and counted[0] > self.max_requests:
                raise self.refusal(counted[1])
        await self.app(scope, receive, send)

    def refusal(self, retry_after: int) -> TooManyRequestsException:
        config = self.config
        name = config.name if isinstance(config, RateLimit) else GENERAL
        return TooManyRequestsException(
            detail=(
                f"Too many {_COUNTED.get(name, 'requests')} from this client: at most "
                f"{self.max_requests} per {self.unit}. Try again in {retry_after} s."
            ),
            headers={
                "Retry-After": str(retry_after),
                config.rate_limit_limit_header_key: str(self.max_requests),
                config.rate_limit_remaining_header_key: "0",
                config.rate_limit_reset_header_key: str(retry_after),
                config.rate_limit_policy_header_key: f"{self.max_requests};w={DURATION_VALUES[self.unit]}",
            },
        )


@dataclass
class RateLimit(RateLimitConfig):
    """One limit: Litestar's configuration, named (``general``, ``checkout``...) for messages, and
    counted by :class:`WindowRateLimitMiddleware`."""

    name: str = GENERAL
    #: The ``opt`` value of the routes this limit counts (see :data:`RATE_LIMIT`); None: every route.
    route_limit: str | None = None
    middleware_class: type[RateLimitMiddleware] = WindowRateLimitMiddleware


@dataclass(frozen=True)
class RateLimiting:
    """What the app needs for its limits: middleware, the stores they count in, and a shutdown hook
    closing the Redis client (when there is one). Empty when limits are off."""

    middleware: list[DefineMiddleware] = field(default_factory=list)
    stores: dict[str, Store] = field(default_factory=dict)
    redis: Redis | None = None

    async def close(self, _: Litestar) -> None:
        if self.redis is not None:
            await self.redis.aclose()


def rate_limiting(settings: Settings) -> RateLimiting:
    """The limits ``settings`` ask for: on Redis when ``CUSTOMSHOP_REDIS_URL`` is set (shared by every
    process), in this process's memory otherwise; nothing at all when they are off."""
    if not settings.rate_limit_enabled:
        return RateLimiting()
    limits = {
        GENERAL: settings.rate_limit_general,
        CHECKOUT: settings.rate_limit_checkout,
        UPLOADS: settings.rate_limit_uploads,
        PREVIEWS: settings.rate_limit_previews,
    }
    redis: Redis | None = None
    if settings.redis_url:
        redis = Redis.from_url(
            settings.redis_url,
            socket_timeout=_REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=_REDIS_TIMEOUT_SECONDS,
            retry=Retry(NoBackoff(), 0),
        )
    identify = ClientAddress(settings.trusted_proxies)
    middleware: list[DefineMiddleware] = []
    stores: dict[str, Store] = {}
    for name, spec in limits.items():
        store_name = f"rate_limit_{name}"
        stores[store_name] = (
            RedisWindowStore(redis, namespace=f"{REDIS_PREFIX}:{name}") if redis else MemoryWindowStore()
        )
        config = RateLimit(
            rate_limit=parse_rate(spec),
            name=name,
            store=store_name,
            exclude=list(UNLIMITED_PATHS) if name == GENERAL else None,  # no health route is stricter
            identifier_for_request=identify,
            route_limit=None if name == GENERAL else name,
            set_rate_limit_headers=False,
        )
        middleware.append(config.middleware)
    return RateLimiting(middleware, stores, redis)
