"""``customshop worker``: an rq worker that runs customshop's jobs from Redis.

The worker is an rq ``SimpleWorker``: jobs run in the worker process itself, which keeps one
container (database pool, fonts, storage client) and one event loop warm across jobs instead of
forking a fresh process for each. rq still enforces each job's timeout.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass, field
from typing import Any

from redis import Redis
from rq import Queue, SimpleWorker
from rq.serializers import JSONSerializer

from customshop.adapters.jobs.rq import QUEUE_NAME
from customshop.adapters.metrics.prometheus import forget_live_values, use_multiprocess_directory
from customshop.entrypoints.container import Container, build_container, close
from customshop.entrypoints.jobs import run_job as dispatch
from customshop.entrypoints.logs import configure_logging, flush_logs, redact
from customshop.entrypoints.settings import Settings

log = logging.getLogger("customshop.worker")


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

    Before taking jobs it recovers the jobs that a worker which died left running. Its logs go to
    stderr (``CUSTOMSHOP_LOG_FORMAT``), and what it counts (renders, deliveries given up) goes to the
    metrics directory of the host, where ``/metrics`` of a ``serve`` sharing it adds it up.

    Raises:
        WorkerNeedsRedis: no ``CUSTOMSHOP_REDIS_URL``; the embedded mode runs jobs inside ``serve``.
    """
    global _runtime
    if not settings.redis_url:
        raise WorkerNeedsRedis(
            "the worker needs CUSTOMSHOP_REDIS_URL; without it jobs run inside `customshop serve`"
        )
    configure_logging(settings.log_level, settings.log_format)
    use_multiprocess_directory(settings.metrics_path)
    log.info(
        "worker %d taking jobs from %s; metrics in %s",
        os.getpid(),
        redact(settings.redis_url),
        settings.metrics_path,
    )
    _runtime = _Runtime(build_container(settings))
    _runtime.runner.run(_runtime.container.use_cases.customization().recover_stalled())
    redis = Redis.from_url(settings.redis_url)
    queue = Queue(QUEUE_NAME, connection=redis, serializer=JSONSerializer)
    worker = SimpleWorker([queue], connection=redis, serializer=JSONSerializer)
    try:
        worker.work(burst=burst, logging_level=settings.log_level, with_scheduler=False)
    finally:
        _runtime.runner.run(close(_runtime.container))
        _runtime.runner.close()
        forget_live_values(settings.metrics_path)
        flush_logs()
