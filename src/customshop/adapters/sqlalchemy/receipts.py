"""Webhook receipts, in SQLAlchemy Core: which provider events were seen, so each is handled once."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from customshop.adapters.sqlalchemy import tables as t
from customshop.adapters.sqlalchemy.sql import dialect_of, insert_if_new

_RECEIPT_KEY = (t.webhook_receipts.c.provider, t.webhook_receipts.c.event_id)
_RECEIVE = {
    "postgresql": insert_if_new(postgresql.insert(t.webhook_receipts), *_RECEIPT_KEY),
    "sqlite": insert_if_new(sqlite.insert(t.webhook_receipts), *_RECEIPT_KEY),
}


_PURGE_RECEIPTS = t.webhook_receipts.delete().where(
    t.webhook_receipts.c.received_at < sa.bindparam("before", type_=t.Timestamp)
)


class SqlWebhookReceipts:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self._receive = _RECEIVE[dialect_of(conn)]

    async def first_time(self, provider: str, event_id: str, at: datetime) -> bool:
        inserted = await self._conn.execute(
            self._receive, {"provider": provider, "event_id": event_id, "received_at": at}
        )
        return bool(inserted.rowcount)

    async def purge(self, received_before: datetime) -> int:
        deleted = await self._conn.execute(_PURGE_RECEIPTS, {"before": received_before})
        return int(deleted.rowcount)
