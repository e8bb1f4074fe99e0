"""Money and round_minor: integer minor units, one currency at a time, one rounding rule."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from customshop.domain.errors import CurrencyMismatch, InvalidMoney
from customshop.domain.money import CURRENCIES, MAX_AMOUNT, Money, is_currency, round_minor

currencies = st.sampled_from(sorted(CURRENCIES))
amounts = st.integers(-MAX_AMOUNT, MAX_AMOUNT)
#: Amounts small enough that any three of them add up within range.
addends = st.integers(-(MAX_AMOUNT // 3), MAX_AMOUNT // 3)


def half_away_from_zero(exact: Fraction) -> int:
    """The reference rounding, on exact rationals: ties go away from zero."""
    magnitude = math.floor(abs(exact) + Fraction(1, 2))
    return magnitude if exact >= 0 else -magnitude


@st.composite
def two_currencies(draw: st.DrawFn) -> tuple[str, str]:
    first = draw(currencies)
    return first, draw(currencies.filter(lambda code: code != first))


# --------------------------------------------------------------------------------------------------
# Construction


@given(amounts, currencies)
def test_any_whole_amount_in_range_and_known_currency_is_money(amount: int, currency: str) -> None:
    money = Money(amount, currency)
    assert (money.amount, money.currency) == (amount, currency)
    assert money == Money(amount, currency)


@pytest.mark.parametrize("amount", [MAX_AMOUNT, -MAX_AMOUNT, 0])
def test_the_range_bounds_are_included(amount: int) -> None:
    assert Money(amount, "EUR").amount == amount


@given(st.floats() | st.decimals() | st.fractions() | st.booleans() | st.text(max_size=5) | st.none())
def test_anything_but_an_int_is_refused_as_an_amount(amount: object) -> None:
    with pytest.raises(InvalidMoney):
        Money(amount, "USD")  # type: ignore[arg-type]


@pytest.mark.parametrize("amount", [1.0, 0.0, 10.5, True, False, Decimal(1), "100"])
def test_floats_bools_and_other_numbers_are_refused(amount: object) -> None:
    with pytest.raises(InvalidMoney, match="integer"):
        Money(amount, "USD")  # type: ignore[arg-type]


@given(st.integers(min_value=MAX_AMOUNT + 1), st.booleans())
def test_amounts_beyond_the_range_are_refused(magnitude: int, negative: bool) -> None:
    with pytest.raises(InvalidMoney, match="range"):
        Money(-magnitude if negative else magnitude, "USD")


@given(st.text(max_size=4).filter(lambda code: code not in CURRENCIES))
def test_unknown_currencies_are_refused(currency: str) -> None:
    assert not is_currency(currency)
    with pytest.raises(InvalidMoney, match="ISO 4217"):
        Money(1, currency)


@given(currencies)
def test_currency_codes_are_upper_case_only(currency: str) -> None:
    assert is_currency(currency)
    assert not is_currency(currency.lower())
    with pytest.raises(InvalidMoney):
        Money(1, currency.lower())


@pytest.mark.parametrize("currency", ["", "XXX", "EURO", "US", " USD", None, 978])
def test_some_unknown_currencies(currency: object) -> None:
    with pytest.raises(InvalidMoney):
        Money(1, currency)  # type: ignore[arg-type]


def test_invalid_money_is_a_value_error_and_money_is_immutable() -> None:
    assert issubclass(InvalidMoney, ValueError)
    assert issubclass(CurrencyMismatch, ValueError)
    money = Money(1, "USD")
    with pytest.raises(AttributeError):
        money.amount = 2  # type: ignore[misc]


# --------------------------------------------------------------------------------------------------
# Arithmetic within one currency


@given(addends, addends, addends, currencies)
def test_addition_is_associative_and_commutative(a: int, b: int, c: int, currency: str) -> None:
    x, y, z = Money(a, currency), Money(b, currency), Money(c, currency)
    assert (x + y) + z == x + (y + z)
    assert x + y == y + x
    assert (x + y).amount == a + b
    assert (x + y).currency == currency


@given(addends, addends, currencies)
def test_zero_negation_and_subtraction(a: int, b: int, currency: str) -> None:
    x, y = Money(a, currency), Money(b, currency)
    zero = Money.zero(currency)
    assert x + zero == x
    assert x - x == zero
    negated = -x
    assert negated.amount == -a
    assert -negated == x
    assert x - y == x + (-y)
    assert (x - y).amount == a - b


@given(addends, addends, currencies)
def test_comparisons_follow_the_amounts(a: int, b: int, currency: str) -> None:
    x, y = Money(a, currency), Money(b, currency)
    assert (x < y) == (a < b)
    assert (x <= y) == (a <= b)


@given(st.integers(-(10**6), 10**6), st.integers(-(10**6), 10**6), currencies)
def test_multiplying_by_a_whole_quantity(a: int, quantity: int, currency: str) -> None:
    money = Money(a, currency)
    assert money * quantity == quantity * money == Money(a * quantity, currency)


@pytest.mark.parametrize("quantity", [2.0, 0.5, True, Decimal(2)])
def test_money_is_multiplied_by_whole_quantities_only(quantity: object) -> None:
    with pytest.raises(InvalidMoney):
        Money(100, "USD") * quantity  # type: ignore[operator]


def test_results_beyond_the_range_are_refused() -> None:
    with pytest.raises(InvalidMoney):
        Money(MAX_AMOUNT, "USD") + Money(1, "USD")
    with pytest.raises(InvalidMoney):
        Money(-MAX_AMOUNT, "USD") - Money(1, "USD")
    with pytest.raises(InvalidMoney):
        Money(MAX_AMOUNT, "USD") * 2


@given(amounts, amounts, two_currencies())
def test_mixing_currencies_raises(a: int, b: int, pair: tuple[str, str]) -> None:
    x, y = Money(a, pair[0]), Money(b, pair[1])
    for combine in (
        lambda: x + y,
        lambda: x - y,
        lambda: x < y,
        lambda: x <= y,
    ):
        with pytest.raises(CurrencyMismatch):
            combine()


# --------------------------------------------------------------------------------------------------
# The one rounding rule


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("2.5", 3),
        ("-2.5", -3),
        ("0.5", 1),
        ("-0.5", -1),
        ("1.5", 2),
        ("0.4999999", 0),
        ("-0.4999999", 0),
        ("2.5000001", 3),
        ("-0", 0),
        ("7", 7),
        ("1E+3", 1000),
    ],
)
def test_round_minor_rounds_half_away_from_zero(amount: str, expected: int) -> None:
    result = round_minor(Decimal(amount))
    assert result == expected
    assert type(result) is int


@given(st.decimals(min_value=-(10**15), max_value=10**15, allow_nan=False, allow_infinity=False))
def test_round_minor_is_the_nearest_integer_with_ties_away_from_zero(amount: Decimal) -> None:
    exact = Fraction(amount)
    result = round_minor(amount)
    assert result == half_away_from_zero(exact)
    assert abs(result - exact) <= Fraction(1, 2)


@pytest.mark.parametrize(
    ("amount", "bps", "expected"),
    [
        (5, 5000, 3),  # 2.5 -> 3
        (-5, 5000, -3),
        (25, 1000, 3),  # 2.5 -> 3, not the banker's 2
        (15, 1000, 2),
        (1, 4999, 0),
        (1, 5000, 1),
        (1999, 2000, 400),  # 399.8
        (1000, 0, 0),
        (1000, 10_000, 1000),
        (1000, -825, -83),  # -82.5 -> -83
    ],
)
def test_apply_rate_bps_examples(amount: int, bps: int, expected: int) -> None:
    assert Money(amount, "USD").apply_rate_bps(bps) == Money(expected, "USD")


def check_rate(amount: int, bps: int, currency: str) -> None:
    exact = Fraction(amount * bps, 10_000)
    result = Money(amount, currency).apply_rate_bps(bps)
    assert result.currency == currency
    assert result.amount == half_away_from_zero(exact)
    assert abs(result.amount - exact) <= Fraction(1, 2)


@given(amounts, st.integers(-10_000, 10_000), currencies)
def test_apply_rate_bps_is_the_exact_product_rounded(amount: int, bps: int, currency: str) -> None:
    check_rate(amount, bps, currency)


@given(st.integers(-(10**6), 10**6), st.integers(-(10**9), 10**9), currencies)
def test_apply_rate_bps_with_large_rates(amount: int, bps: int, currency: str) -> None:
    check_rate(amount, bps, currency)


def test_a_rate_that_leaves_the_range_is_refused() -> None:
    with pytest.raises(InvalidMoney):
        Money(MAX_AMOUNT, "USD").apply_rate_bps(10_001)
