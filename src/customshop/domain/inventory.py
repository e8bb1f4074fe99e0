"""Stock: levels per product and per option code, and the reservations checkout takes on them.

A product (or one of its option codes: a size ``L``, a component of a gift box) with no stock level
is made to order and unlimited. A level counts the units on the shelf (``on_hand``), how many of
them unpaid orders hold (``reserved``) and how many were sold since it was set (``sold``); what a new
order may take is ``available = on_hand - reserved``. Checkout reserves, payment commits (the units
leave the shelf), cancellation or expiry releases, and a refund before production restocks.

Every movement keeps ``on_hand + sold`` constant (the units ever stocked), so stock is conserved:
``stocked = available + reserved + sold``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from customshop.domain.errors import Conflict, InvalidInput, Violation

#: Largest level accepted.
ON_HAND_MAX = 10**9


@dataclass(frozen=True, slots=True)
class StockKey:
    """What a level counts: a product, or one option code of it (``option_code`` None: the product)."""

    product_id: str
    option_code: str | None = None

    @property
    def sort_key(self) -> tuple[str, str]:
        """Keys sort by product, the product's own level first, then by option code."""
        return (self.product_id, self.option_code or "")

    @property
    def label(self) -> str:
        return self.product_id if self.option_code is None else f"{self.product_id}/{self.option_code}"


@dataclass(frozen=True, slots=True)
class Shortage:
    key: StockKey
    wanted: int
    available: int


class OutOfStock(Conflict):
    """Some units a checkout needs are not available; ``shortages`` names each short level."""

    def __init__(self, shortages: Iterable[Shortage], violations: Iterable[Violation] = ()) -> None:
        self.shortages = tuple(shortages)
        described = ", ".join(
            f"{s.key.label} (wanted {s.wanted}, available {s.available})" for s in self.shortages
        )
        super().__init__(f"not enough stock: {described}", violations)


class StockBelowReserved(Conflict):
    """A level cannot be set below the units unpaid orders hold."""


class StockInconsistent(Conflict):
    """A movement would take more units than a level holds (a bug or a concurrent edit)."""


@dataclass(frozen=True, slots=True)
class StockLevel:
    key: StockKey
    on_hand: int
    reserved: int
    sold: int
    updated_at: datetime

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    def set_on_hand(self, on_hand: int, at: datetime) -> StockLevel:
        """The level after a count. Raises ``StockBelowReserved`` below what is reserved."""
        check_on_hand(on_hand)
        if on_hand < self.reserved:
            raise StockBelowReserved(
                f"{self.reserved} units of {self.key.label} are reserved by unpaid orders; "
                f"on_hand cannot go below that"
            )
        return replace(self, on_hand=on_hand, updated_at=at)

    def reserve(self, units: int, at: datetime) -> StockLevel:
        if units > self.available:
            raise OutOfStock([Shortage(self.key, units, self.available)])
        return replace(self, reserved=self.reserved + units, updated_at=at)

    def release(self, units: int, at: datetime) -> StockLevel:
        self._need(self.reserved, units, "reserved")
        return replace(self, reserved=self.reserved - units, updated_at=at)

    def commit(self, units: int, at: datetime) -> StockLevel:
        """Reserved units are paid for: they leave the shelf."""
        self._need(self.reserved, units, "reserved")
        return replace(
            self,
            on_hand=self.on_hand - units,
            reserved=self.reserved - units,
            sold=self.sold + units,
            updated_at=at,
        )

    def restock(self, units: int, at: datetime) -> StockLevel:
        """Sold units come back (an order refunded before production)."""
        self._need(self.sold, units, "sold")
        return replace(self, on_hand=self.on_hand + units, sold=self.sold - units, updated_at=at)

    def _need(self, have: int, units: int, what: str) -> None:
        if units < 0 or units > have:
            raise StockInconsistent(f"{self.key.label}: cannot move {units} units, {have} are {what}")


def new_level(key: StockKey, on_hand: int, at: datetime) -> StockLevel:
    check_on_hand(on_hand)
    return StockLevel(key, on_hand, 0, 0, at)


def check_on_hand(on_hand: object) -> int:
    if type(on_hand) is not int or not 0 <= on_hand <= ON_HAND_MAX:
        raise InvalidInput(
            [Violation("on_hand", "out_of_range", f"on_hand is a whole number from 0 to {ON_HAND_MAX}")]
        )
    return on_hand


def demand(lines: Iterable[tuple[str, Iterable[str], int]]) -> dict[StockKey, int]:
    """The units a set of order lines draws on, per level that could count them.

    Each line ``(product_id, option_codes, quantity)`` needs ``quantity`` of its product and of each
    chosen option code, as many times as the design chose it (two zones may offer the same set);
    two lines drawing on the same item are added together, so a cart is checked as a whole. Keys
    come out sorted: taking row locks in this one order keeps concurrent checkouts from deadlocking.
    """
    needed: dict[StockKey, int] = {}
    for product_id, codes, quantity in lines:
        for key in (StockKey(product_id), *(StockKey(product_id, code) for code in codes)):
            needed[key] = needed.get(key, 0) + quantity
    return dict(sorted(needed.items(), key=lambda item: item[0].sort_key))


def reserve_all(
    levels: Mapping[StockKey, StockLevel], wanted: Mapping[StockKey, int], at: datetime
) -> dict[StockKey, StockLevel]:
    """The levels after reserving ``wanted``, all or nothing. Keys without a level are unlimited and
    left out of the result.

    Raises:
        OutOfStock: naming every short level; nothing is reserved then.
    """
    shortages = [
        Shortage(key, units, levels[key].available)
        for key, units in wanted.items()
        if key in levels and units > levels[key].available
    ]
    if shortages:
        raise OutOfStock(shortages)
    return {key: levels[key].reserve(units, at) for key, units in wanted.items() if key in levels}
