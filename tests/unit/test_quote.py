"""The quote (``customshop.domain.quote``): its identities hold exactly for any cart, region, rates,
methods and promotions; nothing is ever negative or discounted beyond what it applies to; the order
of lines never matters; tax-inclusive and tax-exclusive regions agree on the net; and worked
examples match the hand computations written beside them (the rules: ``docs/pricing.md``)."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from customshop.domain import (
    FlatRates,
    Quote,
    QuoteLine,
    Refusal,
    allocate,
    promotion_refusal,
    quote,
)
from customshop.domain.catalog import VolumeTier
from customshop.domain.promotions import Promotion, PromotionKind
from customshop.domain.quote import free_units
from customshop.domain.regions import Destination, Region, TaxRate
from customshop.domain.shipping import FlatRate, PerItemRate, ShippingMethod
from tests.strategies import (
    QUOTE_NOW,
    QUOTE_REGION_ID,
    QUOTE_TAX_CLASSES,
    destinations,
    promotion_lists,
    quote_lines,
    regions,
    shipping_methods,
)

NOW = QUOTE_NOW
FLAT = FlatRates(tax_rate_bps=825, shipping_first=500, shipping_additional=150)
flat_rates = st.builds(
    FlatRates,
    tax_rate_bps=st.integers(0, 3_000),
    shipping_first=st.integers(0, 2_000),
    shipping_additional=st.integers(0, 500),
)


def line(line_id: str, unit_price: int, quantity: int, product_id: str | None = None) -> QuoteLine:
    return QuoteLine(
        id=line_id, product_id=product_id or f"product-{line_id}", unit_price=unit_price, quantity=quantity
    )


def promotion(promotion_id: str, kind: PromotionKind, code: str | None = None, **fields: object) -> Promotion:
    return Promotion(
        id=promotion_id,
        code=code,
        description=f"{promotion_id} ({kind})",
        kind=kind,
        combinable=bool(fields.pop("combinable", True)),
        active=bool(fields.pop("active", True)),
        created_at=NOW,
        updated_at=NOW,
        **fields,  # type: ignore[arg-type]
    )


def method(method_id: str, region_id: str, rate: FlatRate | PerItemRate, **fields: object) -> ShippingMethod:
    return ShippingMethod(
        id=method_id,
        region_id=region_id,
        name=method_id.title(),
        rate=rate,
        active=bool(fields.pop("active", True)),
        created_at=NOW,
        updated_at=NOW,
        **fields,  # type: ignore[arg-type]
    )


def region(region_id: str, rates: tuple[TaxRate, ...], *, inclusive: bool, tax_shipping: bool) -> Region:
    return Region(region_id, region_id.upper(), ("XX",), inclusive, tax_shipping, rates, NOW, NOW)


# --- Properties ---------------------------------------------------------------------------------

carts = st.fixed_dictionaries(
    {
        "lines": quote_lines(),
        "flat": flat_rates,
        "region": st.none() | regions(),
        "destination": st.none() | destinations,
        "methods": shipping_methods(),
        "shipping_method_id": st.none() | st.sampled_from(["m1", "m2", "m3", "m9"]),
        "promotions": promotion_lists(),
    }
)


def quote_of(cart: dict[str, object]) -> Quote:
    return quote(currency="USD", now=NOW, **cart)  # type: ignore[arg-type]


def check_identities(q: Quote) -> None:
    assert q.subtotal == sum(line.line_total for line in q.lines)
    assert q.tax == sum(tax_line.amount for tax_line in q.tax_lines)
    assert q.tax == sum(line.tax for line in q.lines) + q.shipping_tax
    assert sum(line.discount for line in q.lines) + q.shipping_discount == q.discount_total
    assert q.discount_total == sum(discount.amount for discount in q.discounts)
    included = 0 if q.prices_include_tax else q.tax
    assert q.total == q.subtotal - q.discount_total + q.shipping + included
    for quoted in q.lines:
        assert quoted.line_total == quoted.unit_price * quoted.quantity


@given(carts)
def test_the_identities_hold_exactly(cart: dict[str, object]) -> None:
    check_identities(quote_of(cart))


@given(carts)
def test_nothing_is_negative_and_no_discount_exceeds_what_it_applies_to(cart: dict[str, object]) -> None:
    q = quote_of(cart)
    assert min(q.subtotal, q.discount_total, q.shipping, q.shipping_discount, q.tax, q.total) >= 0
    assert q.shipping_discount <= q.shipping
    assert q.discount_total - q.shipping_discount <= q.subtotal
    for quoted in q.lines:
        assert 0 <= quoted.discount <= quoted.line_total
        assert quoted.tax >= 0
    for discount in q.discounts:
        assert discount.amount >= 0
    # What each promotion applies to: its products' lines (and, for free shipping, the shipping).
    offered = {p.id: p for p in cart["promotions"]}  # type: ignore[attr-defined]
    for discount in q.discounts:
        applied = offered[discount.promotion_id]
        if applied.kind is PromotionKind.FREE_SHIPPING:
            assert discount.amount <= q.shipping
        else:
            eligible = [
                quoted
                for quoted in q.lines
                if not applied.product_ids or quoted.product_id in applied.product_ids
            ]
            assert discount.amount <= sum(quoted.line_total for quoted in eligible)
    if q.prices_include_tax:  # the tax included is part of what is paid, line by line too
        assert q.tax <= q.total
        assert q.shipping_tax <= q.shipping - q.shipping_discount
        assert all(quoted.tax <= quoted.line_total - quoted.discount for quoted in q.lines)


@given(carts)
def test_the_chosen_method_or_else_the_cheapest_is_charged(cart: dict[str, object]) -> None:
    q = quote_of(cart)
    if not q.shipping_options:
        assert q.shipping_method is None
        return
    amounts = [option.amount for option in q.shipping_options]
    assert amounts == sorted(amounts)
    assert q.shipping_method in q.shipping_options
    assert q.shipping == q.shipping_method.amount  # type: ignore[union-attr]
    chosen = cart["shipping_method_id"]
    if chosen in {option.id for option in q.shipping_options}:
        assert q.shipping_method.id == chosen  # type: ignore[union-attr]
    else:
        assert q.shipping == amounts[0]
    active = {m.id for m in cart["methods"] if m.active}  # type: ignore[attr-defined]
    assert {option.id for option in q.shipping_options} == active


@given(carts, st.randoms(use_true_random=False))
def test_permuting_lines_changes_nothing(cart: dict[str, object], rnd: random.Random) -> None:
    shuffled = list(cart["lines"])  # type: ignore[call-overload]
    rnd.shuffle(shuffled)
    first, second = quote_of(cart), quote_of({**cart, "lines": shuffled})
    by_id = {quoted.id: quoted for quoted in first.lines}
    assert [by_id[quoted.id] for quoted in second.lines] == list(second.lines)
    assert replace(first, lines=()) == replace(second, lines=())


@given(carts, st.randoms(use_true_random=False))
def test_the_order_promotions_are_offered_in_changes_only_the_order_of_refusals(
    cart: dict[str, object], rnd: random.Random
) -> None:
    offered = list(cart["promotions"])  # type: ignore[call-overload]
    rnd.shuffle(offered)
    first, second = quote_of(cart), quote_of({**cart, "promotions": offered})
    assert set(first.refused) == set(second.refused)
    assert replace(first, refused=()) == replace(second, refused=())


@given(carts)
def test_refusals_are_what_promotion_refusal_says_or_a_combination_rule(cart: dict[str, object]) -> None:
    q = quote_of(cart)
    applied = {discount.promotion_id for discount in q.discounts}
    refused = {refusal.promotion_id: refusal.reason for refusal in q.refused}
    for offered in cart["promotions"]:  # type: ignore[attr-defined]
        reason = promotion_refusal(offered, cart["lines"], NOW)  # type: ignore[arg-type]
        assert (offered.id in applied) != (offered.id in refused)
        if reason is not None:
            assert refused[offered.id] == reason
        elif offered.id in refused:
            assert refused[offered.id] == Refusal.NOT_COMBINABLE
    codes = [discount for discount in q.discounts if discount.code is not None]
    assert len(codes) <= 1


@given(quote_lines(), flat_rates)
def test_volume_tiers_never_raise_a_unit_price(lines: list[QuoteLine], flat: FlatRates) -> None:
    q = quote(lines, currency="USD", now=NOW, flat=flat)
    for carted, quoted in zip(lines, q.lines, strict=True):
        assert 0 <= quoted.unit_price <= carted.unit_price
        assert quoted.volume_discount == (carted.unit_price - quoted.unit_price) * carted.quantity
    without = quote(
        [replace(carted, volume_pricing=()) for carted in lines], currency="USD", now=NOW, flat=flat
    )
    assert q.subtotal <= without.subtotal
    assert q.subtotal + sum(quoted.volume_discount for quoted in q.lines) == without.subtotal


@given(flat_rates, st.none() | regions(), shipping_methods(), promotion_lists())
def test_an_empty_cart_costs_nothing(
    flat: FlatRates, where: Region | None, methods: list[ShippingMethod], offered: list[Promotion]
) -> None:
    q = quote([], currency="USD", now=NOW, flat=flat, region=where, methods=methods, promotions=offered)
    figures = (q.subtotal, q.discount_total, q.shipping_discount, q.shipping, q.tax, q.total, q.shipping_tax)
    assert figures == (0, 0, 0, 0, 0, 0, 0)
    assert (q.lines, q.discounts, q.tax_lines, q.shipping_options, q.shipping_method) == (
        (),
        (),
        (),
        (),
        None,
    )


@given(st.dictionaries(st.text(max_size=3), st.integers(0, 10**6), max_size=8), st.data())
def test_allocation_is_exact_bounded_and_ignores_order(weights: dict[str, int], data: st.DataObject) -> None:
    whole = sum(weights.values())
    amount = data.draw(st.integers(0, whole))
    shares = allocate(amount, weights)
    assert sum(shares.values()) == amount
    assert all(0 <= shares[key] <= weights[key] for key in weights)
    reordered = dict(data.draw(st.permutations(list(weights.items()))))
    assert allocate(amount, reordered) == shares
    # Each share is within one unit of the exact proportion.
    assert all(abs(shares[key] * whole - amount * weights[key]) < whole for key in weights) or whole == 0


def test_allocation_refuses_negative_weights_and_allocating_over_nothing() -> None:
    with pytest.raises(ValueError, match="negative"):
        allocate(1, {"a": -1, "b": 2})
    with pytest.raises(ValueError, match="over nothing"):
        allocate(1, {"a": 0})
    assert allocate(0, {}) == {}


@st.composite
def single_rate_regions(draw: st.DrawFn) -> tuple[TaxRate, ...]:
    """At most one rate per tax class, region-wide: every amount is taxed at one rate or none."""
    rates = []
    for tax_class in QUOTE_TAX_CLASSES:
        bps = draw(st.none() | st.integers(0, 3_000))
        if bps is not None:
            rates.append(TaxRate(f"{tax_class} rate", bps, tax_class=tax_class))
    return tuple(rates)


@given(quote_lines(), single_rate_regions(), st.booleans(), shipping_methods(), promotion_lists())
def test_tax_inclusive_and_exclusive_regions_agree_on_the_net(
    lines: list[QuoteLine],
    rates: tuple[TaxRate, ...],
    tax_shipping: bool,
    methods: list[ShippingMethod],
    offered: list[Promotion],
) -> None:
    """ "Agree" means: quote a cart in a tax-exclusive region; then quote, in the same region with
    prices including tax, a cart whose prices are that quote's gross amounts (each line once at
    ``line_total − discount + tax``, shipping at ``shipping − shipping_discount + shipping_tax``,
    no promotions). Where each amount is taxed at one rate, both quotes have the same tax lines,
    the same tax, the same total and so the same net (``total − tax``) — exactly, despite rounding:
    a rate's tax on ``net`` rounds to ``t``, and the tax included in ``net + t`` rounds back to ``t``."""
    exclusive_region = region(QUOTE_REGION_ID, rates, inclusive=False, tax_shipping=tax_shipping)
    exclusive = quote(
        lines,
        currency="EUR",
        now=NOW,
        flat=FLAT,
        region=exclusive_region,
        methods=methods,
        promotions=offered,
    )
    gross_lines = [
        QuoteLine(
            id=quoted.id,
            product_id=quoted.product_id,
            unit_price=quoted.line_total - quoted.discount + quoted.tax,
            quantity=1,
            tax_class=carted.tax_class,
        )
        for carted, quoted in zip(lines, exclusive.lines, strict=True)
    ]
    gross_shipping = exclusive.shipping - exclusive.shipping_discount + exclusive.shipping_tax
    inclusive = quote(
        gross_lines,
        currency="EUR",
        now=NOW,
        flat=replace(FLAT, shipping_first=gross_shipping, shipping_additional=0),
        region=replace(exclusive_region, prices_include_tax=True),
        methods=[method("gross", QUOTE_REGION_ID, FlatRate(gross_shipping))],
    )
    assert inclusive.tax_lines == exclusive.tax_lines
    assert inclusive.total == exclusive.total
    assert inclusive.total - inclusive.tax == exclusive.total - exclusive.tax
    assert inclusive.shipping - inclusive.shipping_tax == exclusive.shipping - exclusive.shipping_discount
    for gross, net in zip(inclusive.lines, exclusive.lines, strict=True):
        # Line by line, the tax is spread over gross amounts instead of net ones: within a unit.
        assert abs(gross.tax - net.tax) <= 1


