"""Prices of designs: ``unit_price = base_price + Σ price_delta`` of the filled priced zones and of
every chosen option; of a cart line, ``line_total = unit_price × quantity``. Everything in integer
minor units of one currency. A cart's price (volume tiers, promotions, shipping, tax) is
:func:`customshop.domain.quote.quote`.

A zone counts as filled when the design holds a value for it: non-empty text, an image, a chosen
colour (a colour zone's default, applied without being chosen, costs nothing), chosen options. A
text zone that prices characters (``price_per_character``) adds a second component for its text:
``price_per_character × max(0, characters other than spaces − free_characters)`` (see
:meth:`~customshop.domain.templates.TextZone.charged_characters`). A unit price never goes below
zero, however large the discounts of negative deltas.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from customshop.domain.catalog import OptionSet, Product
from customshop.domain.templates import OptionZone, TemplateDefinition, TextZone
from customshop.domain.validation import Design, TextValue
from customshop.domain.visibility import shown_zones


@dataclass(frozen=True, slots=True)
class PriceComponent:
    """One priced part of a design: a filled zone (``code`` None), the characters of a text zone that
    prices them (``code`` None, after the zone's own component), or a chosen option."""

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

    Zero-priced zones and options are listed too, so a storefront can show every choice; so is the
    per-character charge of a filled text zone that prices characters, even while its text stays
    within the free characters.
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
            if isinstance(zone, TextZone) and zone.price_per_character and isinstance(value, TextValue):
                charged = zone.charged_characters(value.text)
                components.append(
                    PriceComponent(
                        zone.id,
                        None,
                        f"{zone.label}: {charged} character{'' if charged == 1 else 's'}",
                        zone.price_per_character * charged,
                    )
                )
    total = product.base_price + sum(component.amount for component in components)
    return DesignQuote(product.currency, product.base_price, tuple(components), max(total, 0))


def line_total(unit_price: int, quantity: int) -> int:
    """``unit_price × quantity``, exactly (integers: nothing to round)."""
    return unit_price * quantity
