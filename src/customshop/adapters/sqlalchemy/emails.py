"""The emails owed to guests, in SQLAlchemy Core.

``due`` locks the emails it returns with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so the senders of
several processes take different ones (SQLite ignores the clause: it has one writer at a time).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from customshop.adapters.sqlalchemy import tables as t
from customshop.adapters.sqlalchemy.purge import BEFORE, LIMIT, batch_delete, count, cutoff
from customshop.adapters.sqlalchemy.sql import Row, dialect_of, insert_if_new
from customshop.domain.emails import EmailDelivery
from customshop.domain.retries import JobStatus

_C = t.emails.c

#: An email still to send (the other states, ``sent`` and ``failed``, are final).
PENDING = JobStatus.PENDING.value
FINISHED = (JobStatus.SENT.value, JobStatus.FAILED.value)


def _email(row: Row) -> EmailDelivery:
    return EmailDelivery(
        id=row.id,
        kind=row.kind,
        event_id=row.event_id,
        order_id=row.order_id,
        attempts=row.attempts,
        status=JobStatus(row.status),
        next_attempt_at=row.next_attempt_at,
        error=row.error,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _progress(email: EmailDelivery) -> dict[str, Any]:
    """The columns ``update`` writes: what changes from one attempt to the next."""
    return {
        "attempts": email.attempts,
        "status": str(email.status),
        "next_attempt_at": email.next_attempt_at,
        "error": email.error,
        "updated_at": email.updated_at,
    }


_ADD = {
    "postgresql": insert_if_new(postgresql.insert(t.emails), _C.event_id, _C.kind),
    "sqlite": insert_if_new(sqlite.insert(t.emails), _C.event_id, _C.kind),
}
_GET = sa.select(t.emails).where(_C.id == sa.bindparam("email_id"))
_GET_FOR_UPDATE = _GET.with_for_update()
_UPDATE = t.emails.update().where(_C.id == sa.bindparam("email_id"))
_DUE = (
    sa.select(t.emails)
    .where(_C.status == PENDING, _C.next_attempt_at <= sa.bindparam("now", type_=t.Timestamp))
    .order_by(_C.next_attempt_at, _C.id)
    .limit(sa.bindparam("limit"))
    .with_for_update(skip_locked=True)
)
_FINISHED_BEFORE = (_C.status.in_(FINISHED), _C.updated_at < cutoff())
_PURGE_FINISHED = batch_delete(t.emails, (_C.id,), *_FINISHED_BEFORE)
_COUNT_FINISHED = count(t.emails, *_FINISHED_BEFORE)


class SqlEmailRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self._add = _ADD[dialect_of(conn)]

    async def add(self, email: EmailDelivery) -> bool:
        inserted = await self._conn.execute(
            self._add,
            {
                "id": email.id,
                "kind": email.kind,
                "event_id": email.event_id,
                "order_id": email.order_id,
                "created_at": email.created_at,
                **_progress(email),
            },
        )
        return bool(inserted.rowcount)

    async def get(self, email_id: str, *, for_update: bool = False) -> EmailDelivery | None:
        query = _GET_FOR_UPDATE if for_update else _GET
        row = (await self._conn.execute(query, {"email_id": email_id})).first()
        return _email(row) if row else None

    async def update(self, email: EmailDelivery) -> None:
        await self._conn.execute(_UPDATE, {"email_id": email.id, **_progress(email)})

    async def due(self, now: datetime, limit: int) -> list[EmailDelivery]:
        rows = await self._conn.execute(_DUE, {"now": now, "limit": limit})
        return [_email(row) for row in rows]

    async def purge_finished(self, finished_before: datetime, limit: int) -> int:
        deleted = await self._conn.execute(_PURGE_FINISHED, {BEFORE: finished_before, LIMIT: limit})
        return int(deleted.rowcount)

    async def count_finished(self, finished_before: datetime) -> int:
        return int((await self._conn.execute(_COUNT_FINISHED, {BEFORE: finished_before})).scalar_one())
