"""The cart: configured lines of a guest, each with a snapshot of what was carted.

A line keeps the template definition, the checked design and the price breakdown as they were when
the guest carted it, so later changes to the template, its option sets or the product's price never
alter a carted line silently: checkout re-prices every line against the current catalog and reports
the differences instead.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from customshop.domain.errors import Conflict, InvalidInput, NotFound, Violation
from customshop.domain.orders import ShippingAddress, address_field_problems
from customshop.domain.pricing import PriceComponent, line_total
from customshop.domain.regions import Destination

QUANTITY_MIN = 1
QUANTITY_MAX = 99
LINES_MAX = 50


class CartItemNotFound(NotFound):
    pass


class CartFull(Conflict):
    pass


def check_quantity(quantity: object, field: str = "quantity") -> int:
    """``quantity`` when it is a whole number from 1 to 99.

    Raises:
        InvalidInput: anything else.
    """
    if type(quantity) is not int or not QUANTITY_MIN <= quantity <= QUANTITY_MAX:
        raise InvalidInput(
            [
                Violation(
                    field, "out_of_range", f"quantity is a whole number from {QUANTITY_MIN} to {QUANTITY_MAX}"
                )
            ]
        )
    return quantity


def design_key(product_id: str, template_id: str, options: dict[str, Any]) -> str:
    """Identifies a design: two lines with the same key are the same thing, carted twice."""
    canonical = json.dumps([product_id, template_id, options], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class CartLine:
    """One configured product in a guest's cart, priced when it was carted."""

    id: str
    guest: str
    product_id: str
    product_name: str
    template_id: str
    template_version: int
    template_snapshot: dict[str, Any]
    options: dict[str, Any]
    components: tuple[PriceComponent, ...]
    currency: str
    unit_price: int
    quantity: int
    design_key: str
    created_at: datetime
    updated_at: datetime

    def __post_init__(self) -> None:
        check_quantity(self.quantity)

    @property
    def line_total(self) -> int:
        return line_total(self.unit_price, self.quantity)

    def with_quantity(self, quantity: int, now: datetime) -> CartLine:
        """This line with another quantity.

        Raises:
            InvalidInput: the quantity is not from 1 to 99.
        """
        return replace(self, quantity=check_quantity(quantity), updated_at=now)


def merge_or_append(lines: list[CartLine], new: CartLine, now: datetime) -> tuple[CartLine, bool]:
    """Where ``new`` goes in a cart holding ``lines``: onto an identical line (same design, same
    price), adding its quantity, or as a new line. Returns the line to store and whether it is new.

    Raises:
        InvalidInput: the merged quantity exceeds 99 (field ``quantity``), or the line's currency is
            not the cart's (field ``product_id``: one currency per cart).
        CartFull: a new line would exceed ``LINES_MAX`` lines.
    """
    if lines and lines[0].currency != new.currency:
        raise InvalidInput(
            [
                Violation(
                    "product_id",
                    "currency_mismatch",
                    f"the cart is in {lines[0].currency}; this product is sold in {new.currency}",
                )
            ],
            "A cart holds one currency.",
        )
    for line in lines:
        if line.design_key == new.design_key and line.unit_price == new.unit_price:
            if line.quantity + new.quantity > QUANTITY_MAX:
                raise InvalidInput(
                    [Violation("quantity", "out_of_range", f"at most {QUANTITY_MAX} of one design per cart")]
                )
            return line.with_quantity(line.quantity + new.quantity, now), False
    if len(lines) >= LINES_MAX:
        raise CartFull(f"a cart holds at most {LINES_MAX} lines")
    return new, True


@dataclass(frozen=True, slots=True)
class CartAddress:
    """Where the guest says its cart goes: at least the country (ISO 3166-1 alpha-2), with the
    subdivision (the ISO 3166-2 part after the dash: ``"CA"`` for US-CA) and postal code that tax
    rates may depend on, and the rest of the address when the guest gave it."""

    country: str
    subdivision: str | None = None
    postal_code: str | None = None
    name: str | None = None
    line1: str | None = None
    line2: str | None = None
    city: str | None = None

    @property
    def destination(self) -> Destination:
        """What pricing needs of the address."""
        return Destination(self.country, self.subdivision, self.postal_code)

    @classmethod
    def of(cls, address: ShippingAddress) -> CartAddress:
        """A full shipping address, as a cart keeps it."""
        return cls(
            country=address.country,
            subdivision=address.subdivision,
            postal_code=address.postal_code,
            name=address.name,
            line1=address.line1,
            line2=address.line2,
            city=address.city,
        )


def cart_address_problems(address: CartAddress, path: str = "shipping_address") -> list[Violation]:
    """Every problem with a cart's address, each naming its field (``shipping_address.country``...):
    the country is required; every other field given is checked as a shipping address's is."""
    problems: list[Violation] = []
    for name in ("name", "line1", "line2", "city", "postal_code", "country", "subdivision"):
        value = getattr(address, name)
        if value is not None:
            problems += address_field_problems(name, value, f"{path}.{name}")
    return problems


@dataclass(frozen=True, slots=True)
class CartDetails:
    """What a guest told its cart besides its lines: where it goes (``address``), how
    (``shipping_method_id``; None: the cheapest), the guest's ``email``, and the one promotion
    code it applied (stored as :func:`customshop.domain.promotions.normalize_code` gives it).
    A guest without details has none of them."""

    guest: str
    updated_at: datetime
    email: str | None = None
    address: CartAddress | None = None
    shipping_method_id: str | None = None
    promotion_code: str | None = None
