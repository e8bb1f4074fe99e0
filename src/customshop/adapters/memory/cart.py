"""The in-memory cart repositories: lines and details."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from customshop.domain.cart import CartDetails, CartLine

if TYPE_CHECKING:
    from customshop.adapters.memory.uow import MemoryStore


class MemoryCartRepository:
    def __init__(self, state: MemoryStore) -> None:
        self._state = state

    async def lines(self, guest: str, *, for_update: bool = False) -> list[CartLine]:
        mine = [line for line in self._state.cart_items.values() if line.guest == guest]
        return sorted(mine, key=lambda line: line.id)

    async def add(self, line: CartLine) -> None:
        self._state.cart_items[line.id] = line

    async def update(self, line: CartLine) -> None:
        current = self._state.cart_items.get(line.id)
        if current is not None:  # like SQL: only the quantity and its time change
            self._state.cart_items[line.id] = replace(
                current, quantity=line.quantity, updated_at=line.updated_at
            )

    async def reprice(self, line: CartLine) -> None:
        current = self._state.cart_items.get(line.id)
        if current is not None:
            self._state.cart_items[line.id] = replace(
                current,
                unit_price=line.unit_price,
                components=line.components,
                currency=line.currency,
                updated_at=line.updated_at,
            )

    async def delete(self, line_id: str) -> None:
        self._state.cart_items.pop(line_id, None)


class MemoryCartDetailsRepository:
    def __init__(self, state: MemoryStore) -> None:
        self._state = state

    async def get(self, guest: str) -> CartDetails | None:
        return self._state.cart_details.get(guest)

    async def save(self, details: CartDetails) -> None:
        self._state.cart_details[details.guest] = details
