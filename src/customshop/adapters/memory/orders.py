"""In-memory orders, payments, stock levels, idempotency keys and webhook receipts."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from customshop.application.ports import Page
from customshop.domain.errors import Conflict
from customshop.domain.idempotency import IdempotencyRecord
from customshop.domain.inventory import StockInconsistent, StockKey, StockLevel, reserve_all
from customshop.domain.orders import Order, OrderStatus, PrintStatus, StockHold
from customshop.domain.payments import Payment
from customshop.domain.prints import PrintJob

if TYPE_CHECKING:
    from customshop.adapters.memory.uow import MemoryStore


def _detached(order: Order, prints: Mapping[str, PrintJob] | None = None) -> Order:
    """A copy the caller may change without touching the store (like a row read from a database),
    its lines showing their print files as ``prints`` has them."""
    clone = copy.copy(order)
    clone.events = []
    if prints is not None:
        clone.lines = tuple(
            replace(line, print_file=prints[line.id].file) if line.id in prints else line
            for line in order.lines
        )
    return clone


class MemoryOrderRepository:
    def __init__(self, state: MemoryStore) -> None:
        self._state = state
        #: The orders stored by ``add`` and ``update``, whose events the unit of work takes at commit.
        self.seen: list[Order] = []

    async def add(self, order: Order) -> None:
        self._state.orders[order.id] = _detached(order)
        for line in order.lines:
            self._state.prints[line.id] = PrintJob(line.id, order.id, line.print_file, 0, None)
        self.seen.append(order)

    async def get(self, order_id: str, *, for_update: bool = False) -> Order | None:
        order = self._state.orders.get(order_id)
        return None if order is None else _detached(order, self._state.prints)

    async def lock(self, order_id: str) -> OrderStatus | None:
        order = self._state.orders.get(order_id)
        return None if order is None else order.status

    async def update(self, order: Order, *, if_status: OrderStatus | None = None) -> bool:
        stored = self._state.orders.get(order.id)
        # Like SQL UPDATE: an unknown id, or another status than ``if_status``, changes nothing.
        if stored is None or (if_status is not None and stored.status is not if_status):
            return False
        self._state.orders[order.id] = _detached(order)
        self.seen.append(order)
        return True

    async def delete(self, order_id: str) -> None:
        self._state.orders.pop(order_id, None)
        self.seen = [o for o in self.seen if o.id != order_id]
        for payment in [p for p in self._state.payments.values() if p.order_id == order_id]:
            del self._state.payments[payment.id]

    async def expired(self, now: datetime, limit: int) -> list[str]:
        due = [
            o
            for o in self._state.orders.values()
            if o.status is OrderStatus.CREATED and o.reserved_until is not None and o.reserved_until < now
        ]
        return [o.id for o in sorted(due, key=lambda o: o.id)[:limit]]

    async def list(
        self,
        *,
        status: OrderStatus | None,
        created_from: datetime | None,
        created_to: datetime | None,
        before: str | None,
        limit: int,
    ) -> Page[Order]:
        chosen = sorted(
            (
                o
                for o in self._state.orders.values()
                if (status is None or o.status is status)
                and (created_from is None or o.created_at >= created_from)
                and (created_to is None or o.created_at < created_to)
                and (before is None or o.id < before)
            ),
            key=lambda o: o.id,
            reverse=True,
        )[: limit + 1]
        prints = self._state.prints
        if len(chosen) > limit:
            return Page([_detached(o, prints) for o in chosen[:limit]], chosen[limit - 1].id)
        return Page([_detached(o, prints) for o in chosen], None)


class MemoryPrintRepository:
    def __init__(self, state: MemoryStore) -> None:
        self._state = state

    async def due(self, now: datetime, lease_until: datetime, limit: int) -> list[PrintJob]:
        due = sorted(
            (
                job
                for job in self._state.prints.values()
                if job.file.status is PrintStatus.PENDING and job.due_at is not None and job.due_at <= now
            ),
            key=lambda job: (job.due_at or now, job.line_id),
        )[:limit]
        for job in due:
            self._state.prints[job.line_id] = replace(job, due_at=lease_until)
        return due

    async def get(self, line_id: str, *, for_update: bool = False) -> PrintJob | None:
        return self._state.prints.get(line_id)

    async def find(self, file_id: str) -> PrintJob | None:
        return next((job for job in self._state.prints.values() if job.file.id == file_id), None)

    async def update(self, *jobs: PrintJob) -> None:
        for job in jobs:
            if job.line_id in self._state.prints:
                self._state.prints[job.line_id] = job

    async def for_order(self, order_id: str) -> list[PrintJob]:
        order = self._state.orders.get(order_id)
        if order is None:
            return []
        return [self._state.prints[line.id] for line in order.lines if line.id in self._state.prints]


class MemoryPaymentRepository:
    """``add`` and ``update`` raise ``Conflict`` when another payment of the provider has the same
    reference (like the SQL unique constraint)."""

    def __init__(self, state: MemoryStore) -> None:
        self._state = state

    def _check_reference(self, payment: Payment) -> None:
        if payment.reference is not None and any(
            p.provider == payment.provider and p.reference == payment.reference and p.id != payment.id
            for p in self._state.payments.values()
        ):
            raise Conflict(
                f"another {payment.provider} payment already has the reference {payment.reference!r}"
            )

    async def add(self, payment: Payment) -> None:
        self._check_reference(payment)
        self._state.payments[payment.id] = payment

    async def get(self, payment_id: str) -> Payment | None:
        return self._state.payments.get(payment_id)

    async def by_reference(self, provider: str, reference: str) -> Payment | None:
        return next(
            (p for p in self._state.payments.values() if p.provider == provider and p.reference == reference),
            None,
        )

    async def update(self, payment: Payment) -> None:
        if payment.id in self._state.payments:
            self._check_reference(payment)
            self._state.payments[payment.id] = payment


class MemoryInventoryRepository:
    def __init__(self, state: MemoryStore) -> None:
        self._state = state

    async def get(self, key: StockKey, *, for_update: bool = False) -> StockLevel | None:
        return self._state.stock.get(key)

    async def save(self, level: StockLevel) -> None:
        self._state.stock[level.key] = level

    async def list(self, *, product_id: str | None, after: StockKey | None, limit: int) -> list[StockLevel]:
        levels = sorted(
            (
                level
                for key, level in self._state.stock.items()
                if (product_id is None or key.product_id == product_id)
                and (after is None or key.sort_key > after.sort_key)
            ),
            key=lambda level: level.key.sort_key,
        )
        return levels[:limit]

    async def holds_for(self, wanted: Mapping[StockKey, int]) -> tuple[StockHold, ...]:
        return tuple(StockHold(key, units) for key, units in wanted.items() if key in self._state.stock)

    async def reserve_holds(self, holds: Iterable[StockHold], at: datetime) -> None:
        wanted = {hold.key: hold.units for hold in holds}
        missing = [key for key in wanted if key not in self._state.stock]
        if missing:
            raise StockInconsistent(f"{missing[0].label}: the stock level is gone")
        levels = {key: self._state.stock[key] for key in wanted}
        self._state.stock.update(reserve_all(levels, wanted, at))

    async def release(self, holds: Iterable[StockHold], at: datetime) -> None:
        for hold in holds:
            self._state.stock[hold.key] = self._level(hold).release(hold.units, at)

    async def commit(self, holds: Iterable[StockHold], at: datetime) -> None:
        for hold in holds:
            self._state.stock[hold.key] = self._level(hold).commit(hold.units, at)

    async def restock(self, holds: Iterable[StockHold], at: datetime) -> None:
        for hold in holds:
            self._state.stock[hold.key] = self._level(hold).restock(hold.units, at)

    def _level(self, hold: StockHold) -> StockLevel:
        level = self._state.stock.get(hold.key)
        if level is None:
            raise StockInconsistent(f"{hold.key.label}: cannot move {hold.units} units, no stock level")
        return level


class MemoryIdempotencyRepository:
    def __init__(self, state: MemoryStore) -> None:
        self._state = state

    async def claim(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        existing = self._state.idempotency.get((record.scope, record.key))
        if existing is None:
            self._state.idempotency[(record.scope, record.key)] = record
        return existing

    async def get(self, scope: str, key: str) -> IdempotencyRecord | None:
        return self._state.idempotency.get((scope, key))

    async def take_over(self, scope: str, key: str, stale_before: datetime, at: datetime) -> bool:
        record = self._state.idempotency.get((scope, key))
        if record is None or record.result is not None or record.updated_at >= stale_before:
            return False
        self._state.idempotency[(scope, key)] = replace(record, updated_at=at)
        return True

    async def update(self, record: IdempotencyRecord) -> None:
        if (record.scope, record.key) in self._state.idempotency:
            self._state.idempotency[(record.scope, record.key)] = record

    async def delete(self, scope: str, key: str) -> None:
        self._state.idempotency.pop((scope, key), None)

    async def purge(self, created_before: datetime, limit: int | None = None) -> int:
        old = [k for k, r in self._state.idempotency.items() if r.created_at < created_before]
        for k in old[:limit]:
            del self._state.idempotency[k]
        return len(old[:limit])

    async def count_purgeable(self, created_before: datetime) -> int:
        return sum(1 for r in self._state.idempotency.values() if r.created_at < created_before)


class MemoryWebhookReceipts:
    def __init__(self, state: MemoryStore) -> None:
        self._state = state

    async def first_time(self, provider: str, event_id: str, at: datetime) -> bool:
        if (provider, event_id) in self._state.receipts:
            return False
        self._state.receipts[(provider, event_id)] = at
        return True

    async def purge(self, received_before: datetime) -> int:
        old = [key for key, at in self._state.receipts.items() if at < received_before]
        for key in old:
            del self._state.receipts[key]
        return len(old)
