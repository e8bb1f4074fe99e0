"""The relay of the transactional outbox: events committed with their change are handed to the job
queue, at least once.

Every order change stores its events in the outbox in the same transaction (the unit of work does
it at commit), so an event exists exactly when its change does. The relay takes pending events
(locked, so concurrent relays take different ones), enqueues one ``dispatch_event`` job per event
and leases them for ``LEASE``. The job hands the event to its consumers (each idempotent per event)
and only then marks it dispatched. A job that is lost — its worker died, the database was down, the
serving process running in-process jobs stopped — leaves its event pending once the lease runs out,
and the relay enqueues it again. Receivers deduplicate on the event id.
"""

from __future__ import annotations

from datetime import timedelta

from customshop.application.ports import Clock, JobQueue, Outbox, UnitOfWorkFactory
from customshop.domain.orders import Order

#: The job that hands one event to its consumers (``Webhooks.fan_out``), then calls ``dispatched``.
DISPATCH_EVENT = "dispatch_event"
#: How long an event handed to the queue waits for its dispatch before it is handed on again.
LEASE = timedelta(minutes=2)


class OutboxRelay:
    def __init__(self, uow: UnitOfWorkFactory, queue: JobQueue, clock: Clock) -> None:
        self._uow = uow
        self._queue = queue
        self._clock = clock

    async def relay(self, batch: int = 100) -> int:
        """Enqueue up to ``batch`` pending events; returns how many.

        Raises:
            QueueUnavailable: the queue is down; the events stay pending.
        """
        now = self._clock.now()
        async with self._uow() as uow:
            messages = await uow.outbox.pending(batch, now)
            if not messages:
                return 0
            for message in messages:
                await self._queue.enqueue(
                    DISPATCH_EVENT, {"event_id": message.id}, job_id=f"event-{message.id}"
                )
            await uow.outbox.lease([m.id for m in messages], now + LEASE)
            await uow.commit()
        return len(messages)

    async def dispatched(self, event_id: str) -> None:
        """The event's consumers have it: it is never relayed again."""
        async with self._uow() as uow:
            await uow.outbox.mark_relayed([event_id], self._clock.now())
            await uow.commit()


async def stage_events(stored: list[Order], outbox: Outbox) -> list[Order]:
    """Add to ``outbox`` the events of the orders a unit of work stored (each order once, however
    often it was stored), just before it commits; returns those orders, whose ``events`` the unit of
    work empties once the commit succeeded."""
    orders = list(dict.fromkeys(stored))
    for order in orders:
        if order.events:
            await outbox.add(order.events)
    return orders