@given(
    st.lists(st.tuples(st.integers(0, 100), st.integers(1, 9)), max_size=6),
    st.integers(1, 4),
    st.integers(1, 3),
)
def test_buy_x_get_y_frees_the_cheapest_of_each_group(
    runs: list[tuple[int, int]], buy: int, get: int
) -> None:
    eligible = [(f"l{index}", price, quantity) for index, (price, quantity) in enumerate(runs)]
    freed = free_units(eligible, buy, get)
    units = sorted((price for _, price, quantity in eligible for _ in range(quantity)), reverse=True)
    groups = [units[start : start + buy + get] for start in range(0, len(units), buy + get)]
    expected = sorted(price for group in groups if len(group) == buy + get for price in group[buy:])
    prices = {line_id: price for line_id, price, _ in eligible}
    assert (
        sorted(price for line_id, count in freed.items() for price in [prices[line_id]] * count) == expected
    )
    assert all(0 <= freed[line_id] <= quantity for line_id, _, quantity in eligible)


# --- Worked examples, checked against hand computation -------------------------------------------

US = region(
    "us",
    (TaxRate("US federal", 0), TaxRate("California", 725, "CA"), TaxRate("New York", 400, "NY")),
    inclusive=False,
    tax_shipping=False,
)
US_METHODS = [
    method("standard", "us", FlatRate(599), min_days=3, max_days=5),
    method("express", "us", PerItemRate(first=1500, additional=200), min_days=1, max_days=2),
    method("retired", "us", FlatRate(1), active=False),
]
EU = region("eu", (TaxRate("VAT", 1900),), inclusive=True, tax_shipping=True)
EU_METHODS = [method("dhl", "eu", FlatRate(595))]
TEE_AND_MUG = [line("tee", 2500, 2), line("mug", 1000, 1)]  # subtotal 2 × 25.00 + 10.00 = 60.00


