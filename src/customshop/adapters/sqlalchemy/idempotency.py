"""Idempotency keys, in SQLAlchemy Core: a checkout claims its key with an insert that skips a
key already there, in the checkout's own transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from customshop.adapters.sqlalchemy import tables as t
from customshop.adapters.sqlalchemy.purge import BEFORE, LIMIT, batch_delete, count, cutoff
from customshop.adapters.sqlalchemy.sql import Row, dialect_of, insert_if_new
from customshop.domain.idempotency import IdempotencyRecord

_I = t.idempotency_keys.c


def _record(row: Row) -> IdempotencyRecord:
    return IdempotencyRecord(
        row.scope, row.key, row.request_hash, row.order_id, row.result, row.created_at, row.updated_at
    )


def _record_values(record: IdempotencyRecord) -> dict[str, Any]:
    return {
        "request_hash": record.request_hash,
        "order_id": record.order_id,
        "result": record.result,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }


_THIS_RECORD = sa.and_(_I.scope == sa.bindparam("record_scope"), _I.key == sa.bindparam("record_key"))


_CLAIM = {
    "postgresql": insert_if_new(postgresql.insert(t.idempotency_keys), _I.scope, _I.key),
    "sqlite": insert_if_new(sqlite.insert(t.idempotency_keys), _I.scope, _I.key),
}
_GET_RECORD = sa.select(t.idempotency_keys).where(_THIS_RECORD)
_TAKE_OVER = (
    t.idempotency_keys.update()
    .where(_THIS_RECORD, _I.result.is_(None), _I.updated_at < sa.bindparam("stale_before"))
    .values(updated_at=sa.bindparam("at"))
)
_UPDATE_RECORD = t.idempotency_keys.update().where(_THIS_RECORD)
_DELETE_RECORD = t.idempotency_keys.delete().where(_THIS_RECORD)
_PURGE_RECORDS = t.idempotency_keys.delete().where(_I.created_at < sa.bindparam("created_before"))
_CREATED_BEFORE = (_I.created_at < cutoff(),)
_PURGE_RECORD_BATCH = batch_delete(t.idempotency_keys, (_I.scope, _I.key), *_CREATED_BEFORE)
_COUNT_PURGEABLE_RECORDS = count(t.idempotency_keys, *_CREATED_BEFORE)


class SqlIdempotencyRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self._claim = _CLAIM[dialect_of(conn)]

    async def claim(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        params = {"scope": record.scope, "key": record.key, **_record_values(record)}
        while True:
            # On PostgreSQL a concurrent claim of the key waits here for the other to commit.
            if (await self._conn.execute(self._claim, params)).rowcount:
                return None
            existing = await self.get(record.scope, record.key)
            if existing is not None:
                return existing
            # The holder was deleted between the two statements: try again.

    async def get(self, scope: str, key: str) -> IdempotencyRecord | None:
        row = (await self._conn.execute(_GET_RECORD, {"record_scope": scope, "record_key": key})).first()
        return _record(row) if row else None

    async def take_over(self, scope: str, key: str, stale_before: datetime, at: datetime) -> bool:
        changed = await self._conn.execute(
            _TAKE_OVER, {"record_scope": scope, "record_key": key, "stale_before": stale_before, "at": at}
        )
        return bool(changed.rowcount)

    async def update(self, record: IdempotencyRecord) -> None:
        await self._conn.execute(
            _UPDATE_RECORD, {"record_scope": record.scope, "record_key": record.key, **_record_values(record)}
        )

    async def delete(self, scope: str, key: str) -> None:
        await self._conn.execute(_DELETE_RECORD, {"record_scope": scope, "record_key": key})

    async def purge(self, created_before: datetime, limit: int | None = None) -> int:
        if limit is None:
            deleted = await self._conn.execute(_PURGE_RECORDS, {"created_before": created_before})
        else:
            deleted = await self._conn.execute(_PURGE_RECORD_BATCH, {BEFORE: created_before, LIMIT: limit})
        return int(deleted.rowcount)

    async def count_purgeable(self, created_before: datetime) -> int:
        found = await self._conn.execute(_COUNT_PURGEABLE_RECORDS, {BEFORE: created_before})
        return int(found.scalar_one())
