"""The jobs customshop runs outside requests, by name: the one table both job queues dispatch through."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from customshop.application.customization import RENDER_PREVIEW

if TYPE_CHECKING:
    from customshop.entrypoints.container import Container


class UnknownJob(ValueError):
    pass


async def run_job(container: Container, job: str, payload: Mapping[str, Any]) -> None:
    """Run the job named ``job`` with its JSON ``payload``.

    Raises:
        UnknownJob: no job has this name (a queue shared with another application, or a newer version).
    """
    if job == RENDER_PREVIEW:
        await container.customization().render_preview(str(payload["job_id"]))
    else:
        raise UnknownJob(f"no job is called {job!r}")