def test_a_us_order_to_california_pays_the_state_rate_on_the_cheapest_method() -> None:
    q = quote(TEE_AND_MUG, currency="USD", now=NOW, flat=FLAT, region=US, destination=Destination("US", "CA"),
              methods=US_METHODS)  # fmt: skip
    # Options, cheapest first: standard 5.99; express 15.00 + 2 × 2.00 = 19.00; retired is inactive.
    assert [(option.id, option.amount) for option in q.shipping_options] == [
        ("standard", 599),
        ("express", 1900),
    ]
    assert q.shipping_method == q.shipping_options[0]
    assert (q.shipping_method.min_days, q.shipping_method.max_days) == (3, 5)  # type: ignore[union-attr]
    # Federal 0 % of 60.00 = 0; California 7.25 % of 60.00 = 4.35; New York does not apply.
    assert [(t.name, t.amount) for t in q.tax_lines] == [("US federal", 0), ("California", 435)]
    # 4.35 over 50.00 and 10.00: 362.5 and 72.5 → 362 + 72 = 434, the cent left goes to the larger
    # fraction (a tie), then the larger line: the tees.
    assert [(quoted.id, quoted.tax) for quoted in q.lines] == [("tee", 363), ("mug", 72)]
    # 60.00 + 5.99 shipping (not taxed in this region) + 4.35 = 70.34.
    assert (q.subtotal, q.shipping, q.tax, q.total) == (6000, 599, 435, 7034)
    assert (q.region_id, q.prices_include_tax) == ("us", False)


