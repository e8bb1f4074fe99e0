"""Money: an integer amount of minor units (cents) and an ISO 4217 currency.

There are no floats in money. Rates (tax, discounts) are `Decimal` or basis points, and the only
place a fractional amount becomes minor units is :func:`round_minor`, which rounds half away from
zero (the commercial rounding that sales-tax rules usually prescribe). Every computation that can
produce a fraction of a cent goes through it, so two code paths never disagree by a cent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from customshop.domain.errors import CurrencyMismatch, InvalidMoney

#: Largest absolute amount accepted anywhere, in minor units (ten billion major units). It keeps every
#: sum of a realistic cart inside a signed 64-bit database column.
MAX_AMOUNT = 10**12

#: Active ISO 4217 currency codes.
CURRENCIES: frozenset[str] = frozenset(
    [
        "AED",
        "AFN",
        "ALL",
        "AMD",
        "ANG",
        "AOA",
        "ARS",
        "AUD",
        "AWG",
        "AZN",
        "BAM",
        "BBD",
        "BDT",
        "BGN",
        "BHD",
        "BIF",
        "BMD",
        "BND",
        "BOB",
        "BRL",
        "BSD",
        "BTN",
        "BWP",
        "BYN",
        "BZD",
        "CAD",
        "CDF",
        "CHF",
        "CLP",
        "CNY",
        "COP",
        "CRC",
        "CUP",
        "CVE",
        "CZK",
        "DJF",
        "DKK",
        "DOP",
        "DZD",
        "EGP",
        "ERN",
        "ETB",
        "EUR",
        "FJD",
        "FKP",
        "GBP",
        "GEL",
        "GHS",
        "GIP",
        "GMD",
        "GNF",
        "GTQ",
        "GYD",
        "HKD",
        "HNL",
        "HTG",
        "HUF",
        "IDR",
        "ILS",
        "INR",
        "IQD",
        "IRR",
        "ISK",
        "JMD",
        "JOD",
        "JPY",
        "KES",
        "KGS",
        "KHR",
        "KMF",
        "KPW",
        "KRW",
        "KWD",
        "KYD",
        "KZT",
        "LAK",
        "LBP",
        "LKR",
        "LRD",
        "LSL",
        "LYD",
        "MAD",
        "MDL",
        "MGA",
        "MKD",
        "MMK",
        "MNT",
        "MOP",
        "MRU",
        "MUR",
        "MVR",
        "MWK",
        "MXN",
        "MYR",
        "MZN",
        "NAD",
        "NGN",
        "NIO",
        "NOK",
        "NPR",
        "NZD",
        "OMR",
        "PAB",
        "PEN",
        "PGK",
        "PHP",
        "PKR",
        "PLN",
        "PYG",
        "QAR",
        "RON",
        "RSD",
        "RUB",
        "RWF",
        "SAR",
        "SBD",
        "SCR",
        "SDG",
        "SEK",
        "SGD",
        "SHP",
        "SLE",
        "SOS",
        "SRD",
        "SSP",
        "STN",
        "SVC",
        "SYP",
        "SZL",
        "THB",
        "TJS",
        "TMT",
        "TND",
        "TOP",
        "TRY",
        "TTD",
        "TWD",
        "TZS",
        "UAH",
        "UGX",
        "USD",
        "UYU",
        "UZS",
        "VES",
        "VND",
        "VUV",
        "WST",
        "XAF",
        "XCD",
        "XCG",
        "XOF",
        "XPF",
        "YER",
        "ZAR",
        "ZMW",
        "ZWG",
    ]
)


#: ISO 4217 currencies without minor units: an amount in them is already a whole number of major units.
ZERO_DECIMAL_CURRENCIES: frozenset[str] = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "ISK",
        "JPY",
        "KMF",
        "KRW",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)

#: ISO 4217 currencies divided into a thousand minor units.
THREE_DECIMAL_CURRENCIES: frozenset[str] = frozenset(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"])

# ASCII digits only: ``\d`` would also accept other scripts' digits, which Decimal reads happily.
_MAJOR_AMOUNT = re.compile(r"-?[0-9]+(?:\.([0-9]+))?", re.ASCII)


def round_minor(amount: Decimal) -> int:
    """Round a fractional amount of minor units to a whole one, half away from zero.

    This is the one rounding rule of customshop: ``round_minor(Decimal("2.5")) == 3`` and
    ``round_minor(Decimal("-2.5")) == -3``.
    """
    return int(amount.to_integral_value(rounding=ROUND_HALF_UP))


def rate_of(amount: int, basis_points: int) -> int:
    """``amount × basis_points / 10 000`` minor units, rounded by :func:`round_minor`.

    ``rate_of(1000, 825) == 83`` (82.5 rounded half away from zero). Tax at a rate, a percentage
    discount and a volume discount are all this one computation.
    """
    return round_minor(Decimal(amount) * basis_points / 10_000)


def is_currency(code: object) -> bool:
    """Whether ``code`` is an active ISO 4217 code in upper case."""
    return isinstance(code, str) and code in CURRENCIES


def minor_unit_exponent(currency: str) -> int:
    """How many decimal places ``currency`` has: 0 for JPY, 3 for KWD, 2 for most (ISO 4217).

    Raises:
        InvalidMoney: ``currency`` is not an active ISO 4217 code in upper case.
    """
    if not is_currency(currency):
        raise InvalidMoney(f"{currency!r} is not an ISO 4217 currency code")
    if currency in ZERO_DECIMAL_CURRENCIES:
        return 0
    if currency in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def format_major(amount: int, currency: str) -> str:
    """``amount`` minor units written as a decimal string of major units, exactly.

    The string has exactly as many decimals as the currency: ``format_major(1234, "USD") == "12.34"``,
    ``format_major(500, "JPY") == "500"``, ``format_major(-5, "KWD") == "-0.005"``. It is what
    payment providers that speak major units (PayPal) expect, and :func:`parse_major` reads it back.

    Raises:
        InvalidMoney: ``amount`` is not an ``int`` or ``currency`` is not an ISO 4217 code.
    """
    if type(amount) is not int:
        raise InvalidMoney(f"amount must be an integer number of minor units, not {amount!r}")
    exponent = minor_unit_exponent(currency)
    # Shifting the exponent of the digit tuple is exact at any size; ``scaleb`` would round to the
    # context's 28 digits.
    sign, digits, _ = Decimal(amount).as_tuple()
    return f"{Decimal((sign, digits, -exponent)):.{exponent}f}"


def parse_major(text: str, currency: str) -> int:
    """A decimal string of major units (``"12.34"``) as an exact number of minor units (``1234``).

    Accepted: an optional minus sign, ASCII digits, and optionally a point followed by at most as
    many digits as the currency has decimals (``"12"``, ``"12.3"`` and ``"12.30"`` are all 1230 for
    USD). Nothing is rounded.

    Raises:
        InvalidMoney: ``text`` is not such a string (exponents, spaces, a leading ``+``, ``"1."``
            or ``".5"``), it has more decimals than the currency, or ``currency`` is unknown.
    """
    exponent = minor_unit_exponent(currency)
    match = _MAJOR_AMOUNT.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise InvalidMoney(f"{text!r} is not a decimal amount of money")
    decimals = match.group(1)
    if decimals is not None and len(decimals) > exponent:
        raise InvalidMoney(f"{text!r} has more decimals than {currency}, which has {exponent}")
    sign, digits, places = Decimal(text).as_tuple()
    # ``places`` is minus the number of decimals, so the shifted exponent is never negative.
    return int(Decimal((sign, digits, int(places) + exponent)))


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount of money.

    Raises:
        InvalidMoney: the amount is not an ``int`` (floats and bools are refused), is beyond
            ``MAX_AMOUNT``, or the currency is not an ISO 4217 code.
    """

    amount: int
    currency: str

    def __post_init__(self) -> None:
        if type(self.amount) is not int:
            raise InvalidMoney(f"amount must be an integer number of minor units, not {self.amount!r}")
        if abs(self.amount) > MAX_AMOUNT:
            raise InvalidMoney(f"amount {self.amount} is beyond the supported range of ±{MAX_AMOUNT}")
        if not is_currency(self.currency):
            raise InvalidMoney(f"{self.currency!r} is not an ISO 4217 currency code")

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, quantity: int) -> Money:
        if type(quantity) is not int:
            raise InvalidMoney("money is multiplied by whole quantities only")
        return Money(self.amount * quantity, self.currency)

    __rmul__ = __mul__

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount <= other.amount

    def apply_rate_bps(self, basis_points: int) -> Money:
        """This amount times ``basis_points`` / 10 000, rounded by :func:`round_minor` (:func:`rate_of`)."""
        return Money(rate_of(self.amount, basis_points), self.currency)

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} (minor units)"
