"""Stock levels as operators see and set them (``PUT /inventory``, ``GET /inventory``)."""

from __future__ import annotations

from datetime import datetime

from customshop.application.ports import Clock, UnitOfWork, UnitOfWorkFactory
from customshop.domain.errors import InvalidInput, Violation
from customshop.domain.inventory import StockKey, StockLevel, check_on_hand, new_level
from customshop.domain.orders import StockMove, StockMovement


async def apply_stock(uow: UnitOfWork, movement: StockMovement | None, at: datetime) -> None:
    """Carry out the stock movement an order's change returned (nothing for None), in ``uow``'s
    transaction: the one that stores the order."""
    if movement is None:
        return
    if movement.move is StockMove.RELEASE:
        await uow.inventory.release(movement.holds, at)
    elif movement.move is StockMove.COMMIT:
        await uow.inventory.commit(movement.holds, at)
    else:
        await uow.inventory.restock(movement.holds, at)


class Inventory:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def set_level(self, product_id: str, option_code: str | None, on_hand: int) -> StockLevel:
        """Set how many units are on the shelf, creating the level if the product (or option code)
        had none: from then on it is no longer unlimited.

        Raises:
            InvalidInput: unknown product (``product_id``), an option code none of the product's option
                sets offers (``option_code``), a negative or huge count (``on_hand``).
            StockBelowReserved: fewer than unpaid orders hold.
        """
        problems: list[Violation] = []
        try:
            check_on_hand(on_hand)
        except InvalidInput as exc:
            problems.extend(exc.violations)
        now = self._clock.now()
        async with self._uow() as uow:
            product = await uow.products.get(product_id)
            if product is None:
                problems.append(Violation("product_id", "unknown", f"there is no product {product_id!r}"))
            elif option_code is not None and not await self._offers(uow, product_id, option_code):
                problems.append(
                    Violation(
                        "option_code", "unknown", f"no option set of this product offers {option_code!r}"
                    )
                )
            if problems:
                raise InvalidInput(problems, "The stock level is invalid.")
            key = StockKey(product_id, option_code)
            current = await uow.inventory.get(key, for_update=True)
            level = current.set_on_hand(on_hand, now) if current else new_level(key, on_hand, now)
            await uow.inventory.save(level)
            await uow.commit()
        return level

    async def list(
        self, product_id: str | None, after: StockKey | None, limit: int
    ) -> tuple[list[StockLevel], StockKey | None]:
        """Levels in key order; the second value is the key to continue after, or None at the end."""
        async with self._uow(read_only=True) as uow:
            levels = await uow.inventory.list(product_id=product_id, after=after, limit=limit + 1)
        if len(levels) > limit:
            return levels[:limit], levels[limit - 1].key
        return levels, None

    @staticmethod
    async def _offers(uow: UnitOfWork, product_id: str, code: str) -> bool:
        after: str | None = None
        while True:
            page = await uow.option_sets.list(product_id=product_id, after=after, limit=200)
            if any(option_set.option(code) is not None for option_set in page.items):
                return True
            if page.next_after is None:
                return False
            after = page.next_after
