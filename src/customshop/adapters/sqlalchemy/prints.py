"""Print files of order lines, kept in the lines' ``print_*`` columns, in SQLAlchemy Core."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from customshop.adapters.sqlalchemy import tables as t
from customshop.adapters.sqlalchemy.sql import Row
from customshop.domain.orders import PrintFile, PrintStatus
from customshop.domain.prints import PrintJob

_L = t.order_lines.c

_COLUMNS = (
    _L.id,
    _L.order_id,
    _L.print_status,
    _L.print_file_id,
    _L.print_error,
    _L.print_attempts,
    _L.print_due_at,
)
_GET = sa.select(*_COLUMNS).where(_L.id == sa.bindparam("line_id"))
_GET_FOR_UPDATE = _GET.with_for_update()
_FIND = sa.select(*_COLUMNS).where(_L.print_file_id == sa.bindparam("file_id"))
_FOR_ORDER = sa.select(*_COLUMNS).where(_L.order_id == sa.bindparam("order_id")).order_by(_L.position)
_DUE = (
    sa.select(*_COLUMNS)
    .where(
        _L.print_status == PrintStatus.PENDING.value,
        _L.print_due_at <= sa.bindparam("now", type_=t.Timestamp),
    )
    .order_by(_L.print_due_at, _L.id)
    .limit(sa.bindparam("limit"))
    # Every serving process looks for due renderings: each takes different ones.
    .with_for_update(skip_locked=True)
)
_LEASE = (
    t.order_lines.update()
    .where(_L.id.in_(sa.bindparam("line_ids", expanding=True)))
    .values(print_due_at=sa.bindparam("until", type_=t.Timestamp))
)
_UPDATE = (
    t.order_lines.update()
    .where(_L.id == sa.bindparam("line_id"))
    .values(
        print_status=sa.bindparam("status"),
        print_file_id=sa.bindparam("file_id"),
        print_error=sa.bindparam("error"),
        print_attempts=sa.bindparam("attempts"),
        print_due_at=sa.bindparam("due_at", type_=t.Timestamp),
    )
)


def _job(row: Row) -> PrintJob:
    return PrintJob(
        row.id,
        row.order_id,
        PrintFile(PrintStatus(row.print_status), row.print_file_id, row.print_error),
        row.print_attempts,
        row.print_due_at,
    )


class SqlPrintRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def due(self, now: datetime, lease_until: datetime, limit: int) -> list[PrintJob]:
        jobs = [_job(row) for row in await self._conn.execute(_DUE, {"now": now, "limit": limit})]
        if jobs:
            await self._conn.execute(
                _LEASE, {"line_ids": [job.line_id for job in jobs], "until": lease_until}
            )
        return jobs

    async def get(self, line_id: str, *, for_update: bool = False) -> PrintJob | None:
        row = (
            await self._conn.execute(_GET_FOR_UPDATE if for_update else _GET, {"line_id": line_id})
        ).first()
        return None if row is None else _job(row)

    async def find(self, file_id: str) -> PrintJob | None:
        row = (await self._conn.execute(_FIND, {"file_id": file_id})).first()
        return None if row is None else _job(row)

    async def update(self, *jobs: PrintJob) -> None:
        if jobs:
            await self._conn.execute(
                _UPDATE,
                [
                    {
                        "line_id": job.line_id,
                        "status": job.file.status.value,
                        "file_id": job.file.id,
                        "error": job.file.error,
                        "attempts": job.attempts,
                        "due_at": job.due_at,
                    }
                    for job in jobs
                ],
            )

    async def for_order(self, order_id: str) -> list[PrintJob]:
        return [_job(row) for row in await self._conn.execute(_FOR_ORDER, {"order_id": order_id})]