def test_a_us_order_to_new_york_by_express() -> None:
    ny = Destination("US", "US-NY")
    q = quote(TEE_AND_MUG, currency="USD", now=NOW, flat=FLAT, region=US, destination=ny, methods=US_METHODS,
              shipping_method_id="express")  # fmt: skip
    # New York 4 % of 60.00 = 2.40 (2.00 + 0.40); express 19.00; 60.00 + 19.00 + 2.40 = 81.40.
    assert [(t.name, t.amount) for t in q.tax_lines] == [("US federal", 0), ("New York", 240)]
    assert [quoted.tax for quoted in q.lines] == [200, 40]
    assert (q.shipping_method.id, q.shipping, q.total) == ("express", 1900, 8140)  # type: ignore[union-attr]


def test_a_state_without_its_own_rate_and_an_unknown_method_pay_federal_and_the_cheapest() -> None:
    q = quote(TEE_AND_MUG, currency="USD", now=NOW, flat=FLAT, region=US, destination=Destination("US", "TX"),
              methods=US_METHODS, shipping_method_id="retired")  # fmt: skip
    assert (q.tax, q.shipping_method.id, q.total) == (0, "standard", 6599)  # type: ignore[union-attr]


def test_an_eu_order_with_vat_included_extracts_the_tax() -> None:
    lines = [line("hoodie", 4760, 1), line("tee", 2380, 2), line("mug", 999, 1)]
    q = quote(lines, currency="EUR", now=NOW, flat=FLAT, region=EU, destination=Destination("DE"),
              methods=EU_METHODS)  # fmt: skip
    # Gross 47.60 + 2 × 23.80 + 9.99 = 105.19, shipping 5.95 (taxed here): 111.14 in all.
    # VAT included: 11114 × 19 / 119 = 1774.504… → 17.75.
    assert (q.subtotal, q.shipping, q.tax, q.total) == (10519, 595, 1775, 11114)
    assert [(t.name, t.rate_bps, t.amount) for t in q.tax_lines] == [("VAT", 1900, 1775)]
    # 17.75 spread over 4760, 4760, 999 and 595 (of 11114): 760.21, 760.21, 159.55, 95.03 → 760 + 760
    # + 159 + 95 = 1774; the cent left goes to the largest fraction, the mug's .55.
    assert [quoted.tax for quoted in q.lines] == [760, 760, 160]
    assert q.shipping_tax == 95
    # Net + tax = gross, exactly: 111.14 − 17.75 = 93.39 net.
    assert q.total - q.tax == 9339
    assert q.prices_include_tax


