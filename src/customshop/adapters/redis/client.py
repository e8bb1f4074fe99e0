"""The Redis client that hands jobs to the queue: bounded waits and no silent retries."""

from __future__ import annotations

from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry

#: Redis answers in well under a millisecond; this only catches a Redis that is gone or stuck.
QUEUE_TIMEOUT_SECONDS = 2.0


def queue_client(url: str | None) -> Redis:
    """A synchronous client for ``url`` (rq's connection) whose every command fails within
    ``QUEUE_TIMEOUT_SECONDS`` when Redis does not answer: a caller that enqueues a job learns at once
    that the queue is down (``QueueUnavailable``, HTTP 503) instead of hanging.

    A command that finds its pooled connection dropped (Redis restarted since) is tried once more
    on a new connection, at once; a timeout is not tried again. So after Redis comes back the next
    command succeeds, and while it is down a command fails in milliseconds (refused) or after the
    timeout (no answer).

    Raises:
        ValueError: ``url`` is missing (the caller asked for Redis without one) or malformed.
    """
    if not url:
        raise ValueError("no Redis URL is configured")
    return Redis.from_url(
        url,
        socket_timeout=QUEUE_TIMEOUT_SECONDS,
        socket_connect_timeout=QUEUE_TIMEOUT_SECONDS,
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
    )
