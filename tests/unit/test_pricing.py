"""Properties of pricing: totals add up, order never matters, non-negative deltas never lower a price,
tax stays within one minor unit of the exact rate, quantities scale exactly."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from customshop.adapters.pricing import FixedRateTax, FlatShipping
from customshop.domain.catalog import Option, OptionSet, Product
from customshop.domain.errors import CurrencyMismatch, InvalidMoney
from customshop.domain.money import Money
from customshop.domain.pricing import line_total, quote_design, total_cart
from customshop.domain.template_parsing import parse_definition
from customshop.domain.validation import parse_design

NOW = datetime(2026, 1, 1, tzinfo=UTC)
prices = st.integers(0, 10**7)
quantities = st.integers(1, 99)
rates = st.integers(0, 10_000)
lines = st.lists(st.tuples(prices, quantities), max_size=20)


def totals(
    cart: list[tuple[int, int]], rate: int = 825, flat: int = 500, extra: int = 150
) -> tuple[int, ...]:
    t = total_cart(cart, "USD", FixedRateTax(rate).tax_on, FlatShipping(flat, extra).shipping_for)
    return t.subtotal, t.tax, t.shipping, t.total


@given(lines, rates, prices, prices)
def test_totals_add_up(cart: list[tuple[int, int]], rate: int, flat: int, extra: int) -> None:
    subtotal, tax, shipping, total = totals(cart, rate, flat, extra)
    assert subtotal == sum(price * quantity for price, quantity in cart)
    assert total == subtotal + tax + shipping
    assert min(tax, shipping, total) >= 0
    if not cart:
        assert (subtotal, tax, shipping, total) == (0, 0, 0, 0)  # an empty cart costs nothing
    else:
        units = sum(q for _, q in cart)
        assert shipping == flat + extra * (units - 1)


@given(lines, rates, st.randoms())
def test_the_order_of_lines_never_matters(cart: list[tuple[int, int]], rate: int, rnd: object) -> None:
    shuffled = list(cart)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert totals(cart, rate) == totals(shuffled, rate)


@given(st.integers(0, 10**10), rates)
def test_tax_is_the_exact_rate_rounded_once(subtotal: int, rate: int) -> None:
    tax = FixedRateTax(rate).tax_on(Money(subtotal, "USD")).amount
    exact = Fraction(subtotal * rate, 10_000)
    assert abs(tax - exact) <= Fraction(1, 2)
    assert tax <= exact + 1  # never more than one minor unit above rate × subtotal


@given(prices, quantities, st.integers(1, 99))
def test_quantities_scale_line_totals_exactly(price: int, quantity: int, factor: int) -> None:
    assert line_total(price, quantity * factor) == line_total(price, quantity) * factor
    assert line_total(price, quantity) == sum(price for _ in range(quantity))


def test_a_policy_in_another_currency_or_negative_is_refused() -> None:
    with pytest.raises(CurrencyMismatch):
        total_cart([(100, 1)], "USD", lambda s: Money(1, "EUR"), FlatShipping(0, 0).shipping_for)
    with pytest.raises(InvalidMoney):
        total_cart([(100, 1)], "USD", lambda s: Money(-1, "USD"), FlatShipping(0, 0).shipping_for)


SIZES = OptionSet(
    "sizes", "p", "Size", (Option("S", "S", 0), Option("L", "L", 150), Option("XL", "XL", 300)), NOW, NOW
)
EXTRAS = OptionSet(
    "extras",
    "p",
    "Extras",
    tuple(Option(f"e{n}", f"Extra {n}", delta) for n, delta in enumerate([0, 75, 120, -50, 990, 10])),
    NOW,
    NOW,
)
DEFINITION = parse_definition(
    {
        "canvas": {"width": 100, "height": 100},
        "zones": [
            {
                "id": "line",
                "type": "text",
                "price_delta": 300,
                "area": {"x": 0, "y": 0, "width": 10, "height": 10},
            },
            {"id": "colour", "type": "color", "palette": ["#000000", "#ffffff"], "price_delta": 40},
            {"id": "size", "type": "option", "option_set_id": "sizes"},
            {"id": "extras", "type": "option", "option_set_id": "extras", "multiple": True},
        ],
    },
    product_id="p",
    option_sets={"sizes": SIZES, "extras": EXTRAS},
)
OPTION_SETS = {"sizes": SIZES, "extras": EXTRAS}
designs = st.fixed_dictionaries(
    {},
    optional={
        "line": st.just({"text": "hi"}),
        "colour": st.sampled_from(["#000000", "#ffffff"]),
        "size": st.sampled_from(["S", "L", "XL"]),
        "extras": st.lists(st.sampled_from([f"e{n}" for n in range(6)]), unique=True),
    },
)


def unit_price(base: int, options: dict[str, object]) -> int:
    product = Product("p", "p", "P", "", base, "USD", (), True, NOW, NOW)
    design = parse_design(DEFINITION, OPTION_SETS, options)
    return quote_design(product, DEFINITION, OPTION_SETS, design).unit_price


@given(prices, designs, st.randoms())
def test_the_order_of_options_never_matters(base: int, options: dict[str, object], rnd: object) -> None:
    extras = list(options.get("extras", []))  # type: ignore[call-overload]
    rnd.shuffle(extras)  # type: ignore[attr-defined]
    items = list(({**options, "extras": extras} if "extras" in options else options).items())
    rnd.shuffle(items)  # type: ignore[attr-defined]
    assert unit_price(base, options) == unit_price(base, dict(items))


@given(st.integers(100, 10**7), designs)
def test_unit_price_is_base_plus_every_delta(base: int, options: dict[str, object]) -> None:
    expected = base
    expected += 300 if "line" in options else 0
    expected += 40 if "colour" in options else 0
    expected += {"S": 0, "L": 150, "XL": 300}.get(str(options.get("size")), 0)
    expected += sum(EXTRAS.option(code).price_delta for code in options.get("extras", []))  # type: ignore[union-attr, attr-defined]
    assert unit_price(base, options) == max(expected, 0)


@given(prices, designs, st.sampled_from(["e0", "e1", "e2", "e4", "e5"]))
def test_adding_an_option_with_a_non_negative_delta_never_lowers_the_price(
    base: int, options: dict[str, object], extra: str
) -> None:
    chosen = list(options.get("extras", []))  # type: ignore[call-overload]
    if extra in chosen:
        chosen.remove(extra)
    without = unit_price(base, {**options, "extras": chosen})
    with_extra = unit_price(base, {**options, "extras": [*chosen, extra]})
    delta = EXTRAS.option(extra).price_delta  # type: ignore[union-attr]
    assert with_extra >= without
    assert with_extra - without <= delta
    if without > 0:  # above the floor of zero, the option adds exactly its delta
        assert with_extra - without == delta
