"""The jobs customshop runs outside requests, by name: the one table both job queues dispatch through."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from customshop.application.customization import RENDER_PREVIEW
from customshop.application.notifications import SEND_EMAIL
from customshop.application.outbox import DISPATCH_EVENT
from customshop.application.prints import RENDER_PRINT
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
        await container.use_cases.customization().render_preview(str(payload["job_id"]))
    elif job == DISPATCH_EVENT:
        await _dispatch_event(container, str(payload["event_id"]))
    elif job == DELIVER_WEBHOOK:
        attempt = payload.get("attempt")  # jobs queued by earlier versions name no attempt
        await container.use_cases.webhooks().deliver(
            str(payload["delivery_id"]),
            None if attempt is None else int(attempt),
            granted=bool(payload.get("granted", False)),
        )
    elif job == RENDER_PRINT:
        attempt = payload.get("attempt")  # jobs queued by earlier versions name no attempt
        await container.use_cases.print_files().render(
            str(payload["line_id"]), str(payload["file_id"]), None if attempt is None else int(attempt)
        )
    elif job == SEND_EMAIL:
        await container.use_cases.notifications().send(str(payload["email_id"]), int(payload["attempt"]))
    else:
        raise UnknownJob(f"no job is called {job!r}")


async def _dispatch_event(container: Container, event_id: str) -> None:
    """Hand the event to each of its consumers (partner webhooks, guest emails; each idempotent per
    event), then mark it dispatched. One consumer's failure does not keep the event from the others;
    the failures are raised together at the end and the event stays leased, so the relay hands it on
    again."""
    consumers = (container.use_cases.webhooks().fan_out, container.use_cases.notifications().on_event)
    errors: list[Exception] = []
    for consume in consumers:
        try:
            await consume(event_id)
        except Exception as exc:
            errors.append(exc)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ExceptionGroup(f"consumers of event {event_id} failed", errors)
    await container.use_cases.outbox_relay().dispatched(event_id)
