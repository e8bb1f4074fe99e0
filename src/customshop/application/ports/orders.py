"""Carts, orders, print files, payments, stock, idempotency keys and provider receipts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Protocol

from customshop.application.ports.basics import Page
from customshop.domain.cart import CartDetails, CartLine
from customshop.domain.idempotency import IdempotencyRecord
from customshop.domain.inventory import StockKey, StockLevel
from customshop.domain.orders import Order, OrderStatus, StockHold
from customshop.domain.payments import Payment
from customshop.domain.prints import PrintJob


class CartRepository(Protocol):
    """Cart lines, by guest. Never commits."""

    async def lines(self, guest: str, *, for_update: bool = False) -> list[CartLine]:
        """The guest's lines, oldest first; ``for_update`` locks them until the transaction ends
        (PostgreSQL), so two checkouts of one cart run one after the other."""
        ...

    async def add(self, line: CartLine) -> None: ...

    async def update(self, line: CartLine) -> None:
        """Store the line's quantity and ``updated_at``."""
        ...

    async def reprice(self, line: CartLine) -> None:
        """Store the line's price: ``unit_price``, ``components``, ``currency``, ``updated_at``."""
        ...

    async def delete(self, line_id: str) -> None: ...


class CartDetailsRepository(Protocol):
    """What guests told their carts besides the lines (address, shipping method, email, promotion
    code), one record per guest. Never commits."""

    async def get(self, guest: str) -> CartDetails | None: ...

    async def save(self, details: CartDetails) -> None:
        """Store the guest's details, replacing any it had (however many writers race)."""
        ...


class OrderRepository(Protocol):
    """Orders with their lines. Never commits."""

    async def add(self, order: Order) -> None: ...

    async def get(self, order_id: str, *, for_update: bool = False) -> Order | None:
        """The order; ``for_update`` locks its row until the transaction ends (PostgreSQL), so
        concurrent changes to one order are applied one after the other."""
        ...

    async def lock(self, order_id: str) -> OrderStatus | None:
        """Lock the order's row until the transaction ends (PostgreSQL) and return its status, or
        None for an unknown order: cheaper than ``get`` when the caller holds the order already."""
        ...

    async def update(self, order: Order, *, if_status: OrderStatus | None = None) -> bool:
        """Store what may change after placing: status, timeline, token hash, payment and stock
        fields, tracking URL, times (guest, contact, lines and totals never change). With
        ``if_status``, only while the stored order still has that status (one conditional
        statement, which also locks the row until the transaction ends). Returns whether the order
        was stored (False for an unknown order, or one whose status moved)."""
        ...

    async def delete(self, order_id: str) -> None:
        """Remove an order that was never placed (its payment could not start), with its payments."""
        ...

    async def expired(self, now: datetime, limit: int) -> list[str]:
        """Ids of ``created`` orders whose reservation ended before ``now``, oldest first."""
        ...

    async def list(
        self,
        *,
        status: OrderStatus | None,
        created_from: datetime | None,
        created_to: datetime | None,
        before: str | None,
        limit: int,
    ) -> Page[Order]:
        """Orders newest first (by id), created in ``[created_from, created_to)``, with an id below
        ``before``."""
        ...


class PrintRepository(Protocol):
    """Print files of order lines (stored with the lines), written here only (``update``; ``due``
    leases what it hands out): ``OrderRepository.update`` never writes them. Never commits."""

    async def due(self, now: datetime, lease_until: datetime, limit: int) -> list[PrintJob]:
        """Pending print files due by ``now``, the longest waiting first, each leased (``due_at``
        set to ``lease_until``) so that no other caller takes it; rows another transaction holds
        are skipped (PostgreSQL)."""
        ...

    async def get(self, line_id: str, *, for_update: bool = False) -> PrintJob | None:
        """The line's print file; ``for_update`` locks the line until the transaction ends."""
        ...

    async def find(self, file_id: str) -> PrintJob | None:
        """The print file of one rendering, by its id."""
        ...

    async def update(self, *jobs: PrintJob) -> None:
        """Store each line's print file: status, id, error, attempts and ``due_at`` (lines that do not
        exist are left out). The one method that writes a print file once the order's lines exist:
        scheduling, every rendering attempt and its outcome go through it."""
        ...

    async def for_order(self, order_id: str) -> list[PrintJob]:
        """The print files of the order's lines, in line order."""
        ...


