"""Money: an integer amount of minor units (cents) and an ISO 4217 currency.

There are no floats in money. Rates (tax, discounts) are `Decimal` or basis points, and the only
place a fractional amount becomes minor units is :func:`round_minor`, which rounds half away from
zero (the commercial rounding that sales-tax rules usually prescribe). Every computation that can
produce a fraction of a cent goes through it, so two code paths never disagree by a cent.
"""

from __future__ import annotations

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


def round_minor(amount: Decimal) -> int:
    """Round a fractional amount of minor units to a whole one, half away from zero.

    This is the one rounding rule of customshop: ``round_minor(Decimal("2.5")) == 3`` and
    ``round_minor(Decimal("-2.5")) == -3``.
    """
    return int(amount.to_integral_value(rounding=ROUND_HALF_UP))


def is_currency(code: object) -> bool:
    """Whether ``code`` is an active ISO 4217 code in upper case."""
    return isinstance(code, str) and code in CURRENCIES


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
        """This amount times ``basis_points`` / 10 000, rounded by :func:`round_minor`."""
        return Money(round_minor(Decimal(self.amount) * basis_points / 10_000), self.currency)

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} (minor units)"
