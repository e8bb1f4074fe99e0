"""The outbox and partner webhooks (endpoints, deliveries, delivery logs), in SQLAlchemy Core.

``pending`` locks the messages it returns with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
concurrent relays take disjoint batches instead of queueing behind one another (SQLite has no row
locks and ignores the clause: it has one writer at a time anyway).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from customshop.adapters.sqlalchemy import tables as t
from customshop.adapters.sqlalchemy.purge import BEFORE, LIMIT, batch_delete, count, cutoff
from customshop.adapters.sqlalchemy.sql import Row, dialect_of, insert_if_new
from customshop.adapters.system import UuidV7Ids
from customshop.application.ports import Page
from customshop.domain.events import OrderEvent, event_payload
from customshop.domain.outbox import OutboxMessage
from customshop.domain.retries import JobStatus
from customshop.domain.webhooks import WebhookDelivery, WebhookEndpoint, WebhookLog

_M = t.outbox.c
_E = t.webhook_endpoints.c
_D = t.webhook_deliveries.c
_G = t.webhook_logs.c

_IDS = UuidV7Ids()

#: A delivery still to attempt (the other states, ``delivered`` and ``failed``, are final).
PENDING = JobStatus.PENDING.value
FINISHED = (JobStatus.DELIVERED.value, JobStatus.FAILED.value)

# -- outbox ----------------------------------------------------------------------------------------


def _message(row: Row) -> OutboxMessage:
    return OutboxMessage(row.id, row.name, row.order_id, row.payload, row.created_at, row.relayed_at)


_INSERT_MESSAGES = t.outbox.insert()
_MESSAGE = sa.select(_M.id, _M.name, _M.order_id, _M.payload, _M.created_at, _M.relayed_at)
_GET_MESSAGE = _MESSAGE.where(_M.id == sa.bindparam("message_id"))
_PENDING = (
    _MESSAGE.where(
        _M.relayed_at.is_(None),
        sa.or_(_M.leased_until.is_(None), _M.leased_until < sa.bindparam("now", type_=t.Timestamp)),
    )
    .order_by(_M.id)
    .limit(sa.bindparam("limit"))
    .with_for_update(skip_locked=True)
)
_LEASE = (
    t.outbox.update()
    .where(_M.id.in_(sa.bindparam("message_ids", expanding=True)))
    .values(leased_until=sa.bindparam("until", type_=t.Timestamp))
)
_MARK_RELAYED = (
    t.outbox.update()
    .where(_M.id.in_(sa.bindparam("message_ids", expanding=True)))
    .values(relayed_at=sa.bindparam("at", type_=t.Timestamp))
)
_RELAYED_BEFORE = (_M.relayed_at.is_not(None), _M.relayed_at < cutoff())
_PURGE_RELAYED = batch_delete(t.outbox, (_M.id,), *_RELAYED_BEFORE)
_COUNT_RELAYED = count(t.outbox, *_RELAYED_BEFORE)


class SqlOutbox:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, events: Iterable[OrderEvent]) -> None:
        rows = [
            {
                "id": _IDS.new_id(),
                "name": type(event).name,
                "order_id": event.order_id,
                "payload": event_payload(event),
                "created_at": event.at,
                "relayed_at": None,
            }
            for event in events
        ]
        if rows:
            await self._conn.execute(_INSERT_MESSAGES, rows)

    async def get(self, message_id: str) -> OutboxMessage | None:
        row = (await self._conn.execute(_GET_MESSAGE, {"message_id": message_id})).first()
        return _message(row) if row else None

    async def pending(self, limit: int, now: datetime) -> list[OutboxMessage]:
        return [_message(row) for row in await self._conn.execute(_PENDING, {"limit": limit, "now": now})]

    async def lease(self, message_ids: Iterable[str], until: datetime) -> None:
        ids = list(message_ids)
        if ids:
            await self._conn.execute(_LEASE, {"message_ids": ids, "until": until})

    async def mark_relayed(self, message_ids: Iterable[str], at: datetime) -> None:
        ids = list(message_ids)
        if ids:
            await self._conn.execute(_MARK_RELAYED, {"message_ids": ids, "at": at})

    async def purge_relayed(self, relayed_before: datetime, limit: int) -> int:
        deleted = await self._conn.execute(_PURGE_RELAYED, {BEFORE: relayed_before, LIMIT: limit})
        return int(deleted.rowcount)

    async def count_relayed(self, relayed_before: datetime) -> int:
        return int((await self._conn.execute(_COUNT_RELAYED, {BEFORE: relayed_before})).scalar_one())


# -- webhook endpoints -----------------------------------------------------------------------------


def _endpoint(row: Row) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=row.id,
        url=row.url,
        events=tuple(row.events),
        secret=row.secret,
        active=row.active,
        created_at=row.created_at,
        disabled_reason=row.disabled_reason,
    )


def _endpoint_values(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """The columns ``update_endpoint`` writes: everything but the id and the creation time."""
    return {
        "url": endpoint.url,
        "events": list(endpoint.events),
        "secret": endpoint.secret,
        "active": endpoint.active,
        "disabled_reason": endpoint.disabled_reason,
    }


_INSERT_ENDPOINT = t.webhook_endpoints.insert()
_GET_ENDPOINT = sa.select(t.webhook_endpoints).where(_E.id == sa.bindparam("endpoint_id"))
_LIST_ENDPOINTS = sa.select(t.webhook_endpoints).order_by(_E.id)
_ENDPOINT_PAGES = {
    False: _LIST_ENDPOINTS.limit(sa.bindparam("limit")),
    True: _LIST_ENDPOINTS.where(_E.id > sa.bindparam("after")).limit(sa.bindparam("limit")),
}
_UPDATE_ENDPOINT = t.webhook_endpoints.update().where(_E.id == sa.bindparam("endpoint_id"))
_DELETE_ENDPOINT_LOGS = t.webhook_logs.delete().where(_G.endpoint_id == sa.bindparam("endpoint_id"))
_DELETE_ENDPOINT_DELIVERIES = t.webhook_deliveries.delete().where(
    _D.endpoint_id == sa.bindparam("endpoint_id")
)
_DELETE_ENDPOINT = t.webhook_endpoints.delete().where(_E.id == sa.bindparam("endpoint_id"))

# -- deliveries ------------------------------------------------------------------------------------


def _delivery(row: Row) -> WebhookDelivery:
    return WebhookDelivery(
        id=row.id,
        endpoint_id=row.endpoint_id,
        event_id=row.event_id,
        event=row.event,
        body=bytes(row.body),
        attempts=row.attempts,
        status=JobStatus(row.status),
        next_attempt_at=row.next_attempt_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _delivery_values(delivery: WebhookDelivery) -> dict[str, Any]:
    """The columns ``update_delivery`` writes: what changes from one attempt to the next."""
    return {
        "attempts": delivery.attempts,
        "status": str(delivery.status),
        "next_attempt_at": delivery.next_attempt_at,
        "updated_at": delivery.updated_at,
    }


_DELIVERY_KEY = (_D.endpoint_id, _D.event_id)
_ADD_DELIVERY = {
    "postgresql": insert_if_new(postgresql.insert(t.webhook_deliveries), *_DELIVERY_KEY),
    "sqlite": insert_if_new(sqlite.insert(t.webhook_deliveries), *_DELIVERY_KEY),
}
_GET_DELIVERY = sa.select(t.webhook_deliveries).where(_D.id == sa.bindparam("delivery_id"))
_GET_DELIVERY_FOR_UPDATE = _GET_DELIVERY.with_for_update()  # SQLite has no row locks and ignores it
_UPDATE_DELIVERY = t.webhook_deliveries.update().where(_D.id == sa.bindparam("delivery_id"))
_DUE_DELIVERIES = (
    sa.select(t.webhook_deliveries)
    .where(_D.status == PENDING, _D.next_attempt_at <= sa.bindparam("now", type_=t.Timestamp))
    .order_by(_D.next_attempt_at, _D.id)
    .limit(sa.bindparam("limit"))
    # Concurrent senders (every serving process runs one) take different deliveries.
    .with_for_update(skip_locked=True)
)

# -- logs ------------------------------------------------------------------------------------------


def _log(row: Row) -> WebhookLog:
    return WebhookLog(
        row.id,
        row.delivery_id,
        row.endpoint_id,
        row.event,
        row.attempt,
        row.response_status,
        row.sent_at,
        row.error,
    )


_INSERT_LOG = t.webhook_logs.insert()


def _log_page(event: bool, before: bool) -> sa.Select[Any]:
    query = sa.select(t.webhook_logs).order_by(_G.id.desc()).limit(sa.bindparam("limit"))
    if event:
        query = query.where(_G.event == sa.bindparam("event"))
    if before:
        query = query.where(_G.id < sa.bindparam("before"))
    return query


_FINISHED_BEFORE = (_D.status.in_(FINISHED), _D.updated_at < cutoff())
_PURGE_DELIVERIES = batch_delete(t.webhook_deliveries, (_D.id,), *_FINISHED_BEFORE)
_COUNT_DELIVERIES = count(t.webhook_deliveries, *_FINISHED_BEFORE)
_PENDING_DELIVERY = sa.exists().where(_D.id == _G.delivery_id, _D.status == PENDING)
_SENT_BEFORE = (_G.sent_at < cutoff(), ~_PENDING_DELIVERY)
_PURGE_LOGS = batch_delete(t.webhook_logs, (_G.id,), *_SENT_BEFORE)
_COUNT_LOGS = count(t.webhook_logs, *_SENT_BEFORE)

#: The listing for each combination of filters, built once.
_LOG_PAGES = {
    (event, before): _log_page(event, before) for event in (True, False) for before in (True, False)
}


class SqlWebhookRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self._add_delivery = _ADD_DELIVERY[dialect_of(conn)]

    async def add_endpoint(self, endpoint: WebhookEndpoint) -> None:
        await self._conn.execute(
            _INSERT_ENDPOINT,
            {"id": endpoint.id, "created_at": endpoint.created_at, **_endpoint_values(endpoint)},
        )

    async def get_endpoint(self, endpoint_id: str) -> WebhookEndpoint | None:
        row = (await self._conn.execute(_GET_ENDPOINT, {"endpoint_id": endpoint_id})).first()
        return _endpoint(row) if row else None

    async def list_endpoints(self) -> list[WebhookEndpoint]:
        return [_endpoint(row) for row in await self._conn.execute(_LIST_ENDPOINTS)]

    async def endpoint_page(self, *, after: str | None, limit: int) -> Page[WebhookEndpoint]:
        params: dict[str, Any] = {"limit": limit + 1}
        if after is not None:
            params["after"] = after
        found = await self._conn.execute(_ENDPOINT_PAGES[after is not None], params)
        rows = [_endpoint(row) for row in found]
        if len(rows) > limit:
            return Page(rows[:limit], rows[limit - 1].id)
        return Page(rows, None)

    async def update_endpoint(self, endpoint: WebhookEndpoint) -> None:
        await self._conn.execute(_UPDATE_ENDPOINT, {"endpoint_id": endpoint.id, **_endpoint_values(endpoint)})

    async def delete_endpoint(self, endpoint_id: str) -> None:
        params = {"endpoint_id": endpoint_id}
        await self._conn.execute(_DELETE_ENDPOINT_LOGS, params)
        await self._conn.execute(_DELETE_ENDPOINT_DELIVERIES, params)
        await self._conn.execute(_DELETE_ENDPOINT, params)

    async def add_delivery(self, delivery: WebhookDelivery) -> bool:
        inserted = await self._conn.execute(
            self._add_delivery,
            {
                "id": delivery.id,
                "endpoint_id": delivery.endpoint_id,
                "event_id": delivery.event_id,
                "event": delivery.event,
                "body": delivery.body,
                "created_at": delivery.created_at,
                **_delivery_values(delivery),
            },
        )
        return bool(inserted.rowcount)

    async def get_delivery(self, delivery_id: str, *, for_update: bool = False) -> WebhookDelivery | None:
        query = _GET_DELIVERY_FOR_UPDATE if for_update else _GET_DELIVERY
        row = (await self._conn.execute(query, {"delivery_id": delivery_id})).first()
        return _delivery(row) if row else None

    async def update_delivery(self, delivery: WebhookDelivery) -> None:
        await self._conn.execute(_UPDATE_DELIVERY, {"delivery_id": delivery.id, **_delivery_values(delivery)})

    async def due_deliveries(self, now: datetime, limit: int) -> list[WebhookDelivery]:
        rows = await self._conn.execute(_DUE_DELIVERIES, {"now": now, "limit": limit})
        return [_delivery(row) for row in rows]

    async def add_log(self, log: WebhookLog) -> None:
        await self._conn.execute(
            _INSERT_LOG,
            {
                "id": log.id,
                "delivery_id": log.delivery_id,
                "endpoint_id": log.endpoint_id,
                "event": log.event,
                "attempt": log.attempt,
                "response_status": log.response_status,
                "sent_at": log.sent_at,
                "error": log.error,
            },
        )

    async def list_logs(self, *, event: str | None, before: str | None, limit: int) -> Page[WebhookLog]:
        params: dict[str, Any] = {"limit": limit + 1}
        if event is not None:
            params["event"] = event
        if before is not None:
            params["before"] = before
        rows = list(await self._conn.execute(_LOG_PAGES[(event is not None, before is not None)], params))
        next_after = None
        if len(rows) > limit:
            rows = rows[:limit]
            next_after = rows[-1].id if rows else None
        return Page([_log(row) for row in rows], next_after)

    async def purge_finished_deliveries(self, finished_before: datetime, limit: int) -> int:
        deleted = await self._conn.execute(_PURGE_DELIVERIES, {BEFORE: finished_before, LIMIT: limit})
        return int(deleted.rowcount)

    async def count_finished_deliveries(self, finished_before: datetime) -> int:
        return int((await self._conn.execute(_COUNT_DELIVERIES, {BEFORE: finished_before})).scalar_one())

    async def purge_logs(self, sent_before: datetime, limit: int) -> int:
        deleted = await self._conn.execute(_PURGE_LOGS, {BEFORE: sent_before, LIMIT: limit})
        return int(deleted.rowcount)

    async def count_logs(self, sent_before: datetime) -> int:
        return int((await self._conn.execute(_COUNT_LOGS, {BEFORE: sent_before})).scalar_one())