class PaymentRepository(Protocol):
    """Payments. Never commits. A provider's reference belongs to one payment: ``add`` and
    ``update`` raise ``Conflict`` when another payment of the provider holds it."""

    async def add(self, payment: Payment) -> None: ...

    async def get(self, payment_id: str) -> Payment | None: ...

    async def by_reference(self, provider: str, reference: str) -> Payment | None: ...

    async def update(self, payment: Payment) -> None: ...


class InventoryRepository(Protocol):
    """Stock levels. Never commits. ``reserve_holds`` and the other movements are atomic per call and
    safe against concurrent callers: on PostgreSQL they are conditional updates taken in key order.
    """

    async def get(self, key: StockKey, *, for_update: bool = False) -> StockLevel | None:
        """The level; ``for_update`` locks it until the transaction ends (PostgreSQL), so an
        operator's count never overwrites a reservation made meanwhile."""
        ...

    async def save(self, level: StockLevel) -> None:
        """Create or replace a level (an operator's count)."""
        ...

    async def list(self, *, product_id: str | None, after: StockKey | None, limit: int) -> list[StockLevel]:
        """Levels ordered by key, those after ``after``, at most ``limit``."""
        ...

    async def holds_for(self, wanted: Mapping[StockKey, int]) -> tuple[StockHold, ...]:
        """The part of ``wanted`` that levels count (the rest is unlimited), in key order. Nothing
        is locked: a level created after this call counts only for later orders."""
        ...

    async def reserve_holds(self, holds: Iterable[StockHold], at: datetime) -> None:
        """Reserve ``holds`` (from ``holds_for``) all or nothing, taking each level's row lock in
        key order until the transaction ends: call it last, just before committing.

        Raises:
            OutOfStock: naming every short level; the caller must roll back.
        """
        ...

    async def release(self, holds: Iterable[StockHold], at: datetime) -> None:
        """Reserved units go back to ``available``."""
        ...

    async def commit(self, holds: Iterable[StockHold], at: datetime) -> None:
        """Reserved units are sold: they leave ``on_hand`` and ``reserved``."""
        ...

    async def restock(self, holds: Iterable[StockHold], at: datetime) -> None:
        """Sold units come back on the shelf."""
        ...


class IdempotencyRepository(Protocol):
    """Idempotency keys. Never commits (a claim must be committed before the work it guards)."""

    async def claim(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        """Store ``record`` unless its key is taken; returns the existing record when it is."""
        ...

    async def get(self, scope: str, key: str) -> IdempotencyRecord | None: ...

    async def take_over(self, scope: str, key: str, stale_before: datetime, at: datetime) -> bool:
        """Take over an in-progress record last touched before ``stale_before`` (its process died):
        true when this caller now holds it."""
        ...

    async def update(self, record: IdempotencyRecord) -> None: ...

    async def delete(self, scope: str, key: str) -> None: ...

    async def purge(self, created_before: datetime, limit: int | None = None) -> int:
        """Forget keys created before the cut-off, at most ``limit`` of them (all when ``None``);
        returns how many."""
        ...

    async def count_purgeable(self, created_before: datetime) -> int:
        """How many keys ``purge`` would forget."""
        ...


class WebhookReceipts(Protocol):
    """Which provider events were handled, so a redelivered event is a no-op. Never commits."""

    async def first_time(self, provider: str, event_id: str, at: datetime) -> bool:
        """Record the event; false when it was recorded before (by this or a concurrent transaction
        that committed)."""
        ...

    async def purge(self, received_before: datetime) -> int:
        """Forget events received before the cut-off (providers stop redelivering after days);
        returns how many."""
        ...
