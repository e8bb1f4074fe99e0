"""The price of a guest's cart under the commerce rules: the one function that gathers what the
pure :func:`customshop.domain.quote.quote` needs and calls it.

The cart's answers and checkout both price through :func:`quote_cart`, so the quote a guest sees
in its cart is the one checkout charges and the order keeps (given the same lines, rules and
time). It reads, in the caller's unit of work: the region of the destination's country, that
region's active shipping methods, the promotion of the cart's code and the automatic promotions.
The lines bring their products' ``tax_class`` and ``volume_pricing`` (:func:`quote_line`).

Without a destination, or when the destination's country is in no region, tax and shipping follow
the configured flat rates (``CUSTOMSHOP_TAX_RATE_BPS``, ``CUSTOMSHOP_SHIPPING_FLAT``,
``CUSTOMSHOP_SHIPPING_PER_EXTRA_ITEM``), as they did before regions existed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from customshop.application.ports import UnitOfWork
from customshop.domain.catalog import Product
from customshop.domain.promotions import Promotion, normalize_code
from customshop.domain.quote import FlatRates, Quote, QuoteLine, Refusal, quote
from customshop.domain.regions import STANDARD_TAX_CLASS, Destination, Region


@dataclass(frozen=True, slots=True)
class CartQuote:
    """A cart's quote and what led to it.

    ``shippable`` is False when the destination's country is in no region while regions exist (the
    quote then uses the flat rates; checkout refuses such a country). ``code_promotion`` is the
    promotion of the code asked for (None: no code, or none has it), and ``code_refusal`` why that
    code does not apply to this cart now (a :class:`~customshop.domain.quote.Refusal` value; None
    when it applies or no code was asked for). ``applied`` are the promotions the quote's
    discounts come from, in the quote's order.
    """

    quote: Quote
    region: Region | None
    shippable: bool
    code: str | None
    code_promotion: Promotion | None
    code_refusal: str | None
    applied: tuple[Promotion, ...]


def quote_line(
    line_id: str, product_id: str, unit_price: int, quantity: int, product: Product | None
) -> QuoteLine:
    """A line to price: ``unit_price`` as carted (before any volume discount), with the tax class
    and volume tiers of its ``product`` (the standard class and no tiers when the product is gone)."""
    if product is None:
        return QuoteLine(line_id, product_id, unit_price, quantity, STANDARD_TAX_CLASS)
    return QuoteLine(line_id, product_id, unit_price, quantity, product.tax_class, product.volume_pricing)


async def quote_cart(
    uow: UnitOfWork,
    lines: Sequence[QuoteLine],
    *,
    currency: str,
    flat: FlatRates,
    now: datetime,
    destination: Destination | None = None,
    shipping_method_id: str | None = None,
    code: str | None = None,
    leave_out: frozenset[str] = frozenset(),
) -> CartQuote:
    """The quote of ``lines`` shipped to ``destination`` by ``shipping_method_id`` (None, or not one
    of the region's active methods: the cheapest), with the promotion of ``code`` (if any) and the
    automatic promotions but those whose ids are in ``leave_out``, at ``now``. Reads only; never
    commits. An empty cart costs nothing, and reads neither methods nor automatic promotions.

    Raises:
        ValueError: two lines share an id.
    """
    region = await uow.regions.for_country(destination.country) if destination is not None else None
    shippable = region is not None or destination is None or not await uow.regions.any()
    methods = (
        await uow.shipping_methods.list(region_id=region.id, active_only=True) if region and lines else []
    )
    wanted = normalize_code(code) if code is not None else None
    code_promotion = await uow.promotions.by_code(wanted) if wanted else None
    if code_promotion is not None and code_promotion.automatic:  # defensive: codes name coded ones
        code_promotion = None
    promotions = [code_promotion] if code_promotion is not None else []
    if lines:
        promotions += [p for p in await uow.promotions.automatic() if p.id not in leave_out]
    priced = quote(
        lines,
        currency=currency,
        now=now,
        flat=flat,
        region=region,
        destination=destination if region is not None else None,
        methods=methods,
        shipping_method_id=shipping_method_id,
        promotions=promotions,
    )
    refusal: str | None = None
    if wanted and code_promotion is None:
        refusal = Refusal.UNKNOWN.value
    elif code_promotion is not None:
        refusal = next((r.reason for r in priced.refused if r.promotion_id == code_promotion.id), None)
    by_id = {p.id: p for p in promotions}
    applied = tuple(by_id[d.promotion_id] for d in priced.discounts if d.promotion_id in by_id)
    return CartQuote(priced, region, shippable, wanted, code_promotion, refusal, applied)
