"""``customshop worker``: an rq worker that runs customshop's jobs from Redis.

The worker is an rq ``SimpleWorker``: jobs run in the worker process itself, which keeps one
container (database pool, fonts, storage client) and one event loop warm across jobs instead of
forking a fresh process for each. rq still enforces each job's timeout.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from redis import Redis
from rq import Queue, SimpleWorker
from rq.serializers import JSONSerializer

from customshop.adapters.jobs.rq import QUEUE_NAME
from customshop.entrypoints.container import Container, build_container, close
from customshop.entrypoints.jobs import run_job as dispatch
from customshop.entrypoints.settings import Settings


class WorkerNeedsRedis(ValueError):
    pass


@dataclass
class _Runtime:
    container: Container
    runner: asyncio.Runner = field(default_factory=asyncio.Runner)


_runtime: _Runtime | None = None


def _current() -> _Runtime:
    global _runtime
    if _runtime is None:  # started by plain `rq worker` rather than `customshop worker`
        _runtime = _Runtime(build_container(Settings.load()))
    return _runtime


def run_job(job: str, payload: dict[str, Any]) -> None:
    """The rq job function: run a customshop job by name on this worker's warm runtime."""
    runtime = _current()
    runtime.runner.run(dispatch(runtime.container, job, payload))


def work(settings: Settings, *, burst: bool = False) -> None:
    """Run a worker until stopped (or, with ``burst``, until the queue is empty).

    Before taking jobs it recovers the jobs that a worker which died left running.

    Raises:
        WorkerNeedsRedis: no ``CUSTOMSHOP_REDIS_URL``; the embedded mode runs jobs inside ``serve``.
    """
    global _runtime
    if not settings.redis_url:
        raise WorkerNeedsRedis(
            "the worker needs CUSTOMSHOP_REDIS_URL; without it jobs run inside `customshop serve`"
        )
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _runtime = _Runtime(build_container(settings))
    _runtime.runner.run(_runtime.container.customization().recover_stalled())
    redis = Redis.from_url(settings.redis_url)
    queue = Queue(QUEUE_NAME, connection=redis, serializer=JSONSerializer)
    worker = SimpleWorker([queue], connection=redis, serializer=JSONSerializer)
    try:
        worker.work(burst=burst, logging_level=settings.log_level, with_scheduler=False)
    finally:
        _runtime.runner.run(close(_runtime.container))
        _runtime.runner.close()
