"""Hypothesis strategies shared by unit and integration tests: request bodies broken in known ways;
carts, regions, shipping methods and promotions for quotes."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from customshop.domain.catalog import VolumeTier
from customshop.domain.promotions import Promotion, PromotionKind
from customshop.domain.quote import QuoteLine
from customshop.domain.regions import STANDARD_TAX_CLASS, Destination, Region, TaxRate
from customshop.domain.shipping import (
    FlatRate,
    PerItemRate,
    ShippingMethod,
    ShippingRate,
    Tier,
    TierBasis,
    TieredRate,
)

CHECKOUT: dict[str, Any] = {
    "email": "ada@example.com",
    "shipping_address": {
        "name": "Ada Lovelace",
        "line1": "12 St James's Square",
        "line2": "Flat 2",
        "city": "London",
        "postal_code": "SW1Y 4JH",
        "country": "GB",
    },
    "payment_provider": "test",
}

Body = dict[str, Any]
Breakage = Callable[[Body], None]


def _set(path: str, value: Any) -> Breakage:
    def apply(body: Body) -> None:
        *parents, name = path.split(".")
        for parent in parents:
            body = body[parent]
        body[name] = value

    return apply


def _drop(path: str) -> Breakage:
    def apply(body: Body) -> None:
        *parents, name = path.split(".")
        for parent in parents:
            body = body[parent]
        del body[name]

    return apply


def _address(name: str, limit: int, *, required: bool = True) -> list[Breakage]:
    path = f"shipping_address.{name}"
    broken = [_set(path, 12), _set(path, "x" * (limit + 1)), _set(path, "a\tb")]
    return [*broken, _drop(path), _set(path, "   ")] if required else broken


#: Field path -> independent ways to break it: structural (missing, wrong type, not one of the
#: choices, a field that does not exist) and semantic (format, length, blank, control characters).
BREAKAGES: dict[str, list[Breakage]] = {
    "email": [_drop("email"), _set("email", 42), _set("email", "ada.example.com"), _set("email", "a@b")],
    "shipping_address.name": _address("name", 200),
    "shipping_address.line1": _address("line1", 200),
    "shipping_address.line2": _address("line2", 200, required=False),
    "shipping_address.city": _address("city", 100),
    "shipping_address.postal_code": _address("postal_code", 20),
    "shipping_address.country": [
        *_address("country", 2),
        _set("shipping_address.country", "gb"),
        _set("shipping_address.country", "G1"),
    ],
    "payment_provider": [
        _drop("payment_provider"),
        _set("payment_provider", "bitcoin"),
        _set("payment_provider", 1),
    ],
    "coupon": [_set("coupon", "FREE")],
    "shipping_address.floor": [_set("shipping_address.floor", 3)],
}


@st.composite
def broken_checkouts(draw: st.DrawFn) -> tuple[Body, set[str]]:
    """A checkout body with k >= 1 independently broken fields, and their paths."""
    fields = draw(st.sets(st.sampled_from(sorted(BREAKAGES)), min_size=1))
    body = copy.deepcopy(CHECKOUT)
    for field in sorted(fields):
        draw(st.sampled_from(BREAKAGES[field]))(body)
    return body, fields


# --- Quotes: carts, regions, shipping methods and promotions ------------------------------------

#: The instant quotes are made at; promotions' dates are drawn around it.
QUOTE_NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
#: A few products, so that lines share products (volume tiers count all of a product's lines).
QUOTE_PRODUCTS = ("p1", "p2", "p3", "p4")
QUOTE_TAX_CLASSES = (STANDARD_TAX_CLASS, "reduced")
QUOTE_REGION_ID = "r1"

amounts = st.integers(0, 10**6)
basis_points = st.integers(0, 10_000)
volume_tiers = st.lists(
    st.builds(VolumeTier, min_quantity=st.integers(1, 30), discount_bps=basis_points), max_size=3
).map(tuple)


@st.composite
def quote_lines(draw: st.DrawFn, *, max_size: int = 8, volume: bool = True) -> list[QuoteLine]:
    """Cart lines with distinct ids; lines of one product share its tax class and volume tiers."""
    ids = draw(st.lists(st.text("abcdefgh", min_size=1, max_size=3), unique=True, max_size=max_size))
    classes = {product: draw(st.sampled_from(QUOTE_TAX_CLASSES)) for product in QUOTE_PRODUCTS}
    tiers = {product: draw(volume_tiers) if volume else () for product in QUOTE_PRODUCTS}
    lines = []
    for line_id in ids:
        product = draw(st.sampled_from(QUOTE_PRODUCTS))
        lines.append(
            QuoteLine(
                id=line_id,
                product_id=product,
                unit_price=draw(st.integers(0, 10**5)),
                quantity=draw(st.integers(1, 25)),
                tax_class=classes[product],
                volume_pricing=tiers[product],
            )
        )
    return lines


tax_rates = st.builds(
    TaxRate,
    name=st.sampled_from(["Federal", "State", "County", "VAT"]),
    rate_bps=st.integers(0, 3_000),
    subdivision=st.sampled_from([None, None, "CA", "NY"]),
    tax_class=st.sampled_from(QUOTE_TAX_CLASSES),
)


def regions(
    *, prices_include_tax: bool | None = None, rates: st.SearchStrategy[tuple[TaxRate, ...]] | None = None
) -> st.SearchStrategy[Region]:
    """The region :data:`QUOTE_REGION_ID` (the US, say) with random rates and flags."""
    return st.builds(
        Region,
        id=st.just(QUOTE_REGION_ID),
        name=st.just("Region"),
        countries=st.just(("US",)),
        prices_include_tax=st.booleans() if prices_include_tax is None else st.just(prices_include_tax),
        tax_shipping=st.booleans(),
        tax_rates=rates if rates is not None else st.lists(tax_rates, max_size=4).map(tuple),
        created_at=st.just(QUOTE_NOW),
        updated_at=st.just(QUOTE_NOW),
    )


destinations = st.builds(
    Destination, country=st.just("US"), subdivision=st.sampled_from([None, "CA", "NY", "US-CA", "TX"])
)

shipping_rates: st.SearchStrategy[ShippingRate] = st.one_of(
    st.builds(FlatRate, amount=st.integers(0, 5_000)),
    st.builds(PerItemRate, first=st.integers(0, 2_000), additional=st.integers(0, 500)),
    st.builds(
        TieredRate,
        by=st.sampled_from(TierBasis),
        tiers=st.lists(
            st.builds(Tier, min=st.integers(0, 20_000), amount=st.integers(0, 3_000)), min_size=1, max_size=3
        ).map(tuple),
    ),
)


@st.composite
def shipping_methods(draw: st.DrawFn, *, max_size: int = 3) -> list[ShippingMethod]:
    """Methods of :data:`QUOTE_REGION_ID` (some inactive) with distinct ids."""
    ids = draw(st.lists(st.sampled_from(["m1", "m2", "m3", "m4"]), unique=True, max_size=max_size))
    return [
        ShippingMethod(
            id=method_id,
            region_id=QUOTE_REGION_ID,
            name=draw(st.sampled_from(["Standard", "Express", "Economy"])),
            rate=draw(shipping_rates),
            active=draw(st.booleans()),
            created_at=QUOTE_NOW,
            updated_at=QUOTE_NOW,
            free_over=draw(st.none() | st.integers(0, 200_000)),
            min_days=draw(st.none() | st.integers(1, 5)),
            max_days=draw(st.none() | st.integers(5, 10)),
        )
        for method_id in ids
    ]


@st.composite
def promotions(draw: st.DrawFn, *, code: bool | None = None) -> Promotion:
    """A promotion of any kind: applicable, or refused for one reason or another."""
    kind = draw(st.sampled_from(PromotionKind))
    has_code = draw(st.booleans()) if code is None else code
    value: int | None = None
    if kind is PromotionKind.PERCENTAGE:
        value = draw(basis_points)
    elif kind is PromotionKind.FIXED:
        value = draw(st.integers(0, 10**6))
    limit = draw(st.none() | st.integers(0, 5))
    return Promotion(
        id=draw(st.sampled_from(["x1", "x2", "x3", "x4", "x5", "x6"])),
        code=draw(st.sampled_from(["SAVE", "FREESHIP", "B2G1", "HALF"])) if has_code else None,
        description="a promotion",
        kind=kind,
        combinable=draw(st.booleans()),
        active=draw(st.booleans() | st.just(True)),
        created_at=QUOTE_NOW,
        updated_at=QUOTE_NOW,
        value=value,
        product_ids=tuple(draw(st.lists(st.sampled_from(QUOTE_PRODUCTS), unique=True, max_size=2))),
        min_subtotal=draw(st.none() | st.integers(0, 50_000)),
        starts_at=draw(st.none() | st.integers(-3, 1).map(lambda days: QUOTE_NOW + timedelta(days=days))),
        ends_at=draw(st.none() | st.integers(-1, 3).map(lambda days: QUOTE_NOW + timedelta(days=days))),
        usage_limit=limit,
        buy_quantity=draw(st.integers(1, 3)) if kind is PromotionKind.BUY_X_GET_Y else None,
        get_quantity=draw(st.integers(1, 2)) if kind is PromotionKind.BUY_X_GET_Y else None,
        times_used=draw(st.integers(0, 6)),
    )


@st.composite
def promotion_lists(draw: st.DrawFn) -> list[Promotion]:
    """The promotions offered to a cart: automatic ones and at most one code, with distinct ids."""
    offered = draw(st.lists(promotions(code=False), max_size=3, unique_by=lambda p: p.id))
    code = draw(st.none() | promotions(code=True))
    if code is not None and code.id not in {p.id for p in offered}:
        offered.insert(draw(st.integers(0, len(offered))), code)
    return offered