def test_buy_two_get_one_frees_the_cheapest_unit_of_each_group_of_three() -> None:
    lines = [line("a", 3000, 2), line("b", 2000, 2), line("c", 1000, 2)]
    b2g1 = promotion("b2g1", PromotionKind.BUY_X_GET_Y, buy_quantity=2, get_quantity=1)
    q = quote(lines, currency="USD", now=NOW, flat=FLAT, promotions=[b2g1])
    # Units dearest first: 30 30 20 | 20 10 10 → one 20.00 and one 10.00 free: 30.00 off.
    assert [quoted.discount for quoted in q.lines] == [0, 2000, 1000]
    assert [(d.promotion_id, d.amount) for d in q.discounts] == [("b2g1", 3000)]
    # No region: flat tax 8.25 % of 120.00 − 30.00 = 90.00 → 742.5 → 7.43; shipping 5.00 + 5 × 1.50.
    assert (q.subtotal, q.discount_total, q.tax, q.shipping) == (12000, 3000, 743, 1250)
    # 120.00 − 30.00 + 12.50 + 7.43 = 109.93.
    assert q.total == 10993
    # 7.43 over 60.00, 20.00, 10.00: 495.33, 165.11, 82.55 → the cent left to the largest fraction (c).
    assert [quoted.tax for quoted in q.lines] == [495, 165, 83]


def test_buy_two_get_one_restricted_to_products_and_an_incomplete_group() -> None:
    lines = [line("a", 3000, 4, "shirt"), line("b", 500, 3, "shirt"), line("c", 100, 5, "sticker")]
    b2g1 = promotion(
        "b2g1", PromotionKind.BUY_X_GET_Y, product_ids=("shirt",), buy_quantity=2, get_quantity=1
    )
    q = quote(lines, currency="USD", now=NOW, flat=FLAT, promotions=[b2g1])
    # Shirts only, dearest first: 30 30 30 | 30 5 5 | 5 → one 30.00 and one 5.00; the last 5.00 is
    # in an incomplete group. Stickers are not eligible.
    assert [quoted.discount for quoted in q.lines] == [3000, 500, 0]


