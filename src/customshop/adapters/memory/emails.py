"""In-memory emails owed to guests."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from customshop.adapters.memory.purge import purge_some
from customshop.domain.emails import EmailDelivery
from customshop.domain.retries import JobStatus

if TYPE_CHECKING:
    from customshop.adapters.memory.uow import MemoryStore

#: An email still to send (the other states, ``sent`` and ``failed``, are final).
PENDING = JobStatus.PENDING
FINISHED = (JobStatus.SENT, JobStatus.FAILED)


class MemoryEmailRepository:
    """Units of work are serialized on the store's lock, so nothing here locks on its own."""

    def __init__(self, state: MemoryStore) -> None:
        self._state = state

    async def add(self, email: EmailDelivery) -> bool:
        if any(e.event_id == email.event_id and e.kind == email.kind for e in self._state.emails.values()):
            return False
        self._state.emails[email.id] = email
        return True

    async def get(self, email_id: str, *, for_update: bool = False) -> EmailDelivery | None:
        return self._state.emails.get(email_id)

    async def update(self, email: EmailDelivery) -> None:
        stored = self._state.emails.get(email.id)
        if stored is not None:  # only what changes between attempts, as the SQL adapter stores
            self._state.emails[email.id] = replace(
                stored,
                attempts=email.attempts,
                status=email.status,
                next_attempt_at=email.next_attempt_at,
                error=email.error,
                updated_at=email.updated_at,
            )

    async def due(self, now: datetime, limit: int) -> list[EmailDelivery]:
        due = [
            e
            for e in self._state.emails.values()
            if e.status == PENDING and e.next_attempt_at is not None and e.next_attempt_at <= now
        ]
        due.sort(key=lambda e: (e.next_attempt_at, e.id))
        return due[:limit]

    async def purge_finished(self, finished_before: datetime, limit: int) -> int:
        return purge_some(self._state.emails, self._finished(finished_before), limit)

    async def count_finished(self, finished_before: datetime) -> int:
        return len(self._finished(finished_before))

    def _finished(self, before: datetime) -> list[str]:
        return [e.id for e in self._state.emails.values() if e.status in FINISHED and e.updated_at < before]
