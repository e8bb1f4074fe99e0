"""Prices: of a design, ``unit_price = base_price + Σ price_delta`` of the filled priced zones and of
every chosen option; of a cart line, ``line_total = unit_price × quantity``; of a cart,
``total = subtotal + tax + shipping``. Everything in integer minor units of one currency; the only
rounding (of tax) is :func:`customshop.domain.money.round_minor`, through ``Money.apply_rate_bps``.

A zone counts as filled when the design holds a value for it: non-empty text, an image, a chosen
colour (a colour zone's default, applied without being chosen, costs nothing), chosen options. A
unit price never goes below zero, however large the discounts of negative deltas.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from customshop.domain.catalog import OptionSet, Product
from customshop.domain.errors import InvalidMoney
from customshop.domain.money import Money
from customshop.domain.templates import OptionZone, TemplateDefinition
from customshop.domain.validation import Design
from customshop.domain.visibility import shown_zones


@dataclass(frozen=True, slots=True)
class PriceComponent:
    """One priced part of a design: a filled zone (``code`` None) or a chosen option."""

    zone_id: str
    code: str | None
    label: str
    amount: int


@dataclass(frozen=True, slots=True)
class DesignQuote:
    currency: str
    base_price: int
    components: tuple[PriceComponent, ...]
    unit_price: int


def quote_design(
    product: Product, definition: TemplateDefinition, option_sets: Mapping[str, OptionSet], design: Design
) -> DesignQuote:
    """The unit price of ``design`` (already checked against ``definition``).

    Zero-priced zones and options are listed too, so a storefront can show every choice.
    """
    components: list[PriceComponent] = []
    shown = shown_zones(definition, design.values)  # a hidden zone is never priced
    for zone in definition.zones:
        value = design.values.get(zone.id)
        if value is None or zone.id not in shown:
            continue
        if isinstance(zone, OptionZone):
            option_set = option_sets.get(zone.option_set_id)
            codes = value if isinstance(value, tuple) else (value,)
            for code in codes:
                option = option_set.option(code) if option_set and isinstance(code, str) else None
                if option is not None:
                    components.append(PriceComponent(zone.id, option.code, option.label, option.price_delta))
        else:
            components.append(PriceComponent(zone.id, None, zone.label, zone.price_delta))
    total = product.base_price + sum(component.amount for component in components)
    return DesignQuote(product.currency, product.base_price, tuple(components), max(total, 0))


@dataclass(frozen=True, slots=True)
class CartTotals:
    """``total = subtotal + tax + shipping``, all in ``currency`` minor units."""

    currency: str
    subtotal: int
    tax: int
    shipping: int
    total: int


def line_total(unit_price: int, quantity: int) -> int:
    """``unit_price × quantity``, exactly (integers: nothing to round)."""
    return unit_price * quantity


def total_cart(
    lines: Sequence[tuple[int, int]],
    currency: str,
    tax: Callable[[Money], Money],
    shipping: Callable[[int, str], Money],
) -> CartTotals:
    """The totals of a cart of ``(unit_price, quantity)`` lines.

    Args:
        tax: the tax on a subtotal (a ``TaxPolicy``), in the same currency.
        shipping: the shipping for a number of units in a currency (a ``ShippingPolicy``).

    An empty cart costs nothing: no tax, no shipping.

    Raises:
        CurrencyMismatch: a policy answered in another currency.
        InvalidMoney: a policy answered a negative amount.
    """
    if not lines:
        return CartTotals(currency, 0, 0, 0, 0)
    subtotal = Money(sum(line_total(price, quantity) for price, quantity in lines), currency)
    tax_amount = tax(subtotal)
    shipping_amount = shipping(sum(quantity for _, quantity in lines), currency)
    for charge in (tax_amount, shipping_amount):
        if charge.amount < 0:
            raise InvalidMoney(f"a tax or shipping charge cannot be negative ({charge})")
    total = subtotal + tax_amount + shipping_amount
    return CartTotals(currency, subtotal.amount, tax_amount.amount, shipping_amount.amount, total.amount)