def test_a_hundred_percent_code_leaves_the_shipping_to_pay() -> None:
    everything = promotion("all", PromotionKind.PERCENTAGE, code="ALL", value=10_000)
    q = quote(TEE_AND_MUG, currency="USD", now=NOW, flat=FLAT, promotions=[everything])
    # 60.00 off; tax 8.25 % of 0 = 0 (no tax line); shipping 5.00 + 2 × 1.50 = 8.00 stays.
    assert [quoted.discount for quoted in q.lines] == [5000, 1000]
    assert (q.discount_total, q.tax, q.tax_lines, q.shipping, q.total) == (6000, 0, (), 800, 800)
    # Where shipping is taxed and prices include VAT, what is left is the shipping and its VAT:
    # 5.95 includes 595 × 19 / 119 = 0.95.
    q = quote(TEE_AND_MUG, currency="EUR", now=NOW, flat=FLAT, region=EU, methods=EU_METHODS,
              promotions=[everything])  # fmt: skip
    assert (q.discount_total, q.shipping, q.tax, q.shipping_tax, q.total) == (6000, 595, 95, 95, 595)


def test_free_over_is_judged_on_the_subtotal_after_discounts() -> None:
    methods = [method("standard", "us", FlatRate(599), free_over=5000)]
    ca = Destination("US", "CA")
    q = quote(TEE_AND_MUG, currency="USD", now=NOW, flat=FLAT, region=US, destination=ca, methods=methods)
    # 60.00 ≥ 50.00: free; 60.00 + 0 + 4.35 = 64.35.
    assert (q.shipping, q.total) == (0, 6435)
    save20 = promotion("save20", PromotionKind.PERCENTAGE, code="SAVE20", value=2000)
    q = quote(TEE_AND_MUG, currency="USD", now=NOW, flat=FLAT, region=US, destination=ca, methods=methods,
              promotions=[save20])  # fmt: skip
    # 20 % off 60.00 = 12.00 → 48.00 < 50.00: shipping 5.99 is due; California 7.25 % of 48.00 = 3.48.
    assert (q.discount_total, q.shipping, q.tax) == (1200, 599, 348)
    assert q.total == 6000 - 1200 + 599 + 348  # 57.47


def test_a_fixed_discount_larger_than_the_cart_takes_the_lines_and_no_more() -> None:
    hundred_off = promotion("big", PromotionKind.FIXED, code="BIG", value=10_000)
    q = quote(TEE_AND_MUG, currency="USD", now=NOW, flat=FLAT, promotions=[hundred_off])
    # 100.00 off a 60.00 cart takes 60.00: 50.00 from the tees, 10.00 from the mug; shipping 8.00 stays.
    assert [(d.code, d.amount) for d in q.discounts] == [("BIG", 6000)]
    assert [quoted.discount for quoted in q.lines] == [5000, 1000]
    assert (q.tax, q.shipping, q.total) == (0, 800, 800)


def test_a_fixed_discount_is_spread_over_lines_in_proportion() -> None:
    ten_off = promotion("ten", PromotionKind.FIXED, code="TEN", value=1000)
    lines = [line("a", 1000, 1), line("b", 1000, 1), line("c", 1000, 1)]
    q = quote(lines, currency="USD", now=NOW, flat=FLAT, promotions=[ten_off])
    # 10.00 over three equal lines: 333.33 each → 333 × 3 = 999; the cent left: equal fractions and
    # weights, so the smallest id, a.
    assert [quoted.discount for quoted in q.lines] == [334, 333, 333]


def test_free_shipping_discounts_the_shipping_only() -> None:
    free = promotion("ship", PromotionKind.FREE_SHIPPING, code="FREESHIP")
    q = quote(TEE_AND_MUG, currency="USD", now=NOW, flat=FLAT, promotions=[free])
    # Shipping 8.00 is charged and taken off again; tax 8.25 % of 60.00 = 4.95 (shipping untaxed).
    assert (q.shipping, q.shipping_discount, q.discount_total, q.tax) == (800, 800, 800, 495)
    assert q.total == 6000 + 495
    assert [quoted.discount for quoted in q.lines] == [0, 0]


