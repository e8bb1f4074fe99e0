"""In-memory outbox and partner webhooks (endpoints, deliveries, delivery logs)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from customshop.adapters.memory.purge import purge_some
from customshop.adapters.system import UuidV7Ids
from customshop.application.ports import Page
from customshop.domain.events import OrderEvent, event_payload
from customshop.domain.outbox import OutboxMessage
from customshop.domain.retries import JobStatus
from customshop.domain.webhooks import WebhookDelivery, WebhookEndpoint, WebhookLog

if TYPE_CHECKING:
    from customshop.adapters.memory.uow import MemoryStore

_IDS = UuidV7Ids()

#: A delivery still to attempt (the other states, ``delivered`` and ``failed``, are final).
PENDING = JobStatus.PENDING
FINISHED = (JobStatus.DELIVERED, JobStatus.FAILED)


class MemoryOutbox:
    """Units of work are serialized on the store's lock, so ``pending`` needs no locking of its own."""

    def __init__(self, state: MemoryStore) -> None:
        self._state = state

    async def add(self, events: Iterable[OrderEvent]) -> None:
        for event in events:
            message = OutboxMessage(
                id=_IDS.new_id(),
                name=type(event).name,
                order_id=event.order_id,
                payload=event_payload(event),
                created_at=event.at,
                relayed_at=None,
            )
            self._state.outbox[message.id] = message

    async def get(self, message_id: str) -> OutboxMessage | None:
        return self._state.outbox.get(message_id)

    async def pending(self, limit: int, now: datetime) -> list[OutboxMessage]:
        leases = self._state.outbox_leases
        waiting = sorted(
            (
                m
                for m in self._state.outbox.values()
                if m.relayed_at is None and (m.id not in leases or leases[m.id] < now)
            ),
            key=lambda m: m.id,
        )
        return waiting[:limit]

    async def lease(self, message_ids: Iterable[str], until: datetime) -> None:
        for message_id in message_ids:
            if message_id in self._state.outbox:
                self._state.outbox_leases[message_id] = until

    async def mark_relayed(self, message_ids: Iterable[str], at: datetime) -> None:
        for message_id in message_ids:
            message = self._state.outbox.get(message_id)
            if message is not None:
                self._state.outbox[message_id] = replace(message, relayed_at=at)

    async def purge_relayed(self, relayed_before: datetime, limit: int) -> int:
        purged = purge_some(self._state.outbox, self._relayed(relayed_before), limit)
        for message_id in [m for m in self._state.outbox_leases if m not in self._state.outbox]:
            del self._state.outbox_leases[message_id]
        return purged

    async def count_relayed(self, relayed_before: datetime) -> int:
        return len(self._relayed(relayed_before))

    def _relayed(self, before: datetime) -> list[str]:
        return [
            m.id for m in self._state.outbox.values() if m.relayed_at is not None and m.relayed_at < before
        ]


class MemoryWebhookRepository:
    def __init__(self, state: MemoryStore) -> None:
        self._state = state

    async def add_endpoint(self, endpoint: WebhookEndpoint) -> None:
        self._state.webhook_endpoints[endpoint.id] = endpoint

    async def get_endpoint(self, endpoint_id: str) -> WebhookEndpoint | None:
        return self._state.webhook_endpoints.get(endpoint_id)

    async def list_endpoints(self) -> list[WebhookEndpoint]:
        return sorted(self._state.webhook_endpoints.values(), key=lambda e: e.id)

    async def endpoint_page(self, *, after: str | None, limit: int) -> Page[WebhookEndpoint]:
        chosen = [e for e in await self.list_endpoints() if after is None or e.id > after][: limit + 1]
        if len(chosen) > limit:
            return Page(chosen[:limit], chosen[limit - 1].id)
        return Page(chosen, None)

    async def update_endpoint(self, endpoint: WebhookEndpoint) -> None:
        stored = self._state.webhook_endpoints.get(endpoint.id)
        if stored is not None:  # like SQL UPDATE: an unknown id changes nothing
            self._state.webhook_endpoints[endpoint.id] = replace(endpoint, created_at=stored.created_at)

    async def delete_endpoint(self, endpoint_id: str) -> None:
        self._state.webhook_endpoints.pop(endpoint_id, None)
        deliveries = self._state.webhook_deliveries
        for delivery_id in [d.id for d in deliveries.values() if d.endpoint_id == endpoint_id]:
            del deliveries[delivery_id]
        logs = self._state.webhook_logs
        for log_id in [log.id for log in logs.values() if log.endpoint_id == endpoint_id]:
            del logs[log_id]

    async def add_delivery(self, delivery: WebhookDelivery) -> bool:
        if any(
            d.endpoint_id == delivery.endpoint_id and d.event_id == delivery.event_id
            for d in self._state.webhook_deliveries.values()
        ):
            return False
        self._state.webhook_deliveries[delivery.id] = delivery
        return True

    async def get_delivery(self, delivery_id: str, *, for_update: bool = False) -> WebhookDelivery | None:
        return self._state.webhook_deliveries.get(delivery_id)

    async def update_delivery(self, delivery: WebhookDelivery) -> None:
        stored = self._state.webhook_deliveries.get(delivery.id)
        if stored is not None:  # only what changes between attempts, as the SQL adapter stores
            self._state.webhook_deliveries[delivery.id] = replace(
                stored,
                attempts=delivery.attempts,
                status=delivery.status,
                next_attempt_at=delivery.next_attempt_at,
                updated_at=delivery.updated_at,
            )

    async def due_deliveries(self, now: datetime, limit: int) -> list[WebhookDelivery]:
        due = [
            d
            for d in self._state.webhook_deliveries.values()
            if d.status == PENDING and d.next_attempt_at is not None and d.next_attempt_at <= now
        ]
        due.sort(key=lambda d: (d.next_attempt_at, d.id))
        return due[:limit]

    async def add_log(self, log: WebhookLog) -> None:
        self._state.webhook_logs[log.id] = log

    async def list_logs(self, *, event: str | None, before: str | None, limit: int) -> Page[WebhookLog]:
        chosen = sorted(
            (
                log
                for log in self._state.webhook_logs.values()
                if (event is None or log.event == event) and (before is None or log.id < before)
            ),
            key=lambda log: log.id,
            reverse=True,
        )[: limit + 1]
        if len(chosen) > limit:
            return Page(chosen[:limit], chosen[limit - 1].id if limit else None)
        return Page(chosen, None)

    async def purge_finished_deliveries(self, finished_before: datetime, limit: int) -> int:
        return purge_some(self._state.webhook_deliveries, self._finished(finished_before), limit)

    async def count_finished_deliveries(self, finished_before: datetime) -> int:
        return len(self._finished(finished_before))

    async def purge_logs(self, sent_before: datetime, limit: int) -> int:
        return purge_some(self._state.webhook_logs, self._old_logs(sent_before), limit)

    async def count_logs(self, sent_before: datetime) -> int:
        return len(self._old_logs(sent_before))

    def _finished(self, before: datetime) -> list[str]:
        return [
            d.id
            for d in self._state.webhook_deliveries.values()
            if d.status in FINISHED and d.updated_at < before
        ]

    def _old_logs(self, before: datetime) -> list[str]:
        deliveries = self._state.webhook_deliveries
        return [
            log.id
            for log in self._state.webhook_logs.values()
            if log.sent_at < before
            and not (log.delivery_id in deliveries and deliveries[log.delivery_id].status == PENDING)
        ]
