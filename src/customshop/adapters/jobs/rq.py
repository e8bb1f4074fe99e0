"""Jobs on Redis through rq, run by ``customshop worker`` processes."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.serializers import JSONSerializer

from customshop.application.ports import QueueUnavailable

#: The queue every customshop job goes to.
QUEUE_NAME = "customshop"


class RqJobQueue:
    """Implements ``JobQueue`` with rq: each job is the call ``entrypoint(job, payload)`` on a worker.

    Payloads travel as JSON (rq's ``JSONSerializer``), never pickle. ``enqueue`` returns once Redis
    has the job; a Redis outage raises ``QueueUnavailable``.

    Args:
        redis: a client for the Redis that workers listen on.
        entrypoint: dotted path of the worker-side function that runs a job by name.
        job_timeout: seconds after which rq stops a job as hung.
    """

    def __init__(self, redis: Redis, entrypoint: str, job_timeout: int, queue_name: str = QUEUE_NAME) -> None:
        self._redis = redis
        self._entrypoint = entrypoint
        self._job_timeout = job_timeout
        self._queue = Queue(queue_name, connection=redis, serializer=JSONSerializer)

    async def enqueue(self, job: str, payload: Mapping[str, Any], *, job_id: str) -> None:
        try:
            await asyncio.to_thread(
                self._queue.enqueue,
                self._entrypoint,
                job,
                dict(payload),
                job_id=job_id,
                job_timeout=self._job_timeout,
                result_ttl=3600,
                failure_ttl=7 * 24 * 3600,
            )
        except RedisError as exc:
            raise QueueUnavailable(f"the job queue is unreachable: {exc}") from exc

    def depth(self) -> int:
        """How many jobs wait in the queue (not those a worker runs). Blocking: Redis is asked.

        Raises:
            RedisError: Redis cannot be reached.
        """
        return int(self._queue.count)

    async def ping(self) -> None:
        """Return once Redis answers.

        Raises:
            QueueUnavailable: Redis cannot be reached.
        """
        try:
            await asyncio.to_thread(self._redis.ping)
        except RedisError as exc:
            raise QueueUnavailable(f"the job queue is unreachable: {exc}") from exc
