"""Minor units to decimal strings of major units and back: exact both ways, strict on the way in."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from customshop.domain.errors import InvalidMoney
from customshop.domain.money import (
    CURRENCIES,
    THREE_DECIMAL_CURRENCIES,
    ZERO_DECIMAL_CURRENCIES,
    format_major,
    minor_unit_exponent,
    parse_major,
)

currencies = st.sampled_from(sorted(CURRENCIES))
#: Far beyond MAX_AMOUNT and beyond Decimal's default 28-digit precision: the conversion is exact anyway.
amounts = st.integers(-(10**40), 10**40)


# --------------------------------------------------------------------------------------------------
# Exponents


def test_the_exponent_lists_name_only_known_currencies_and_do_not_overlap() -> None:
    assert ZERO_DECIMAL_CURRENCIES <= CURRENCIES
    assert THREE_DECIMAL_CURRENCIES <= CURRENCIES
    assert not ZERO_DECIMAL_CURRENCIES & THREE_DECIMAL_CURRENCIES


@pytest.mark.parametrize(
    ("currency", "exponent"),
    [
        ("USD", 2),
        ("EUR", 2),
        ("HUF", 2),
        ("JPY", 0),
        ("KRW", 0),
        ("VND", 0),
        ("CLP", 0),
        ("ISK", 0),
        ("XAF", 0),
        ("BHD", 3),
        ("KWD", 3),
        ("TND", 3),
    ],
)
def test_exponents_follow_iso_4217(currency: str, exponent: int) -> None:
    assert minor_unit_exponent(currency) == exponent


@pytest.mark.parametrize("currency", ["usd", "XXX", "", "US", "EURO"])
def test_unknown_or_lower_case_codes_are_refused(currency: str) -> None:
    with pytest.raises(InvalidMoney, match="ISO 4217"):
        minor_unit_exponent(currency)
    with pytest.raises(InvalidMoney):
        format_major(100, currency)
    with pytest.raises(InvalidMoney):
        parse_major("1", currency)


# --------------------------------------------------------------------------------------------------
# Formatting


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (1234, "USD", "12.34"),
        (5, "USD", "0.05"),
        (0, "USD", "0.00"),
        (-1, "EUR", "-0.01"),
        (100_000_000, "USD", "1000000.00"),
        (500, "JPY", "500"),
        (0, "JPY", "0"),
        (-7, "KRW", "-7"),
        (1234, "KWD", "1.234"),
        (5, "BHD", "0.005"),
    ],
)
def test_format_major_examples(amount: int, currency: str, text: str) -> None:
    assert format_major(amount, currency) == text


@given(amounts, currencies)
def test_format_major_has_exactly_the_currency_s_decimals_and_the_exact_value(
    amount: int, currency: str
) -> None:
    text = format_major(amount, currency)
    exponent = minor_unit_exponent(currency)
    decimals = text.partition(".")[2]
    assert len(decimals) == exponent
    assert ("." in text) == (exponent > 0)
    # Fraction, not Decimal arithmetic: that would round to 28 digits.
    assert Fraction(Decimal(text)) * 10**exponent == amount
    assert "E" not in text.upper()


@pytest.mark.parametrize("amount", [1.5, 12.0, True, Decimal(12), "12"])
def test_format_major_refuses_anything_but_an_int(amount: object) -> None:
    with pytest.raises(InvalidMoney, match="integer"):
        format_major(amount, "USD")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------
# Parsing


@pytest.mark.parametrize(
    ("text", "currency", "amount"),
    [
        ("12.34", "USD", 1234),
        ("12.3", "USD", 1230),
        ("12", "USD", 1200),
        ("0.05", "USD", 5),
        ("-0.01", "EUR", -1),
        ("-0", "USD", 0),
        ("007.50", "USD", 750),
        ("500", "JPY", 500),
        ("1.234", "KWD", 1234),
        ("1.2", "KWD", 1200),
        ("1500", "HUF", 150_000),
    ],
)
def test_parse_major_examples(text: str, currency: str, amount: int) -> None:
    assert parse_major(text, currency) == amount


@pytest.mark.parametrize(
    "text",
    ["", " ", "12.", ".5", "+1", "1e3", "1E-2", " 12.34", "12.34 ", "12.34\n", "1,00", "1_000", "--1", "NaN",
     "Infinity", "12.3.4", "١٢", "１２", "0x10"],
)  # fmt: skip
def test_malformed_strings_are_refused(text: str) -> None:
    with pytest.raises(InvalidMoney, match="not a decimal amount"):
        parse_major(text, "USD")


@pytest.mark.parametrize(
    ("text", "currency"), [("12.345", "USD"), ("12.340", "USD"), ("500.0", "JPY"), ("1.2345", "KWD")]
)
def test_more_decimals_than_the_currency_has_are_refused(text: str, currency: str) -> None:
    with pytest.raises(InvalidMoney, match="more decimals"):
        parse_major(text, currency)


@pytest.mark.parametrize("text", [None, 12, 12.34, b"12.34", Decimal("12.34")])
def test_parse_major_refuses_anything_but_a_string(text: object) -> None:
    with pytest.raises(InvalidMoney):
        parse_major(text, "USD")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------
# Round trips


@given(amounts, currencies)
def test_parse_major_reads_back_what_format_major_wrote(amount: int, currency: str) -> None:
    assert parse_major(format_major(amount, currency), currency) == amount


@st.composite
def major_strings(draw: st.DrawFn) -> tuple[str, str]:
    """A currency and a canonical major-unit string in it: no leading zeros, all its decimals."""
    currency = draw(currencies)
    exponent = minor_unit_exponent(currency)
    text = str(draw(st.integers(0, 10**30)))
    if exponent:
        text += "." + draw(st.text(alphabet="0123456789", min_size=exponent, max_size=exponent))
    negative = draw(st.booleans()) and text.strip("0.") != ""
    return ("-" + text if negative else text), currency


@given(major_strings())
def test_format_major_writes_back_what_parse_major_read(case: tuple[str, str]) -> None:
    text, currency = case
    assert format_major(parse_major(text, currency), currency) == text


@given(currencies, st.integers(-(10**15), 10**15), st.integers(0, 3))
def test_fewer_decimals_mean_trailing_zeros(currency: str, amount: int, missing: int) -> None:
    exponent = minor_unit_exponent(currency)
    missing = min(missing, exponent)
    amount -= amount % 10**missing
    text = format_major(amount, currency)
    shortened = text[: len(text) - missing] if missing else text
    shortened = shortened.removesuffix(".")
    assert parse_major(shortened, currency) == amount


@given(st.text(alphabet="0123456789.-+eE ,_", max_size=12), currencies)
def test_parse_major_either_refuses_or_agrees_with_decimal(text: str, currency: str) -> None:
    try:
        amount = parse_major(text, currency)
    except InvalidMoney:
        return
    assert amount == Fraction(Decimal(text)) * 10 ** minor_unit_exponent(currency)