def test_volume_tiers_count_every_line_of_the_product() -> None:
    tiers = (VolumeTier(10, 1000), VolumeTier(25, 1500))
    tee = QuoteLine("front", "tee", 2499, 6, volume_pricing=tiers)
    q = quote([tee, replace(tee, id="back", quantity=5)], currency="USD", now=NOW, flat=FLAT)
    # 6 + 5 = 11 tees reach the 10-unit tier: 10 % of 24.99 = 2.499 → 2.50 off each unit: 22.49.
    assert [(quoted.unit_price, quoted.volume_discount) for quoted in q.lines] == [(2249, 1500), (2249, 1250)]
    assert q.subtotal == 11 * 2249
    # Ten units of one line and one of another product: the other product is not discounted.
    q = quote([replace(tee, quantity=10), line("mug", 1000, 1)], currency="USD", now=NOW, flat=FLAT)
    assert [quoted.unit_price for quoted in q.lines] == [2249, 1000]


def test_a_code_that_is_not_combinable_wins_over_automatic_promotions() -> None:
    automatic = promotion("auto5", PromotionKind.PERCENTAGE, value=500)
    solo = promotion("solo", PromotionKind.PERCENTAGE, code="SOLO", value=1000, combinable=False)
    q = quote(TEE_AND_MUG, currency="USD", now=NOW, flat=FLAT, promotions=[automatic, solo])
    assert [(d.promotion_id, d.amount) for d in q.discounts] == [("solo", 600)]
    assert [(r.promotion_id, r.reason) for r in q.refused] == [("auto5", "not_combinable")]
    # Combinable: automatic first (5 % of 60.00 = 3.00), then the code on what is left (10 % of 57.00).
    q = quote(TEE_AND_MUG, currency="USD", now=NOW, flat=FLAT,
              promotions=[replace(solo, combinable=True), automatic])  # fmt: skip
    assert [(d.promotion_id, d.amount) for d in q.discounts] == [("auto5", 300), ("solo", 570)]
    # A second code is refused: one code per cart.
    other = promotion("other", PromotionKind.FIXED, code="OTHER", value=100)
    q = quote(TEE_AND_MUG, currency="USD", now=NOW, flat=FLAT, promotions=[solo, other])
    assert [(r.promotion_id, r.reason) for r in q.refused] == [("other", "not_combinable")]


def test_why_a_promotion_is_refused() -> None:
    base = promotion("p", PromotionKind.PERCENTAGE, code="P", value=1000)
    cases = {
        "unknown": replace(base, active=False),
        "expired": replace(base, ends_at=NOW),
        "exhausted": replace(base, usage_limit=3, times_used=3),
        "not_applicable": replace(base, product_ids=("hat",)),
        "min_subtotal": replace(base, min_subtotal=6001),
    }
    for reason, refused in cases.items():
        assert promotion_refusal(refused, TEE_AND_MUG, NOW) == reason
        assert (
            quote(TEE_AND_MUG, currency="USD", now=NOW, flat=FLAT, promotions=[refused]).refused[0].reason
            == reason
        )
    assert (
        promotion_refusal(replace(base, starts_at=NOW + timedelta(seconds=1)), TEE_AND_MUG, NOW) == "expired"
    )
    assert (
        promotion_refusal(replace(base, min_subtotal=6000, usage_limit=4, times_used=3), TEE_AND_MUG, NOW)
        is None
    )
    b2g1 = promotion("b", PromotionKind.BUY_X_GET_Y, buy_quantity=2, get_quantity=1)
    assert promotion_refusal(b2g1, TEE_AND_MUG, NOW) is None  # three units
    assert promotion_refusal(b2g1, [line("tee", 2500, 2)], NOW) == "not_applicable"
    with pytest.raises(ValueError, match="distinct ids"):
        promotion_refusal(base, [line("a", 1, 1), line("a", 2, 1)], NOW)


def test_without_a_region_the_flat_rates_apply_and_no_options_are_listed() -> None:
    q = quote(TEE_AND_MUG, currency="USD", now=NOW, flat=FLAT, methods=US_METHODS)
    # 8.25 % of 60.00 = 4.95; 5.00 + 2 × 1.50 = 8.00; 60.00 + 8.00 + 4.95 = 72.95.
    assert [(t.name, t.rate_bps, t.amount) for t in q.tax_lines] == [("Tax", 825, 495)]
    assert (q.shipping, q.shipping_options, q.shipping_method, q.total) == (800, (), None, 7295)
    assert (q.region_id, q.prices_include_tax) == (None, False)


def test_a_region_without_an_active_method_ships_at_the_flat_rate() -> None:
    q = quote(TEE_AND_MUG, currency="USD", now=NOW, flat=FLAT, region=US, methods=[US_METHODS[2]])
    assert (q.shipping_options, q.shipping_method, q.shipping) == ((), None, 800)
