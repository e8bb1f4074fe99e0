"""The relay of the transactional outbox: events committed with their change are handed to the job
queue, at least once.

Every order change stores its events in the outbox in the same transaction (the unit of work does
it at commit), so an event exists exactly when its change does. The relay takes pending events
(locked, so concurrent relays take different ones), enqueues one ``dispatch_event`` job per event
and marks them relayed in that same transaction. A process that dies before the commit leaves them
pending: the next round enqueues them again. Receivers deduplicate on the event id.
"""

from __future__ import annotations

from customshop.application.ports import Clock, JobQueue, UnitOfWorkFactory

#: The job that hands one event to its consumers (``Webhooks.fan_out``).
DISPATCH_EVENT = "dispatch_event"


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
        async with self._uow() as uow:
            messages = await uow.outbox.pending(batch)
            if not messages:
                return 0
            for message in messages:
                await self._queue.enqueue(
                    DISPATCH_EVENT, {"event_id": message.id}, job_id=f"event-{message.id}"
                )
            await uow.outbox.mark_relayed([m.id for m in messages], self._clock.now())
            await uow.commit()
        return len(messages)
