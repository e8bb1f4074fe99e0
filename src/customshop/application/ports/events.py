"""The outbox, partner webhooks and emails: what is stored until it is sent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Protocol

from customshop.application.ports.basics import Page
from customshop.domain.emails import EmailDelivery
from customshop.domain.events import OrderEvent
from customshop.domain.outbox import OutboxMessage
from customshop.domain.webhooks import WebhookDelivery, WebhookEndpoint, WebhookLog


class Outbox(Protocol):
    """Events waiting to be handed to the job queue. Never commits: events are added in the
    transaction of the change that caused them (the unit of work does it at commit)."""

    async def add(self, events: Iterable[OrderEvent]) -> None: ...

    async def get(self, message_id: str) -> OutboxMessage | None: ...

    async def pending(self, limit: int, now: datetime) -> list[OutboxMessage]:
        """Messages not yet dispatched and not leased at ``now``, oldest first, locked until the
        transaction ends; concurrent relays skip each other's (``FOR UPDATE SKIP LOCKED`` on
        PostgreSQL)."""
        ...

    async def lease(self, message_ids: Iterable[str], until: datetime) -> None:
        """Keep these messages from ``pending`` until ``until``: their dispatch is under way."""
        ...

    async def mark_relayed(self, message_ids: Iterable[str], at: datetime) -> None:
        """These messages were dispatched: they are never pending again."""
        ...

    async def purge_relayed(self, relayed_before: datetime, limit: int) -> int:
        """Delete up to ``limit`` messages dispatched before the cut-off (never a pending one), oldest
        first; returns how many. Rows another transaction holds are skipped, not waited for."""
        ...

    async def count_relayed(self, relayed_before: datetime) -> int:
        """How many messages ``purge_relayed`` would delete, all batches together."""
        ...


#: Checks a partner's endpoint URL before it is registered; raises ``ValueError`` (with the reason)
#: for one that may not be called (malformed, or resolving to a private address).
UrlCheck = Callable[[str], Awaitable[None]]


class WebhookRepository(Protocol):
    """Endpoints, deliveries and their logs. Never commits."""

    async def add_endpoint(self, endpoint: WebhookEndpoint) -> None: ...

    async def get_endpoint(self, endpoint_id: str) -> WebhookEndpoint | None: ...

    async def list_endpoints(self) -> list[WebhookEndpoint]:
        """Every endpoint, oldest first (active or disabled; deleted ones are gone)."""
        ...

    async def endpoint_page(self, *, after: str | None, limit: int) -> Page[WebhookEndpoint]:
        """Up to ``limit`` endpoints with ids after ``after``, oldest first, as ``list_endpoints``."""
        ...

    async def update_endpoint(self, endpoint: WebhookEndpoint) -> None: ...

    async def delete_endpoint(self, endpoint_id: str) -> None:
        """Remove the endpoint with its deliveries and logs."""
        ...

    async def add_delivery(self, delivery: WebhookDelivery) -> bool:
        """Store the delivery unless the endpoint already has one for this event; true if stored."""
        ...

    async def get_delivery(self, delivery_id: str, *, for_update: bool = False) -> WebhookDelivery | None:
        """The delivery; ``for_update`` locks it until the transaction ends (PostgreSQL), so two
        workers never make the same attempt, nor record an attempt that is not the current one."""
        ...

    async def update_delivery(self, delivery: WebhookDelivery) -> None: ...

    async def due_deliveries(self, now: datetime, limit: int) -> list[WebhookDelivery]:
        """Pending deliveries whose next attempt is due, oldest first, locked until the transaction
        ends; concurrent callers skip each other's (``FOR UPDATE SKIP LOCKED`` on PostgreSQL)."""
        ...

    async def add_log(self, log: WebhookLog) -> None: ...

    async def list_logs(self, *, event: str | None, before: str | None, limit: int) -> Page[WebhookLog]:
        """Attempts newest first (by id), of one event type when ``event`` is given."""
        ...

    async def purge_finished_deliveries(self, finished_before: datetime, limit: int) -> int:
        """Delete up to ``limit`` deliveries that ended (``delivered`` or ``failed``) before the
        cut-off, by ``updated_at``; a pending one never. Returns how many; rows another transaction
        holds are skipped."""
        ...

    async def count_finished_deliveries(self, finished_before: datetime) -> int:
        """How many deliveries ``purge_finished_deliveries`` would delete, all batches together."""
        ...

    async def purge_logs(self, sent_before: datetime, limit: int) -> int:
        """Delete up to ``limit`` attempt logs sent before the cut-off, except those of a delivery
        still pending; returns how many."""
        ...

    async def count_logs(self, sent_before: datetime) -> int:
        """How many logs ``purge_logs`` would delete, all batches together."""
        ...


class EmailRepository(Protocol):
    """The emails owed, with their progress. Never commits."""

    async def add(self, email: EmailDelivery) -> bool:
        """Store the email unless one of its kind exists for the event; true if stored."""
        ...

    async def get(self, email_id: str, *, for_update: bool = False) -> EmailDelivery | None:
        """The email; ``for_update`` locks it until the transaction ends (PostgreSQL), so two
        workers never make the same attempt."""
        ...

    async def update(self, email: EmailDelivery) -> None:
        """Store what changes between attempts: attempts, status, next attempt, error, ``updated_at``."""
        ...

    async def due(self, now: datetime, limit: int) -> list[EmailDelivery]:
        """Pending emails whose next attempt is due, oldest first, locked until the transaction ends;
        concurrent callers skip each other's (``FOR UPDATE SKIP LOCKED`` on PostgreSQL)."""
        ...

    async def purge_finished(self, finished_before: datetime, limit: int) -> int:
        """Delete up to ``limit`` emails that ended (``sent`` or ``failed``) before the cut-off, by
        ``updated_at``; a pending one never. Returns how many; rows another transaction holds are
        skipped."""
        ...

    async def count_finished(self, finished_before: datetime) -> int:
        """How many emails ``purge_finished`` would delete, all batches together."""
        ...
