"""The jobs customshop runs outside requests, by name: the one table both job queues dispatch through."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from customshop.application.customization import RENDER_PREVIEW
from customshop.application.outbox import DISPATCH_EVENT
from customshop.application.webhooks import DELIVER_WEBHOOK

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
    elif job == DISPATCH_EVENT:
        await container.webhooks().fan_out(str(payload["event_id"]))
    elif job == DELIVER_WEBHOOK:
        await container.webhooks().deliver(str(payload["delivery_id"]))
    else:
        raise UnknownJob(f"no job is called {job!r}")
