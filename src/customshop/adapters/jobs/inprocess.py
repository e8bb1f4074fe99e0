"""Jobs run as tasks of the serving process's own event loop (the embedded default)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

log = logging.getLogger("customshop.jobs")

Dispatch = Callable[[str, Mapping[str, Any]], Awaitable[None]]


class InProcessJobQueue:
    """Implements ``JobQueue`` by running each job as an asyncio task in this process.

    Nothing is persisted here: a job enqueued by a process that dies before running it is recovered
    by the use case that owns it (its record in the database says it is still waiting). A job that
    raises is logged; retrying is the use case's decision.

    Args:
        dispatch: runs a job by name.
        on_depth: told how many jobs are queued or running whenever that changes (for metrics).
    """

    def __init__(self, dispatch: Dispatch, on_depth: Callable[[int], None] | None = None) -> None:
        self._dispatch = dispatch
        self._on_depth = on_depth
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def depth(self) -> int:
        """How many jobs are queued or running in this process."""
        return len(self._tasks)

    async def enqueue(self, job: str, payload: Mapping[str, Any], *, job_id: str) -> None:
        task = asyncio.get_running_loop().create_task(self._run(job, dict(payload), job_id), name=job_id)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        self._report()

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._report()

    def _report(self) -> None:
        if self._on_depth is not None:
            self._on_depth(len(self._tasks))

    async def _run(self, job: str, payload: dict[str, Any], job_id: str) -> None:
        try:
            await self._dispatch(job, payload)
        except Exception:
            log.exception("job %s (%s) failed", job_id, job)

    async def drain(self) -> None:
        """Wait for every job enqueued so far, and for the jobs they enqueue in turn."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
